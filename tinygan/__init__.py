"""tinygan: InfoGAN from scratch in NumPy (and CuPy), every gradient written by hand."""
from .backend import set_backend, get_backend, to_numpy, seed

__version__ = "0.1.0"
__all__ = ["set_backend", "get_backend", "to_numpy", "seed"]
