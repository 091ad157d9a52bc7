"""The array-backend switch: NumPy on the CPU, CuPy on a GPU.

This is the only module in tinygan that imports CuPy. Everything else either
asks the arrays it is given for their module (`get_array_module(x)`) or asks
this module for the active one (`xp()`), and so runs unchanged on both.

Random numbers that matter for reproducibility (weight initialisation, latent
samples, batch order) are drawn on the host from a NumPy Generator and then
moved to the active backend, so a seed gives the same run on NumPy and CuPy.
"""
import os

import numpy as np

_BACKENDS = ("numpy", "cupy")
_name = "numpy"
_xp = np
_default_dtype = np.float32
_rng = np.random.default_rng(0)


class BackendError(RuntimeError):
    """The requested array backend cannot be used on this machine."""


def _import_cupy():
    """Import CuPy and check that it can see a GPU; raise BackendError saying why not."""
    try:
        import cupy  # the one place CuPy is imported
    except ImportError as e:
        raise BackendError(
            "backend 'cupy' was requested but CuPy is not installed "
            f"({e}). Install the wheel that matches your CUDA driver: "
            "pip install -e '.[cuda12]' (cupy-cuda12x) or pip install -e '.[cuda13]' (cupy-cuda13x); "
            "`nvidia-smi` shows the driver's CUDA version. "
            "Or run with --backend numpy."
        ) from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        raise BackendError(
            f"backend 'cupy' was requested; CuPy is installed but CUDA is not usable ({e}). "
            "Check `nvidia-smi` and that the CuPy wheel matches the driver, or run with --backend numpy."
        ) from None
    if n == 0:
        raise BackendError("backend 'cupy' was requested but no GPU is visible "
                           "(CUDA_VISIBLE_DEVICES?). Run with --backend numpy.")
    if _checked is not cupy:
        _check_cupy_works(cupy)
    return cupy


_checked = None  # the CuPy module that passed _check_cupy_works


def _check_cupy_works(cupy):
    """Run a matrix product (cuBLAS), an elementwise kernel (compiled at run time with
    NVRTC) and a synchronisation, so that a CuPy without its CUDA libraries fails here with
    one clear message instead of at the first layer, deep inside a training step."""
    global _checked
    what = "allocating device memory"
    try:
        a = cupy.ones((4, 4), dtype=np.float32)
        what = "a matrix product (cuBLAS)"
        b = a @ a
        what = "an elementwise kernel (NVRTC, CuPy's run-time compiler)"
        c = cupy.exp(b) * 2 + 1
        what = "copying a result to the host"
        ok = float(c.sum()) > 0
    except Exception as e:  # CuPy raises several types here (ImportError, RuntimeError, CUDA errors)
        raise BackendError(
            f"backend 'cupy' was requested; CuPy {getattr(cupy, '__version__', '?')} imports and sees a GPU, "
            f"but {what} failed: {type(e).__name__}: {e}. The CUDA libraries CuPy needs are missing or do "
            "not match the driver: install CuPy's CUDA wheels (pip install 'cupy-cuda12x[ctk]', or "
            "'cupy-cuda13x[ctk]' for CUDA 13) or a CUDA toolkit, or run with --backend numpy.") from None
    if not ok:
        raise BackendError("backend 'cupy' was requested, but a test computation on the GPU gave a wrong result; "
                           "run with --backend numpy.")
    _checked = cupy


def set_backend(name):
    """Make `name` ("numpy" or "cupy") the active array backend. Never falls back silently."""
    global _name, _xp
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(_BACKENDS)}")
    _xp = np if name == "numpy" else _import_cupy()
    _name = name


_fast = os.environ.get("TINYGAN_PLAIN", "0") in ("", "0")


def set_fast(on):
    """Run the fast forms of tinygan/fast.py (True, the default) or the plain forms of
    ops, batchnorm and optim (False; also TINYGAN_PLAIN=1 in the environment)."""
    global _fast
    _fast = bool(on)


def fast_enabled():
    """True when the fast forms run (see set_fast)."""
    return _fast


def get_backend():
    """Name of the active backend: "numpy" or "cupy"."""
    return _name


def xp():
    """The active array module (numpy or cupy)."""
    return _xp


def cupy_available():
    """True when CuPy imports and sees at least one GPU (used by tests to skip)."""
    try:
        _import_cupy()
        return True
    except BackendError:
        return False


def get_array_module(*arrays):
    """numpy or cupy, whichever owns the arrays (numpy for plain Python values)."""
    for a in arrays:
        mod = type(a).__module__
        if mod.startswith("cupy"):
            return _import_cupy()
    return np


def asarray(a, dtype=None):
    """`a` as an array of the active backend (copied to the GPU when that is active)."""
    return _xp.asarray(a, dtype=dtype)


def to_numpy(a):
    """`a` as a NumPy array on the host (a no-op for NumPy arrays)."""
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)


def default_dtype():
    """Floating-point type new parameters are created with (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Set the dtype of new parameters: float32 for training, float64 for gradient checks."""
    global _default_dtype
    dtype = np.dtype(dtype).type
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"default dtype must be float32 or float64, got {np.dtype(dtype).name}")
    _default_dtype = dtype


def seed(s):
    """Seed tinygan's host RNG (initialisation) and, if active, CuPy's RNG."""
    global _rng
    _rng = np.random.default_rng(s)
    if _name == "cupy":
        _xp.random.seed(s)


def rng():
    """The host NumPy Generator that layers draw their initial weights from."""
    return _rng
