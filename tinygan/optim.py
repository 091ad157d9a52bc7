"""Optimisers over a (params, grads) pair of dicts with the same keys.

They update the parameter arrays in place, so a layer's `params` dict, a
Sequential's merged view of it and the optimiser all see the same arrays.
State (moments and step count) can be saved with state_dict() and restored
with load_state_dict(), for checkpoints.
"""
import math

import numpy as np

from .backend import get_array_module, parallel_for, to_numpy


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


class Adam:
    """Adam (Kingma & Ba), as PyTorch implements it. With g the gradient, at step t:
        m <- b1 m + (1 - b1) g
        v <- b2 v + (1 - b2) g^2
        p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
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
        step_size = self.lr / (1 - b1 ** self.t)
        inv_sqrt_bc2 = 1 / math.sqrt(1 - b2 ** self.t)
        for k, p in self.params.items():
            _adam_update(p.reshape(-1), self.grads[k].reshape(-1), self.m[k].reshape(-1), self.v[k].reshape(-1),
                         b1, b2, step_size, inv_sqrt_bc2, self.eps)

    def state_dict(self):
        return {"t": self.t,
                "m": {k: to_numpy(a) for k, a in self.m.items()},
                "v": {k: to_numpy(a) for k, a in self.v.items()}}

    def load_state_dict(self, state):
        if set(state["m"]) != set(self.m):
            raise ValueError("Adam state does not match these parameters: "
                             f"{sorted(set(state['m']) ^ set(self.m))}")
        self.t = int(state["t"])
        for k in self.m:
            xp = get_array_module(self.m[k])
            self.m[k][...] = xp.asarray(state["m"][k])
            self.v[k][...] = xp.asarray(state["v"][k])


CHUNK = 1 << 16  # elements per block on the CPU: float32 blocks of 256 KiB, which stay in cache


def _adam_update(p, g, m, v, b1, b2, step_size, inv_sqrt_bc2, eps):
    """The Adam update of one flat parameter p (and its moments m, v) in place:
        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
        p = p - step_size * m / (sqrt(v) inv_sqrt_bc2 + eps)
    Written as in-place ufuncs on cache-sized blocks with one scratch buffer: the plain
    form above makes about ten full-size temporaries and passes over memory; this reads
    p, g, m, v once and writes p, m, v once, and the blocks are shared out over CPU
    threads. On a GPU the whole array is one block.
    """
    xp = get_array_module(p)
    n = p.size
    chunk = n if xp is not np else CHUNK
    n_chunks = -(-n // chunk)
    parallel_for(lambda c0, c1: _adam_chunks(xp, p, g, m, v, c0, c1, chunk, b1, b2, step_size, inv_sqrt_bc2, eps),
                 n_chunks)


def _adam_chunks(xp, p, g, m, v, c0, c1, chunk, b1, b2, step_size, inv_sqrt_bc2, eps):
    """_adam_update on blocks c0..c1-1 (one CPU thread's share)."""
    n = p.size
    t = xp.empty(min(chunk, n), dtype=p.dtype)  # this thread's scratch block
    for s in range(c0 * chunk, min(c1 * chunk, n), chunk):
        e = min(s + chunk, n)
        pc, gc, mc, vc, tc = p[s:e], g[s:e], m[s:e], v[s:e], t[:e - s]
        mc *= b1
        xp.multiply(gc, 1 - b1, out=tc)
        mc += tc                                   # m = b1 m + (1 - b1) g
        vc *= b2
        xp.multiply(gc, gc, out=tc)
        tc *= 1 - b2
        vc += tc                                   # v = b2 v + (1 - b2) g^2
        xp.sqrt(vc, out=tc)
        tc *= inv_sqrt_bc2
        tc += eps                                  # sqrt(v / (1 - b2^t)) + eps
        xp.divide(mc, tc, out=tc)
        tc *= step_size
        pc -= tc                                   # p -= lr / (1 - b1^t) * m / (...)
