"""tinygan: InfoGAN from scratch in NumPy (and CuPy), every gradient written by hand."""
import os

# After every matrix product OpenBLAS's worker threads spin for about 2^28 cycles waiting for
# the next one, holding the cores that tinygan's own threads (im2col, col2im, Adam, BatchNorm,
# activations) need right after; told so, they sleep at once. This only takes effect when
# NumPy loads after this line, which is why the scripts import tinygan first.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from .backend import set_backend, get_backend, to_numpy, seed  # noqa: E402

__version__ = "0.1.0"
__all__ = ["set_backend", "get_backend", "to_numpy", "seed"]
