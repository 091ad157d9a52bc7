"""CPU threads, for the fast forms (tinygan/fast.py) only: the plain forms never use them.

NumPy runs elementwise work and copies on one core, but releases the GIL while it does,
so memory-bound loops (im2col, col2im, Adam, BatchNorm, activations) split over threads
use every core. TINYGAN_THREADS sets how many (default: all cores).

OpenBLAS: after every matrix product its worker threads spin for about 2^28 cycles
waiting for the next one, holding the cores that these threads need right after; told so
(OPENBLAS_THREAD_TIMEOUT), they sleep at once. That setting is read when NumPy loads, so
it is made here, and tinygan/__init__.py imports this module before anything imports
NumPy: it takes effect when tinygan is imported before NumPy (the scripts do).
"""
import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from concurrent.futures import ThreadPoolExecutor, wait  # noqa: E402

from . import backend  # noqa: E402

_threads = max(1, int(os.environ.get("TINYGAN_THREADS", os.cpu_count() or 1)))
_pool = None


def parallel_for(fn, n, min_size=1):
    """Run fn(start, stop) over range(n) split into one contiguous part per CPU thread.
    Runs fn(0, n) directly on the GPU backend, with one thread, or when n < 2 * min_size."""
    global _pool
    parts = min(_threads, n // max(min_size, 1))
    if parts < 2 or backend.get_backend() != "numpy":
        fn(0, n)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="tinygan")
    bounds = [n * i // parts for i in range(parts + 1)]
    futures = [_pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    try:
        fn(bounds[0], bounds[1])  # the first part on this thread, which would otherwise only wait
    finally:
        wait(futures)
    for f in futures:
        f.result()  # re-raises a worker's exception here


BLOCK = 1 << 17  # values per block of blocked(): 512 KiB of float32; three fit in a 2 MiB L2 cache


def _flat(a):
    """A 1-D view of a's memory in address order, or None when a has gaps (not dense)."""
    order = sorted(range(a.ndim), key=lambda i: -a.strides[i])   # axes, outermost in memory first
    t = a.transpose(order)
    return t.reshape(-1) if t.flags.c_contiguous else None


def blocked(fn, out, *ins):
    """Call fn(out_block, *in_blocks) on matching blocks of `out` and `ins` (same shape);
    fn writes out_block in place: an elementwise op run block by block, so that its several
    passes happen while a block is in cache, the blocks shared out over CPU threads.
    An input laid out like `out` is passed as views of itself, so fn may update it in place
    too (Adam's moments); one laid out differently is first copied into out's layout (one
    pass), and changes fn makes to that copy are not kept.
    Plain form, and what runs on the GPU or when `out` has gaps: fn(out, *ins).
    """
    flat_out = _flat(out) if backend.get_backend() == "numpy" else None
    if flat_out is None or flat_out.size <= BLOCK:
        fn(out, *ins)
        return
    flats = [flat_out]
    for a in ins:
        if a.strides != out.strides:
            a_like = backend.xp().empty_like(out)
            a_like[...] = a
            a = a_like
        flats.append(_flat(a))
    n = flat_out.size

    def run(b0, b1):                                              # blocks b0..b1-1, one thread
        for s in range(b0 * BLOCK, min(b1 * BLOCK, n), BLOCK):
            fn(*(f[s:s + BLOCK] for f in flats))
    parallel_for(run, -(-n // BLOCK))
