"""Command-line flags shared by the training scripts, and their validation."""
import argparse
import math
import sys

from . import backend
from .infogan import InfoGANConfig
from .io import PathError, check_data_dir, check_in_file, check_out_dir
from .train import TrainConfig, load_model


def positive_int(s):
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s}")
    return v


def nonneg_int(s):
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {s}")
    return v


def positive_float(s):
    v = float(s)
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {s}")
    return v


def rgb_colour(s):
    """"R,G,B" with values 0..255 -> a tuple of three ints."""
    try:
        rgb = tuple(int(v) for v in s.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise argparse.ArgumentTypeError(f"expected R,G,B with values 0..255, got {s!r}")
    return rgb


def nonneg_float(s):
    v = float(s)
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {s}")
    return v


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show each flag's default, and keep the description's own line breaks."""


def config_overrides(pairs):
    """KEY=VALUE strings (a script's --set) -> {InfoGANConfig field: value}, each value of the
    field's type ("true"/"false" for a flag); a clear error for an unknown field or a bad value."""
    defaults = InfoGANConfig()
    out = {}
    for kv in pairs:
        k, sep, v = kv.partition("=")
        if not sep:
            raise SystemExit(f"--set {kv!r}: expected KEY=VALUE")
        if not hasattr(defaults, k):
            raise SystemExit(f"--set {k}: InfoGANConfig has no field {k!r}")
        kind = type(getattr(defaults, k))
        try:
            if kind is bool:
                if v.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(v)
                out[k] = v.lower() in ("true", "1")
            else:
                out[k] = kind(v)
        except ValueError:
            raise SystemExit(f"--set {k}={v}: expected a {kind.__name__}") from None
    return out


def training_parser(description, defaults):
    """The flags of a training script; `defaults` overrides InfoGANConfig/TrainConfig defaults."""
    m, t = InfoGANConfig(), TrainConfig()
    d = {**vars(m), **vars(t), **defaults}
    p = argparse.ArgumentParser(description=description, formatter_class=_HelpFormatter)
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy",
                   help="array backend: numpy (CPU) or cupy (CUDA GPU; needs CuPy)")
    p.add_argument("--data-dir", default=None,
                   help="folder with the data files (searched first; then $TINYGAN_DATA/<set>, then ~/.cache/tinygan/<set>)")
    p.add_argument("--out", default=d["out"], help="output folder for checkpoints, logs and figures")
    p.add_argument("--steps", type=positive_int, default=d["steps"], help="training iterations")
    p.add_argument("--batch-size", type=positive_int, default=d["batch_size"], help="images per batch (>= 2)")
    p.add_argument("--seed", type=nonneg_int, default=d["seed"], help="random seed (initialisation, latents, batch order)")
    p.add_argument("--n-cat", type=positive_int, default=d["n_cat"], help="categories of the categorical code")
    p.add_argument("--n-cont", type=nonneg_int, default=d["n_cont"], help="number of continuous codes")
    p.add_argument("--n-noise", type=nonneg_int, default=d["n_noise"], help="dimension of the noise vector z")
    p.add_argument("--noise", choices=["uniform", "normal"], default=d["noise"], help="distribution of z")
    p.add_argument("--learned-std", action="store_true",
                   help="Q predicts a log-std for each continuous code (the digital-art paper's form; default: "
                        "fixed std 1, the MSE form). On the punks it made G draw colour noise that encodes the "
                        "codes (docs/08-cryptopunks.md)")
    p.add_argument("--lambda-cat", type=nonneg_float, default=d["lambda_cat"], help="weight of the categorical information loss")
    p.add_argument("--cat-warmup", type=nonneg_int, default=d["cat_warmup"],
                   help="steps at the start during which the categorical information term has weight 0: G learns "
                        "to draw varied images before it splits them into categories (0: none)")
    p.add_argument("--lambda-cont", type=nonneg_float, default=d["lambda_cont"], help="weight of the continuous information loss")
    p.add_argument("--lambda-aug", type=nonneg_float, default=d["lambda_aug"],
                   help="weight of the consistency term: Q must give a real image and a restyled copy (rotated, "
                        "slanted, scaled, shifted, stroke thickened or thinned) the same category (0: off)")
    p.add_argument("--g-average", type=float, default=d["g_average"],
                   help="beta of a running average of G's weights, used for sampling and evaluation "
                        "(0: off; 0.99: about the last 100 steps; tinygan/average.py)")
    p.add_argument("--real-target", type=positive_float, default=d["real_target"],
                   help="D's target for real images: below 1 (e.g. 0.9) is one-sided label smoothing, which "
                        "keeps D from becoming sure of the real images (1: the paper's)")
    p.add_argument("--d-norm", choices=["batch", "spectral"], default=d["d_norm"],
                   help="D's trunk: batch (Table II's BatchNorm layers) or spectral (no BatchNorm, every D "
                        "weight divided by its largest singular value; tinygan/spectral.py)")
    p.add_argument("--g-modulation", action=argparse.BooleanOptionalAction, default=d["g_modulation"],
                   help="after each of G's BatchNorm layers, scale and shift every channel by a linear map of "
                        "the latent (self-modulation; tinygan/modulation.py); --no-g-modulation: Table I/II's G")
    p.add_argument("--g-top-k", type=positive_float, default=d["g_top_k"], metavar="FRACTION",
                   help="G's adversarial term counts only this fraction of its fakes, those D finds most real "
                        "(top-k training; tinygan/topk.py); the information term still counts all (1: all)")
    p.add_argument("--lr-d", type=positive_float, default=d["lr_d"], help="Adam learning rate of D, the trunk and Q")
    p.add_argument("--lr-g", type=positive_float, default=d["lr_g"], help="Adam learning rate of G")
    p.add_argument("--beta1", type=nonneg_float, default=d["beta1"],
                   help="Adam's beta1 for both optimisers: the decay of the running mean of gradients, the "
                        "momentum (0: none; must be below 1)")
    p.add_argument("--lr-g-late", nargs=2, metavar=("STEP", "LR"), type=float,
                   default=(d["lr_g_late_from"], d["lr_g_late"]),
                   help="from step STEP on, G's learning rate is LR (0 0: --lr-g throughout)")
    p.add_argument("--sample-every", type=nonneg_int, default=d["sample_every"], help="steps between sample grids (0: never)")
    p.add_argument("--ckpt-every", type=nonneg_int, default=d["ckpt_every"],
                   help="steps between checkpoints (0: only at the end)")
    p.add_argument("--keep-every", type=nonneg_int, default=d["keep_every"],
                   help="also keep a checkpoint_stepNNNNNN.npz every this many steps, which nothing overwrites "
                        "(0: keep only the latest checkpoint.npz)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint (same flags)")
    p.add_argument("--overwrite", action="store_true", help="start again in an --out that already holds a run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _whole(v, what):
    """A float flag value that must be a whole number (argparse gives nargs=2 flags one type)."""
    if not math.isfinite(v) or v != int(v):
        raise ValueError(f"{what} must be a whole number, got {v}")
    return int(v)


def configs_from_args(args, fixed):
    """(InfoGANConfig, TrainConfig) from parsed flags; `fixed` holds the data set's own fields."""
    model_cfg = InfoGANConfig(
        n_noise=args.n_noise, noise=args.noise, n_cat=args.n_cat,
        n_cont=args.n_cont, fixed_std=not args.learned_std, lambda_cat=args.lambda_cat,
        lambda_cont=args.lambda_cont, lambda_aug=args.lambda_aug, g_average=args.g_average,
        cat_warmup=args.cat_warmup, real_target=args.real_target,
        lr_d=args.lr_d, lr_g=args.lr_g, lr_g_late_from=_whole(args.lr_g_late[0], "--lr-g-late STEP"),
        lr_g_late=args.lr_g_late[1], d_norm=args.d_norm, g_modulation=args.g_modulation,
        g_top_k=args.g_top_k,
        beta1=args.beta1, **fixed)
    train_cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, seed=args.seed,
                            sample_every=args.sample_every, ckpt_every=args.ckpt_every,
                            keep_every=args.keep_every)
    return model_cfg.validate(), train_cfg.validate()


def check_args(parser, args, fixed):
    """Validate everything before any work starts; parser.error exits with a clear message."""
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite cannot be used together")
    try:
        cfgs = configs_from_args(args, fixed)
    except ValueError as e:
        parser.error(str(e))
    check_paths(parser, data_dir=args.data_dir, out=args.out)
    try:
        backend.set_backend(args.backend)
    except backend.BackendError as e:
        parser.error(str(e))
    return cfgs


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def checkpoint_parser(description, out_default, checkpoint_help="checkpoint.npz written by a training script",
                      out_help="folder to write into (created)"):
    """The flags every script that reads a checkpoint has: --checkpoint, --out, --backend."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help=checkpoint_help)
    p.add_argument("--out", default=out_default, help=out_help)
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy", help="array backend")
    return p


def check_paths(parser, checkpoint=None, data_dir=None, out=None):
    """The paths a user gave, checked before any work starts (tinygan/io.py says what each
    must be); a bad one ends the script with one line, through parser.error."""
    try:
        if checkpoint is not None:
            check_in_file(checkpoint, "--checkpoint")
        if data_dir is not None:
            check_data_dir(data_dir, "--data-dir")
        if out is not None:
            check_out_dir(out, "--out")
    except PathError as e:
        parser.error(str(e))


def open_checkpoint(parser, args):
    """Check the paths, switch to --backend and load --checkpoint: (model, meta), or a clear
    error and exit."""
    check_paths(parser, checkpoint=args.checkpoint, data_dir=getattr(args, "data_dir", None), out=args.out)
    try:
        backend.set_backend(args.backend)
        return load_model(args.checkpoint)
    except (backend.BackendError, FileNotFoundError, ValueError) as e:
        parser.error(str(e))
