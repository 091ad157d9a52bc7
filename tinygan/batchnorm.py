"""Batch normalisation for (N, C) and (N, C, H, W) inputs, training and evaluation mode.

Statistics are per channel c, over every other axis: m = N values for (N, C) and
m = N*H*W for (N, C, H, W). Derivation of both modes: docs/03-batchnorm.md.
"""
from typing import NamedTuple

import numpy as np

from .backend import BLOCK, get_array_module, parallel_for
from .ops import column_sums, wide_factor


def _rows(x):
    """Channels as the last axis, everything else flattened into rows.

    (N, C) -> (N, C);  (N, C, H, W) -> (N*H*W, C). Free (a view) when the NCHW
    array is a transposed view of NHWC memory, as the conv ops return.
    """
    if x.ndim == 2:
        return x
    N, C, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(N * H * W, C)  # (N, H, W, C) -> (N*H*W, C)


def _unrows(r, shape):
    """Inverse of _rows: (M, C) -> `shape`, NCHW for 4-D (a transposed view of NHWC)."""
    if len(shape) == 2:
        return r
    N, C, H, W = shape
    return r.reshape(N, H, W, C).transpose(0, 3, 1, 2)  # (N*H*W, C) -> (N, C, H, W)


# ----------------------------------------------------------------------------- fast passes
# The math below is per channel over rows r (M, C). With few channels (64 here) NumPy's
# per-channel reductions and row-broadcast ufuncs run one short inner loop per row, and
# that loop overhead costs more than the arithmetic. So the passes are written as:
#   r.sum(axis=0)              -> ops.column_sums(r): the same additions on wide rows
#   (a * b).sum(axis=0)        -> einsum("ij,ij->j", a, b), no temporary
#   a * u + v (u, v per channel) on "wide" rows: r viewed as (M / k, k*C) with u, v tiled
#                                 k times, so each inner loop is k*C values long, done on
#                                 cache-sized blocks of rows shared out over CPU threads.


def _column_dots(a, b):
    """(a * b).sum(axis=0) for a, b (M, C), without the (M, C) temporary."""
    return get_array_module(a).einsum("ij,ij->j", a, b)


def _affine(out, terms, const):
    """out = sum of a * u over (a, u) in terms, + const; a (M, C) arrays, u and const (C,);
    u None means 1.

    Blocked and threaded on the CPU (see the note above); one pass per term on a GPU.
    """
    xp = get_array_module(out)
    M, C = out.shape
    k = wide_factor(M, C) if xp is np else 1
    rows = M // k
    wide = lambda a: a.reshape(rows, k * C)                           # noqa: E731 a view when contiguous
    o = wide(out)
    ts = [(wide(a), None if u is None else xp.tile(u, k)) for a, u in terms]
    cst = xp.tile(const, k)
    step = max(1, BLOCK // (k * C)) if xp is np else rows

    def run(i0, i1):                                                  # wide rows i0..i1-1, one thread
        tmp = xp.empty((min(step, i1 - i0), k * C), dtype=out.dtype) if len(ts) > 1 else None
        for s in range(i0, i1, step):
            e = min(s + step, i1)
            ob = o[s:e]
            a, u = ts[0]
            if u is None:
                xp.add(a[s:e], cst, out=ob)
            else:
                xp.multiply(a[s:e], u, out=ob)
                ob += cst
            for a, u in ts[1:]:
                tb = tmp[:e - s]
                xp.multiply(a[s:e], u, out=tb)
                ob += tb
    parallel_for(run, rows, min_size=step)
    return out


# ----------------------------------------------------------------------------- the op
class BatchNormCache(NamedTuple):
    xc: object          # (M, C) centred input x - mu, as rows
    gamma: object       # (C,)
    inv_std: object     # (C,) 1 / sqrt(var + eps)
    shape: tuple        # the input's shape
    training: bool      # batch statistics (True) or fixed running statistics (False)
    mean: object        # (C,) the mean used (batch mean in training)
    var: object         # (C,) the biased variance used (batch variance in training)


def batchnorm_forward(x, gamma, beta, eps=1e-5, running_mean=None, running_var=None):
    """y = gamma * (x - mu) / sqrt(var + eps) + beta, per channel.

    x (N, C) or (N, C, H, W), gamma (C,), beta (C,)  ->  y, same shape as x.
    Training mode (running_mean and running_var None): mu, var are the batch mean and
    biased batch variance over the m values of each channel; they are returned in the
    cache (`mean`, `var`) so that the caller can update its running estimates.
    Evaluation mode (both given): mu, var are those fixed running statistics.
    Plain form, on rows r (m, C):
        mu = r.mean(0);  xc = r - mu;  var = (xc**2).mean(0);  y = gamma * xc / sqrt(var + eps) + beta
    (the fast passes: the note above _column_dots).
    """
    xp = get_array_module(x)
    training = running_mean is None
    if training != (running_var is None):
        raise ValueError("batchnorm_forward: give both running_mean and running_var (evaluation) or neither (training)")
    r = _rows(x)                                                  # (M, C)
    M = r.shape[0]
    if xp is not np:  # the plain form: whole-array passes are what a GPU does best
        mean = r.mean(axis=0) if training else running_mean       # (C,)
        xc = r - mean                                             # (M, C)
        var = (xc * xc).mean(axis=0) if training else running_var  # (C,) biased
        inv_std = 1 / xp.sqrt(var + eps)                          # (C,)
        y = _unrows(xc * (gamma * inv_std) + beta, x.shape)
        return y, BatchNormCache(xc, gamma, inv_std, x.shape, training, mean, var)
    mean = column_sums(r) / M if training else running_mean       # (C,)
    xc = _affine(xp.empty(r.shape, dtype=r.dtype), [(r, None)], -mean)  # (M, C) x - mu
    var = _column_dots(xc, xc) / M if training else running_var   # (C,) biased
    inv_std = 1 / xp.sqrt(var + eps)                              # (C,)
    y = _affine(xp.empty_like(xc), [(xc, gamma * inv_std)], beta)  # gamma xhat + beta
    y = _unrows(y, x.shape)
    return y, BatchNormCache(xc, gamma, inv_std, x.shape, training, mean, var)


def batchnorm_backward(dy, cache):
    """Given dy = dL/dy, same shape as x; per channel, over its m values, with
    xhat = (x - mu) inv_std:
    dbeta  = sum dy
    dgamma = sum dy * xhat
    training (mu and var depend on x):
        dx = gamma * inv_std / m * (m * dy - sum dy - xhat * sum(dy * xhat))
    evaluation (mu and var are constants):
        dx = gamma * inv_std * dy
    Full derivation: docs/03-batchnorm.md. Computed as dx = a dy + b (x - mu) + c with
    per-channel a = gamma inv_std, b = -a inv_std dgamma / m, c = -a dbeta / m.
    """
    xp = get_array_module(dy)
    g = _rows(dy)                                                 # (M, C)
    xc, inv_std = cache.xc, cache.inv_std
    m = g.shape[0]
    dbeta = column_sums(g)                                        # (C,)
    dgamma = (_column_dots(g, xc) if xp is np else (g * xc).sum(axis=0)) * inv_std  # (C,) sum dy * xhat
    a = cache.gamma * inv_std                                     # (C,)
    if xp is not np:  # the plain form
        dx = g * a
        if cache.training:
            dx += xc * (-a * inv_std * dgamma / m)
            dx += -a * dbeta / m
        return _unrows(dx, cache.shape), dgamma, dbeta
    dx = xp.empty(g.shape, dtype=g.dtype)
    if cache.training:
        _affine(dx, [(g, a), (xc, -a * inv_std * dgamma / m)], -a * dbeta / m)
    else:
        _affine(dx, [(g, a)], xp.zeros_like(a))
    return _unrows(dx, cache.shape), dgamma, dbeta
