"""Where does G draw its speckle? Palette fidelity (the fraction of pixels within 16 of a
colour real punks use) of generated punks as a function of the continuous codes:

1. every code at 0, then one code at a time set to each of --values (the others at 0), the
   noise and the categories drawn as in training, the same latents for every row;
2. the same latents with the continuous codes scaled by each of --scales (1: as trained;
   0: every code at 0), with the Fréchet distance (against real punks, as evaluate_punks.py
   measures it) and the coverage beside the palette fidelity, so that what a cleaner
   palette costs is seen with it.

    python benchmarks/code_speckle.py runs/pk_s0 --data-dir ../shared/data/cryptopunks

A run folder means its checkpoint.npz; a checkpoint file may be named instead. Prints both
tables and writes code_speckle.json beside the checkpoint.
"""
import argparse
import json
import sys

import numpy as np

from tinygan.data import DataError
from tinygan.evaluate import frechet_distance
from tinygan.figures import render
from tinygan.infogan import sample_latent
from tinygan.io import PathError
from tinygan.pixels import to_uint8
from tinygan.punk_quality import (classify, coverage, evaluation_rng, fd_reference, features_of, open_run, palette,
                                  palette_fidelity, rates)


def with_codes(cfg, latent, cont):
    """The latents (n, latent_dim) with their continuous codes replaced by cont (n, n_cont)."""
    out = latent.copy()
    out[:, cfg.n_noise + cfg.n_cat:] = cont
    return out


def palette_by_code(model, latent, colours, values):
    """{"all_zero": fidelity, "codes": [[fidelity at each value] for each code]} on `latent`
    with every continuous code at 0 but (in turn) code k at each value."""
    cfg, n = model.cfg, len(latent)

    def within(cont):
        return palette_fidelity(render(model, with_codes(cfg, latent, cont)), colours)["within"]
    zero = np.zeros((n, cfg.n_cont), np.float32)
    rows = []
    for k in range(cfg.n_cont):
        row = []
        for v in values:
            cont = zero.copy()
            cont[:, k] = v
            row.append(within(cont))
        rows.append(row)
    return {"all_zero": within(zero), "values": list(values), "codes": rows}


def scaled_codes(model, latent, scales, clf, colours, real_stats, real_rates, names):
    """For each scale a: Fréchet distance, palette fidelity and coverage of the punks drawn
    from `latent` with its continuous codes multiplied by a."""
    cfg, out = model.cfg, []
    for a in scales:
        gen = render(model, with_codes(cfg, latent, a * latent[:, cfg.n_noise + cfg.n_cat:]))
        cov = coverage(rates(*classify(clf, gen), names), real_rates)
        out.append({"scale": a, "frechet_distance": frechet_distance(features_of(clf, gen), real_stats),
                    "palette": palette_fidelity(gen, colours)["within"], "coverage": cov["n_within_2x"],
                    "n_common": cov["n_common"]})
    return out


def floats(text):
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder (its checkpoint.npz) or checkpoint file")
    p.add_argument("--data-dir", default=None, help="CryptoPunks folder (punks.png and attributes.csv)")
    p.add_argument("--n", type=int, default=5000, help="generated punks for each row (default: 5000)")
    p.add_argument("--values", type=floats, default=[-1.0, -0.5, 0.5, 1.0],
                   help="code values of the first table, comma-separated; write --values=-1,1 when the first "
                        "is negative (default: -1,-0.5,0.5,1)")
    p.add_argument("--scales", type=floats, default=[1.0, 0.75, 0.5, 0.25, 0.0],
                   help="scales of the codes in the second table, comma-separated (default: 1,0.75,0.5,0.25,0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (evaluate_punks.py's --seed)")
    args = p.parse_args(argv)
    if args.n < 2:
        sys.exit(f"error: --n must be >= 2, got {args.n}")
    try:
        ckpt, model, d = open_run(args.run, args.data_dir)
    except (PathError, DataError, ValueError) as e:
        sys.exit(f"error: {e}")
    real_u8 = to_uint8(d["punks"], "tanh")
    colours = palette(real_u8)
    rng = evaluation_rng(args.seed)
    latent, _, _ = sample_latent(model.cfg, args.n, rng)
    # the real punks to measure against, chosen as evaluate_punks.py chooses them
    _, half, real_stats = fd_reference(d["clf"], real_u8, rng, args.n)

    by_code = palette_by_code(model, latent, colours, args.values)
    print(f"palette fidelity, every code at 0: {by_code['all_zero']:.3f}")
    print("code  " + "  ".join(f"{v:>6g}" for v in args.values))
    for k, row in enumerate(by_code["codes"]):
        print(f"{k:4d}  " + "  ".join(f"{f:6.3f}" for f in row))
    scaled = scaled_codes(model, latent[:half], args.scales, d["clf"], colours, real_stats,
                          rates(d["y"], d["t"], d["names"]), d["names"])
    print(f"\n{'scale':>5s} {'Fréchet':>8s} {'palette':>8s} {'coverage':>9s}")
    for r in scaled:
        print(f"{r['scale']:5g} {r['frechet_distance']:8.1f} {r['palette']:8.3f} {r['coverage']:4d} of {r['n_common']}")
    out = ckpt.parent / "code_speckle.json"
    out.write_text(json.dumps({"checkpoint": str(ckpt), "n": args.n, "seed": args.seed,
                               "by_code": by_code, "scaled": scaled}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
