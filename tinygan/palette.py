"""G's output for pixel art (not part of the InfoGAN papers; docs/08-cryptopunks.md measures
it): each pixel a soft choice among a fixed palette, the colours of the training images.

Instead of three numbers per pixel squashed by tanh, G's last layer gives K scores (logits)
per pixel, one for each palette colour p_1 ... p_K (K, C), from the F features h of that
pixel by a 1x1 convolution; a softmax over the K turns them into weights, and the pixel is
the weighted mean of the colours:

    z_k = w_k . h + b_k,     a_k = exp(z_k) / sum_j exp(z_j),     y = sum_k a_k p_k.   (per pixel)

When one score stands far above the rest, a is nearly one-hot and y is that palette
colour; with two scores close, y lies between two colours, as a tanh output can anywhere.
So the layer makes palette colours easy to draw but does not force them: whether G's
pixels land on the palette is measured (palette fidelity), not built in.

Backward. With g = dL/dy (C,) and s_k = g . p_k (how much L grows per unit of weight on
colour k), dL/da_k = s_k, and through the softmax (da_k/dz_j = a_k (delta_kj - a_j)):

    dL/dz_j = sum_k s_k a_k (delta_kj - a_j) = a_j (s_j - sum_k a_k s_k).

A score rises when its colour is better for L than the pixel's current mix, and falls when
worse, in proportion to its weight.

Initialisation. With the usual weights (N(0, 0.02^2)) the scores of a pixel differ by a few
hundredths, the softmax is nearly uniform, and every pixel is the palette's mean colour to
within a level of 255; the derivative of y by z carries the factor a_k ~ 1/K, so G's first
images do not depend on its input, and (measured, docs/08-cryptopunks.md) 500 steps later G
still drew flat brown squares while D won. So w starts at N(0, 1/F), scores of about unit
scale for features of unit scale, and b at the log of each colour's frequency among the
training pixels, b_k = log f_k: with w h = 0 the softmax is exactly f, and G's first pixels
are drawn in the training images' proportions of colours (mostly background). The scores are a 1x1 convolution (Linear applied at
every pixel, 02-conv.md), so dL/dw_k = sum over pixels dL/dz_k h, dL/db_k = sum over pixels
dL/dz_k, and dL/dh = sum_k dL/dz_k w_k. The palette is a constant (a buffer, saved with the
checkpoint); tests/test_palette.py checks the gradients against finite differences.
"""
import numpy as np

from . import backend
from .layers import Module, _full
# The layer runs the fast form of tinygan/fast.py, which equals the plain one below
# (tests/test_palette.py) and runs it instead when backend.set_fast(False)
from .fast import palette_output_backward as palette_output_fast_backward
from .fast import palette_output_forward as palette_output_fast_forward


def palette_of(images, channels_axis=1, counts=False):
    """The distinct colours of float images, (n, C, H, W) by default -> (K, C), sorted; with
    counts=True also how many pixels have each, (K,)."""
    x = np.moveaxis(backend.to_numpy(images), channels_axis, -1)
    return np.unique(x.reshape(-1, x.shape[-1]), axis=0, return_counts=counts)


def palette_output_forward(h, w, b, palette):
    """h (N, F, H, W) features, w (K, F) and b (K,) a 1x1 convolution, palette (K, C)
    -> (y (N, C, H, W), cache).

        z = w h + b                (per pixel: K scores)
        a = softmax(z)             (over the K colours)
        y = a palette              (the weighted mean colour)
    """
    xp = backend.get_array_module(h)
    z = xp.einsum("nfhw,kf->nkhw", h, w) + b[None, :, None, None]   # (N, K, H, W) scores
    a = xp.exp(z - z.max(axis=1, keepdims=True))                      # the largest score 0
    a = a / a.sum(axis=1, keepdims=True)                               # softmax over the K colours
    y = xp.einsum("nkhw,kc->nchw", a, palette)                         # (N, C, H, W)
    return y, (h, w, a, palette)


def palette_output_backward(dy, cache):
    """dy (N, C, H, W) -> (dh (N, F, H, W), dw (K, F), db (K,)).

        s  = palette dy                       dL/da, (N, K, H, W)
        dz = a (s - sum_k a s)                through the softmax
        dw = sum over pixels dz h^T,  db = sum over pixels dz,  dh = w^T dz
    """
    h, w, a, palette = cache
    xp = backend.get_array_module(dy)
    s = xp.einsum("nchw,kc->nkhw", dy, palette)                        # (N, K, H, W)
    dz = a * (s - (a * s).sum(axis=1, keepdims=True))
    dw = xp.einsum("nkhw,nfhw->kf", dz, h)
    db = dz.sum(axis=(0, 2, 3))
    dh = xp.einsum("nkhw,kf->nfhw", dz, w)
    return dh, dw, db


class PaletteOutput(Module):
    """(N, F, H, W) features -> (N, C, H, W) images: a 1x1 convolution to K scores per pixel
    (params w (K, F), b (K,)), a softmax over them and the weighted mean of the K palette
    colours (K, C), a buffer set with set_palette (or loaded from a checkpoint)."""

    def __init__(self, in_channels, n_colours, channels, rng=None):
        super().__init__()
        if in_channels < 1 or n_colours < 2 or channels < 1:
            raise ValueError(f"PaletteOutput: needs F >= 1 channels in, K >= 2 colours and C >= 1 channels "
                             f"out, got {in_channels}, {n_colours}, {channels}")
        self.in_channels = in_channels
        rng = backend.rng() if rng is None else rng             # scores of unit scale (module docstring)
        w = rng.normal(0.0, 1.0 / np.sqrt(in_channels), size=(n_colours, in_channels))
        self.params = {"w": backend.asarray(w, dtype=backend.default_dtype()), "b": _full((n_colours,), 0.0)}
        self.buffers = {"palette": _full((n_colours, channels), 0.0)}
        self._init_grads()

    def set_palette(self, colours, counts=None):
        """The K colours (K, C); with their pixel counts (K,), the biases start at the log of
        each colour's frequency, so that G's first pixels have the training images' colours."""
        colours = np.asarray(backend.to_numpy(colours), dtype=np.float64)
        pal = self.buffers["palette"]
        if colours.shape != tuple(pal.shape) or not np.isfinite(colours).all():
            raise ValueError(f"{self!r}: the palette must be {tuple(pal.shape)} finite colours, got shape "
                             f"{colours.shape}")
        if len(np.unique(colours, axis=0)) != len(colours):
            raise ValueError(f"{self!r}: the palette has repeated colours")
        pal[...] = backend.asarray(colours, dtype=pal.dtype)
        if counts is not None:
            counts = np.asarray(backend.to_numpy(counts), dtype=np.float64)
            if counts.shape != (len(colours),) or not (counts > 0).all():
                raise ValueError(f"{self!r}: counts must be ({len(colours)},) positive numbers, got shape "
                                 f"{counts.shape}")
            self.params["b"][...] = backend.asarray(np.log(counts / counts.sum()), dtype=self.params["b"].dtype)
        return self

    def forward(self, h):
        if h.ndim != 4 or h.shape[1] != self.in_channels:
            raise self._shape_error(f"(N, {self.in_channels}, H, W)", h)
        y, self._cache = palette_output_fast_forward(h, self.params["w"], self.params["b"],
                                                     self.buffers["palette"].astype(h.dtype, copy=False))
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        dh, dw, db = palette_output_fast_backward(dy, self._take_cache())
        if need_param_grads:
            self._accumulate(w=dw, b=db)
        return dh

    def __repr__(self):
        K, C = self.buffers["palette"].shape
        return f"PaletteOutput({self.in_channels}, {K} colours)"
