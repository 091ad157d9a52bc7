"""Latent vector addition (the paper's Figures 7 and 8), by hand or found automatically.

By hand: pick samples of a seeded pool that show an attribute and some that do not
(look at pool.png, written first, to choose), then add v = mean(with) - mean(without) to
other samples:

    python examples/vector_addition.py --checkpoint runs/punks/checkpoint.npz --out va \\
        --with 3,17,42 --without 5,8,9 --targets 1,2,4,6

Automatically (--auto, needs attributes.csv beside punks.png or --attributes): a small
attribute classifier (tinygan's own layers) is trained on real punks and its held-out
accuracy reported; it labels generated punks; for each attribute (cigarette, pipe,
mohawk, earring and the five types) the direction is mean(latent with) - mean(latent
without); it is added to generated punks without the attribute, and the fraction that
then show it (by the classifier) is compared with the same for random directions of the
same norm. Figures va_<attribute>.png and auto.json go into --out.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from tinygan.classifier import direction, fit
from tinygan.pixels import to_model
from tinygan.io import write_json
from tinygan.cli import checkpoint_parser, open_checkpoint
from tinygan.data import DataError
from tinygan.figures import grid, render, save_image, tile_blocks
from tinygan.infogan import sample_latent
from tinygan.punks import holdout_split, load_attributes, load_punks, search_dirs

BINARY = {"cigarette": ("cigarette",), "pipe": ("pipe",), "mohawk": ("mohawk", "mohawkDark", "mohawkThin", "redMohawk"),
          "earring": ("earring",)}
TYPES = ["alien", "ape", "zombie", "female", "male"]


def indices(s):
    try:
        return [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated indices, got {s!r}") from None


def before_after(model, latent, v, path, scale):
    """Two columns: the originals and the originals + v, one sample per row."""
    a, b = render(model, latent), render(model, latent + v)
    save_image(tile_blocks([grid(a, 1), grid(b, 1)], 2, gap=8), path, scale)


def labels_of(types, accessories):
    """(n, 4) binary attribute matrix and (n,) type index from the attributes file."""
    y = np.array([[bool(acc & set(names)) for names in BINARY.values()] for acc in accessories], np.float32)
    t = np.array([TYPES.index(ty) for ty in types])
    return y, t


def auto_directions(model, punks, y, t, held, train_idx, n_generated, n_apply, seed, steps, out, scale):
    """Classifier, directions, and the success rate of each direction against random ones."""
    clf = fit(punks[train_idx], y[train_idx], t[train_idx], len(TYPES), steps=steps, seed=seed)
    pb, pt = clf.predict(punks[held])
    report = {"classifier_held_out": {
        **{name: float(((pb[:, i] > 0.5) == (y[held, i] > 0.5)).mean()) for i, name in enumerate(BINARY)},
        "type": float((pt == t[held]).mean()), "n_held_out": int(len(held))},
        # accuracy flatters rare attributes (3% of punks have a pipe): also the recall of each
        "classifier_held_out_recall": {
            name: (float((pb[y[held, i] > 0.5, i] > 0.5).mean()) if (y[held, i] > 0.5).any() else None)
            for i, name in enumerate(BINARY)}}
    rng = np.random.default_rng([seed, 7])
    latent, _, _ = sample_latent(model.cfg, n_generated, rng)
    gb, gt = clf.predict(_as_model_range(render(model, latent)))
    has = np.concatenate([gb > 0.5, np.eye(len(TYPES), dtype=bool)[gt]], axis=1)   # (n, 4 + 5)
    names = list(BINARY) + TYPES
    report["attributes"] = {}
    for j, name in enumerate(names):
        entry = {"generated_with": int(has[:, j].sum())}
        if has[:, j].sum() < 5 or (~has[:, j]).sum() < 5:
            entry["skipped"] = "fewer than 5 generated punks with or without it"
            report["attributes"][name] = entry
            continue
        v = direction(latent, has[:, j])
        base = latent[~has[:, j]][:n_apply]
        entry["success"] = _fraction_with(model, clf, base + v, j)
        rand = []
        for r in range(3):
            u = rng.standard_normal(v.shape)
            rand.append(_fraction_with(model, clf, base + u / np.linalg.norm(u) * np.linalg.norm(v), j))
        entry["random_direction"] = float(np.mean(rand))
        entry["norm"] = float(np.linalg.norm(v))
        entry["n_applied"] = int(len(base))
        report["attributes"][name] = entry
        before_after(model, base[:8], v, out / f"va_{name}.png", scale)
    return report


def _as_model_range(u8):
    """uint8 (n, H, W, 3) -> float (n, 3, H, W) in [-1, 1], as the classifier was trained."""
    return to_model(u8, "tanh")


def _fraction_with(model, clf, latent, j):
    b, t = clf.predict(_as_model_range(render(model, latent)))
    has = np.concatenate([b > 0.5, np.eye(len(TYPES), dtype=bool)[t]], axis=1)
    return float(has[:, j].mean())


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
    p.add_argument("--n-generated", type=int, default=3000, help="generated punks labelled for --auto")
    p.add_argument("--n-apply", type=int, default=200, help="punks without an attribute that its direction is added to")
    p.add_argument("--classifier-steps", type=int, default=1500, help="training steps of the attribute classifier")
    p.add_argument("--holdout", type=int, default=500, help="held-out real punks, as for train_cryptopunks.py")
    args = p.parse_args(argv)
    model, _ = open_checkpoint(p, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    scale = 4 if cfg.img_channels == 3 else 2
    if args.auto:
        if cfg.img_channels != 3:
            p.error("--auto needs a CryptoPunks checkpoint")
        try:
            punks = load_punks(args.data_dir, size=cfg.img_size)
            attr = Path(args.attributes) if args.attributes else next(
                (d / "attributes.csv" for d in search_dirs("cryptopunks", args.data_dir)
                 if (d / "attributes.csv").is_file()), None)
            if attr is None:
                raise DataError("attributes.csv not found beside punks.png; pass --attributes")
            y, t = labels_of(*load_attributes(attr))
        except (DataError, ValueError) as e:
            p.error(str(e))
        held, train_idx = holdout_split(len(punks), min(args.holdout, len(punks) - 1))  # the training script's split
        report = auto_directions(model, punks, y, t, held, train_idx, args.n_generated, args.n_apply,
                                 args.seed, args.classifier_steps, out, scale)
        write_json(out / "auto.json", report)
        for name, e in report["attributes"].items():
            if "success" in e:
                print(f"{name:10s} direction adds it to {e['success']:.2f} of {e['n_applied']} punks "
                      f"(random direction: {e['random_direction']:.2f})")
        print(f"classifier held-out accuracy: {report['classifier_held_out']}; wrote {out / 'auto.json'}")
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
    v = pool[args.with_].mean(axis=0) - pool[args.without].mean(axis=0)
    before_after(model, pool[args.targets], v, out / "vector_addition.png", scale)
    np.save(out / "direction.npy", v)
    print(f"wrote {out / 'pool.png'}, {out / 'vector_addition.png'} (original | original + v) and direction.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
