"""Palette fidelity and edge fraction (tinygan/punk_quality.py) of punk checkpoints, on the
same latents for all: a quick look at how the pixel art cleans up along a run (the
checkpoints that --keep-every keeps), without the classifier or the Fréchet distance of
examples/evaluate_punks.py.

    python benchmarks/palette_steps.py runs/sn_s1/checkpoint_step00{3,4,5,6,7}000.npz \\
        --data-dir ../shared/data/cryptopunks

Each checkpoint is sampled with G's running average (as the figures and eval.json are) and
with its own weights. The palette is the real punks' on the first run's background
(its data.json).
"""
import argparse
import sys

from tinygan.cli import positive_int
from tinygan.data import DataError
from tinygan.figures import render
from tinygan.infogan import sample_latent
from tinygan.io import run_checkpoint
from tinygan.pixels import to_uint8
from tinygan.punk_quality import edge_fraction, palette, palette_fidelity, run_data
from tinygan.punks import load_punks
from tinygan.train import load_model

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run folders (their checkpoint.npz) or checkpoint files")
    p.add_argument("--data-dir", required=True, help="CryptoPunks folder (punks.png): the real punks' palette")
    p.add_argument("--n", type=positive_int, default=2000, help="generated punks per checkpoint")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (the same for every checkpoint)")
    args = p.parse_args(argv)
    ckpts = [run_checkpoint(run) for run in args.runs]
    for ckpt in ckpts:
        if not ckpt.is_file():
            p.error(f"no checkpoint at {ckpt}")
    colours = None
    print(f"{'checkpoint':50s} {'palette':>8s} {'(own)':>8s} {'edges':>7s} {'(own)':>7s}")
    for ckpt in ckpts:
        model, _ = load_model(ckpt)
        if colours is None:
            background, _ = run_data(ckpt.parent)
            try:
                real = load_punks(args.data_dir, size=model.cfg.img_size, background=background)
            except DataError as e:
                sys.exit(f"error: {e}")
            colours = palette(to_uint8(real, "tanh"))
        latent, _, _ = sample_latent(model.cfg, args.n, np.random.default_rng(args.seed))
        row = []
        for averaged in (True, False):
            fake = render(model, latent, averaged=averaged)                   # (n, H, W, 3) uint8
            row += [palette_fidelity(fake, colours)["within"], edge_fraction(fake)]
        print(f"{str(ckpt):50s} {row[0]:8.3f} {row[2]:8.3f} {row[1]:7.3f} {row[3]:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
