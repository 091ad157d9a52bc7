"""Copy a run's last checkpoint into a new folder with some model settings changed, so that
the training script's --resume continues it under the new settings (an ablation that
starts from a trained model instead of from scratch).

    python benchmarks/fork_run.py --from runs/pk_avg_s0 --out runs/pk_lr --set lr_g=2e-4
    python examples/train_cryptopunks.py --data-dir DIR --seed 0 --lr-g 2e-4 \\
        --steps 6000 --resume --out runs/pk_lr
    python benchmarks/fork_run.py --from runs/pk_avg_s0 --out runs/pk_control
    python examples/train_cryptopunks.py --data-dir DIR --seed 0 --steps 6000 --resume --out runs/pk_control

The new folder gets the checkpoint (its stored configuration changed as --set says) and the
metrics log (--resume keeps it up to the checkpoint's step, as for any resumed run, and
checks the settings given to the training script against the changed configuration).
Settings that change the shapes of the parameters (n_cat, width, ...) cannot be forked:
the checkpoint is loaded into a model of the new settings first, as --resume will.
"""
import argparse
import shutil
import sys
from pathlib import Path

from tinygan.cli import config_overrides
from tinygan.infogan import InfoGAN, InfoGANConfig
from tinygan.io import atomic_save_npz
from tinygan.train import read_checkpoint


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="src", required=True, help="run folder holding checkpoint.npz")
    p.add_argument("--checkpoint", default="checkpoint.npz",
                   help="which of SRC's checkpoints to continue (e.g. checkpoint_step003000.npz, kept by "
                        "--keep-every)")
    p.add_argument("--out", required=True, help="new run folder (must not exist)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="InfoGANConfig fields to change, e.g. lr_g=2e-4 (none: a control that continues unchanged)")
    args = p.parse_args()
    src, out = Path(args.src), Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists; choose a new folder")
    changes = config_overrides(args.set)
    if not (src / args.checkpoint).is_file():
        raise SystemExit(f"{src / args.checkpoint} not found")
    arrays, meta = read_checkpoint(src / args.checkpoint)
    cfg = InfoGANConfig.from_dict(dict(meta["config"], **changes))
    cfg.validate()
    meta["config"] = cfg.to_dict()
    try:
        InfoGAN(cfg).load_state_dict(arrays, meta)       # what --resume will do
    except ValueError as e:
        raise SystemExit(f"--set {changes}: the checkpoint does not fit a model of these settings; "
                         f"a setting that changes the parameters' shapes cannot be forked ({e})") from None
    out.mkdir(parents=True)
    atomic_save_npz(out / "checkpoint.npz", meta, **arrays)
    for name in ("metrics.jsonl", "data.json"):         # data.json: the punks' background and hold-out
        if (src / name).exists():
            shutil.copy(src / name, out / name)
    if (src / "config.json").exists():
        shutil.copy(src / "config.json", out / "forked_from_config.json")
    print(f"{out}: step {meta['step']} of {src}, with {changes}; continue it with the training script's --resume")


if __name__ == "__main__":
    sys.exit(main())
