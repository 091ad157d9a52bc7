"""Are the attributes a run fails to draw hidden in its off-palette speckle? The attribute
classifier's rates on generated punks as drawn, and on the same punks with every pixel
snapped to the nearest colour real punks use, beside the real rates (the coverage of
examples/evaluate_punks.py, twice on the same latents).

    python benchmarks/snapped_coverage.py runs/pk_s0 --data-dir ../shared/data/cryptopunks

If snapping brings an attribute back to its real rate, G draws it and the speckle hides it
from the classifier; if not, G does not draw it. Prints a line per attribute worn by at
least 1% of real punks and writes snapped_coverage.json beside the checkpoint. A run folder
means its checkpoint.npz; a checkpoint file may be named instead. The latents are those
evaluate_punks.py draws for --seed, so the "as drawn" column repeats its coverage.
"""
import argparse
import json
import sys

from tinygan.data import DataError
from tinygan.figures import render
from tinygan.infogan import sample_latent
from tinygan.io import PathError
from tinygan.pixels import to_uint8
from tinygan.punk_quality import (classify, coverage, evaluation_rng, open_run, palette, rates,
                                  snap_to_palette)


def snapped_rates(clf, images_u8, colours, names):
    """(rates as drawn, rates snapped to `colours`) of uint8 punks (n, S, S, 3)."""
    as_drawn = rates(*classify(clf, images_u8), names)
    snapped = rates(*classify(clf, snap_to_palette(images_u8, colours)), names)
    return as_drawn, snapped


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder (its checkpoint.npz) or checkpoint file")
    p.add_argument("--data-dir", default=None, help="CryptoPunks folder (punks.png and attributes.csv)")
    p.add_argument("--n", type=int, default=10000, help="generated punks")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (evaluate_punks.py's --seed)")
    args = p.parse_args(argv)
    try:
        ckpt, model, d = open_run(args.run, args.data_dir)
    except (PathError, DataError, ValueError) as e:
        sys.exit(f"error: {e}")
    if args.n < 1:
        sys.exit(f"error: --n must be >= 1, got {args.n}")
    latent, _, _ = sample_latent(model.cfg, args.n, evaluation_rng(args.seed))
    gen = render(model, latent)                                          # (n, S, S, 3) uint8
    real = rates(d["y"], d["t"], d["names"])                             # the labels
    drawn, snapped = snapped_rates(d["clf"], gen, palette(to_uint8(d["punks"], "tanh")), d["names"])
    cov_drawn, cov_snapped = coverage(drawn, real), coverage(snapped, real)
    print(f"{'attribute':20s} {'real':>6s} {'drawn':>6s} {'snapped':>8s}")
    for k in sorted(real, key=lambda k: -real[k]):
        if real[k] >= 0.01:
            print(f"{k:20s} {real[k]:6.3f} {drawn[k]:6.3f} {snapped[k]:8.3f}")
    print(f"within 2x of the real rate: {cov_drawn['n_within_2x']} of {cov_drawn['n_common']} as drawn, "
          f"{cov_snapped['n_within_2x']} snapped to the palette")
    out = ckpt.parent / "snapped_coverage.json"
    out.write_text(json.dumps({"checkpoint": str(ckpt), "n": args.n, "seed": args.seed,
                               "as_drawn": cov_drawn, "snapped_to_palette": cov_snapped}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
