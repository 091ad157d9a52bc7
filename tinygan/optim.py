"""Optimisers over a (params, grads) pair of dicts with the same keys.

They update the parameter arrays in place, so a layer's `params` dict, a
Sequential's merged view of it and the optimiser all see the same arrays.
State (moments and step count) can be saved with state_dict() and restored
with load_state_dict(), for checkpoints.
"""
from .backend import get_array_module, to_numpy


def _check_pair(params, grads):
    if set(params) != set(grads):
        raise ValueError(f"params and grads have different keys: {sorted(set(params) ^ set(grads))}")
    for k in params:
        if params[k].shape != grads[k].shape:
            raise ValueError(f"param {k!r} has shape {params[k].shape} but its grad {grads[k].shape}")


class SGD:
    """p <- p - lr * g, or with momentum:  b <- momentum * b + g;  p <- p - lr * b."""

    def __init__(self, params, grads, lr=1e-2, momentum=0.0):
        _check_pair(params, grads)
        if lr <= 0 or not 0 <= momentum < 1:
            raise ValueError(f"SGD: need lr > 0 and 0 <= momentum < 1, got lr={lr}, momentum={momentum}")
        self.params, self.grads, self.lr, self.momentum = params, grads, lr, momentum
        self.buf = {k: get_array_module(p).zeros_like(p) for k, p in params.items()} if momentum else {}

    def step(self):
        for k, p in self.params.items():
            g = self.grads[k]
            if self.momentum:
                b = self.buf[k]
                b *= self.momentum
                b += g
                g = b
            p -= self.lr * g

    def state_dict(self):
        return {"buf": {k: to_numpy(v) for k, v in self.buf.items()}}

    def load_state_dict(self, state):
        for k, v in state["buf"].items():
            self.buf[k][...] = get_array_module(self.buf[k]).asarray(v)


def check_state_keys(saved, own):
    """Raise ValueError when a saved optimiser state is for other parameters."""
    if set(saved) != set(own):
        raise ValueError(f"Adam state does not match these parameters: {sorted(set(saved) ^ set(own))}")


class Adam:
    """Adam (Kingma & Ba), as PyTorch implements it. With g the gradient, at step t:
        m <- b1 m + (1 - b1) g              (a running mean of the gradients)
        v <- b2 v + (1 - b2) g^2            (and of their squares)
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)   (m and v start at 0: undo that bias)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)
    (tinygan/fast.py: FastAdam, the same update in fewer passes over memory.)
    """

    def __init__(self, params, grads, lr=2e-4, betas=(0.5, 0.999), eps=1e-8):
        _check_pair(params, grads)
        b1, b2 = betas
        if lr <= 0 or not (0 <= b1 < 1 and 0 <= b2 < 1) or eps <= 0:
            raise ValueError(f"Adam: need lr > 0, 0 <= betas < 1, eps > 0; got lr={lr}, betas={betas}, eps={eps}")
        self.params, self.grads = params, grads
        self.lr, self.betas, self.eps = lr, (b1, b2), eps
        self.t = 0
        self.m = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}
        self.v = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for k, p in self.params.items():
            g, m, v = self.grads[k], self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1 ** self.t)
            v_hat = v / (1 - b2 ** self.t)
            p -= self.lr * m_hat / (get_array_module(p).sqrt(v_hat) + self.eps)   # in place: the layer's array

    def state_dict(self):
        """{"t", "m", "v"}, as host arrays."""
        return {"t": self.t, "m": {k: to_numpy(a) for k, a in self.m.items()},
                "v": {k: to_numpy(a) for k, a in self.v.items()}}

    def load_state_dict(self, state):
        """Restore from state_dict()'s output, or from FastAdam's stored sums {"t", "g_sum",
        "g2_sum"} (m = (1 - b1) g_sum, v = (1 - b2) g2_sum)."""
        b1, b2 = self.betas
        if "m" in state:
            m, v, s1, s2 = state["m"], state["v"], 1.0, 1.0
        else:
            m, v, s1, s2 = state["g_sum"], state["g2_sum"], 1 - b1, 1 - b2
        check_state_keys(m, self.m)
        self.t = int(state["t"])
        for k in self.m:
            xp = get_array_module(self.m[k])
            self.m[k][...] = xp.asarray(m[k]) * s1
            self.v[k][...] = xp.asarray(v[k]) * s2
