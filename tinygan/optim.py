"""Optimisers over a (params, grads) pair of dicts with the same keys.

They update the parameter arrays in place, so a layer's `params` dict, a
Sequential's merged view of it and the optimiser all see the same arrays.
State (moments and step count) can be saved with state_dict() and restored
with load_state_dict(), for checkpoints.
"""
import math

from .backend import blocked, get_array_module, to_numpy


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

    Stored form: the discounted sums G = m / (1 - b1) and G2 = v / (1 - b2), which
    update with one multiply-add fewer each (G <- b1 G + g; G2 <- b2 G2 + g^2); then
        p <- p - lr' * G / (sqrt(G2) + eps'),
        lr'  = lr (1 - b1) / (1 - b1^t) * sqrt(1 - b2^t) / sqrt(1 - b2),
        eps' = eps * sqrt(1 - b2^t) / sqrt(1 - b2),
    the same update.
    """

    def __init__(self, params, grads, lr=2e-4, betas=(0.5, 0.999), eps=1e-8, flat=None):
        """flat: optionally a layers.FlatParams whose views `params` and `grads` are (all of
        them, and nothing else): each step then updates the two flat buffers whole, in ten
        passes in all instead of ten per parameter (on a GPU, ten kernel launches)."""
        _check_pair(params, grads)
        b1, b2 = betas
        if lr <= 0 or not (0 <= b1 < 1 and 0 <= b2 < 1) or eps <= 0:
            raise ValueError(f"Adam: need lr > 0, 0 <= betas < 1, eps > 0; got lr={lr}, betas={betas}, eps={eps}")
        self.params, self.grads = params, grads
        self.lr, self.betas, self.eps = lr, (b1, b2), eps
        self.t = 0
        self.flat = flat
        if flat is None:
            self.g_sum = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}   # m / (1 - b1)
            self.g2_sum = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}  # v / (1 - b2)
            return
        offsets = flat.offsets()
        if (sum(p.size for p in params.values()) != flat.params.size
                or any(offsets.get(id(p)) is None or grads[k] is not flat.grad_view(p) for k, p in params.items())):
            raise ValueError("Adam: flat must hold exactly these parameters and gradients (views of its buffers)")
        xp = get_array_module(flat.params)
        self._g_sum_flat, self._g2_sum_flat = xp.zeros_like(flat.params), xp.zeros_like(flat.params)
        self.g_sum, self.g2_sum = {}, {}
        for k, p in params.items():                    # the per-parameter state: views of the flat state
            start = offsets[id(p)]
            self.g_sum[k] = self._g_sum_flat[start:start + p.size].reshape(p.shape)
            self.g2_sum[k] = self._g2_sum_flat[start:start + p.size].reshape(p.shape)

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        c2 = math.sqrt(1 - b2 ** self.t) / math.sqrt(1 - b2)
        lr_t = self.lr * (1 - b1) / (1 - b1 ** self.t) * c2
        if self.flat is not None:
            _adam_update(self.flat.params, self.flat.grads, self._g_sum_flat, self._g2_sum_flat,
                         b1, b2, lr_t, self.eps * c2)
            return
        for k, p in self.params.items():               # in place on p itself, whatever its layout
            _adam_update(p, self.grads[k], self.g_sum[k], self.g2_sum[k], b1, b2, lr_t, self.eps * c2)

    def state_dict(self):
        """{"t", "g_sum", "g2_sum"}: the stored sums as they are, so a resumed run is exact."""
        return {"t": self.t,
                "g_sum": {k: to_numpy(a) for k, a in self.g_sum.items()},
                "g2_sum": {k: to_numpy(a) for k, a in self.g2_sum.items()}}

    def load_state_dict(self, state):
        """Restore from state_dict()'s output, or from PyTorch-style moments {"t", "m", "v"}
        (m = (1 - b1) g_sum, v = (1 - b2) g2_sum)."""
        b1, b2 = self.betas
        if "g_sum" in state:
            sums, sums2, s1, s2 = state["g_sum"], state["g2_sum"], 1.0, 1.0
        else:
            sums, sums2, s1, s2 = state["m"], state["v"], 1 / (1 - b1), 1 / (1 - b2)
        if set(sums) != set(self.g_sum):
            raise ValueError("Adam state does not match these parameters: "
                             f"{sorted(set(sums) ^ set(self.g_sum))}")
        self.t = int(state["t"])
        for k in self.g_sum:
            xp = get_array_module(self.g_sum[k])
            self.g_sum[k][...] = xp.asarray(sums[k]) * s1
            self.g2_sum[k][...] = xp.asarray(sums2[k]) * s2


def _adam_update(p, g, g_sum, g2_sum, b1, b2, lr_t, eps_t):
    """The Adam update of one parameter p (and its sums, laid out like p) in place:
        g_sum = b1 g_sum + g;  g2_sum = b2 g2_sum + g^2;  p = p - lr_t * g_sum / (sqrt(g2_sum) + eps_t)
    Written as ten in-place ufunc passes per cache-sized block with one scratch block
    (backend.blocked, which shares the blocks out over CPU threads): the plain form above
    makes several full-size temporaries and passes over memory; this reads p, g, g_sum,
    g2_sum once and writes p, g_sum, g2_sum once. On a GPU the whole array is one block.
    """
    xp = get_array_module(p)

    def fn(pc, gc, mc, vc):                        # one block of each; all four share a layout
        tc = xp.empty_like(gc)                     # scratch
        mc *= b1
        mc += gc                                   # g_sum = b1 g_sum + g
        xp.multiply(gc, gc, out=tc)
        vc *= b2
        vc += tc                                   # g2_sum = b2 g2_sum + g^2
        xp.sqrt(vc, out=tc)
        tc += eps_t
        xp.divide(mc, tc, out=tc)
        tc *= lr_t
        pc -= tc                                   # p -= lr_t g_sum / (sqrt(g2_sum) + eps_t)
    blocked(fn, p, g, g_sum, g2_sum)
