"""How far the paper's vector addition moves a code that draws an attribute: among generated
punks (labelled by the attribute classifier of tinygan/punk_quality.py, on the same latents
as `examples/vector_addition.py --auto`), the code's values with and without the attribute,
the direction mean(with) - mean(without) along that code, and the share of punks without the
attribute that the addition (strength 1) takes past the quartile of the punks with it that
faces them (the lower quartile when the attribute is drawn toward +1, the upper toward -1).

    python benchmarks/code_direction.py runs/b32d6_s1 --attribute pipe --code 0 \\
        --data-dir ../shared/data/cryptopunks

A code that draws the attribute at one end of its range (as the pipe codes do) is where the
mean difference falls short: the punks without it move by the gap between the two means,
so about half of them stay short of the values where the attribute is drawn.

It also splits the direction into its parts, the noise z, the one-hot category and the
continuous codes (the length of each), and names the category it raises most, with the
attribute's rate among that category's punks: an attribute drawn mostly in one category
puts its direction there, as a fraction of a one-hot vector, which G never saw in training.
"""
import argparse
import sys

import numpy as np

from tinygan.classifier import direction
from tinygan.cli import positive_int
from tinygan.data import DataError
from tinygan.figures import render
from tinygan.punk_quality import classify, direction_latents, open_run


def facing_share(with_, without, shift):
    """One code's values among punks with an attribute (with_, (a,)) and without it
    (without, (b,)), and the shift the addition gives that code: the quartile of with_ that
    faces the punks without it (the lower one when the attribute sits above them, else the
    upper one) and the share of `without + shift` past it. Returns (quartile, share)."""
    up = with_.mean() > without.mean()
    edge = float(np.percentile(with_, 25 if up else 75))
    moved = without + shift
    return edge, float(np.mean(moved > edge if up else moved < edge))


def direction_parts(v, n_noise, n_cat):
    """The lengths of a latent direction v ([z | one-hot c | c'], (latent_dim,)) in its three
    parts, and the category it raises most: (|v_z|, |v_c|, |v_c'|, argmax v_c)."""
    z, c, codes = v[:n_noise], v[n_noise:n_noise + n_cat], v[n_noise + n_cat:]
    return (float(np.linalg.norm(z)), float(np.linalg.norm(c)), float(np.linalg.norm(codes)), int(np.argmax(c)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a punk run folder (its checkpoint.npz and data.json) or a checkpoint.npz")
    p.add_argument("--attribute", required=True, help="an accessory of attributes.csv, e.g. pipe")
    p.add_argument("--code", type=int, required=True, help="index of the continuous code (0 .. n_cont-1)")
    p.add_argument("--data-dir", default=None, help="CryptoPunks folder (punks.png and attributes.csv)")
    p.add_argument("--n-generated", type=positive_int, default=3000,
                   help="generated punks labelled (vector_addition.py's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (vector_addition.py's --seed)")
    args = p.parse_args(argv)
    try:
        path, model, d = open_run(args.run, args.data_dir)
    except (DataError, ValueError) as e:          # PathError is a ValueError
        p.error(str(e))
    cfg = model.cfg
    if cfg.img_channels != 3:
        p.error(f"{path} is not a CryptoPunks checkpoint")
    if not 0 <= args.code < cfg.n_cont:
        p.error(f"--code must be in 0 .. {cfg.n_cont - 1} for this checkpoint, got {args.code}")
    if args.attribute not in d["names"]:
        p.error(f"--attribute {args.attribute!r} is not one of the classifier's: {', '.join(d['names'])}")

    latent, _ = direction_latents(cfg, args.n_generated, args.seed)
    probs, _ = classify(d["clf"], render(model, latent))
    has = probs[:, d["names"].index(args.attribute)] > 0.5                     # (n,)
    if has.sum() < 5 or (~has).sum() < 5:
        p.error(f"fewer than 5 of {args.n_generated} generated punks with or without {args.attribute}")
    k = cfg.n_noise + cfg.n_cat + args.code                                     # the code's column
    v = direction(latent, has)                                                  # (latent_dim,)
    with_, without = latent[has, k], latent[~has, k]
    edge, past = facing_share(with_, without, v[k])
    print(f"{path}: {has.sum()} of {args.n_generated} generated punks with {args.attribute}")
    print(f"code {args.code} with it: mean {with_.mean():.2f}, quartiles "
          f"{' / '.join(f'{q:.2f}' for q in np.percentile(with_, [25, 50, 75]))}; without it: mean {without.mean():.2f}")
    print(f"the direction moves code {args.code} by {v[k]:.2f} (its length {np.linalg.norm(v):.2f}); "
          f"punks without {args.attribute} taken past the quartile ({edge:.2f}) that faces them: {past:.2f}")
    nz, nc, ncodes, top = direction_parts(v, cfg.n_noise, cfg.n_cat)
    in_top = latent[:, cfg.n_noise + top] == 1                                   # (n,) punks of that category
    print(f"the direction's length in the noise {nz:.2f}, the category {nc:.2f}, the codes {ncodes:.2f}; "
          f"it raises category {top} most, by {v[cfg.n_noise + top]:.2f} of a one-hot, where "
          f"{has[in_top].mean():.2f} of generated punks have {args.attribute} (all categories: {has.mean():.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
