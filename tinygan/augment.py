"""Random changes of handwriting style that keep a digit's identity: a slant, a small
rotation, scaling and shift, and a thicker or thinner stroke. Used by the consistency term
(docs/06-infogan.md): Q should put a real image and its restyled copy in the same category.

Runs on the batch's own backend (NumPy or CuPy) on batches (N, C, H, W): the random
parameters (a few numbers per image) are drawn on the host, so a seed gives the same
images on both, and only they travel to the device. Nothing here needs a gradient.
"""
import numpy as np

from .backend import get_array_module


def _check(x):
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"expected a batch of images (N, C, H, W), got shape {getattr(x, 'shape', type(x))}")
    return x.shape


def random_affine(x, rng, max_rotate=15.0, max_scale=0.15, max_shift=2.0, max_shear=0.4):
    """Each image slanted (sheared) by up to max_shear, rotated by up to max_rotate degrees,
    scaled by 1 +- max_scale and shifted by up to max_shift pixels, about its centre, with
    bilinear interpolation; pixels that come from outside the image take the image's
    smallest value (its background).

    x (N, C, H, W)  ->  (N, C, H, W). For output pixel p (row, column) of image n:
        out[n, :, p] = bilinear(x[n], A_n (p - centre - shift_n) + centre),
    A_n the inverse of (rotation . scaling . shear): the shear moves row r by k r columns
    (k > 0 leans the top to the left, as displayed); a positive angle turns the content
    clockwise as displayed, rows downwards.
    """
    N, C, H, W = _check(x)
    xp = get_array_module(x)
    angle = np.deg2rad(rng.uniform(-max_rotate, max_rotate, N))
    scale = 1 + rng.uniform(-max_scale, max_scale, N)
    shift = rng.uniform(-max_shift, max_shift, (N, 2))
    shear = rng.uniform(-max_shear, max_shear, N)
    # per image: cos, sin of the inverse map, the shift and the shear; one copy to the device
    per_image = xp.asarray(np.stack([np.cos(angle) / scale, np.sin(angle) / scale,
                                     shift[:, 0], shift[:, 1], shear], axis=1))   # (N, 5) float64
    cos, sin, shift_r, shift_c, shear = (per_image[:, i, None, None] for i in range(5))  # each (N, 1, 1)
    rows = (xp.arange(H, dtype=np.float64) - (H - 1) / 2)[None, :, None]       # (1, H, 1)
    cols = (xp.arange(W, dtype=np.float64) - (W - 1) / 2)[None, None, :]       # (1, 1, W)
    r = rows - shift_r                                                        # (N, H, 1)
    c = cols - shift_c                                                        # (N, 1, W)
    rot_r = cos * r - sin * c                                                 # (N, H, W), undo the rotation
    rot_c = sin * r + cos * c                                                 # and the scaling,
    src_r = rot_r + (H - 1) / 2
    src_c = rot_c - shear * rot_r + (W - 1) / 2                               # then the shear
    r0f, c0f = xp.floor(src_r), xp.floor(src_c)
    fr, fc = (src_r - r0f)[:, None], (src_c - c0f)[:, None]                   # (N, 1, H, W)
    r0, c0 = r0f.astype(np.int64), c0f.astype(np.int64)
    fill = x.reshape(N, C, -1).min(axis=2)[:, :, None, None]                  # (N, C, 1, 1)
    n = xp.arange(N)[:, None, None]

    def at(rr, cc):                                   # x[n, :, rr, cc], or fill outside
        inside = ((rr >= 0) & (rr < H) & (cc >= 0) & (cc < W))[:, None]       # (N, 1, H, W)
        v = x[n, :, xp.clip(rr, 0, H - 1), xp.clip(cc, 0, W - 1)]            # (N, H, W, C)
        return xp.where(inside, v.transpose(0, 3, 1, 2), fill)
    out = ((1 - fr) * (1 - fc) * at(r0, c0) + (1 - fr) * fc * at(r0, c0 + 1)
           + fr * (1 - fc) * at(r0 + 1, c0) + fr * fc * at(r0 + 1, c0 + 1))
    return out.astype(x.dtype)


def random_stroke(x, rng):
    """Each image, with probability 1/3 each: unchanged, its stroke thickened (the largest
    value in each 2x2 neighbourhood, a grey dilation) or thinned (the smallest, an erosion).
    Bright strokes on a dark background, as in MNIST. x (N, C, H, W) -> (N, C, H, W)."""
    _check(x)
    xp = get_array_module(x)
    pad = xp.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1)), mode="edge")           # (N, C, H+1, W+1)
    quad = [pad[:, :, i:i + x.shape[2], j:j + x.shape[3]] for i in (0, 1) for j in (0, 1)]
    thick = xp.maximum(xp.maximum(quad[0], quad[1]), xp.maximum(quad[2], quad[3]))
    thin = xp.minimum(xp.minimum(quad[0], quad[1]), xp.minimum(quad[2], quad[3]))
    pick = xp.asarray(rng.integers(0, 3, x.shape[0]))[:, None, None, None]    # (N, 1, 1, 1), host-drawn
    return xp.where(pick == 1, thick, xp.where(pick == 2, thin, x)).astype(x.dtype)


def restyle(x, rng):
    """random_stroke then random_affine: the same digit in another hand."""
    return random_affine(random_stroke(x, rng), rng)
