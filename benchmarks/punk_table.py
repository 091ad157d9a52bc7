"""The table of docs/08-cryptopunks.md from the eval.json of several CryptoPunks runs.

    python benchmarks/punk_table.py runs/punks_s0 runs/punks_s1 runs/punks_s2

Each argument is a run folder (its eval.json, written by train_cryptopunks.py or
examples/evaluate_punks.py, and its metrics.jsonl for the wall time of training) or an
eval.json. Prints one markdown row per run.
"""
import json
import sys
from pathlib import Path

from tinygan.punk_quality import live_codes, targets

COLUMNS = ["run", "steps", "train time", "Fréchet (floor)", "own weights", "palette (own)", "edges (real)", "coverage",
           "live codes", "code names", "categories named", "memorisation gen / held", "targets met"]


def row(path):
    path = Path(path)
    run = path if path.is_dir() else path.parent
    r = json.loads((run / "eval.json" if path.is_dir() else path).read_text())
    wall = "?"
    metrics = run / "metrics.jsonl"
    if metrics.is_file():
        lines = metrics.read_text().splitlines()
        if lines:
            wall = f"{json.loads(lines[-1])['time'] / 60:.0f} min"
    tw = r.get("trained_weights")
    c, m = r["coverage"], r["memorisation"]
    live = live_codes(r["codes"])
    names = "; ".join(f"{e['code']}: {e['name']} {e['rate_low'][e['name']]:.2f}->"
                      f"{e['rate_high'][e['name']]:.2f} ({e['pixel_change']:.0f})" for e in r["codes"])
    cats = r.get("categories")
    met = targets(r)
    return [run.name, str(r["step"]), wall, f"{r['frechet_distance']:.2f} ({r['floor']:.2f})",
            f"{tw['frechet_distance']:.2f}" if tw else "-",
            f"{r['palette']['within']:.3f}" + (f" ({tw['palette']['within']:.3f})" if tw else ""),
            f"{r['edges']['generated']:.3f} ({r['edges']['real']:.3f})" if "edges" in r else "-",
            f"{c['n_within_2x']} / {c['n_common']}", f"{len(live)} of {len(r['codes'])}", names,
            f"{cats['n_distinct_names']} of {len(cats['categories'])}" if cats else "-",
            f"{m['generated_median']:.2f} / {m['held_out_median']:.2f}" if m["n"] else "-",
            ", ".join(k for k, v in met.items() if v) or "none"]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    rows = []
    for a in argv:
        try:
            rows.append(row(a))
        except (OSError, ValueError, KeyError) as e:
            print(f"{a}: not a punk run with an eval.json ({e})", file=sys.stderr)
            return 2
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * len(COLUMNS))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
