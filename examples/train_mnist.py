"""Train an InfoGAN on MNIST (Table I of the paper), write the figures, and measure how
well the categorical code recovered the ten digits.

    python examples/train_mnist.py                       # CPU, the default schedule
    python examples/train_mnist.py --backend cupy        # on a CUDA GPU

Output (in --out): checkpoint.npz, metrics.jsonl, loss_curve.png, samples/, one
figure4_code<i>.png per continuous code (rows: categories; columns: code i from -2 to 2),
and the evaluation: eval.json and confusion.png, with the Fréchet distance of generated
digits to the test digits beside its floor (examples/evaluate_mnist.py says how).
"""
import json
import sys
from pathlib import Path

# tinygan before NumPy: importing it tunes OpenBLAS's threads (tinygan/__init__.py)
from tinygan.cli import check_args, fail, nonneg_int, training_parser
from tinygan.data import DataError, cache_dir, load_mnist, mnist_dir
from tinygan.evaluate import digit_classifier, evaluate_mnist, mnist_fidelity_report
from tinygan.io import write_json
from tinygan.pixels import to_model
from tinygan.figures import mnist_figure4
from tinygan.train import OutputExists, TrainingDiverged, train


MNIST = {"img_channels": 1, "img_size": 28, "output": "sigmoid"}
# Measured on this project's runs (docs/07-mnist.md): the continuous codes at weight 1 take
# over digit identity, 0.1 keeps them to style; the consistency term (Q must give a restyled
# real digit the same category) stops the categories splitting by handwriting style; with
# it the accuracy passes 95% within 1000-1750 steps of 64.
# A running average of G's weights over about the last 200 steps (beta 0.995) draws the
# samples: the Fréchet distance of its digits is about a third of the trained weights'. The
# digits keep getting more real long after the categories have formed, so the run is 8000
# steps: at 5000 the distance was 1.90-2.19x its floor over six runs, three of them above
# 2x; at 8000 1.53-1.63x on each of three seeds (docs/07-mnist.md).
DEFAULTS = {"out": "runs/mnist", "lambda_cont": 0.1, "lambda_aug": 1.0, "steps": 8000, "batch_size": 64,
            "g_average": 0.995}


def main(argv=None):
    parser = training_parser(__doc__, DEFAULTS)
    parser.add_argument("--no-eval", action="store_true", help="skip the test-set evaluation at the end")
    parser.add_argument("--eval-every", type=nonneg_int, default=0,
                        help="also evaluate every this many steps, into eval_log.jsonl: test accuracy, and the Fréchet "
                             "distance unless --fidelity-n is 0 (0: only at the end)")
    parser.add_argument("--fidelity-n", type=nonneg_int, default=10000,
                        help="generated digits for the Fréchet distance, at the end and with --eval-every (0: skip it)")
    args = parser.parse_args(argv)
    model_cfg, train_cfg = check_args(parser, args, MNIST)
    try:
        images, labels = load_mnist("train", args.data_dir)
        test = None if args.no_eval else load_mnist("test", args.data_dir)
    except DataError as e:
        fail(str(e))
    x = to_model(images, MNIST["output"])                  # (n, 1, 28, 28) in [0, 1] for the sigmoid output

    held = {}

    def fidelity(model, progress):
        """mnist_fidelity_report, the digit classifier loaded (or trained) once per run."""
        if "classifier" not in held:
            held["classifier"] = digit_classifier((images, labels), test,
                                                  [mnist_dir(args.data_dir), cache_dir() / "mnist"], progress)
        return mnist_fidelity_report(model, (images, labels), test, args.data_dir, args.fidelity_n,
                                     classifier=held["classifier"])

    def finish(model, out):
        for p in mnist_figure4(model, out, train_cfg.seed):
            print(f"wrote {p}")
        if test is not None:
            result = evaluate_mnist(model, *test, out)
            print(f"test accuracy of the categorical code (Hungarian matching): {result['accuracy']:.4f} "
                  f"(error {1 - result['accuracy']:.2%}); wrote {out}/eval.json and {out}/confusion.png")
            if args.fidelity_n:
                result["fidelity"], line = fidelity(model, progress=not args.no_progress)
                write_json(Path(out) / "eval.json", result)
                print(line)

    def periodic_eval(model, step, out):
        if args.eval_every and test is not None and step % args.eval_every == 0:
            r = evaluate_mnist(model, *test)
            entry = {"step": step, "accuracy": r["accuracy"], "counts": r["counts"]}
            if args.fidelity_n:
                fid, _ = fidelity(model, progress=False)
                entry["frechet_distance"] = fid["frechet_distance"]
                entry["frechet_distance_trained_weights"] = fid.get("frechet_distance_trained_weights")
            with open(Path(out) / "eval_log.jsonl", "a") as f:
                f.write(json.dumps(entry) + "\n")

    try:
        train(model_cfg, train_cfg, x, args.out, resume=args.resume, overwrite=args.overwrite,
              progress=not args.no_progress, on_step=periodic_eval, on_finish=finish)
    except (OutputExists, FileNotFoundError, TrainingDiverged, ValueError) as e:
        fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
