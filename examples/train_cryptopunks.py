"""Train an InfoGAN on the CryptoPunks (Table II of the paper) and draw its figures.

    python examples/train_cryptopunks.py                    # 24x24 RGB, 10 categories, 4 codes, 30000 x 32,
                                                            # categorical warm-up 500, real target 0.9,
                                                            # G's learning rate 2e-4 from step 20000,
                                                            # D spectrally normalised, D's rate 6e-4,
                                                            # G self-modulated by the latent
    python examples/train_cryptopunks.py --n-cat 20 --out runs/punks20      # Figure 10
    python examples/train_cryptopunks.py --backend cupy     # on a CUDA GPU

Output (in --out), beside the checkpoint, metrics and samples that every run writes:
figure6.png (real punks left, generated right), figure9_code<i>.png (rows: categories;
columns: code i from -1.5 to 1.5, one noise vector throughout), figure9_sheet.png (the
first four blocks as a 2x2 sheet), memorisation.json: for generated punks and for
held-out real punks, the pixel distance to the nearest training punk, data.json (the
background and hold-out the run used) and, when attributes.csv lies beside punks.png,
eval.json: the measures of examples/evaluate_punks.py (Fréchet distance and its floor,
palette fidelity, coverage of every attribute, what each code changes).
"""
import runpy
import sys
from pathlib import Path

# tinygan before NumPy: importing it tunes OpenBLAS's threads (tinygan/__init__.py)
from tinygan.cli import check_args, fail, nonneg_int, rgb_colour, training_parser
from tinygan.data import DataError
from tinygan.figures import code_sweep_figure, grid, render, save_image, tile_blocks, to_uint8
from tinygan.infogan import sample_latent, sample_noise
from tinygan.io import write_json
from tinygan.punk_quality import memorisation
from tinygan.punks import DEFAULT_BACKGROUND, holdout_split, load_punks
from tinygan.train import OutputExists, TrainingDiverged, train

import numpy as np


# Samples are drawn with a running average of G's weights over about the last 100 steps (beta
# 0.99): on every punk run measured it lowered the Fréchet distance and raised the palette
# fidelity, at no cost to training. The categorical term is off for the first 500 steps (G
# learns to use its noise before the categories split its punks) and D's target on real punks
# is 0.9 (one-sided label smoothing, without which the warm-up's G collapses after ~3000
# steps): on seeds 0, 1 and 2 this lowered the Fréchet distance and brought the codes and
# categories to life, at a cost in palette and coverage. With both, training on from step 5000
# to 7000 improved the palette and the coverage on seeds 0, 1 and 2 and the Fréchet distance on
# two of them. From step 5000 on G's learning rate is 2e-4 instead of 1e-3 (D's stays at 2e-4):
# against the same step-5000 models trained on unchanged, this lowered the Fréchet distance on
# seeds 0, 1 and 2. D's trunk and head are spectrally normalised, without BatchNorm: on seeds
# 0, 1 and 2 this cut the Fréchet distance from 31.6, 22.9 and 25.0 to 7.9, 7.5 and 7.2 and
# raised the palette, the coverage and the edge fraction's match with the real punks
# (--d-norm batch is Table II's D). With it, 10000 steps instead of 7000 lowered the Fréchet
# distance and the edge fraction and raised the palette on seeds 0, 1 and 2. Batches of 64 for
# 15000 steps (G's step-down at 10000) instead of 128 for 10000 (step-down at 5000): fewer punks
# seen, more updates, and on seeds 0, 1 and 2 a lower Fréchet distance and edge fraction and a
# higher palette. Batches of 32 for 30000 steps (step-down at 20000) with D's learning rate 6e-4
# instead of 2e-4: the same punks seen in twice the updates, and on seeds 0, 1 and 2 cleaner pixel
# art (palette and edge fraction), the paper's pipe code and a stronger Figure 7, at a higher
# Fréchet distance; with 20 categories (Figure 10) cleaner punks than the batch-64 recipe's on
# seeds 0, 1 and 2. G is self-modulated (the latent scales and shifts every channel after each of
# G's BatchNorm layers; --no-g-modulation is Table II's G): against Table II's G on the same
# machine, on seeds 0, 1 and 2, cleaner pixel art (palette and edge fraction at every kept step), a
# lower Fréchet distance and a stronger Figure 8, at a cost in the codes: 4, 2 and 3 live codes
# against 4, 4 and 3, none of them the paper's (docs/08-cryptopunks.md, "What moved the numbers",
# with the numbers and times). An old run resumes with the flags it was trained with
# (--no-g-modulation for one trained before); a mismatch is a clear error.
DEFAULTS = {"out": "runs/punks", "n_cont": 4, "steps": 30000, "batch_size": 32, "g_average": 0.99,
            "cat_warmup": 500, "real_target": 0.9, "lr_g_late_from": 20000, "lr_g_late": 2e-4,
            "lr_d": 6e-4, "d_norm": "spectral", "g_modulation": True}
SCALE = 4  # nearest-neighbour upscaling of the figures: pixel art stays crisp


def figures(model, real_train, real_held, out, seed, n_mem=300):
    """Figure 6, the Figure 9 blocks and sheet, and the memorisation check."""
    cfg, out = model.cfg, Path(out)
    rng = np.random.default_rng([seed, 6])
    latent, _, _ = sample_latent(cfg, max(64, n_mem), rng)
    fake = render(model, latent)                                          # (n, H, W, 3)
    real = to_uint8(real_train[rng.choice(len(real_train), min(64, len(real_train)), replace=False)], "tanh")
    save_image(tile_blocks([grid(real, 8), grid(fake[:64], 8)], 2, gap=12), out / "figure6.png", SCALE)
    noise = sample_noise(cfg, 1, rng)[0]
    blocks = [code_sweep_figure(model, i, np.linspace(-1.5, 1.5, 10), out / f"figure9_code{i}.png", rng,
                                scale=SCALE, noise=noise) for i in range(cfg.n_cont)]
    if blocks:
        save_image(tile_blocks(blocks[:4], 2, gap=12), out / "figure9_sheet.png", SCALE)
    # how much each continuous code changes the image: mean |pixel(-1.5) - pixel(+1.5)|, 0..255,
    # over the sweep's rows (a collapsed code scores near 0)
    cell = cfg.img_size + 2
    activity = [float(np.abs(b[:, 2:2 + cfg.img_size].astype(int)
                             - b[:, 2 + 9 * cell:2 + 9 * cell + cfg.img_size].astype(int)).mean()) for b in blocks]
    write_json(out / "codes.json", {"sweep_end_to_end_mean_abs_pixel_change": activity})
    mem = memorisation(fake[:n_mem], real_train, real_held[:n_mem])
    write_json(out / "memorisation.json", mem)
    return mem


def main(argv=None, on_step=None):
    """The command line; `on_step(model, step, out)`, if given, runs after every training step
    (benchmarks/punk_betas.py keeps more running averages with it)."""
    parser = training_parser(__doc__, DEFAULTS)
    parser.add_argument("--size", type=int, choices=[24, 32], default=24,
                        help="image size: 24 (the punks' native size, which Table II's generator produces) "
                             "or 32 (the paper's text; the punks padded with background)")
    parser.add_argument("--background", type=rgb_colour, default=DEFAULT_BACKGROUND,
                        help="R,G,B colour that the transparent pixels are composited onto")
    parser.add_argument("--holdout", type=nonneg_int, default=500,
                        help="punks kept out of training, for the memorisation check")
    parser.add_argument("--no-eval", action="store_true",
                        help="skip the measures of examples/evaluate_punks.py at the end")
    args = parser.parse_args(argv)
    model_cfg, train_cfg = check_args(parser, args, {"img_channels": 3, "img_size": args.size, "output": "tanh"})
    try:
        punks = load_punks(args.data_dir, size=args.size, background=args.background)
    except DataError as e:
        fail(str(e))
    if not 0 <= args.holdout <= len(punks) - train_cfg.batch_size:
        parser.error(f"--holdout must leave at least one batch of the {len(punks)} punks for training")
    held_idx, train_idx = holdout_split(len(punks), args.holdout)

    def finish(model, out):
        write_json(Path(out) / "data.json", {"size": args.size, "background": list(args.background),
                                             "holdout": args.holdout})
        mem = figures(model, punks[train_idx], punks[held_idx], out, train_cfg.seed)
        print(f"wrote figure6.png, figure9_*.png and memorisation.json in {out}")
        if mem["n_held_out"]:
            print(f"median distance to the nearest training punk: generated "
                  f"{mem['generated_to_nearest_train']['median']:.2f}, held-out real "
                  f"{mem['held_out_to_nearest_train']['median']:.2f}")
        if args.no_eval:
            return
        evaluate = runpy.run_path(str(Path(__file__).with_name("evaluate_punks.py")), run_name="not_main")
        try:
            r = evaluate["run"](model, args.data_dir, None, args.background, args.holdout, 10000, train_cfg.seed,
                                progress=not args.no_progress)
        except DataError as e:
            print(f"no evaluation: {e}")
            return
        r["step"] = train_cfg.steps
        write_json(Path(out) / "eval.json", r)
        for line in evaluate["summary_lines"](r):
            print(line)

    try:
        train(model_cfg, train_cfg, punks[train_idx], args.out, resume=args.resume, overwrite=args.overwrite,
              progress=not args.no_progress, on_step=on_step, on_finish=finish)
    except (OutputExists, FileNotFoundError, TrainingDiverged, ValueError) as e:
        fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
