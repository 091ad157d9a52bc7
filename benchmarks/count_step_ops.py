"""Count what one training step asks of a GPU, without a GPU: array operations (kernel
launches), device-to-host synchronisations and host-to-device copies, on the CuPy
stand-in of the test suite (tests/fake_cupy.py), with the operations listed by the
tinygan function that made them.

    python benchmarks/count_step_ops.py [--lambda-aug 1.0] [--top 20]
"""
import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import fake_cupy  # noqa: E402

sys.modules["cupy"] = fake_cupy
from tinygan import backend  # noqa: E402
from tinygan.infogan import InfoGAN, InfoGANConfig  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lambda-aug", type=float, default=1.0, help="consistency term weight (the MNIST default: 1)")
    ap.add_argument("--batch", type=int, default=8, help="batch size (the counts do not depend on it)")
    ap.add_argument("--top", type=int, default=20, help="how many functions to list")
    args = ap.parse_args()
    backend.set_backend("cupy")
    model = InfoGAN(InfoGANConfig(lambda_cont=0.1, lambda_aug=args.lambda_aug), seed=0)
    real = backend.asarray(np.random.default_rng(0).random((args.batch, 1, 28, 28)), dtype=np.float32)
    model.step(real)                                           # warm-up
    fake_cupy.TRACE = collections.Counter()
    fake_cupy.reset_counts()
    model.step(real)
    c = fake_cupy.COUNTS
    print(f"one step: {c['ops']} array operations, {c['syncs']} synchronisations "
          f"({c['d2h_bytes']} bytes back), {c['h2d']} host-to-device copies ({c['h2d_bytes']} bytes)")
    for name, n in fake_cupy.TRACE.most_common(args.top):
        print(f"{n:6d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
