"""Finite-difference gradient checking, for the tests and for readers checking their own ops.

For a function f: x -> y and an upstream gradient dy, the quantity to check is
    dx = d/dx sum(f(x) * dy),
which is exactly what a backward pass given dy must return. The central difference
    (g(x + h e_i) - g(x - h e_i)) / 2h,   g(x) = sum(f(x) * dy)
has error O(h^2); in float64 with h = 1e-6 it agrees with a correct analytic
gradient to about 1e-9 relative.
"""
import numpy as np

from .backend import get_array_module


def numeric_grad(f, x, dy=None, h=1e-6):
    """Central-difference gradient of sum(f(x) * dy) with respect to x (f may return a
    scalar loss, then dy is None). x is perturbed in place and restored; it must be float64."""
    xp = get_array_module(x)
    if x.dtype != np.float64:
        raise TypeError(f"numeric_grad needs a float64 x for meaningful differences, got {x.dtype}")

    def g():
        out = f(x)
        return float((out * dy).sum()) if dy is not None else float(out)

    grad = xp.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)  # views: writing flat writes x
    for i in range(flat.size):
        old = float(flat[i])
        flat[i] = old + h
        plus = g()
        flat[i] = old - h
        minus = g()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b, eps=1e-12):
    """||a - b|| / max(||a|| + ||b||, eps): relative error of two arrays as a whole.
    (A per-element ratio blows up on entries that are both nearly zero.)"""
    xp = get_array_module(a, b)
    a, b = xp.asarray(a, dtype=np.float64), xp.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    return float(xp.linalg.norm(a - b) / max(float(xp.linalg.norm(a) + xp.linalg.norm(b)), eps))
