"""Train the default MNIST model once while keeping several running averages of G's weights
(betas given here), and measure the Fréchet distance of each against the trained weights.
The averages never change training, so one run compares them all on one trajectory.

    python benchmarks/average_betas.py --data-dir DIR --out runs/avg --seed 0 --betas 0.99 0.995 0.999

Writes betas.json into --out: per beta, and for the trained weights, the Fréchet distance
of 10,000 generated digits (docs/07-mnist.md explains the measure), with G's BatchNorm
running statistics as trained and recomputed for the weights used (average.py); the
averages' weights in averages.npz; for each beta a checkpoint checkpoint_beta_<beta>.npz,
the run's checkpoint as if it had been trained with --g-average beta (training is the same;
only the average differs), which every script that takes a checkpoint can evaluate or
draw from; plus the usual run.

    python benchmarks/average_betas.py --out runs/avg --export 0.995

writes that checkpoint again from a finished run's checkpoint.npz and averages.npz.
"""
import argparse
import json
import runpy
import sys
from pathlib import Path

import numpy as np

from tinygan import backend
from tinygan.cli import config_overrides
from tinygan.average import WeightAverage, batchnorm_state, set_batchnorm_state
from tinygan.data import load_mnist
from tinygan.evaluate import digit_classifier, evaluate_mnist, frechet_distance, generated_digits, _pixels
from tinygan.data import cache_dir, mnist_dir
from tinygan.infogan import InfoGANConfig
from tinygan.io import atomic_save_npz
from tinygan.pixels import to_model
from tinygan.train import TrainConfig, read_checkpoint, train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def export_checkpoint(out, beta, avg=None, checkpoint=None):
    """Write out/checkpoint_beta_<beta>.npz: the run's checkpoint with g_average = beta and the
    average of that beta (from averages.npz unless given) as the model's own average.
    `checkpoint`: the run's (arrays, meta) if already read (it is left unchanged)."""
    out = Path(out)
    arrays, meta = checkpoint or read_checkpoint(out / "checkpoint.npz")
    arrays, meta = dict(arrays), dict(meta)
    if avg is None:
        with np.load(out / "averages.npz") as z:
            if f"beta_{beta}" not in z.files:
                raise SystemExit(f"{out}/averages.npz has no average of beta {beta} "
                                 f"(it has {', '.join(k[5:] for k in z.files)})")
            avg = z[f"beta_{beta}"]
    meta["config"] = dict(meta["config"], g_average=beta)
    meta["g_average_t"] = meta["step"]           # one update after every step of G
    arrays["G_average"] = np.asarray(avg, np.float32)
    path = out / f"checkpoint_beta_{beta}.npz"
    atomic_save_npz(path, meta, **arrays)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="MNIST folder")
    p.add_argument("--export", type=float, default=None, metavar="BETA",
                   help="only write checkpoint_beta_BETA.npz of the finished run in --out, and stop")
    p.add_argument("--out", required=True, help="run folder (must not hold a run)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="default: train_mnist.py's")
    p.add_argument("--betas", type=float, nargs="+", default=[0.99, 0.995, 0.999])
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="InfoGANConfig fields to change from train_mnist.py's defaults, e.g. lambda_aug=0")
    args = p.parse_args()
    if args.export is not None:
        print(export_checkpoint(args.out, args.export))
        return 0
    defaults = runpy.run_path(str(EXAMPLES / "train_mnist.py"), run_name="not_main")
    fields = dict(defaults["MNIST"], lambda_cont=defaults["DEFAULTS"]["lambda_cont"],
                  lambda_aug=defaults["DEFAULTS"]["lambda_aug"])
    fields.update(config_overrides(args.set))
    cfg = InfoGANConfig(**fields)
    tcfg = TrainConfig(steps=args.steps or defaults["DEFAULTS"]["steps"], batch_size=defaults["DEFAULTS"]["batch_size"],
                       seed=args.seed)
    images, labels = load_mnist("train", args.data_dir)
    test = load_mnist("test", args.data_dir)
    x = to_model(images, cfg.output)                # as train_mnist.py scales them, to the last bit
    averages = {}

    def on_step(model, step, out):
        if not averages:
            averages.update((b, WeightAverage(model.g_flat, b)) for b in args.betas)
        for a in averages.values():
            a.update()

    model = train(cfg, tcfg, x, args.out, progress=False, on_step=on_step)
    acc = evaluate_mnist(model, *test, args.out)["accuracy"]
    clf, info = digit_classifier((images, labels), test, [mnist_dir(args.data_dir), cache_dir() / "mnist"], False)

    def fd():
        return frechet_distance(clf.features(_pixels(generated_digits(model, 10000, averaged=False))), info["test_stats"])

    def fd_recomputed_stats():
        raw = batchnorm_state(model.G)
        model.measure_batchnorm_stats()             # as sampling with an average does
        try:
            return fd()
        finally:
            set_batchnorm_state(model.G, raw)

    result = {"config": cfg.to_dict(), "seed": args.seed, "accuracy": acc, "floor": info["floor"],
              "trained_weights": fd(), "trained_weights_recomputed_stats": fd_recomputed_stats(),
              "averages": {}, "averages_recomputed_stats": {}}
    saved = {}
    for b, a in averages.items():
        with a.swapped_in():
            result["averages"][str(b)] = fd()
            result["averages_recomputed_stats"][str(b)] = fd_recomputed_stats()
        saved[f"beta_{b}"] = backend.to_numpy(a.avg)
    np.savez(Path(args.out) / "averages.npz", **saved)
    run_checkpoint = read_checkpoint(Path(args.out) / "checkpoint.npz")    # once, for every beta
    for b in averages:
        export_checkpoint(args.out, b, saved[f"beta_{b}"], run_checkpoint)
    (Path(args.out) / "betas.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
