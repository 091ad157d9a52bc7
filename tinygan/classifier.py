"""A small attribute classifier for punks, built from tinygan's own layers: a shared conv
trunk, sigmoid outputs for binary attributes (cigarette, pipe, ...) and a softmax over the
punk types. Used to label generated punks when looking for attribute directions."""
import numpy as np

from . import backend
from .layers import BatchNorm, Conv2d, Flatten, LeakyReLU, Linear, Sequential
from .losses import bce_with_logits, softmax_cross_entropy
from .ops import sigmoid
from .fast import adam


class AttributeClassifier:
    """x (N, 3, S, S) in [-1, 1]  ->  (binary logits (N, B), type logits (N, T))."""

    def __init__(self, img_size, n_binary, n_types, seed=0, lr=1e-3):
        backend.seed(seed)
        S = img_size // 4
        self.n_binary, self.n_types = n_binary, n_types
        self.net = Sequential(
            Conv2d(3, 32, 4, stride=2, padding=1), LeakyReLU(0.1),
            Conv2d(32, 64, 4, stride=2, padding=1), BatchNorm(64), LeakyReLU(0.1),
            Flatten(), Linear(64 * S * S, 128), BatchNorm(128), LeakyReLU(0.1),
            Linear(128, n_binary + n_types))
        # the default 0.02 init is for GANs; a classifier trains faster with He-like scales
        rng = np.random.default_rng(seed)
        for layer in self.net.layers:
            if "w" in layer.params:
                w = layer.params["w"]
                fan_in = int(np.prod(w.shape[1:])) if w.ndim == 4 else w.shape[0]
                w[...] = backend.asarray(rng.normal(0, np.sqrt(2.0 / fan_in), w.shape), dtype=w.dtype)
        self.opt = adam(self.net.params, self.net.grads, lr=lr, betas=(0.9, 0.999))

    def logits(self, x):
        out = self.net.forward(x)
        return out[:, :self.n_binary], out[:, self.n_binary:]

    def train_step(self, x, y_binary, y_type):
        """One Adam step on BCE(binary) + CE(type). Returns the loss."""
        xp = backend.get_array_module(x)
        self.net.train()
        self.net.zero_grad()
        b, t = self.logits(x)
        lb, db = bce_with_logits(b, y_binary)
        lt, dt = softmax_cross_entropy(t, y_type)
        # bce_with_logits averages over N*B values; scale so each attribute weighs like the type
        self.net.backward(xp.concatenate([db * self.n_binary, dt], axis=1))
        self.opt.step()
        return lb * self.n_binary + lt

    def predict(self, x, batch=500):
        """(binary probabilities (n, B), type indices (n,)) on the host, evaluation mode."""
        self.net.eval()
        probs, types = [], []
        for i in range(0, len(x), batch):
            b, t = self.logits(backend.asarray(x[i:i + batch], dtype=self.net.params["0.w"].dtype))
            probs.append(backend.to_numpy(sigmoid(b)))
            types.append(backend.to_numpy(t.argmax(axis=1)))
        self.net.train()
        return np.concatenate(probs), np.concatenate(types)


def fit(x, y_binary, y_type, n_types, steps=1500, batch=64, seed=0):
    """Train an AttributeClassifier on host arrays: x (n, 3, S, S), y_binary (n, B) 0/1, y_type (n,)."""
    clf = AttributeClassifier(x.shape[-1], y_binary.shape[1], n_types, seed=seed)
    rng = np.random.default_rng(seed)
    xd = backend.asarray(x, dtype=backend.default_dtype())
    yb = backend.asarray(y_binary, dtype=backend.default_dtype())
    yt = backend.asarray(y_type)
    batch = min(batch, len(x))
    for _ in range(steps):
        idx = backend.asarray(rng.choice(len(x), batch, replace=False))
        clf.train_step(xd[idx], yb[idx], yt[idx])
    return clf


def direction(latents, has):
    """v = mean(latents with the attribute) - mean(latents without it).  latents (n, d), has (n,) bool."""
    has = np.asarray(has, bool)
    if has.all() or not has.any():
        raise ValueError("need latents both with and without the attribute")
    return latents[has].mean(axis=0) - latents[~has].mean(axis=0)
