"""Time the full MNIST InfoGAN training step (D/Q update on real + fake, then the G update).

    python benchmarks/bench_train_step.py [--batch 64 128] [--blocks 5] [--steps-per-block 4]
                                          [--backend numpy|cupy] [--forms fast plain] [--no-torch]

For each batch size and each form of tinygan (the fast forms of tinygan/fast.py, which it
runs by default, and the plain forms of ops, conv, batchnorm and optim; both unless --forms
says otherwise): the median ms/step over timed blocks after warm-up (with the min and
max over blocks), steps/s, images/s, the analytic FLOP count of one step (matrix products
only), the achieved GFLOP/s, and the same machine's float32 GEMM rate (a 2048^3 matmul),
so the fraction of the machine's peak is visible; the peak resident memory of the process.
Then the step's matrix products alone (every product's shape, times its count per step)
in NumPy (or CuPy) and in PyTorch: how much of each step is the BLAS library's work.
If PyTorch is installed, the same model and step (same wiring, same Adam) are timed in the
same run, block for block in turn with tinygan's, and the ratio tinygan / PyTorch of the
medians is printed, with the min and max of the ratios of blocks timed back to back.
PyTorch is never a tinygan dependency.
"""
import argparse
import os
import resource
import statistics
import sys
import time
from collections import Counter

# tinygan before NumPy: importing it tunes OpenBLAS's threads (tinygan/__init__.py)
from tinygan import backend
from tinygan.infogan import InfoGAN, InfoGANConfig

import numpy as np


def step_products(cfg, N):
    """Every matrix product of one InfoGAN.step at batch N: {(rows, inner, cols): count}.

    A layer with M output rows, K inputs and F outputs multiplies (M, K)(K, F) forward,
    (M, F)(F, K) for dx and (K, M)(M, F) for dw.
    D update: trunk fwd on real and on fake (dw, and dx except for the first conv),
              D head and Q head fwd/bwd on fake, D head on real, G fwd (no backward).
    G update: G fwd + bwd (dw and dx except for the first layer), trunk fwd + dx only,
              heads fwd + dx only.
    """
    S, W, fc, C = cfg.img_size // 4, cfg.width, cfg.fc, cfg.img_channels
    H2 = 2 * S
    # (M, K, F) of each layer, in order
    G = [(N, cfg.latent_dim, fc), (N, fc, 2 * W * S * S),
         (N * S * S, 2 * W, W * 16),            # convT as x_rows @ W.T, K = Cin, F = KH*KW*Cout
         (N * H2 * H2, W, C * 16)]
    trunk = [(N * H2 * H2, C * 16, W), (N * S * S, W * 16, 2 * W), (N, 2 * W * S * S, fc)]
    d_head = [(N, fc, 1)]
    q_head = [(N, fc, 128), (N, 128, cfg.q_dim)]
    products = Counter()

    def passes(layers, times=1, dw=False, dx=False, first_dx=True):
        for i, (m, k, f) in enumerate(layers):
            products[(m, k, f)] += times                    # forward
            if dw:
                products[(k, m, f)] += times
            if dx and (i > 0 or first_dx):
                products[(m, f, k)] += times
    passes(trunk, 2, dw=True, dx=True, first_dx=False)      # D update: real and fake halves
    passes(d_head, 2, dw=True, dx=True)
    passes(q_head, 1, dw=True, dx=True)
    passes(G)                                               # the fake batch
    passes(G, dw=True, dx=True, first_dx=False)             # G update
    passes(trunk, dx=True)
    passes(d_head, dx=True)
    passes(q_head, dx=True)
    return products


def step_flops(cfg, N):
    """Multiply-adds x 2 of every matrix product in one InfoGAN.step at batch N."""
    return sum(2 * m * k * f * count for (m, k, f), count in step_products(cfg, N).items())


def products_ms(products, libs, rounds=5):
    """Milliseconds that the step's matrix products take alone, one after the other:
    each distinct shape's best time over `rounds` rounds (random float32 operands), times
    its count. libs: {name: (matmul, asarray, sync)}; in each round every library runs all
    the shapes in turn. (Taking turns call by call would not be fair: PyTorch's OpenMP
    threads keep spinning for a while after each of its calls, on the cores the next
    library's call needs.) Returns {name: ms}."""
    rng = np.random.default_rng(0)
    shapes = list(products)
    host = {sh: (rng.standard_normal(sh[:2], dtype=np.float32), rng.standard_normal(sh[1:], dtype=np.float32))
            for sh in shapes}
    best = {name: dict.fromkeys(shapes, float("inf")) for name in libs}
    for r in range(rounds + 1):                           # round 0 warms up
        for name, (matmul, asarray, sync) in libs.items():
            for sh in shapes:
                a, b = (asarray(v) for v in host[sh])
                sync()
                t0 = time.perf_counter()
                matmul(a, b)
                sync()
                if r:
                    best[name][sh] = min(best[name][sh], time.perf_counter() - t0)
    return {name: sum(best[name][sh] * products[sh] for sh in shapes) * 1e3 for name in libs}


def gemm_gflops(xp, sync, n=2048, repeats=5):
    a = xp.asarray(np.random.default_rng(0).standard_normal((n, n)), dtype=np.float32)
    a @ a
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a
        sync()
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / min(times) / 1e9


def time_blocks(steps, blocks, per_block, warmup=3):
    """steps: {name: (step function, sync function)}. Times `blocks` blocks of `per_block`
    steps of each, the names taking turns block by block, so that a slow spell of a noisy
    machine falls on all of them alike. Returns {name: [ms per step of each block]}."""
    for step, sync in steps.values():
        for _ in range(warmup):
            step()
        sync()
    ms = {name: [] for name in steps}
    for _ in range(blocks):
        for name, (step, sync) in steps.items():
            t0 = time.perf_counter()
            for _ in range(per_block):
                step()
            sync()
            ms[name].append((time.perf_counter() - t0) / per_block * 1e3)
    return ms


def tinygan_step(cfg, N, fast=True):
    """One training step of tinygan in its fast or its plain forms (the switch is set around
    each step, so the two can take turns in one process)."""
    before = backend.fast_enabled()
    backend.set_fast(fast)                      # the optimiser's form is chosen when it is built
    model = InfoGAN(cfg, seed=0)
    backend.set_fast(before)
    real = backend.asarray(np.random.default_rng(1).random((N, 1, 28, 28)), dtype=np.float32)

    def step():
        backend.set_fast(fast)
        try:
            model.step(real)
        finally:
            backend.set_fast(before)
    return step


def torch_step(cfg, N, device="cpu"):
    """The same networks, losses, wiring and optimisers in PyTorch (autograd)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.manual_seed(0)
    W, fc, S = cfg.width, cfg.fc, cfg.img_size // 4
    G = nn.Sequential(nn.Linear(cfg.latent_dim, fc), nn.BatchNorm1d(fc), nn.ReLU(),
                      nn.Linear(fc, 2 * W * S * S), nn.BatchNorm1d(2 * W * S * S), nn.ReLU(),
                      nn.Unflatten(1, (2 * W, S, S)),
                      nn.ConvTranspose2d(2 * W, W, 4, 2, 1), nn.BatchNorm2d(W), nn.ReLU(),
                      nn.ConvTranspose2d(W, 1, 4, 2, 1), nn.Sigmoid()).to(device)
    trunk = nn.Sequential(nn.Conv2d(1, W, 4, 2, 1), nn.LeakyReLU(cfg.slope),
                          nn.Conv2d(W, 2 * W, 4, 2, 1), nn.BatchNorm2d(2 * W), nn.LeakyReLU(cfg.slope),
                          nn.Flatten(), nn.Linear(2 * W * S * S, fc), nn.BatchNorm1d(fc),
                          nn.LeakyReLU(cfg.slope)).to(device)
    d_head = nn.Linear(fc, 1).to(device)
    q_head = nn.Sequential(nn.Linear(fc, 128), nn.BatchNorm1d(128), nn.LeakyReLU(cfg.slope),
                           nn.Linear(128, cfg.q_dim)).to(device)
    d_params = list(trunk.parameters()) + list(d_head.parameters()) + list(q_head.parameters())
    opt_d = torch.optim.Adam(d_params, lr=cfg.lr_d, betas=(cfg.beta1, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, 0.999))
    real = torch.rand(N, 1, 28, 28, device=device)
    K, M = cfg.n_cat, cfg.n_cont

    def latent():
        z = torch.rand(N, cfg.n_noise, device=device) * 2 - 1
        cat = torch.randint(0, K, (N,), device=device)
        cont = torch.rand(N, M, device=device) * 2 - 1
        return torch.cat([z, F.one_hot(cat, K).float(), cont], 1), cat, cont

    def info(q, cat, cont):
        return cfg.lambda_cat * F.cross_entropy(q[:, :K], cat) + \
            cfg.lambda_cont * 0.5 * ((q[:, K:K + M] - cont) ** 2).sum(1).mean()

    def step():
        opt_d.zero_grad(set_to_none=True)
        l_real = F.binary_cross_entropy_with_logits(d_head(trunk(real)), torch.ones(N, 1, device=device))
        l_real.backward()
        z, cat, cont = latent()
        with torch.no_grad():
            fake = G(z)
        h = trunk(fake)
        (F.binary_cross_entropy_with_logits(d_head(h), torch.zeros(N, 1, device=device))
         + info(q_head(h), cat, cont)).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        for p in d_params:
            p.requires_grad_(False)
        z, cat, cont = latent()
        h = trunk(G(z))
        (F.binary_cross_entropy_with_logits(d_head(h), torch.ones(N, 1, device=device))
         + info(q_head(h), cat, cont)).backward()
        for p in d_params:
            p.requires_grad_(True)
        opt_g.step()
    return step


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 128], help="batch sizes to time")
    ap.add_argument("--blocks", type=int, default=5, help="timed blocks; the median block is reported")
    ap.add_argument("--steps-per-block", type=int, default=4, help="training steps per timed block")
    ap.add_argument("--backend", choices=["numpy", "cupy"], default="numpy", help="tinygan's array backend")
    ap.add_argument("--no-torch", action="store_true", help="do not time PyTorch even if it is installed")
    ap.add_argument("--tf32", action="store_true",
                    help="on a GPU, let both libraries use TF32 tensor cores for float32 products and "
                         "convolutions (default: off in both, exact float32)")
    ap.add_argument("--forms", nargs="+", choices=["fast", "plain"], default=["fast", "plain"],
                    help="tinygan's forms to time: the fast ones of tinygan/fast.py, the plain ones, or both, in turn")
    ap.add_argument("--plain", action="store_true", help="the same as --forms plain")
    args = ap.parse_args()
    forms = ["plain"] if args.plain else list(dict.fromkeys(args.forms))
    if args.backend == "cupy":
        os.environ["CUPY_TF32"] = "1" if args.tf32 else "0"   # read when CuPy first multiplies
    if min(args.batch) < 2 or args.blocks < 1 or args.steps_per_block < 1:
        ap.error("--batch must be >= 2, --blocks and --steps-per-block >= 1")
    try:
        backend.set_backend(args.backend)
    except backend.BackendError as e:
        ap.error(str(e))
    xp = backend.xp()
    sync = xp.cuda.Device().synchronize if args.backend == "cupy" else (lambda: None)
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch not installed: timing tinygan only")
    device = "cuda" if args.backend == "cupy" else "cpu"
    if torch is not None:
        torch_sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        if device == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = args.tf32
            torch.backends.cudnn.allow_tf32 = args.tf32
        print(f"PyTorch {torch.__version__} on {device}, {torch.get_num_threads()} CPU threads")
    if args.backend == "cupy":
        print(f"CuPy {xp.__version__}; TF32 {'on' if args.tf32 else 'off'} in both libraries")
    cfg = InfoGANConfig()
    peak = gemm_gflops(xp, sync)
    print(f"backend {args.backend}, tinygan's {' and '.join(forms)} forms; float32 GEMM 2048^3: {peak:.0f} GFLOP/s")
    head = (f"{'batch':>5} {'form':>5} {'ms/step (min-max)':>22} {'steps/s':>8} {'img/s':>7} {'GFLOP':>6} "
            f"{'GFLOP/s':>8} {'% GEMM':>6}")
    if torch is not None:
        head += f" {'torch ms (min-max)':>22} {'ratio (min-max)':>16}"
    print(head)
    medians = {}
    for N in args.batch:
        steps = {form: (tinygan_step(cfg, N, form == "fast"), sync) for form in forms}
        if torch is not None:
            steps["torch"] = (torch_step(cfg, N, device), torch_sync)
        ms = time_blocks(steps, args.blocks, args.steps_per_block)
        gflop = step_flops(cfg, N) / 1e9
        for form in forms:
            t = ms[form]
            med = statistics.median(t)
            line = (f"{N:5d} {form:>5} {med:9.1f} ({min(t):5.1f}-{max(t):5.1f}) {1e3 / med:8.2f} {N * 1e3 / med:7.0f} "
                    f"{gflop:6.1f} {gflop / med * 1e3:8.1f} {100 * gflop / med * 1e3 / peak:5.0f}%")
            if torch is not None:
                p = ms["torch"]
                pair = [a / b for a, b in zip(t, p)]  # blocks timed back to back
                line += (f" {statistics.median(p):9.1f} ({min(p):5.1f}-{max(p):5.1f}) {med / statistics.median(p):6.2f}"
                         f" ({min(pair):4.2f}-{max(pair):4.2f})")
            print(line, flush=True)
        if len(forms) == 2:
            pair = [a / b for a, b in zip(ms["plain"], ms["fast"])]
            print(f"{N:5d} plain / fast: {statistics.median(ms['plain']) / statistics.median(ms['fast']):.2f} "
                  f"(blocks back to back {min(pair):.2f}-{max(pair):.2f})", flush=True)
        medians[N] = (statistics.median(ms[forms[0]]), statistics.median(ms["torch"]) if torch is not None else None)
    # How much of each step is matrix products: the same products, alone, in each library.
    print("\nthe step's matrix products alone (every shape and count of one step, best of 5 rounds):")
    for N in args.batch:
        libs = {"tinygan": (xp.matmul, xp.asarray, sync)}
        if torch is not None:
            libs["torch"] = (torch.matmul, lambda a: torch.from_numpy(a).to(device), torch_sync)
        alone = products_ms(step_products(cfg, N), libs)
        line = f"{N:5d}  NumPy/CuPy {alone['tinygan']:7.1f} ms ({100 * alone['tinygan'] / medians[N][0]:3.0f}% of tinygan's step)"
        if torch is not None:
            line += (f"   PyTorch {alone['torch']:7.1f} ms ({100 * alone['torch'] / medians[N][1]:3.0f}% of its step)"
                     f"   ratio {alone['tinygan'] / alone['torch']:4.2f}")
        print(line, flush=True)
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")
    if args.backend == "cupy":
        held = xp.get_default_memory_pool().total_bytes() / 2**20
        print(f"GPU memory held by CuPy's pool (tinygan, high-water): {held:.0f} MiB")
        if torch is not None:
            print(f"GPU memory, PyTorch's peak allocated: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
