"""Generate images from any chosen point of the latent space of a trained checkpoint.

    python examples/sample.py --checkpoint runs/mnist/checkpoint.npz --category 3 --code 0=1.5 --n 16
    python examples/sample.py --checkpoint runs/punks/checkpoint.npz --category 7 --code 2=-1 --code 3=1

Codes that are not given are drawn at random (categorical uniformly, continuous uniform on
[-1, 1]); the noise vector is drawn from --seed. Writes one PNG grid and the latents used
(latents.npy) into --out. A checkpoint that keeps a running average of G's weights (the
MNIST default) draws with it; --trained-weights draws with G's own weights instead.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from tinygan.cli import checkpoint_parser, open_checkpoint, positive_int
from tinygan.figures import grid, render, save_image
from tinygan.infogan import sample_latent


def code_value(s):
    try:
        i, v = s.split("=")
        return int(i), float(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected INDEX=VALUE, e.g. 0=1.5, got {s!r}") from None


def main(argv=None):
    p = checkpoint_parser(__doc__, "samples_out")
    p.add_argument("--category", type=int, default=None, help="value of the categorical code (default: random)")
    p.add_argument("--code", type=code_value, action="append", default=[],
                   help="INDEX=VALUE for a continuous code; repeat for several (default: random in [-1, 1])")
    p.add_argument("--n", type=int, default=16, help="number of images")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise and of the codes not given")
    p.add_argument("--scale", type=positive_int, default=None, help="integer upscaling of the PNG (default: 2, or 4 for RGB)")
    p.add_argument("--nrow", type=int, default=8, help="images per row of the grid (default 8)")
    p.add_argument("--trained-weights", action="store_true",
                   help="draw with G's trained weights, not the running average the checkpoint keeps")
    args = p.parse_args(argv)
    if args.n < 1 or args.nrow < 1:
        p.error("--n and --nrow must be >= 1")
    model, _ = open_checkpoint(p, args)
    cfg = model.cfg
    if args.category is not None and not 0 <= args.category < cfg.n_cat:
        p.error(f"--category must be in 0..{cfg.n_cat - 1} for this checkpoint")
    rng = np.random.default_rng(args.seed)
    cat = None if args.category is None else np.full(args.n, args.category)
    cont = rng.uniform(-1, 1, (args.n, cfg.n_cont))
    for i, v in args.code:
        if not 0 <= i < cfg.n_cont:
            p.error(f"--code index {i} out of range: this checkpoint has {cfg.n_cont} continuous codes")
        cont[:, i] = v
    latent, _, _ = sample_latent(cfg, args.n, rng, cat=cat, cont=cont)
    imgs = render(model, latent, averaged=not args.trained_weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scale = args.scale or (4 if cfg.img_channels == 3 else 2)
    save_image(grid(imgs, min(args.n, args.nrow)), out / "samples.png", scale)
    np.save(out / "latents.npy", latent)
    print(f"wrote {out / 'samples.png'} and {out / 'latents.npy'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
