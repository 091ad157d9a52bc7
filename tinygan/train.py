"""The training loop shared by the MNIST and CryptoPunks scripts: batches, progress,
metrics log, sample grids, atomic checkpoints, exact resume, and a stop on NaN/inf.

Output folder:
    config.json            model and training configuration
    checkpoint.npz         latest good checkpoint (all arrays, optimiser and RNG state, step)
    checkpoint_stepNNNNNN.npz  kept copies every keep_every steps (when asked for)
    metrics.jsonl          one JSON line of losses per step
    loss_curve.png         the losses against the step
    samples/step_XXXXXX.png  sample grids during training (fixed latents)
"""
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import backend
from .io import atomic_save_npz, atomic_write, write_json
from .data import epoch_permutation
from .figures import loss_curve, sample_grid
from .infogan import InfoGAN, InfoGANConfig, sample_latent


@dataclass
class TrainConfig:
    steps: int = 5000          # training iterations (one D/Q update and one G update each)
    batch_size: int = 128      # images per batch
    seed: int = 0              # seeds initialisation, latent samples and batch order
    sample_every: int = 500    # steps between sample grids (0: never)
    ckpt_every: int = 500      # steps between checkpoints (0: only at the end)
    keep_every: int = 0        # steps between kept checkpoints, never overwritten (0: none)

    def validate(self):
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.batch_size < 2:
            raise ValueError(f"batch size must be >= 2 (BatchNorm needs a batch), got {self.batch_size}")
        if self.sample_every < 0 or self.ckpt_every < 0 or self.keep_every < 0:
            raise ValueError("sample_every, ckpt_every and keep_every must be >= 0")
        return self


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


class OutputExists(RuntimeError):
    """The output folder already holds a run and neither resume nor overwrite was asked for."""


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(model, step, train_cfg, *paths):
    """Write every array and counter to each of `paths` atomically (temporary file, then
    rename); the model is gathered and archived once."""
    arrays, meta = model.state_dict()
    atomic_save_npz(paths, dict(meta, step=step, train=asdict(train_cfg), backend=backend.get_backend()), **arrays)


def read_checkpoint(path):
    """(arrays dict, meta dict) from a checkpoint file, with a clear error if it is not one."""
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {path}") from None
    except Exception as e:
        raise ValueError(f"{path} is not a readable tinygan checkpoint ({type(e).__name__}: {e})") from None
    return arrays, meta


def load_model(path, seed=None):
    """Rebuild an InfoGAN from a checkpoint file, on the active backend."""
    arrays, meta = read_checkpoint(path)
    cfg = InfoGANConfig.from_dict(meta["config"])
    model = InfoGAN(cfg, seed=meta["train"]["seed"] if seed is None else seed)
    model.load_state_dict(arrays, meta)
    return model, meta


# ----------------------------------------------------------------------------- the loop
def prepare_output(out, resume, overwrite):
    """Create `out`, or refuse to clobber a run in it unless resume/overwrite says so."""
    out = Path(out)
    has_run = (out / "config.json").exists() or (out / "checkpoint.npz").exists()
    if resume and not (out / "checkpoint.npz").exists():
        raise FileNotFoundError(f"--resume: no checkpoint.npz in {out}")
    if has_run and not resume and not overwrite:
        raise OutputExists(f"{out} already holds a training run; pass --resume to continue it "
                           f"or --overwrite to start again there")
    if overwrite and not resume:
        for name in ("checkpoint.npz", "metrics.jsonl", "config.json", "loss_curve.png"):
            if (out / name).exists():
                (out / name).unlink()
        for kept in out.glob("checkpoint_step*.npz"):   # the old run's kept checkpoints
            kept.unlink()
    (out / "samples").mkdir(parents=True, exist_ok=True)
    return out


def _truncate_metrics(path, last_step):
    """Keep only the metrics of steps <= last_step (a resumed run rewrites the rest); return
    the training clock (seconds) of the last one kept, so that a resumed run's clock goes on
    from there (0.0 if there is none)."""
    if not path.exists():
        return 0.0
    keep = [line for line in open(path) if line.strip() and json.loads(line)["step"] <= last_step]
    atomic_write(path, "".join(keep))
    return float(json.loads(keep[-1]).get("time", 0.0)) if keep else 0.0


def train(model_cfg, train_cfg, images, out, resume=False, overwrite=False, progress=True,
          on_step=None, on_finish=None):
    """Train an InfoGAN on `images` (n, C, H, W) float32 on the host, writing to `out`.
    on_step(model, step, out), if given, runs after every step (e.g. a periodic evaluation);
    on_finish(model, out) once at the end.

    Returns the trained model. Raises TrainingDiverged (leaving the last good checkpoint)
    if a loss becomes NaN or infinite.
    """
    train_cfg.validate()
    model_cfg.validate()
    n, C, H, W = images.shape
    if (C, H, W) != (model_cfg.img_channels, model_cfg.img_size, model_cfg.img_size):
        raise ValueError(f"images of shape {(C, H, W)} do not fit the model's "
                         f"{(model_cfg.img_channels, model_cfg.img_size, model_cfg.img_size)}")
    if n < train_cfg.batch_size:
        raise ValueError(f"batch size {train_cfg.batch_size} is larger than the data set ({n} images)")
    out = prepare_output(out, resume, overwrite)
    ckpt, metrics_path = out / "checkpoint.npz", out / "metrics.jsonl"
    model = InfoGAN(model_cfg, seed=train_cfg.seed)
    start, clock = 0, 0.0       # clock: seconds of training before this call (a resumed run's)
    if resume:
        arrays, meta = read_checkpoint(ckpt)
        saved = InfoGANConfig.from_dict(meta["config"]).to_dict()
        if saved != model_cfg.to_dict():
            diff = {k: (saved[k], v) for k, v in model_cfg.to_dict().items() if saved[k] != v}
            raise ValueError(f"--resume: the model configuration differs from the checkpoint's "
                             f"(checkpoint, now): {diff}")
        if meta["train"]["seed"] != train_cfg.seed or meta["train"]["batch_size"] != train_cfg.batch_size:
            raise ValueError("--resume: seed and batch size must be those of the checkpoint "
                             f"(seed {meta['train']['seed']}, batch size {meta['train']['batch_size']})")
        model.load_state_dict(arrays, meta)
        start = meta["step"]
        clock = _truncate_metrics(metrics_path, start)
    write_json(out / "config.json", {"model": model_cfg.to_dict(), "train": asdict(train_cfg)}, indent=2)

    data = backend.asarray(images)                      # the whole set on the device once
    per_epoch = n // train_cfg.batch_size
    fixed = np.random.default_rng([train_cfg.seed, 999])  # latents of the sample grids
    grid_latent, _, _ = sample_latent(model_cfg, model_cfg.n_cat * 10, fixed,
                                      cat=np.repeat(np.arange(model_cfg.n_cat), 10))
    bar = _progress(start, train_cfg.steps, progress)
    perm_epoch, perm = -1, None
    t0 = time.perf_counter() - clock
    with open(metrics_path, "a") as log:
        for step in range(start + 1, train_cfg.steps + 1):
            epoch, k = divmod(step - 1, per_epoch)
            if epoch != perm_epoch:
                perm, perm_epoch = epoch_permutation(train_cfg.seed, epoch, n), epoch
            idx = perm[k * train_cfg.batch_size:(k + 1) * train_cfg.batch_size]
            real = data[backend.asarray(idx)]
            losses = model.step(real)
            if model.g_average is not None:
                model.g_average.update()
            bad = [name for name, v in losses.items() if not math.isfinite(v)]
            if bad:
                log.flush()
                raise TrainingDiverged(
                    f"step {step}: loss {bad[0]} became {losses[bad[0]]}; stopped. The last good "
                    f"checkpoint ({ckpt if ckpt.exists() else 'none yet'}) was kept. Try a lower learning rate.")
            log.write(json.dumps({"step": step, **{k2: round(v, 6) for k2, v in losses.items()},
                                  "time": round(time.perf_counter() - t0, 3)}) + "\n")
            bar.update(1)
            if step % 10 == 0 or step == train_cfg.steps:
                bar.set_postfix(d=f"{losses['loss_d']:.3f}", g=f"{losses['g_gan']:.3f}",
                                ce=f"{losses['ce_g']:.3f}", refresh=False)
            if on_step is not None:
                on_step(model, step, out)
            if train_cfg.sample_every and step % train_cfg.sample_every == 0:
                sample_grid(model, grid_latent, out / "samples" / f"step_{step:06d}.png", nrow=10)
            keep = train_cfg.keep_every and step % train_cfg.keep_every == 0
            if (train_cfg.ckpt_every and step % train_cfg.ckpt_every == 0) or step == train_cfg.steps or keep:
                log.flush()
                if not model.is_finite():  # never overwrite a good checkpoint with a broken one
                    raise TrainingDiverged(f"step {step}: parameters became NaN or infinite; stopped. "
                                           f"The last good checkpoint was kept. Try a lower learning rate.")
                kept = [out / f"checkpoint_step{step:06d}.npz"] if keep else []
                save_checkpoint(model, step, train_cfg, ckpt, *kept)
    bar.close()
    loss_curve(metrics_path, out / "loss_curve.png")
    if on_finish is not None:
        on_finish(model, out)
    return model


def _progress(start, total, enabled):
    from tqdm import tqdm
    return tqdm(total=total, initial=start, disable=not enabled, unit="step", dynamic_ncols=True,
                smoothing=0.05)
