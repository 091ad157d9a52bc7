"""Evaluate a checkpoint's categorical code on the 10,000 MNIST test images.

    python examples/evaluate_mnist.py --checkpoint runs/mnist/checkpoint.npz

Q labels each test image with its arg-max category; categories are matched one-to-one to
digits by the Hungarian algorithm; the accuracy (and the many-to-one accuracy, each
category to its majority digit) is printed and written with the confusion matrix
(eval.json, confusion.png) into --out (default: the checkpoint's folder).

It also measures how real the generated digits look: the Fréchet distance between the
features of --fidelity-n generated digits and of the test digits, on a small digit
classifier built from tinygan's layers (trained once, about a minute and a half on a CPU,
then cached next to the MNIST files), printed beside its floor: the same distance for
real training digits against the test digits.
"""
import sys
from pathlib import Path

from tinygan.cli import checkpoint_parser, nonneg_int, open_checkpoint
from tinygan.data import DataError, load_mnist
from tinygan.evaluate import evaluate_mnist, mnist_fidelity_report
from tinygan.figures import mnist_figure4
from tinygan.io import write_json


def main(argv=None):
    p = checkpoint_parser(__doc__, None, "checkpoint.npz written by train_mnist.py",
                          "folder for eval.json and confusion.png (default: the checkpoint's)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (as for train_mnist.py)")
    p.add_argument("--fidelity-n", type=nonneg_int, default=10000,
                   help="generated digits for the Fréchet distance (0: skip it) (default: 10000)")
    p.add_argument("--figure4", action="store_true",
                   help="also draw Figure 4 (figure4_code<i>.png: categories x one code from -2 to 2) into --out, "
                        "as train_mnist.py draws it at the end of the run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    model, meta = open_checkpoint(p, args)
    try:
        images, labels = load_mnist("test", args.data_dir)
        train = load_mnist("train", args.data_dir) if args.fidelity_n else None
    except DataError as e:
        p.error(str(e))
    if (model.cfg.img_channels, model.cfg.img_size) != (1, 28):
        p.error("this checkpoint is not an MNIST model")
    out = Path(args.out) if args.out else Path(args.checkpoint).parent
    out.mkdir(parents=True, exist_ok=True)
    if args.figure4:
        for path in mnist_figure4(model, out, meta["train"]["seed"]):
            print(f"wrote {path}")
    r = evaluate_mnist(model, images, labels, out)
    if args.fidelity_n:
        r["fidelity"], line = mnist_fidelity_report(model, train, (images, labels), args.data_dir,
                                                    args.fidelity_n, progress=not args.no_progress)
        write_json(out / "eval.json", r)
        print(line)
    print(f"step {meta['step']}: test accuracy {r['accuracy']:.4f} (error {1 - r['accuracy']:.2%}), "
          f"many-to-one {r['majority_accuracy']:.4f}; category -> digit {r['mapping']}; "
          f"wrote {out / 'eval.json'} and {out / 'confusion.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
