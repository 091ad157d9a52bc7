"""Random shifts of D's inputs (not part of the InfoGAN papers; docs/08-cryptopunks.md measures
it): a differentiable augmentation (Zhao et al., Differentiable Augmentation for
Data-Efficient GAN Training, 2020, call it translation). D and Q see every real and every
generated image moved by a few whole pixels, a different random shift per image, the
uncovered border filled with 0, so D cannot learn the training images by heart pixel by
pixel. Real and generated images are shifted alike, so G gains nothing by drawing shifted
punks, and G's gradient passes back through the shift.

Forward, for image n shifted by (dy_n, dx_n):

    out[n, :, i, j] = x[n, :, i - dy_n, j - dx_n]     where 0 <= i - dy_n < H and 0 <= j - dx_n < W,
                    = 0                                elsewhere.

Backward. out is linear in x, each input pixel goes to at most one output pixel, so
dL/dx[n, :, k, l] = dL/dout[n, :, k + dy_n, l + dx_n] where that lies inside the image, and
0 where the shift pushed the pixel out: the adjoint of a shift by (dy, dx) is the shift by
(-dy, -dx), the same function with the shifts negated.
"""
import numpy as np

from .backend import get_array_module


def shift_forward(x, shifts):
    """x (N, C, H, W), shifts (N, 2) whole pixels (dy, dx), host integers -> (out, cache)."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    shifts = np.asarray(shifts, dtype=np.int64)
    if shifts.shape != (N, 2):
        raise ValueError(f"shift: expected (N, 2) = ({N}, 2) shifts, got shape {shifts.shape}")
    s = int(np.abs(shifts).max()) if N else 0
    padded = xp.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))                       # (N, C, H + 2s, W + 2s)
    rows = xp.asarray(s - shifts[:, :1] + np.arange(H)[None, :])              # (N, H) source rows
    cols = xp.asarray(s - shifts[:, 1:] + np.arange(W)[None, :])              # (N, W) source columns
    n = xp.asarray(np.arange(N)[:, None, None])
    out = padded[n, :, rows[:, :, None], cols[:, None, :]]                     # (N, H, W, C)
    return xp.ascontiguousarray(out.transpose(0, 3, 1, 2)), shifts


def shift_backward(dout, cache):
    """dout (N, C, H, W) -> dx: the opposite shift (module docstring)."""
    return shift_forward(dout, -cache)[0]


def random_shifts(n, max_shift, rng):
    """(n, 2) whole-pixel shifts, each coordinate uniform on -max_shift ... max_shift."""
    return rng.integers(-max_shift, max_shift + 1, size=(n, 2))
