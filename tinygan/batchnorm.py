"""Batch normalisation for (N, C) and (N, C, H, W) inputs, training and evaluation mode.

Statistics are per channel c, over every other axis: m = N values for (N, C) and
m = N*H*W for (N, C, H, W). Derivation of both modes: docs/03-batchnorm.md.
"""
from typing import NamedTuple

from .backend import get_array_module


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
    (tinygan/fast.py: the same on a CPU in cache blocks over threads.)
    """
    xp = get_array_module(x)
    training = running_mean is None
    if training != (running_var is None):
        raise ValueError("batchnorm_forward: give both running_mean and running_var (evaluation) or neither (training)")
    r = _rows(x)                                                  # (M, C)
    mean = r.mean(axis=0) if training else running_mean           # (C,)
    xc = r - mean                                                 # (M, C) x - mu
    var = (xc * xc).mean(axis=0) if training else running_var     # (C,) biased
    inv_std = 1 / xp.sqrt(var + eps)                              # (C,)
    y = xc * (gamma * inv_std) + beta                             # (M, C) gamma xhat + beta
    return _unrows(y, x.shape), BatchNormCache(xc, gamma, inv_std, x.shape, training, mean, var)


def batchnorm_backward(dy, cache):
    """Given dy = dL/dy, same shape as x; per channel, over its m values, with
    xhat = (x - mu) inv_std:
    dbeta  = sum dy
    dgamma = sum dy * xhat
    training (mu and var depend on x):
        dx = gamma * inv_std / m * (m * dy - sum dy - xhat * sum(dy * xhat))
    evaluation (mu and var are constants):
        dx = gamma * inv_std * dy
    Full derivation: docs/03-batchnorm.md.
    """
    g = _rows(dy)                                                 # (M, C)
    m = g.shape[0]
    xhat = cache.xc * cache.inv_std                               # (M, C)
    dbeta = g.sum(axis=0)                                         # (C,)
    dgamma = (g * xhat).sum(axis=0)                               # (C,)
    if cache.training:
        dx = (cache.gamma * cache.inv_std / m) * (m * g - dbeta - xhat * dgamma)
    else:
        dx = (cache.gamma * cache.inv_std) * g
    return _unrows(dx, cache.shape), dgamma, dbeta
