"""Measure how real a CryptoPunks checkpoint's punks are (docs/08-cryptopunks.md).

    python examples/evaluate_punks.py --checkpoint runs/punks/checkpoint.npz

Prints and writes to eval.json (in --out, default the checkpoint's folder):
- the Fréchet distance between 5,000 generated and 5,000 real punks on the features of an
  attribute classifier (tinygan's own layers; trained once on the training punks, about
  two minutes on a CPU, then cached beside punks.png), and its floor: the same distance
  between two disjoint halves of the real punks;
- palette fidelity: the fraction of generated pixels within 16 (of 255, RGB distance) of a
  colour that real punks use on this background, and the median distance (real: 1.0, 0);
- edges: the fraction of neighbouring pixel pairs that differ by more than 16, beside the
  real punks' (speckle raises it, whether or not its colours are the palette's);
- coverage: each attribute's and type's rate among 10,000 generated punks beside its real
  rate, and how many of those with a real rate of at least 1% are generated within 2x;
- codes: per continuous code, the pixel change between the ends of its sweep and the
  attribute whose rate moves most ("code 2: pipe 0.01 -> 0.62");
- categories: per category, the attribute whose rate it raises most above the average over
  the categories ("category 3: mohawk 0.04 -> 0.61"), and how many different ones there are;
- variety: how much the punk changes when only the noise, only the category or only the
  continuous codes are drawn afresh (a G that ignores its noise scores near 0 there);
- code readout: how well Q recovers the category and each continuous code (R^2) from the
  generated punks, and from the same punks snapped to the nearest real colour;
- memorisation: generated and held-out real punks' distances to the nearest training punk.
A checkpoint that keeps a running average of G's weights (--g-average) is measured with it;
the Fréchet distance and palette fidelity of G's own weights are printed beside, and
--trained-weights measures everything with G's own weights.
The real punks are composited on the run's background and split as in training (both read
from the run's data.json, written by train_cryptopunks.py; --background and --holdout
otherwise). The labels are attributes.csv (docs/09-analysis.md says where it comes from).
"""
import sys
from pathlib import Path

from tinygan.cli import checkpoint_parser, nonneg_int, open_checkpoint, positive_int, rgb_colour
from tinygan.data import DataError
from tinygan.io import PathError, check_in_file, write_json
from tinygan.punk_quality import evaluate_punks, labelled_punks, run_data
from tinygan.punks import DEFAULT_BACKGROUND


def summary_lines(r):
    p, c = r["palette"], r["coverage"]
    lines = [f"Fréchet distance (attribute-classifier features, {r['n_fd']} generated vs {r['n_fd']} real): "
             f"{r['frechet_distance']:.3f}; floor (two halves of the real punks) {r['floor']:.3f}",
             f"palette fidelity: {p['within']:.3f} of generated pixels within {p['tolerance']} of a real colour "
             f"(median distance {p['median_distance']:.1f}; real punks {p['real']:.3f})",
             f"edges: {r['edges']['generated']:.3f} of neighbouring pixel pairs differ by more than "
             f"{r['edges']['tolerance']} (real punks {r['edges']['real']:.3f})",
             f"coverage: {c['n_within_2x']} of {c['n_common']} attributes with a real rate >= 1% generated within 2x"
             + (f"; outside: {', '.join(c['outside_2x'][:12])}" if c["outside_2x"] else "")
             + (f" and {len(c['outside_2x']) - 12} more (eval.json)" if len(c["outside_2x"]) > 12 else "")]
    if "trained_weights" in r:
        tw = r["trained_weights"]
        lines.append(f"  (G's own weights, not the running average: Fréchet distance {tw['frechet_distance']:.3f}, "
                     f"palette fidelity {tw['palette']['within']:.3f})")
    k = r.get("classifier", {})
    if "type_accuracy" in k:
        lines.append(f"attribute classifier on {k['n_held_out']} held-out punks: type accuracy {k['type_accuracy']:.3f}, "
                     f"accessory accuracy {k['attribute_accuracy']:.3f}, recall {k['attribute_recall']:.3f}")
    lines += [f"  {e['label']}  (pixel change {e['pixel_change']:.1f} of 255)" for e in r["codes"]]
    if "categories" in r:
        cats = r["categories"]
        lines.append(f"categories: {cats['n_distinct_names']} different attributes name the "
                     f"{len(cats['categories'])} categories")
        lines += [f"  {e['label']}" for e in cats["categories"]]
    if "variety" in r:
        v = r["variety"]
        lines.append(f"variety (pixel std, of 255, when one part of the latent is redrawn): noise {v['noise']:.1f}, "
                     f"category {v['category']:.1f}, continuous codes {v['continuous']:.1f}, all {v['all']:.1f} "
                     f"(real punks {v['real']:.1f})")
    if "code_readout" in r:
        g, s = r["code_readout"]["generated"], r["code_readout"]["snapped_to_palette"]
        lines.append(f"Q reads the category of {g['category_accuracy']:.3f} of generated punks ({s['category_accuracy']:.3f} "
                     f"snapped to the palette); continuous codes R^2 "
                     + ", ".join(f"{a:.2f} ({b:.2f})" for a, b in zip(g["continuous_r2"], s["continuous_r2"])))
    m = r["memorisation"]
    if "targets" in r:
        lines.append(f"live codes (sweep changes >= 15 of 255 and some rate by >= 0.20): {len(r['live_codes'])} of "
                     f"{len(r['codes'])}; targets met: " + ", ".join(f"{k} {'yes' if v else 'no'}"
                                                                    for k, v in r["targets"].items()))
    if m["n"]:
        lines.append(f"memorisation: median distance to the nearest training punk, generated "
                     f"{m['generated_median']:.2f}, held-out real {m['held_out_median']:.2f}")
    return lines


def run(model, data_dir, attributes, background, holdout, n, seed, progress=True, averaged=True):
    """The evaluation of a punk model; returns the result dict (raises DataError, ValueError)."""
    d = labelled_punks(data_dir, attributes, model.cfg.img_size, background, holdout, progress)
    r = evaluate_punks(model, d["punks"], d["y"], d["t"], d["names"], d["train_idx"], d["held_idx"], d["clf"],
                       n=n, seed=seed, averaged=averaged)
    r["classifier"] = d["info"]
    r["background"], r["holdout"] = list(background), holdout
    return r


def main(argv=None):
    p = checkpoint_parser(__doc__, None, "checkpoint.npz written by train_cryptopunks.py",
                          "folder for eval.json (default: the checkpoint's)")
    p.add_argument("--data-dir", default=None, help="CryptoPunks folder (as for train_cryptopunks.py)")
    p.add_argument("--attributes", default=None, help="attributes.csv (default: beside punks.png)")
    p.add_argument("--background", type=rgb_colour, default=None,
                   help="R,G,B the punks were composited on (default: the run's data.json, else "
                        f"{','.join(map(str, DEFAULT_BACKGROUND))})")
    p.add_argument("--holdout", type=nonneg_int, default=None, help="held-out punks (default: the run's, else 500)")
    p.add_argument("--n", type=positive_int, default=10000, help="generated punks for the coverage (default 10000)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the generated latents (default 0)")
    p.add_argument("--trained-weights", action="store_true",
                   help="measure G's trained weights, not the running average the checkpoint keeps")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    model, meta = open_checkpoint(p, args)
    if args.attributes:
        try:
            check_in_file(args.attributes, "--attributes")
        except PathError as e:
            p.error(str(e))
    if model.cfg.img_channels != 3:
        p.error("this checkpoint is not a CryptoPunks model")
    run_dir = Path(args.checkpoint).parent
    background, holdout = run_data(run_dir, args.background, args.holdout)
    try:
        r = run(model, args.data_dir, args.attributes, background, holdout, args.n, args.seed,
                progress=not args.no_progress, averaged=not args.trained_weights)
    except (DataError, ValueError) as e:
        p.error(str(e))
    r["step"] = meta["step"]
    out = Path(args.out) if args.out else run_dir
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "eval.json", r)
    for line in summary_lines(r):
        print(line)
    print(f"wrote {out / 'eval.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
