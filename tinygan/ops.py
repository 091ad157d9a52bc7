"""Elementwise and dense ops: each a pure pair `*_forward(...) -> (out, cache)` and
`*_backward(dout, cache) -> grads`. Backward needs nothing but the cache.

Derivations: docs/01-linear-and-activations.md.
"""
from typing import NamedTuple

from .backend import get_array_module


# ----------------------------------------------------------------------------- linear
class LinearCache(NamedTuple):
    x: object  # (N, D) input
    w: object  # (D, M) weight


def linear_forward(x, w, b):
    """y = x @ w + b.   x (N, D), w (D, M), b (M,)  ->  y (N, M)"""
    y = x @ w
    y += b                                        # in place: one array, not two
    return y, LinearCache(x=x, w=w)


def linear_backward(dy, cache, need_dw=True, need_dx=True):
    """Given dy = dL/dy (N, M), with y[n, m] = sum_d x[n, d] w[d, m] + b[m]:
    dx = dy @ w.T      (N, M)(M, D) -> (N, D)
    dw = x.T @ dy      (D, N)(N, M) -> (D, M)
    db = sum_n dy      -> (M,)
    need_dw / need_dx False skip (and return None for) dw, db / dx.
    See docs/01-linear-and-activations.md#linear.
    """
    x, w = cache.x, cache.w
    dx = dy @ w.T if need_dx else None
    if not need_dw:
        return dx, None, None
    return dx, x.T @ dy, dy.sum(axis=0)


# ----------------------------------------------------------------------------- activations
# The ReLUs keep their output y rather than their input: y > 0 exactly where x > 0 (for
# the leaky one because its slope is >= 0), so y tells backward which side of the kink
# each value was on. (tinygan/fast.py: the same results block by block over CPU threads.)
class ReluCache(NamedTuple):
    y: object  # the forward output


def relu_forward(x):
    """y = max(x, 0), elementwise."""
    y = get_array_module(x).maximum(x, 0)
    return y, ReluCache(y=y)


def relu_backward(dy, cache):
    """dy/dx = 1 where x > 0 else 0 (the kink at 0 takes the 0 side):  dx = dy * [y > 0]."""
    return dy * (cache.y > 0)


class LeakyReluCache(NamedTuple):
    y: object         # the forward output
    slope: float      # negative slope


def leaky_relu_forward(x, slope=0.2):
    """y = x where x > 0, else slope * x   (0 <= slope <= 1)."""
    if not 0 <= slope <= 1:
        raise ValueError(f"leaky_relu: slope must be in [0, 1], got {slope}")
    y = get_array_module(x).where(x > 0, x, slope * x)
    return y, LeakyReluCache(y=y, slope=slope)


def leaky_relu_backward(dy, cache):
    """dy/dx = 1 where x > 0, else slope:  dx = dy where y > 0, slope * dy elsewhere."""
    return get_array_module(dy).where(cache.y > 0, dy, cache.slope * dy)


class OutputCache(NamedTuple):
    y: object  # the forward output, from which both derivatives below are computed


def tanh_forward(x):
    """y = tanh(x)."""
    xp = get_array_module(x)
    y = xp.tanh(x)
    return y, OutputCache(y=y)


def tanh_backward(dy, cache):
    """d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2:  dx = dy * (1 - y^2)."""
    y = cache.y
    return dy * (1 - y * y)


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: for x < 0 use exp(x) / (1 + exp(x))."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))  # in (0, 1], never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)), computed stably for any |x|."""
    y = sigmoid(x)
    return y, OutputCache(y=y)


def sigmoid_backward(dy, cache):
    """d sigma(x)/dx = sigma(x) (1 - sigma(x)) = y (1 - y):  dx = dy * y * (1 - y)."""
    y = cache.y
    return dy * y * (1 - y)


# ----------------------------------------------------------------------------- reshape
class ReshapeCache(NamedTuple):
    shape: tuple  # the input's shape


def reshape_forward(x, shape):
    """y = x viewed with `shape` (N kept as the first axis by the layers that call this)."""
    return x.reshape(shape), ReshapeCache(shape=x.shape)


def reshape_backward(dy, cache):
    """Reshaping moves no values, so its adjoint is reshaping back: dx = dy.reshape(x.shape)."""
    return dy.reshape(cache.shape)
