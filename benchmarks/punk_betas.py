"""Train the CryptoPunks default once while keeping running averages of G's weights with
several betas, and write a checkpoint per beta. The averages never change training, so one
run compares them all on one trajectory (as benchmarks/average_betas.py does for MNIST).

    python benchmarks/punk_betas.py --betas 0.99 0.995 0.999 -- \\
        --data-dir ../shared/data/cryptopunks --seed 0 --out runs/pb_s0

Everything after `--` goes to examples/train_cryptopunks.py unchanged (its defaults, its
figures and its eval.json for the run's own --g-average). Written into --out besides:
averages.npz (the averages), checkpoint_beta_<beta>.npz for each beta (the run's checkpoint
as if trained with --g-average beta: evaluate it with examples/evaluate_punks.py --checkpoint)
and betas.json: the seconds the extra averages took (the run's training time less these is
the default's) and, where a beta equals the run's own --g-average, the largest difference
between the two averages (0: the bookkeeping is the trainer's own).

With --resume the other betas' averages start from the run's own average at the step it
resumes from (`averages_from_step` in betas.json): after k more steps that start still
weighs beta^k in each (0.995: 4e-5 after 2000 steps; 0.999: 0.14), so a resumed comparison
is exact only for the betas that have forgotten it.
"""
import argparse
import json
import runpy
import sys
import time
from pathlib import Path

import numpy as np

from tinygan import backend
from tinygan.average import WeightAverage
from tinygan.train import read_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    ours, theirs = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--betas", type=float, nargs="+", default=[0.99, 0.995, 0.999],
                   help="the averages' betas, each in (0, 1)")
    args = p.parse_args(ours)
    if not all(0 < b < 1 for b in args.betas):
        p.error(f"every beta must be in (0, 1), got {args.betas}")
    trainer = runpy.run_path(str(ROOT / "examples" / "train_cryptopunks.py"), run_name="not_main")
    averages, spent, first = {}, [0.0], {}

    def on_step(model, step, out):
        t0 = time.perf_counter()
        if not averages:
            own = model.g_average
            if own is None:
                raise SystemExit("punk_betas.py needs the run's own --g-average (it starts the others from it)")
            for b in args.betas:
                a = averages[b] = WeightAverage(model.g_flat, b)
                a.avg[...], a.t = own.avg, own.t    # after step 1 every beta's average is this one
            first.update(out=Path(out), step=step)
        else:
            for a in averages.values():
                a.update()
        spent[0] += time.perf_counter() - t0

    rc = trainer["main"](theirs, on_step=on_step)
    if rc:
        return rc
    if not averages:
        raise SystemExit("no training step ran (the run is already at --steps): no averages to write")
    out = first["out"]
    saved = {f"beta_{b}": backend.to_numpy(a.avg) for b, a in averages.items()}
    np.savez(out / "averages.npz", **saved)
    export = runpy.run_path(str(ROOT / "benchmarks" / "average_betas.py"), run_name="not_main")["export_checkpoint"]
    arrays, meta = read_checkpoint(out / "checkpoint.npz")             # once, for every beta
    paths = [str(export(out, b, saved[f"beta_{b}"], (arrays, meta))) for b in averages]
    result = {"betas": args.betas, "averages_from_step": first["step"] - 1,
              "extra_average_seconds": round(spent[0], 1), "checkpoints": paths}
    own_beta = meta["config"]["g_average"]
    if own_beta in averages:
        result["own_average_max_abs_difference"] = float(np.abs(arrays["G_average"] - saved[f"beta_{own_beta}"]).max())
    (out / "betas.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
