"""Pixel ranges, in one place. Images on disk and in figures are uint8 in 0..255, channels
last (n, H, W, C); the models see float32, channels first (n, C, H, W), in the range of G's
last activation: [0, 1] for a sigmoid (MNIST) and [-1, 1] for a tanh (the punks)."""
import numpy as np

from . import backend

RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def _range(output):
    if output not in RANGES:
        raise ValueError(f"output must be one of {sorted(RANGES)}, got {output!r}")
    return RANGES[output]


def to_model(u8, output, channels_last=True):
    """uint8 (n, H, W, C) (or (n, H, W) for one channel, or (n, C, H, W) when not
    channels_last) -> float32 (n, C, H, W) in the model's range: lo + (hi - lo) * u / 255."""
    lo, hi = _range(output)
    x = np.asarray(u8, np.float32)
    if x.ndim == 3:
        x = x[..., None] if channels_last else x[:, None]
    if channels_last:
        x = x.transpose(0, 3, 1, 2)
    return lo + (hi - lo) / 255.0 * x


def to_unit(x, output):
    """Model-range images (host or device) -> float64 on the host in [0, 1], same layout."""
    lo, hi = _range(output)
    return (backend.to_numpy(x).astype(np.float64) - lo) / (hi - lo)


def to_uint8(x, output):
    """Model-range images (n, C, H, W), host or device -> uint8 (n, H, W, C), rounded and clipped."""
    u = np.clip(np.round(to_unit(x, output) * 255), 0, 255).astype(np.uint8)
    return u.transpose(0, 2, 3, 1)
