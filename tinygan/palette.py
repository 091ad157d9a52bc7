"""G's last layer for pixel art (not part of the InfoGAN papers; docs/08-cryptopunks.md
measures it): every generated pixel replaced by the nearest colour of a fixed palette, the
colours of the training images.

Forward. For a pixel x (3,) and palette colours p_1 ... p_K (K, 3),

    k*(x) = argmin_k ||x - p_k||^2 = argmin_k (||p_k||^2 - 2 x . p_k),     y = p_{k*(x)},

(||x||^2 is the same for every k, so it drops out of the argmin; what is left is one
(pixels, 3) x (3, K) product). D and Q see only palette colours: an image that G draws
between two colours reaches them as one or the other.

Backward. y is piecewise constant in x: it jumps where x crosses from one colour's region
to the next and is flat everywhere else, so dy/dx = 0 wherever it exists, and the exact
gradient would tell G nothing. The straight-through estimator (Bengio et al., 2013) passes
dL/dy back as dL/dx unchanged, the gradient of the identity: G is updated as if D and Q
had seen its own output x, and the forward pass's snapping is treated as a small
correction that does not move with x,

    y = x + (snap(x) - x)        with (snap(x) - x) held constant:   dL/dx = dL/dy.

This is a chosen surrogate, not the derivative, so no finite-difference check can confirm
it; tests/test_palette.py checks what it is: the nearest colour forward, the identity
backward, and that the layer's output is always a palette colour.
"""
import numpy as np

from . import backend
from .layers import Module


def palette_of(images, channels_axis=1):
    """The distinct colours of float images, (n, 3, H, W) by default -> (K, 3), sorted."""
    x = np.moveaxis(backend.to_numpy(images), channels_axis, -1)
    return np.unique(x.reshape(-1, x.shape[-1]), axis=0)


def palette_snap_forward(x, palette):
    """x (N, C, H, W), palette (K, C) -> (y (N, C, H, W): each pixel the nearest palette
    colour, cache)."""
    xp = backend.get_array_module(x)
    N, C, H, W = x.shape
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, C)                          # (N*H*W, C)
    score = (palette * palette).sum(axis=1)[None, :] - 2 * (pixels @ palette.T)   # (N*H*W, K)
    nearest = xp.argmin(score, axis=1)                                       # (N*H*W,)
    y = palette[nearest].reshape(N, H, W, C).transpose(0, 3, 1, 2)           # (N, C, H, W)
    return xp.ascontiguousarray(y), x.shape


def palette_snap_backward(dy, cache):
    """Straight-through: dL/dx = dL/dy (the module docstring says why); cache: x's shape."""
    if dy.shape != cache:
        raise ValueError(f"palette snap: dy of shape {tuple(dy.shape)} for an input of shape {tuple(cache)}")
    return dy


class PaletteSnap(Module):
    """Snaps (N, C, H, W) images to the nearest of K colours (K, C), set with set_palette."""

    def __init__(self):
        super().__init__()
        self.palette = None

    def set_palette(self, colours):
        colours = np.asarray(backend.to_numpy(colours), dtype=np.float64)
        if colours.ndim != 2 or len(colours) < 2 or not np.isfinite(colours).all():
            raise ValueError(f"{self!r}: the palette must be (K, C) finite colours with K >= 2, "
                             f"got shape {colours.shape}")
        if len(np.unique(colours, axis=0)) != len(colours):
            raise ValueError(f"{self!r}: the palette has repeated colours")
        self.palette = colours
        self._device_palette = None
        return self

    def forward(self, x):
        if self.palette is None:
            raise RuntimeError(f"{self!r}: no palette set (set_palette, or a checkpoint that holds one)")
        if x.ndim != 4 or x.shape[1] != self.palette.shape[1]:
            raise self._shape_error(f"(N, {self.palette.shape[1]}, H, W)", x)
        pal = self._device_palette
        if pal is None or pal.dtype != x.dtype:
            pal = self._device_palette = backend.asarray(self.palette, dtype=x.dtype)
        y, self._cache = palette_snap_forward(x, pal)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        return palette_snap_backward(dy, self._take_cache())

    def __repr__(self):
        return f"PaletteSnap({'unset' if self.palette is None else len(self.palette)})"
