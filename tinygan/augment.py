"""Random changes of handwriting style that keep a digit's identity: a slant, a small
rotation, scaling and shift, and a thicker or thinner stroke. Used by the consistency term
(docs/06-infogan.md): Q should put a real image and its restyled copy in the same category.

Runs on the host (NumPy) on batches (N, C, H, W); nothing here needs a gradient.
"""
import numpy as np


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
    angle = np.deg2rad(rng.uniform(-max_rotate, max_rotate, N))
    scale = 1 + rng.uniform(-max_scale, max_scale, N)
    shift = rng.uniform(-max_shift, max_shift, (N, 2))
    shear = rng.uniform(-max_shear, max_shear, N)[:, None, None]              # (N, 1, 1)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale                  # inverse map
    rows, cols = np.meshgrid(np.arange(H) - (H - 1) / 2, np.arange(W) - (W - 1) / 2, indexing="ij")
    r = rows - shift[:, :1, None]                                             # (N, H, W)
    c = cols - shift[:, 1:, None]
    rot_r = cos[:, None, None] * r - sin[:, None, None] * c                   # (N, H, W), undo the rotation
    rot_c = sin[:, None, None] * r + cos[:, None, None] * c                   # and the scaling,
    src_r = rot_r + (H - 1) / 2
    src_c = rot_c - shear * rot_r + (W - 1) / 2                               # then the shear
    r0, c0 = np.floor(src_r).astype(np.int64), np.floor(src_c).astype(np.int64)
    fr, fc = (src_r - r0)[:, None], (src_c - c0)[:, None]                     # (N, 1, H, W)
    fill = x.reshape(N, C, -1).min(axis=2)[:, :, None, None]                  # (N, C, 1, 1)
    n = np.arange(N)[:, None, None]

    def at(rr, cc):                                   # x[n, :, rr, cc], or fill outside
        inside = ((rr >= 0) & (rr < H) & (cc >= 0) & (cc < W))[:, None]       # (N, 1, H, W)
        v = x[n, :, np.clip(rr, 0, H - 1), np.clip(cc, 0, W - 1)]            # (N, H, W, C)
        return np.where(inside, v.transpose(0, 3, 1, 2), fill)
    out = ((1 - fr) * (1 - fc) * at(r0, c0) + (1 - fr) * fc * at(r0, c0 + 1)
           + fr * (1 - fc) * at(r0 + 1, c0) + fr * fc * at(r0 + 1, c0 + 1))
    return out.astype(x.dtype)


def random_stroke(x, rng):
    """Each image, with probability 1/3 each: unchanged, its stroke thickened (the largest
    value in each 2x2 neighbourhood, a grey dilation) or thinned (the smallest, an erosion).
    Bright strokes on a dark background, as in MNIST. x (N, C, H, W) -> (N, C, H, W)."""
    _check(x)
    pad = np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1)), mode="edge")          # (N, C, H+1, W+1)
    quad = [pad[:, :, i:i + x.shape[2], j:j + x.shape[3]] for i in (0, 1) for j in (0, 1)]
    thick = np.maximum(np.maximum(quad[0], quad[1]), np.maximum(quad[2], quad[3]))
    thin = np.minimum(np.minimum(quad[0], quad[1]), np.minimum(quad[2], quad[3]))
    pick = rng.integers(0, 3, x.shape[0])[:, None, None, None]
    return np.where(pick == 1, thick, np.where(pick == 2, thin, x)).astype(x.dtype)


def restyle(x, rng):
    """random_stroke then random_affine: the same digit in another hand."""
    return random_affine(random_stroke(x, rng), rng)
