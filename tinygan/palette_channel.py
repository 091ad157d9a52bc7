"""Beyond the paper: a palette channel for D's input (docs/08-cryptopunks.md measures it).

Pixel art is drawn with a small set of flat colours, the palette; a generated pixel far
from every palette colour is speckle. A convolution over RGB can only learn "far from all
of 222 colours" with many units, so the channel hands D that number for every pixel:
with x_p the C colour values of pixel p, c_1 .. c_P the palette (the distinct colours of
the training images) and s a colour scale,

    d_p^2 = min_k ||x_p - c_k||^2,   k*_p = the k that attains it,
    f_p   = 1 - exp(-d_p^2 / (2 s^2)),

f_p = 0 on a palette colour, rising towards 1 as the pixel leaves the palette (0.39 at
d_p = s). The layer's output is x with f appended as one more channel.

Backward. Within the region where k*_p does not change (everywhere except on the
boundaries between two colours' regions, a set of measure zero), d_p^2 = ||x_p - c_k*||^2
is a plain square, so

    df_p/dx_p = exp(-d_p^2 / (2 s^2)) (x_p - c_k*) / s^2,

and with dy the upstream gradient of the (C + 1)-channel output,

    dx_p = dy_p[:C] + dy_p[C] exp(-d_p^2 / (2 s^2)) (x_p - c_k*) / s^2.

The palette itself is data, not a parameter: it gets no gradient.
"""
import numpy as np

from . import backend
from .backend import get_array_module
from .layers import Module

BLOCK = 4096   # pixels per block of the nearest-colour search


def palette_channel_forward(x, colours, scale):
    """x (N, C, H, W), colours (P, C), scale s > 0 -> y (N, C + 1, H, W), cache."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    px = x.transpose(0, 2, 3, 1).reshape(-1, C)                             # (M, C), M = N*H*W
    # the nearest colour: ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, and ||x||^2 is the same
    # for every c, so it is left out of the comparison; the rest is one product,
    # [x, 1] . [-2c, ||c||^2], taken over blocks of pixels so that the (block, P) scores stay small
    aug_c = xp.concatenate([-2 * colours, (colours * colours).sum(axis=1, keepdims=True)], axis=1).T  # (C+1, P)
    aug_x = xp.concatenate([px, xp.ones((len(px), 1), px.dtype)], axis=1)   # (M, C+1)
    nearest = xp.empty(len(px), dtype=np.int64)                             # (M,) the k*_p
    for i in range(0, len(px), BLOCK):
        nearest[i:i + BLOCK] = (aug_x[i:i + BLOCK] @ aug_c).argmin(axis=1)
    diff = px - colours[nearest]                                            # (M, C) x_p - c_k*
    g = xp.exp(-(diff * diff).sum(axis=1) / (2 * scale * scale))            # (M,) exp(-d^2 / 2s^2)
    f = (1 - g).reshape(N, 1, H, W)
    y = xp.concatenate([x, f.astype(x.dtype, copy=False)], axis=1)          # (N, C + 1, H, W)
    return y, (diff, g, scale, x.shape)


def palette_channel_backward(dy, cache):
    """dy (N, C + 1, H, W) -> dx (N, C, H, W)."""
    diff, g, scale, (N, C, H, W) = cache
    df = dy[:, C].reshape(-1)                                               # (M,) dL/df_p
    dpx = (df * g / (scale * scale))[:, None] * diff                        # (M, C) through f
    return dy[:, :C] + dpx.reshape(N, H, W, C).transpose(0, 3, 1, 2).astype(dy.dtype, copy=False)


def distinct_colours(images):
    """The distinct pixel colours of images (n, C, H, W) on the host -> (P, C), sorted."""
    images = np.asarray(images)
    return np.unique(images.transpose(0, 2, 3, 1).reshape(-1, images.shape[1]), axis=0)


class PaletteChannel(Module):
    """D's first layer when the palette channel is on: appends f to the image (the ops above).
    The palette is the buffer "colours" (P, C), set from the training images by
    InfoGAN.set_d_palette and saved with the checkpoint; `scale` is s."""

    def __init__(self, n_colours, channels, scale):
        super().__init__()
        self.buffers = {"colours": backend.xp().zeros((n_colours, channels), dtype=backend.default_dtype())}
        self.channels, self.scale = channels, scale

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise self._shape_error(f"(N, {self.channels}, H, W)", x)
        y, self._cache = palette_channel_forward(x, self.buffers["colours"], self.scale)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        cache = self._take_cache()
        return palette_channel_backward(dy, cache) if need_input_grad else None

    def __repr__(self):
        return f"PaletteChannel(colours={self.buffers['colours'].shape[0]}, scale={self.scale:.4g})"
