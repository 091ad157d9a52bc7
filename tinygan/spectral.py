"""Spectral normalisation (Miyato et al. 2018), beyond the InfoGAN papers: a layer whose
weight is divided by its largest singular value, so that the layer cannot stretch any
input by more than 1. Used in D in place of BatchNorm (InfoGANConfig.d_norm "spectral";
docs/08-cryptopunks.md measures it).

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

from . import backend
from .backend import get_array_module
from .layers import Conv2d, Linear
from .ops import linear_forward
from .fast import conv2d_backward, conv2d_forward, linear_backward


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
    xp = get_array_module(da_bar)
    along = (da_bar * cache.a_bar).sum()
    return (da_bar - along * xp.outer(cache.u, cache.v)) / cache.sigma


def power_iteration(a, u, eps=1e-12):
    """One step of the power iteration on a (R, C) from the unit vector u (R,): the new u."""
    xp = get_array_module(a)
    v = a.T @ u
    v /= xp.sqrt((v * v).sum()) + eps
    u = a @ v
    return u / (xp.sqrt((u * u).sum()) + eps)


def _unit_vector(n, rng):
    """A random unit vector (n,) drawn on the host, on the active backend."""
    rng = backend.rng() if rng is None else rng
    u = rng.standard_normal(n)
    return backend.asarray(u / (u ** 2).sum() ** 0.5, dtype=backend.default_dtype())


class _Spectral:
    """What the two spectrally normalised layers share: the buffer u, its power-iteration
    step in training mode, and the weight as the matrix A."""

    def _matrix(self, w):
        raise NotImplementedError

    def _normalised(self):
        """(w_bar in the layer's layout, the op's cache); moves u one step first in training."""
        a = self._matrix(self.params["w"])
        if self.training:
            self.buffers["u"][...] = power_iteration(a, self.buffers["u"])
        a_bar, cache = spectral_normalise_forward(a, self.buffers["u"].copy())
        return self._unmatrix(a_bar), cache


class SpectralLinear(_Spectral, Linear):
    """y = x @ w_bar + b, w_bar = w / sigma(w): Linear with a spectrally normalised weight.
    A = w.T (out, in), u (out,)."""

    def __init__(self, in_features, out_features, rng=None):
        Linear.__init__(self, in_features, out_features, rng)
        self.buffers = {"u": _unit_vector(out_features, rng)}

    def _matrix(self, w):
        return w.T                                                       # (out, in)

    def _unmatrix(self, a):
        return a.T                                                       # (in, out)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise self._shape_error(f"(N, {self.in_features})", x)
        w_bar, sn = self._normalised()
        y, cache = linear_forward(x, w_bar, self.params["b"])
        self._cache = (cache, sn)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        cache, sn = self._take_cache()
        dx, dw_bar, db = linear_backward(dy, cache, need_param_grads, need_input_grad)
        if need_param_grads:
            self._accumulate(w=spectral_normalise_backward(dw_bar.T, sn).T, b=db)
        return dx

    def __repr__(self):
        return f"SpectralLinear({self.in_features}, {self.out_features})"


class SpectralConv2d(_Spectral, Conv2d):
    """Conv2d with a spectrally normalised weight. A = w as (C_out, C_in*KH*KW), u (C_out,).
    (The norm of this matrix, not of the convolution as an operator on images, as in
    Miyato et al.; the operator's norm is at most KH*KW / stride^2 times larger.)"""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, rng)
        self.buffers = {"u": _unit_vector(out_channels, rng)}

    def _matrix(self, w):
        return w.reshape(w.shape[0], -1)                                 # (C_out, C_in*KH*KW)

    def _unmatrix(self, a):
        return a.reshape(self.params["w"].shape)

    def forward(self, x):
        self._check(x)
        w_bar, sn = self._normalised()
        y, cache = conv2d_forward(x, w_bar, self.params["b"], self.stride, self.padding)
        self._cache = (cache, sn)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        cache, sn = self._take_cache()
        dx, dw_bar, db = conv2d_backward(dy, cache, need_param_grads, need_input_grad)
        if need_param_grads:
            self._accumulate(w=self._unmatrix(spectral_normalise_backward(self._matrix(dw_bar), sn)), b=db)
        return dx

    def __repr__(self):
        return super().__repr__().replace("Conv2d", "SpectralConv2d", 1)
