"""What are G's off-palette pixels? For the generated punks of a checkpoint, the pixels more
than 16 (of 255) from every colour real punks use (the speckle that palette fidelity counts):

- how far off they are (the distance to the nearest real colour, in bands);
- which real colours they are nearest to, and which way they are off (a pixel between two
  skin tones is offset from each towards the other; one drawn imprecisely, in any direction);
- how many have no off-palette pixel among their 8 neighbours (isolated dots) and how many
  are parts of patches.

    python benchmarks/off_palette.py runs/ctl_s0 --data-dir ../shared/data/cryptopunks

A run folder means its checkpoint.npz; a checkpoint file may be named instead. Sampled with
G's running average, as the figures and eval.json are.
"""
import argparse
import sys

import numpy as np

from tinygan.cli import positive_int
from tinygan.data import DataError
from tinygan.figures import render
from tinygan.infogan import sample_latent
from tinygan.io import run_checkpoint
from tinygan.pixels import to_uint8
from tinygan.punk_quality import PALETTE_TOLERANCE, nearest_per_pixel, run_data
from tinygan.punks import load_punks
from tinygan.train import load_model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder (its checkpoint.npz) or checkpoint file")
    p.add_argument("--data-dir", required=True, help="CryptoPunks folder (punks.png): the real punks' palette")
    p.add_argument("--n", type=positive_int, default=1000, help="generated punks")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents")
    p.add_argument("--top", type=positive_int, default=8, help="nearest real colours to list")
    args = p.parse_args(argv)
    ckpt = run_checkpoint(args.run)
    if not ckpt.is_file():
        p.error(f"no checkpoint at {ckpt}")
    model, _ = load_model(ckpt)
    background, _ = run_data(ckpt.parent)
    try:
        real = to_uint8(load_punks(args.data_dir, size=model.cfg.img_size, background=background), "tanh")
    except DataError as e:
        sys.exit(f"error: {e}")
    # the palette (punk_quality.palette) with each colour's share of the real pixels
    colours, real_counts = np.unique(real.reshape(-1, 3), axis=0, return_counts=True)   # (P, 3), (P,)
    real_share = real_counts / real_counts.sum()
    fake = render(model, sample_latent(model.cfg, args.n, np.random.default_rng(args.seed))[0])   # (n, H, W, 3)
    n, H, W, _ = fake.shape
    first, dist = nearest_per_pixel(fake, colours)                              # (n, H, W) each
    off = dist > PALETTE_TOLERANCE
    print(f"{ckpt}: {args.n} punks, {off.mean():.4f} of pixels more than {PALETTE_TOLERANCE} from every real colour")
    d_off = dist[off]
    bands = [(PALETTE_TOLERANCE, 24), (24, 32), (32, 64), (64, 442)]
    print("  of those, distance to the nearest real colour: " + ", ".join(
        f"{lo}-{hi}: {((d_off > lo) & (d_off <= hi)).mean():.3f}" for lo, hi in bands))
    padded = np.pad(off, ((0, 0), (1, 1), (1, 1)))
    neighbours = sum(padded[:, 1 + dy:1 + dy + H, 1 + dx:1 + dx + W]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))
    print(f"  isolated (no off-palette neighbour among 8): {(neighbours[off] == 0).mean():.3f}; "
          f"in patches of 3 or more neighbours: {(neighbours[off] >= 3).mean():.3f}")
    # the real colours the off-palette pixels are nearest to, and which way they are off
    near_off, px_off = first[off], fake[off].astype(np.float64)                  # (m,), (m, 3)
    near, counts = np.unique(near_off, return_counts=True)
    print(f"  the {args.top} real colours they are nearest to (share of the off-palette pixels; that colour's "
          "share of real pixels; mean and spread of the offset in R, G, B):")
    for k in np.argsort(-counts)[:args.top]:
        c = colours[near[k]]
        offset = px_off[near_off == near[k]] - c.astype(np.float64)             # (m_k, 3)
        print(f"    {tuple(int(v) for v in c)} {counts[k] / len(near_off):.3f} "
              f"({real_share[near[k]]:.4f}): mean ({', '.join(f'{v:+.0f}' for v in offset.mean(0))}), "
              f"std ({', '.join(f'{v:.0f}' for v in offset.std(0))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
