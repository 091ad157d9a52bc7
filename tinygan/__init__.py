"""tinygan: InfoGAN from scratch in NumPy (and CuPy), every gradient written by hand."""
from . import threads  # noqa: F401  (first: it sets OpenBLAS's thread timeout before NumPy loads)
from .backend import set_backend, get_backend, to_numpy, seed  # noqa: E402

__version__ = "0.1.0"
__all__ = ["set_backend", "get_backend", "to_numpy", "seed"]
