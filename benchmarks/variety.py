"""How much each part of the latent changes what G draws, for one or more runs (the
"variety" of examples/evaluate_punks.py, on its own and with a fixed seed, so that runs
compare on the same latents): the per-pixel std (of 255) when only the noise, only the
category, only the continuous codes or the whole latent is drawn afresh; beside it, with
--data-dir, the same for real punks.

    python benchmarks/variety.py runs/pk_avg_s0 runs/pk_avg_s1 --data-dir ../shared/data/cryptopunks

Works for MNIST runs too (without --data-dir). A run folder means its checkpoint.npz; a
checkpoint file may be named instead.
"""
import argparse
import sys

from tinygan.cli import positive_int
from tinygan.io import run_checkpoint
from tinygan.pixels import to_uint8
from tinygan.punk_quality import latent_variety, real_variety, run_data
from tinygan.punks import load_punks
from tinygan.train import load_model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run folders (their checkpoint.npz) or checkpoint files")
    p.add_argument("--data-dir", default=None, help="CryptoPunks folder (punks.png): also print real punks' variety")
    p.add_argument("--n", type=positive_int, default=100, help="latents per part (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (the same for every run)")
    args = p.parse_args(argv)
    print(f"{'run':40s} {'noise':>7s} {'category':>9s} {'codes':>7s} {'all':>7s}")
    first = None
    for run in args.runs:
        ckpt = run_checkpoint(run)
        if not ckpt.is_file():
            sys.exit(f"error: no checkpoint at {ckpt}")
        model, _ = load_model(ckpt)
        first = first or (ckpt.parent, model.cfg)
        v = latent_variety(model, n=args.n, seed=args.seed)
        print(f"{run:40s} {v['noise']:7.2f} {v['category']:9.2f} {v['continuous']:7.2f} {v['all']:7.2f}")
    if args.data_dir:
        background, _ = run_data(first[0])
        punks = load_punks(args.data_dir, size=first[1].img_size, background=background)
        print(f"{'real punks':40s} {'':7s} {'':9s} {'':7s} {real_variety(to_uint8(punks, 'tanh')):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
