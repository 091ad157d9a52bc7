"""Small image classifiers built from tinygan's own layers, used to measure generated
images: a digit classifier for MNIST and an attribute classifier for punks (sigmoid
outputs for binary attributes such as cigarette or pipe, a softmax over the punk types).
Both share one conv trunk; its penultimate layer is the feature space of the Fréchet
distance (tinygan/fidelity.py)."""
import numpy as np

from . import backend
from .layers import BatchNorm, Conv2d, Flatten, LeakyReLU, Linear, Sequential, evaluation
from .losses import bce_with_logits, softmax_cross_entropy
from .fast import adam


def small_cnn(in_channels, img_size, n_out, seed=0, n_features=128):
    """x (N, C, S, S) -> logits (N, n_out): two stride-2 convs, an FC layer of n_features
    (the features), a linear output. He-scaled initial weights (the 0.02 of tinygan's
    GAN layers is for GANs; a classifier trains faster from these)."""
    backend.seed(seed)
    S = img_size // 4
    net = Sequential(
        Conv2d(in_channels, 32, 4, stride=2, padding=1), LeakyReLU(0.1),                # (N, 32, S*2, S*2)
        Conv2d(32, 64, 4, stride=2, padding=1), BatchNorm(64), LeakyReLU(0.1),          # (N, 64, S, S)
        Flatten(), Linear(64 * S * S, n_features), BatchNorm(n_features), LeakyReLU(0.1),  # (N, n_features)
        Linear(n_features, n_out))                                                      # (N, n_out)
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        if "w" in layer.params:
            w = layer.params["w"]
            fan_in = int(np.prod(w.shape[1:])) if w.ndim == 4 else w.shape[0]
            w[...] = backend.asarray(rng.normal(0, np.sqrt(2.0 / fan_in), w.shape), dtype=w.dtype)
    return net


class _Classifier:
    """What both classifiers share: evaluation-mode passes over many images in blocks, and
    their weights as host arrays (for caching)."""

    def arrays(self):
        """{"params.<name>" / "buffers.<name>": host array} of the network."""
        out = {f"params.{k}": backend.to_numpy(v) for k, v in self.net.params.items()}
        out.update((f"buffers.{k}", backend.to_numpy(v)) for k, v in self.net.buffers.items())
        return out

    def load_arrays(self, arrays):
        for kind, d in (("params", self.net.params), ("buffers", self.net.buffers)):
            for k, v in d.items():
                v[...] = backend.asarray(arrays[f"{kind}.{k}"], dtype=v.dtype)

    def _outputs(self, x, batch, upto=None):
        """Host float64 outputs of net.layers[:upto] for host images x, evaluation mode."""
        layers = self.net.layers[:upto]
        out = []
        with evaluation(self.net):
            for i in range(0, len(x), batch):
                h = backend.asarray(x[i:i + batch], dtype=self.net.params["0.w"].dtype)
                for layer in layers:
                    h = layer.forward(h)
                out.append(backend.to_numpy(h).astype(np.float64))
        return np.concatenate(out) if out else np.zeros((0, 0))

    def features(self, x, batch=500):
        """The penultimate layer's activations (n, n_features) for host images x, float64."""
        return self._outputs(x, batch, upto=-1)


class DigitClassifier(_Classifier):
    """x (N, 1, 28, 28) in [0, 1] -> digit logits (N, 10)."""

    def __init__(self, seed=0, lr=1e-3):
        self.net = small_cnn(1, 28, 10, seed)
        self.opt = adam(self.net.params, self.net.grads, lr=lr, betas=(0.9, 0.999))

    def train_step(self, x, y):
        """One Adam step on the cross-entropy of a batch. Returns the loss."""
        self.net.train()
        self.net.zero_grad()
        loss, dlogits = softmax_cross_entropy(self.net.forward(x), y)
        self.net.backward(dlogits, need_input_grad=False)
        self.opt.step()
        return loss

    def predict(self, x, batch=500):
        """Arg-max digits (n,) for host images x (n, 1, 28, 28) in [0, 1]."""
        return self._outputs(x, batch).argmax(axis=1)


def _fit(clf, arrays, steps, batch, seed, progress=None):
    """Train `clf` for `steps` Adam steps on random batches (without replacement within a
    batch) of the host arrays, which share their first axis; `progress`, a description,
    shows a progress bar. Returns clf."""
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=steps, desc=progress, unit="step", leave=False)
    for _ in range(steps):
        idx = backend.asarray(rng.choice(n, min(batch, n), replace=False))
        clf.train_step(*(a[idx] for a in arrays))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return clf


def fit_digits(x, y, steps=3000, batch=128, seed=0, progress=None):
    """Train a DigitClassifier on host arrays x (n, 1, 28, 28) in [0, 1] and labels y (n,)."""
    arrays = (backend.asarray(x, dtype=backend.default_dtype()), backend.asarray(np.asarray(y, np.int64)))
    return _fit(DigitClassifier(seed), arrays, steps, batch, seed, progress)


class AttributeClassifier(_Classifier):
    """x (N, 3, S, S) in [-1, 1]  ->  (binary logits (N, B), type logits (N, T))."""

    def __init__(self, img_size, n_binary, n_types, seed=0, lr=1e-3):
        self.n_binary, self.n_types = n_binary, n_types
        self.net = small_cnn(3, img_size, n_binary + n_types, seed)
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
        out = self._outputs(x, batch)
        b, t = out[:, :self.n_binary], out[:, self.n_binary:]
        return np.exp(-np.logaddexp(0, -b)), t.argmax(axis=1)   # sigmoid(b) without overflow


def fit(x, y_binary, y_type, n_types, steps=1500, batch=64, seed=0, progress=None):
    """Train an AttributeClassifier on host arrays: x (n, 3, S, S), y_binary (n, B) 0/1, y_type (n,)."""
    arrays = (backend.asarray(x, dtype=backend.default_dtype()),
              backend.asarray(y_binary, dtype=backend.default_dtype()), backend.asarray(y_type))
    return _fit(AttributeClassifier(x.shape[-1], y_binary.shape[1], n_types, seed=seed), arrays, steps, batch,
                seed, progress)


def direction(latents, has):
    """v = mean(latents with the attribute) - mean(latents without it).  latents (n, d), has (n,) bool."""
    has = np.asarray(has, bool)
    if has.all() or not has.any():
        raise ValueError("need latents both with and without the attribute")
    return latents[has].mean(axis=0) - latents[~has].mean(axis=0)
