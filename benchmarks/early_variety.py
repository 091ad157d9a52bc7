"""Does G keep using its latent in the first few hundred steps? Train the CryptoPunks model
(the training script's recipe, with --set changes) for --steps steps and print, every 50
steps, for 64 fixed latents: the std of G's pixels (images in [-1, 1]; real punks 0.45) and
the latent variety, each pixel's std over the 64 latents averaged over pixels (0: every
latent draws the same image, G has stopped using its latent).

    python benchmarks/early_variety.py --data-dir ../shared/data/cryptopunks --seed 1
    python benchmarks/early_variety.py --data-dir ../shared/data/cryptopunks --seed 1 --set lr_g=2e-4

A quick check (about 2 minutes for 300 steps on a 2-core CPU) that a change to G does not
make it drop its latent before a full training is spent on it. Prints one line per seed:
step:pixel-std/latent-variety.
"""
import argparse
import runpy
import sys
from dataclasses import fields
from pathlib import Path

# tinygan before NumPy: importing it tunes OpenBLAS's threads (tinygan/__init__.py)
from tinygan.cli import config_overrides
from tinygan.data import DataError
from tinygan.infogan import InfoGAN, InfoGANConfig, sample_latent
from tinygan.punks import load_punks

import numpy as np


TRAINER = Path(__file__).resolve().parents[1] / "examples" / "train_cryptopunks.py"


def punk_config(**changes):
    """The model of examples/train_cryptopunks.py with its defaults (24x24 RGB), with changes."""
    defaults = runpy.run_path(str(TRAINER), run_name="not_main")["DEFAULTS"]
    model_fields = {f.name for f in fields(InfoGANConfig)}
    base = {k: v for k, v in defaults.items() if k in model_fields}
    return InfoGANConfig(**{**base, "img_channels": 3, "img_size": 24, "output": "tanh", **changes}).validate()


def pixel_std_and_variety(model, latent):
    """(std of G's pixels, each pixel's std over the latents averaged over pixels) for host
    latents (n, latent_dim), G in its current mode."""
    x = model.generate(latent)                                   # (n, C, H, W)
    return float(x.std()), float(x.std(axis=0).mean())


def early_variety(cfg, images, steps, seed, every=50, batch_size=128):
    """[(step, pixel std, latent variety)] over `steps` training steps of a fresh model."""
    model = InfoGAN(cfg, seed=seed)
    rng = np.random.default_rng(seed)                           # batch order
    latent, _, _ = sample_latent(cfg, 64, np.random.default_rng(1))   # the same 64 latents every time
    out = []
    for t in range(steps + 1):
        if t % every == 0:
            out.append((t, *pixel_std_and_variety(model, latent)))   # training mode, as in a step
        if t < steps:
            model.step(images[rng.integers(0, len(images), batch_size)])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="CryptoPunks folder holding punks.png")
    p.add_argument("--seed", type=int, nargs="+", default=[0], help="one or more seeds")
    p.add_argument("--steps", type=int, default=300, help="training steps")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="InfoGANConfig fields to change from the training script's defaults")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be >= 1")
    try:
        cfg = punk_config(**config_overrides(args.set))
    except ValueError as e:
        p.error(str(e))
    try:
        images = load_punks(args.data_dir, download=False)
    except DataError as e:
        raise SystemExit(f"early_variety.py: {e}") from None
    for seed in args.seed:
        rows = early_variety(cfg, images, args.steps, seed)
        print(f"seed {seed}: " + " ".join(f"{t}:{s:.3f}/{v:.3f}" for t, s, v in rows), flush=True)


if __name__ == "__main__":
    sys.exit(main())
