"""Image grids, the latent-code sweeps (the paper's Figures 4 and 9) and the loss curve."""
import json
import io
from pathlib import Path

import numpy as np
from PIL import Image

from . import pixels
from .io import atomic_write, save_figure
from .infogan import sample_latent, sample_noise
from .layers import evaluation


to_uint8 = pixels.to_uint8   # (n, C, H, W) in G's output range -> uint8 (n, H, W, C)


def grid(images_u8, nrow, pad=2, pad_value=255):
    """Tile uint8 images (n, H, W, C) into rows of `nrow`; returns (rows*(H+pad)+pad, ...) uint8."""
    n, H, W, C = images_u8.shape
    rows = (n + nrow - 1) // nrow
    out = np.full((rows * (H + pad) + pad, nrow * (W + pad) + pad, C), pad_value, np.uint8)
    for k in range(n):
        r, c = divmod(k, nrow)
        out[pad + r * (H + pad):pad + r * (H + pad) + H, pad + c * (W + pad):pad + c * (W + pad) + W] = images_u8[k]
    return out


def save_image(array_u8, path, scale=1):
    """Save (H, W, C) uint8 as PNG, upscaled by an integer factor with nearest neighbour
    (pixel art stays crisp). Written atomically."""
    img = Image.fromarray(array_u8[..., 0] if array_u8.shape[-1] == 1 else array_u8)
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write(path, buf.getvalue())


def code_sweep_latents(cfg, code, values, rng, noise=None):
    """Latents for one sweep block: row k = category k, columns = continuous code `code`
    taking `values`, the other codes 0, one noise vector throughout.
    Returns (n_cat * len(values), latent_dim) float32."""
    if noise is None:
        noise = sample_latent(cfg, 1, rng)[0][0, :cfg.n_noise]
    n_val = len(values)
    cats = np.repeat(np.arange(cfg.n_cat), n_val)                          # (n_cat*n_val,)
    cont = np.zeros((cfg.n_cat * n_val, cfg.n_cont))
    if cfg.n_cont:
        cont[:, code] = np.tile(values, cfg.n_cat)
    latent, _, _ = sample_latent(cfg, len(cats), rng, cat=cats, cont=cont)
    latent[:, :cfg.n_noise] = noise
    return latent


def render(model, latent, batch=256, averaged=True):
    """G's images for host latents (n, latent_dim) as uint8 (n, H, W, C): BatchNorm in
    evaluation mode (running statistics), with G's averaged weights when the model keeps
    them (and `averaged`), generated in blocks; G's mode and weights restored after."""
    with evaluation(model.G), model.sampling_weights(averaged):
        return np.concatenate([to_uint8(model.generate(latent[i:i + batch]), model.cfg.output)
                               for i in range(0, len(latent), batch)])


def code_sweep_figure(model, code, values, path, rng, scale=1, noise=None):
    """One block of Figure 4 / 9: rows the categories, columns code `code` swept over values."""
    latent = code_sweep_latents(model.cfg, code, values, rng, noise)
    g = grid(render(model, latent), len(values))
    save_image(g, path, scale)
    return g


def mnist_figure4(model, out, seed):
    """The paper's Figure 4 for each continuous code i: out/figure4_code<i>.png, rows the
    categories, columns code i from -2 to 2, one noise vector for every block (drawn from
    `seed`, the run's, so a checkpoint redraws its run's figure). Returns the paths."""
    rng = np.random.default_rng([seed, 4])
    noise = sample_noise(model.cfg, 1, rng)[0]
    paths = []
    for i in range(model.cfg.n_cont):
        path = Path(out) / f"figure4_code{i}.png"
        code_sweep_figure(model, i, np.linspace(-2, 2, 10), path, rng, scale=2, noise=noise)
        paths.append(path)
    return paths


def sample_grid(model, latent, path, nrow, scale=1):
    """Generate from fixed latents (evaluation-mode BatchNorm) and save them as one grid."""
    save_image(grid(render(model, latent), nrow), path, scale)


def loss_curve(metrics_path, png_path, keys=("loss_d", "loss_g", "ce_g")):
    """Plot chosen losses of metrics.jsonl against the step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(line) for line in open(metrics_path) if line.strip()]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in rows]
    for k in keys:
        if k in rows[0]:
            v = np.array([r[k] for r in rows], dtype=float)
            w = max(1, len(v) // 100)  # moving average over about 1% of the run
            smooth = np.convolve(v, np.ones(w) / w, mode="valid")
            ax.plot(steps[w - 1:], smooth, label=k)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, png_path, dpi=100)
    plt.close(fig)


def tile_blocks(blocks, ncol, gap=6, pad_value=255):
    """Arrange uint8 grids (h, w, C) of equal shape into rows of `ncol`, `gap` pixels apart."""
    h, w, C = blocks[0].shape
    rows = (len(blocks) + ncol - 1) // ncol
    out = np.full((rows * h + (rows - 1) * gap, ncol * w + (ncol - 1) * gap, C), pad_value, np.uint8)
    for k, b in enumerate(blocks):
        r, c = divmod(k, ncol)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = b
    return out
