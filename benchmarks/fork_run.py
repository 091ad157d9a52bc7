"""Copy a run's last checkpoint into a new folder with some model settings changed, so that
the training script's --resume continues it under the new settings (an ablation that
starts from a trained model instead of from scratch).

    python benchmarks/fork_run.py --from runs/pk_avg_s0 --out runs/pk_lr --set lr_g=2e-4
    python examples/train_cryptopunks.py --data-dir DIR --seed 0 --lr-g 2e-4 \\
        --steps 6000 --resume --out runs/pk_lr
    python benchmarks/fork_run.py --from runs/pk_avg_s0 --out runs/pk_control
    python examples/train_cryptopunks.py --data-dir DIR --seed 0 --steps 6000 --resume --out runs/pk_control

The new folder gets the checkpoint (its stored configuration changed as --set says) and the
metrics log up to the checkpoint's step. --resume then checks the settings given to the
training script against the changed configuration, as for any resumed run. Settings that
change the shapes of the parameters (n_cat, n_cont, ...) cannot be forked.
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

from tinygan.infogan import InfoGANConfig
from tinygan.train import read_checkpoint
from tinygan.io import atomic_save_npz

SHAPE_FIELDS = ("n_cat", "n_cont", "n_noise", "img_size", "img_channels")

def parse_set(pairs):
    """KEY=VALUE strings -> {field: value typed as InfoGANConfig's default}."""
    defaults = InfoGANConfig()
    out = {}
    for kv in pairs:
        if "=" not in kv:
            raise SystemExit(f"--set {kv!r}: expected KEY=VALUE")
        k, v = kv.split("=", 1)
        if not hasattr(defaults, k):
            raise SystemExit(f"--set {k}: InfoGANConfig has no field {k!r}")
        if k in SHAPE_FIELDS:
            raise SystemExit(f"--set {k}: changes the parameters' shapes; a run cannot be forked with it")
        out[k] = type(getattr(defaults, k))(v)
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="src", required=True, help="run folder holding checkpoint.npz")
    p.add_argument("--out", required=True, help="new run folder (must not exist)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="InfoGANConfig fields to change, e.g. lr_g=2e-4 (none: a control that continues unchanged)")
    args = p.parse_args()
    src, out = Path(args.src), Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists; choose a new folder")
    changes = parse_set(args.set)
    arrays, meta = read_checkpoint(src / "checkpoint.npz")
    cfg = InfoGANConfig.from_dict(meta["config"]).to_dict()
    cfg.update(changes)
    InfoGANConfig.from_dict(cfg).validate()
    meta["config"] = cfg
    out.mkdir(parents=True)
    atomic_save_npz(out / "checkpoint.npz", meta, **arrays)
    if (src / "metrics.jsonl").exists():
        keep = [line for line in open(src / "metrics.jsonl") if line.strip() and json.loads(line)["step"] <= meta["step"]]
        (out / "metrics.jsonl").write_text("".join(keep))
    if (src / "config.json").exists():
        shutil.copy(src / "config.json", out / "forked_from_config.json")
    if (src / "data.json").exists():                   # the punks' background and hold-out
        shutil.copy(src / "data.json", out / "data.json")
    print(f"{out}: step {meta['step']} of {src}, with {changes}; continue it with the training script's --resume")

if __name__ == "__main__":
    sys.exit(main())
