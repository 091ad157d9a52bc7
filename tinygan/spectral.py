"""Spectral normalisation (Miyato et al. 2018), beyond the InfoGAN papers: a weight divided
by its largest singular value, so that the layer cannot stretch any input by more than 1.
The op pair is here; the layers SpectralLinear and SpectralConv2d are in tinygan/layers.py,
and the fast form of SpectralLinear's in tinygan/fast.py. Used in D in place of BatchNorm
(InfoGANConfig.d_norm "spectral"; docs/08-cryptopunks.md measures it).

The weight as a matrix A (R, C): Linear's w (in, out) as w.T (out, in); a convolution's w
(C_out, C_in, KH, KW) as (C_out, C_in*KH*KW). The largest singular value is estimated with
a unit vector u (R,) that the layer keeps between steps and moves one power-iteration
step towards A's top left singular vector before each training forward:

    v = A^T u / ||A^T u||,    u <- A v / ||A v||                                (no gradient)

Given u, the op is an exact, differentiable function of A:

    sigma(A) = ||A^T u||,     A_bar = A / sigma.

Gradient. With v = A^T u / sigma, d sigma / d A_ij = (A^T u)_j u_i / sigma = u_i v_j, so for
G = dL/dA_bar,
    dL/dA_ij = G_ij / sigma - sum_kl G_kl A_kl / sigma^2 * u_i v_j
             = (G_ij - <G, A_bar> u_i v_j) / sigma,
the incoming gradient scaled by 1/sigma, less its component along u v^T, the direction in
which A grows its own norm. When u is the top singular vector, sigma is A's spectral norm
and u v^T its exact gradient, so the op is spectral normalisation proper; before that,
||A^T u|| is a lower bound of it, and the op is exact for what it computes.
"""
from typing import NamedTuple

from .backend import get_array_module


class SpectralCache(NamedTuple):
    u: object       # (R,) the unit vector the forward used
    v: object       # (C,) A^T u / sigma
    sigma: object   # ||A^T u||, a 0-d array
    a_bar: object   # (R, C) A / sigma


def spectral_normalise_forward(a, u):
    """a (R, C), u (R,) a unit vector  ->  a_bar = a / ||a^T u||  (R, C)."""
    xp = get_array_module(a)
    t = a.T @ u                                   # (C,)
    sigma = xp.sqrt((t * t).sum())
    a_bar = a / sigma
    return a_bar, SpectralCache(u=u, v=t / sigma, sigma=sigma, a_bar=a_bar)


def spectral_normalise_backward(da_bar, cache):
    """dL/da from dL/da_bar (R, C):  (da_bar - <da_bar, a_bar> u v^T) / sigma."""
    along = (da_bar * cache.a_bar).sum()
    return (da_bar - along * (cache.u[:, None] * cache.v[None, :])) / cache.sigma   # u v^T (R, C)


def power_iteration(a, u, eps=1e-12):
    """One step of the power iteration on a (R, C) from the unit vector u (R,): the new u."""
    xp = get_array_module(a)
    v = a.T @ u
    v /= xp.sqrt((v * v).sum()) + eps
    u = a @ v
    return u / (xp.sqrt((u * u).sum()) + eps)
