"""Forward and backward milliseconds per layer at the shapes of the MNIST InfoGAN.

    python benchmarks/bench_layers.py [--batch 64] [--repeats 20] [--backend numpy|cupy] [--torch]

Each figure is the median over `--repeats` timed calls after warm-up, float32.
With --torch (and PyTorch installed) the same layers are timed in PyTorch too.
"""
import argparse
import statistics
import time

# tinygan before NumPy: importing it tunes OpenBLAS's threads (tinygan/__init__.py)
from tinygan import backend
from tinygan.layers import BatchNorm, Conv2d, ConvTranspose2d, Linear

import numpy as np


def cases(N):
    """(name, layer factory, input shape, torch factory) for the MNIST InfoGAN shapes."""
    return [
        ("conv 1->64 28->14", lambda: Conv2d(1, 64, 4, 2, 1), (N, 1, 28, 28), ("Conv2d", (1, 64, 4, 2, 1))),
        ("conv 64->128 14->7", lambda: Conv2d(64, 128, 4, 2, 1), (N, 64, 14, 14), ("Conv2d", (64, 128, 4, 2, 1))),
        ("convT 128->64 7->14", lambda: ConvTranspose2d(128, 64, 4, 2, 1), (N, 128, 7, 7),
         ("ConvTranspose2d", (128, 64, 4, 2, 1))),
        ("convT 64->1 14->28", lambda: ConvTranspose2d(64, 1, 4, 2, 1), (N, 64, 14, 14),
         ("ConvTranspose2d", (64, 1, 4, 2, 1))),
        ("linear 6272->1024", lambda: Linear(6272, 1024), (N, 6272), ("Linear", (6272, 1024))),
        ("linear 1024->6272", lambda: Linear(1024, 6272), (N, 1024), ("Linear", (1024, 6272))),
        ("batchnorm (N,6272)", lambda: BatchNorm(6272), (N, 6272), ("BatchNorm1d", (6272,))),
        ("batchnorm (N,128,7,7)", lambda: BatchNorm(128), (N, 128, 7, 7), ("BatchNorm2d", (128,))),
    ]


def median_ms(fn, repeats, sync):
    for _ in range(3):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def bench_tinygan(name, make, shape, repeats, sync):
    xp = backend.xp()
    layer = make()
    x = backend.asarray(np.random.default_rng(0).standard_normal(shape), dtype=np.float32)
    y = layer.forward(x)
    dy = xp.ones_like(y)
    fwd = median_ms(lambda: layer.forward(x), repeats, sync)

    def fwd_bwd():
        layer.forward(x)
        layer.backward(dy)
    both = median_ms(fwd_bwd, repeats, sync)
    return fwd, both - fwd


def bench_torch(spec, shape, repeats):
    import torch
    cls, args = spec
    layer = getattr(torch.nn, cls)(*args)
    x = torch.randn(shape, requires_grad=True)
    y = layer(x)
    dy = torch.ones_like(y)
    fwd = median_ms(lambda: layer(x), repeats, lambda: None)

    def fwd_bwd():
        layer(x).backward(dy)
    both = median_ms(fwd_bwd, repeats, lambda: None)
    return fwd, both - fwd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64, help="batch size N (default 64)")
    ap.add_argument("--repeats", type=int, default=20, help="timed calls per figure; the median is printed")
    ap.add_argument("--backend", choices=["numpy", "cupy"], default="numpy", help="array backend for tinygan")
    ap.add_argument("--torch", action="store_true", help="also time the same layers in PyTorch (CPU)")
    args = ap.parse_args()
    if args.batch < 2 or args.repeats < 1:
        ap.error("--batch must be >= 2 and --repeats >= 1")
    backend.set_backend(args.backend)
    if args.backend == "cupy":
        cp = backend.xp()
        sync = cp.cuda.Device().synchronize
    else:
        sync = lambda: None  # noqa: E731
    if args.torch:
        import torch
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    head = f"{'layer':24s} {'fwd ms':>8s} {'bwd ms':>8s}"
    print(head + (f" {'torch fwd':>10s} {'torch bwd':>10s} {'ratio f/b':>11s}" if args.torch else ""))
    for name, make, shape, spec in cases(args.batch):
        f, b = bench_tinygan(name, make, shape, args.repeats, sync)
        line = f"{name:24s} {f:8.2f} {b:8.2f}"
        if args.torch:
            tf, tb = bench_torch(spec, shape, args.repeats)
            line += f" {tf:10.2f} {tb:10.2f} {f / tf:5.2f}/{b / tb:4.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
