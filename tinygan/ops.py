"""Elementwise and dense ops: each a pure pair `*_forward(...) -> (out, cache)` and
`*_backward(dout, cache) -> grads`. Backward needs nothing but the cache.

Derivations: docs/01-linear-and-activations.md.
"""
import math
from typing import NamedTuple

import numpy as np

from .backend import blocked, get_array_module


# ----------------------------------------------------------------------------- column sums
WIDE = 1024  # target width, in values, of a "wide" row


def wide_factor(M, C):
    """k such that (M, C) rows can be viewed as (M / k, k*C): gcd(M, WIDE // C), which is
    WIDE // C whenever M is a multiple of it (M = N*H*W for the conv layers)."""
    return math.gcd(M, max(1, WIDE // C))


def column_sums(r):
    """r.sum(axis=0) for r (M, C).

    With few columns NumPy's axis-0 sum runs one C-long inner loop per row, and the loop
    overhead costs more than the additions. Fast form: r viewed as (M / k, k*C) wide rows
    (k = wide_factor(M, C)), summed down, and the k partial sums of each column added.
    """
    M, C = r.shape
    k = wide_factor(M, C)
    if k == 1 or get_array_module(r) is not np:                  # one reduction kernel on a GPU
        return r.sum(axis=0)
        return r.sum(axis=0)
    return r.reshape(M // k, k * C).sum(axis=0).reshape(k, C).sum(axis=0)


# ----------------------------------------------------------------------------- linear
class LinearCache(NamedTuple):
    x: object  # (N, D) input
    w: object  # (D, M) weight


def linear_forward(x, w, b):
    """y = x @ w + b.   x (N, D), w (D, M), b (M,)  ->  y (N, M)"""
    y = x @ w
    y += b                                        # in place: one array, not two
    return y, LinearCache(x=x, w=w)


def linear_backward(dy, cache, need_dw=True, need_dx=True, dw_out=None):
    """Given dy = dL/dy (N, M), with y[n, m] = sum_d x[n, d] w[d, m] + b[m]:
    dx = dy @ w.T      (N, M)(M, D) -> (N, D)
    dw = x.T @ dy      (D, N)(N, M) -> (D, M)
    db = sum_n dy      -> (M,)
    need_dw / need_dx False skip (and return None for) dw, db / dx. dw_out, a (D, M)
    array, receives dw (and is returned as dw) instead of a new array.
    See docs/01-linear-and-activations.md#linear.
    """
    xp = get_array_module(dy)
    x, w = cache.x, cache.w
    dx = dy @ w.T if need_dx else None
    if not need_dw:
        return dx, None, None
    return dx, xp.matmul(x.T, dy, out=dw_out), dy.sum(axis=0)


# ----------------------------------------------------------------------------- activations
# The ReLUs keep their output y, not a mask: for slope > 0, y > 0 exactly where x > 0, and
# for the plain ReLU y > 0 where x > 0 too. Their passes run block by block over threads
# (backend.blocked); each docstring gives the plain form.
class ReluCache(NamedTuple):
    y: object  # the forward output


def relu_forward(x):
    """y = max(x, 0), elementwise."""
    xp = get_array_module(x)
    if xp is not np:
        y = xp.maximum(x, 0)                      # the plain form, one kernel on a GPU
        return y, ReluCache(y=y)
    y = xp.empty_like(x)
    blocked(lambda yb, xb: xp.maximum(xb, 0, out=yb), y, x)
    return y, ReluCache(y=y)


def relu_backward(dy, cache):
    """dy/dx = 1 where x > 0 else 0 (the kink at 0 takes the 0 side):  dx = dy * [y > 0]."""
    xp = get_array_module(dy)
    if xp is not np:
        return dy * (cache.y > 0)                 # the plain form
    dx = xp.empty_like(cache.y)                   # the forward's memory layout

    def fn(db, gb, yb):
        xp.copyto(db, yb > 0)                     # [y > 0] as 0. / 1. (a bool operand in a
        db *= gb                                  # product would take NumPy's slow casting path)
    blocked(fn, dx, dy, cache.y)
    return dx


class LeakyReluCache(NamedTuple):
    y: object         # the forward output
    slope: float      # negative slope


def leaky_relu_forward(x, slope=0.2):
    """y = x where x > 0, else slope * x   (0 <= slope <= 1).

    Plain form: where(x > 0, x, slope * x). For slope <= 1 that equals max(x, slope * x),
    which NumPy computes about 10x faster than `where` (two fast ufuncs, one buffer).
    """
    if not 0 <= slope <= 1:
        raise ValueError(f"leaky_relu: slope must be in [0, 1], got {slope}")
    xp = get_array_module(x)
    if xp is not np:
        y = xp.maximum(x, slope * x)              # two kernels on a GPU
        return y, LeakyReluCache(y=y, slope=slope)
    y = xp.empty_like(x)

    def fn(yb, xb):
        xp.multiply(xb, slope, out=yb)
        xp.maximum(xb, yb, out=yb)
    blocked(fn, y, x)
    return y, LeakyReluCache(y=y, slope=slope)


def leaky_relu_backward(dy, cache):
    """dy/dx = 1 where x > 0, else slope:  dx = dy * (slope + (1 - slope) [y > 0])."""
    xp = get_array_module(dy)
    s = cache.slope
    if xp is not np:
        return xp.where(cache.y > 0, dy, s * dy)  # the plain form
    dx = xp.empty_like(cache.y)                   # the forward's memory layout

    def fn(db, gb, yb):
        xp.copyto(db, yb > 0)                     # [y > 0] as 0. / 1.
        db *= 1 - s
        db += s
        db *= gb
    blocked(fn, dx, dy, cache.y)
    return dx


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
    """1 / (1 + exp(-x)) without overflow: for x < 0 use exp(x) / (1 + exp(x)).
    On a GPU the same value as 0.5 tanh(x / 2) + 0.5 (stable too, three kernels, not eight)."""
    xp = get_array_module(x)
    if xp is not np:
        y = xp.tanh(x * 0.5)
        y *= 0.5
        y += 0.5
        return y
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
