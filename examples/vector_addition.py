"""Latent vector addition (the paper's Figures 7 and 8), by hand or found automatically.

By hand: pick samples of a seeded pool that show an attribute and some that do not
(look at pool.png, written first, to choose), then add v = mean(with) - mean(without) to
other samples:

    python examples/vector_addition.py --checkpoint runs/punks/checkpoint.npz --out va \\
        --with 3,17,42 --without 5,8,9 --targets 1,2,4,6

Automatically (--auto, needs attributes.csv beside punks.png or --attributes): the
attribute classifier of evaluate_punks.py (tinygan/punk_quality.py; trained once on the
run's training punks, then cached) labels generated punks; for each attribute (cigarette, pipe,
mohawk, earring and the five types) the direction is mean(latent with) - mean(latent
without); it is added to generated punks without the attribute, and the fraction that
then show it (by the classifier) is compared with the same for random directions of the
same norm. Also the palette fidelity of those punks before and after each addition
(08-cryptopunks.md): a direction can add its accessory and still carry the latent where G
draws speckle. Figures va_<attribute>.png and auto.json go into --out.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from tinygan.classifier import direction
from tinygan.io import write_json
from tinygan.cli import checkpoint_parser, nonneg_int, open_checkpoint, positive_int
from tinygan.data import DataError
from tinygan.figures import grid, render, save_image, tile_blocks, to_uint8
from tinygan.infogan import sample_latent
from tinygan.punk_quality import (TYPES, classify, direction_latents, labelled_punks, palette, palette_fidelity,
                                  run_data)

# the attributes whose directions --auto finds: accessory groups (any of their accessories), then the types
GROUPS = {"cigarette": ("cigarette",), "pipe": ("pipe",), "mohawk": ("mohawk", "mohawkDark", "mohawkThin", "redMohawk"),
          "earring": ("earring",)}


def indices(s):
    try:
        return [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated indices, got {s!r}") from None


def before_after(model, latent, v, path, scale):
    """Two columns: the originals and the originals + v, one sample per row."""
    a, b = render(model, latent), render(model, latent + v)
    save_image(tile_blocks([grid(a, 1), grid(b, 1)], 2, gap=8), path, scale)


def has_attributes(names, labels):
    """(n, groups + types) bool: which of GROUPS (any of its accessories, probability > 0.5)
    and which type the attribute classifier saw; labels = classify(clf, punks_u8)."""
    probs, types = labels
    cols = [[names.index(a) for a in group if a in names] for group in GROUPS.values()]
    groups = np.stack([(probs[:, c] > 0.5).any(axis=1) if c else np.zeros(len(probs), bool) for c in cols], axis=1)
    return np.concatenate([groups, np.eye(len(TYPES), dtype=bool)[types]], axis=1)


def kept(names, labels_before, labels_after, target):
    """How much of the punks, besides the target attribute, an addition left alone: the share
    of punks whose every other accessory (as the classifier sees them) and, unless the
    target is a type, whose type are unchanged. labels_*: classify(clf, punks_u8)."""
    (pb, tb), (pa, ta) = labels_before, labels_after
    others = [k for k, a in enumerate(names) if a not in GROUPS.get(target, ())]
    same = ((pb[:, others] > 0.5) == (pa[:, others] > 0.5)).all(axis=1)
    if target not in TYPES:
        same &= tb == ta
    return float(same.mean())


def pixel_change(before_u8, after_u8):
    """Mean absolute change of the pixels, 0..255."""
    return float(np.abs(before_u8.astype(np.int16) - after_u8.astype(np.int16)).mean())


def auto_directions(model, clf, names, n_generated, n_apply, seed, out, scale, strength, colours):
    """For each attribute: its direction among n_generated generated punks (the classifier
    labels them) times `strength`, the fraction of n_apply punks without it that show it
    after the addition (and how much else changed: `kept`), and the same for three random
    directions of the same norm; and, against `colours` (the real punks' palette, (P, 3)
    uint8), the palette fidelity of the punks before and after the addition."""
    latent, rng = direction_latents(model.cfg, n_generated, seed)
    has = has_attributes(names, classify(clf, render(model, latent)))      # (n, 4 + 5)
    report = {}
    for j, name in enumerate(list(GROUPS) + TYPES):
        entry = {"generated_with": int(has[:, j].sum())}
        if has[:, j].sum() < 5 or (~has[:, j]).sum() < 5:
            entry["skipped"] = "fewer than 5 generated punks with or without it"
            report[name] = entry
            continue
        v = strength * direction(latent, has[:, j])
        base = latent[~has[:, j]][:n_apply]
        before, after = render(model, base), render(model, base + v)
        lab_before, lab_after = classify(clf, before), classify(clf, after)   # each set classified once
        entry["success"] = float(has_attributes(names, lab_after)[:, j].mean())
        entry["rest_unchanged"] = kept(names, lab_before, lab_after, name)
        entry["pixel_change"] = pixel_change(before, after)
        rand, rand_kept, rand_pal = [], [], []
        for r in range(3):
            u = rng.standard_normal(v.shape)
            moved = render(model, base + u / np.linalg.norm(u) * np.linalg.norm(v))
            lab_moved = classify(clf, moved)
            rand.append(float(has_attributes(names, lab_moved)[:, j].mean()))
            rand_kept.append(kept(names, lab_before, lab_moved, name))
            rand_pal.append(palette_fidelity(moved, colours)["within"])
        entry["random_direction"] = float(np.mean(rand))
        entry["random_rest_unchanged"] = float(np.mean(rand_kept))
        entry["palette_before"] = palette_fidelity(before, colours)["within"]
        entry["palette_after"] = palette_fidelity(after, colours)["within"]
        entry["random_palette_after"] = float(np.mean(rand_pal))
        entry["norm"] = float(np.linalg.norm(v))
        entry["n_applied"] = int(len(base))
        report[name] = entry
        before_after(model, base[:8], v, out / f"va_{name}.png", scale)
    return report


def main(argv=None):
    p = checkpoint_parser(__doc__, "vector_addition_out", "a checkpoint.npz (punks for --auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pool of latents (and of --auto)")
    p.add_argument("--pool", type=int, default=64, help="size of the seeded pool that indices refer to")
    p.add_argument("--latents", default=None, help="a latents.npy (e.g. from sample.py) to use as the pool instead")
    p.add_argument("--with", dest="with_", type=indices, default=None, help="pool indices of samples WITH the attribute")
    p.add_argument("--without", type=indices, default=None, help="pool indices of samples WITHOUT it")
    p.add_argument("--targets", type=indices, default=None, help="pool indices to add the direction to")
    p.add_argument("--auto", action="store_true", help="find attribute directions with a classifier (punks)")
    p.add_argument("--data-dir", default=None, help="CryptoPunks folder (for --auto)")
    p.add_argument("--attributes", default=None, help="attributes.csv (default: beside punks.png)")
    p.add_argument("--strength", type=float, default=1.0,
                   help="multiple of the direction mean(with) - mean(without) that is added (1: the paper's)")
    p.add_argument("--n-generated", type=positive_int, default=3000, help="generated punks labelled for --auto")
    p.add_argument("--n-apply", type=positive_int, default=200,
                   help="punks without an attribute that its direction is added to")
    p.add_argument("--holdout", type=nonneg_int, default=None,
                   help="held-out real punks the classifier is scored on (default: the run's data.json, else 500)")
    args = p.parse_args(argv)
    model, _ = open_checkpoint(p, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    scale = 4 if cfg.img_channels == 3 else 2
    if args.auto:
        if cfg.img_channels != 3:
            p.error("--auto needs a CryptoPunks checkpoint")
        background, holdout = run_data(Path(args.checkpoint).parent, None, args.holdout)
        try:
            d = labelled_punks(args.data_dir, args.attributes, cfg.img_size, background, holdout)
        except (DataError, ValueError) as e:
            p.error(str(e))
        report = {"classifier": d["info"],
                  "attributes": auto_directions(model, d["clf"], d["names"], args.n_generated, args.n_apply,
                                                args.seed, out, scale, args.strength,
                                                palette(to_uint8(d["punks"], "tanh"))),
                  "strength": args.strength, "n_generated": args.n_generated, "n_apply": args.n_apply,
                  "seed": args.seed}
        write_json(out / "auto.json", report)
        for name, e in report["attributes"].items():
            if "success" in e:
                print(f"{name:10s} direction adds it to {e['success']:.2f} of {e['n_applied']} punks "
                      f"(random direction: {e['random_direction']:.2f}); everything else unchanged in "
                      f"{e['rest_unchanged']:.2f} (random: {e['random_rest_unchanged']:.2f}), "
                      f"mean pixel change {e['pixel_change']:.1f} of 255; palette fidelity "
                      f"{e['palette_before']:.3f} -> {e['palette_after']:.3f} (random: {e['random_palette_after']:.3f})")
        print(f"attribute classifier (tinygan/punk_quality.py) on held-out punks: {report['classifier']}; "
              f"wrote {out / 'auto.json'}")
        return 0
    if args.latents:
        pool = np.load(args.latents).astype(np.float32)
        if pool.ndim != 2 or pool.shape[1] != cfg.latent_dim:
            p.error(f"--latents must be (n, {cfg.latent_dim}) for this checkpoint, got {pool.shape}")
    else:
        pool, _, _ = sample_latent(cfg, args.pool, np.random.default_rng(args.seed))
    save_image(grid(render(model, pool), 8), out / "pool.png", scale)
    if not (args.with_ and args.without and args.targets):
        print(f"wrote {out / 'pool.png'} (pool index = row * 8 + column); give --with, --without and "
              f"--targets to add a direction")
        return 0
    for name, idx in (("--with", args.with_), ("--without", args.without), ("--targets", args.targets)):
        if max(idx) >= len(pool) or min(idx) < 0:
            p.error(f"{name}: indices must be in 0..{len(pool) - 1}")
    v = args.strength * (pool[args.with_].mean(axis=0) - pool[args.without].mean(axis=0))
    before_after(model, pool[args.targets], v, out / "vector_addition.png", scale)
    np.save(out / "direction.npy", v)
    print(f"wrote {out / 'pool.png'}, {out / 'vector_addition.png'} (original | original + v) and direction.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
