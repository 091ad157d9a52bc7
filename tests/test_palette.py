"""G's soft palette output (tinygan/palette.py): the plain op against finite differences,
the fast form against the plain one, the layer, and a model and a training run with it."""
from dataclasses import replace

import numpy as np
import pytest

from tinygan import backend, fast
from tinygan import palette as pal
from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.infogan import InfoGAN, InfoGANConfig, sample_latent
from tinygan.palette import PaletteOutput, palette_of
from tinygan.train import TrainConfig, load_model, train


def _inputs(rng, N=2, F=3, H=4, W=5, K=6, C=3, dtype=np.float64):
    h = rng.standard_normal((N, F, H, W)).astype(dtype)
    w = rng.standard_normal((K, F)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    colours = rng.uniform(-1, 1, (K, C)).astype(dtype)
    return h, w, b, colours


def test_forward_is_the_softmax_weighted_mean_colour(rng):
    h, w, b, colours = _inputs(rng)
    y, _ = pal.palette_output_forward(h, w, b, colours)
    n, i, j = 1, 2, 3                                       # one pixel, written out
    z = w @ h[n, :, i, j] + b
    a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert np.allclose(y[n, :, i, j], a @ colours)
    assert y.shape == (2, 3, 4, 5)


def test_large_scores_give_palette_colours(rng):
    """One score far above the rest: the pixel is that colour (and no overflow)."""
    h, w, b, colours = _inputs(rng)
    w[:] = 0
    b[:] = 0
    b[4] = 1000.0
    y, _ = pal.palette_output_forward(h, w, b, colours)
    assert np.isfinite(y).all()
    assert np.allclose(y, colours[4][None, :, None, None])


def test_plain_gradients_match_finite_differences(rng):
    h, w, b, colours = _inputs(rng)
    y, cache = pal.palette_output_forward(h, w, b, colours)
    dy = rng.standard_normal(y.shape)
    dh, dw, db = pal.palette_output_backward(dy, cache)
    assert rel_error(dh, numeric_grad(lambda v: pal.palette_output_forward(v, w, b, colours)[0], h, dy)) < 1e-7
    assert rel_error(dw, numeric_grad(lambda v: pal.palette_output_forward(h, v, b, colours)[0], w, dy)) < 1e-7
    assert rel_error(db, numeric_grad(lambda v: pal.palette_output_forward(h, w, v, colours)[0], b, dy)) < 1e-7


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_fast_form_equals_the_plain_one(rng, dtype, tol):
    """Larger than one block of rows (BLOCK // K), so the blocks and threads are exercised;
    the features a transposed view."""
    h, w, b, colours = _inputs(rng, N=9, F=5, H=12, W=12, K=40, dtype=dtype)
    h = np.ascontiguousarray(h.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)   # strided input
    y_fast, c_fast = fast.palette_output_forward(h, w, b, colours)
    y_plain, c_plain = pal.palette_output_forward(h, w, b, colours)
    assert y_fast.dtype == dtype
    assert np.abs(y_fast - y_plain).max() < tol
    dy = rng.standard_normal(y_plain.shape).astype(dtype)
    for a, p in zip(fast.palette_output_backward(dy, c_fast), pal.palette_output_backward(dy, c_plain)):
        assert a.shape == p.shape and a.dtype == dtype
        assert np.abs(a - p).max() < tol * max(1.0, np.abs(p).max())


def test_the_switch_runs_the_plain_form(rng, monkeypatch):
    calls, plain = [], pal.palette_output_forward
    monkeypatch.setattr(pal, "palette_output_forward", lambda *a: calls.append(1) or plain(*a))
    h, w, b, colours = _inputs(rng)
    fast.palette_output_forward(h, w, b, colours)
    assert calls == []
    backend.set_fast(False)
    try:
        fast.palette_output_forward(h, w, b, colours)
    finally:
        backend.set_fast(True)
    assert calls == [1]


def test_layer_gradients_and_checks(rng, float64_layers):
    layer = PaletteOutput(3, 6, 3)
    _, _, _, colours = _inputs(rng)
    layer.set_palette(colours)
    layer.params["b"][...] = rng.standard_normal(6)
    x = rng.standard_normal((2, 3, 4, 5))
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    layer.zero_grad()
    dx = layer.backward(dy)
    assert rel_error(dx, numeric_grad(lambda v: layer.forward(v), x, dy)) < 1e-6
    for k, p in layer.params.items():
        assert rel_error(layer.grads[k], numeric_grad(lambda _: layer.forward(x), p, dy)) < 1e-6, k
    with pytest.raises(ValueError, match="expected input of shape"):
        layer.forward(rng.standard_normal((2, 4, 4, 5)))
    with pytest.raises(ValueError, match="palette must be"):
        layer.set_palette(colours[:5])
    with pytest.raises(ValueError, match="repeated"):
        layer.set_palette(np.concatenate([colours[:5], colours[:1]]))
    with pytest.raises(ValueError, match="at least|>= 2"):
        PaletteOutput(3, 1, 3)


def test_palette_of_lists_the_distinct_colours():
    x = np.zeros((2, 3, 2, 2), np.float32)
    x[0, :, 0, 0] = [1, 0, 0]
    x[1, :, 1, 1] = [0, 0.5, 0]
    got = palette_of(x)
    assert got.shape == (3, 3)
    assert {tuple(c) for c in got} == {(0, 0, 0), (1, 0, 0), (0, 0.5, 0)}


def _tiny_cfg(**kw):
    return InfoGANConfig(img_channels=3, img_size=8, output="tanh", n_noise=4, n_cat=2, n_cont=1, width=4,
                         fc=16, **kw)


def test_config_and_model():
    with pytest.raises(ValueError, match="palette_head"):
        _tiny_cfg(palette_head=-1).validate()
    with pytest.raises(ValueError, match="palette_size"):
        _tiny_cfg(palette_size=1).validate()
    with pytest.raises(ValueError, match="palette_size"):
        InfoGAN(_tiny_cfg(palette_head=5).validate())           # the colours' number is not known yet
    with pytest.raises(ValueError, match="no palette output"):
        InfoGAN(_tiny_cfg()).set_palette(np.eye(3))
    m = InfoGAN(_tiny_cfg(palette_head=5, palette_size=3).validate(), seed=0)
    m.set_palette(np.eye(3) * 2 - 1)
    latent, _, _ = sample_latent(m.cfg, 4, np.random.default_rng(0))
    x = backend.to_numpy(m.generate(backend.asarray(latent, dtype=np.float32)))
    assert repr(m.G[-1]) == "PaletteOutput(5, 3 colours)"
    assert x.shape == (4, 3, 8, 8)
    assert x.min() >= -1 - 1e-6 and x.max() <= 1 + 1e-6      # inside the colours' hull


def _images(rng, n=64):
    """Images drawn from 5 colours only."""
    colours = np.array([[-1, -1, -1], [1, 1, 1], [1, -1, -1], [-1, 1, -1], [0.2, 0.2, 1]], np.float32)
    idx = rng.integers(0, 5, (n, 8, 8))
    return np.ascontiguousarray(colours[idx].transpose(0, 3, 1, 2)), colours


def test_training_sets_the_palette_and_resumes(rng, tmp_path):
    images, colours = _images(rng)
    cfg = _tiny_cfg(palette_head=5)
    tc = TrainConfig(steps=3, batch_size=16, seed=0, sample_every=0, ckpt_every=3)
    model = train(cfg, tc, images, tmp_path / "run", progress=False)
    assert model.cfg.palette_size == 5
    got = backend.to_numpy(model.G[-1].buffers["palette"])
    assert {tuple(c) for c in got} == {tuple(c) for c in colours}
    loaded, _ = load_model(tmp_path / "run" / "checkpoint.npz")
    assert np.array_equal(backend.to_numpy(loaded.G[-1].buffers["palette"]), got)
    model = train(cfg, replace(tc, steps=5), images, tmp_path / "run", resume=True, progress=False)
    assert model.cfg.palette_size == 5
    other = images.copy()
    other[0, :, 0, 0] = [0.5, 0.5, 0.5]                       # a sixth colour
    with pytest.raises(ValueError, match="palette_size"):
        train(cfg, replace(tc, steps=7), other, tmp_path / "run", resume=True, progress=False)
    other = np.where(images == 0.2, np.float32(0.3), images)  # five colours, one of them changed
    with pytest.raises(ValueError, match="not those of the checkpoint's palette"):
        train(cfg, replace(tc, steps=7), other, tmp_path / "run", resume=True, progress=False)


def test_counts_start_the_biases_at_the_log_frequencies(rng):
    """With w h = 0 the softmax is the colours' frequencies, so the first pixels have the
    training images' mix of colours."""
    layer = PaletteOutput(3, 4, 3)
    colours = np.array([[-1, -1, -1], [1, 1, 1], [1, -1, -1], [-1, 1, -1]], np.float64)
    counts = np.array([50, 30, 15, 5])
    layer.set_palette(colours, counts)
    layer.params["w"][...] = 0
    y = layer.forward(np.zeros((1, 3, 2, 2), np.float32))
    assert np.allclose(y[0, :, 0, 0], (counts / counts.sum()) @ colours, atol=1e-6)
    with pytest.raises(ValueError, match="counts"):
        layer.set_palette(colours, counts[:3])
    with pytest.raises(ValueError, match="counts"):
        layer.set_palette(colours, np.array([1, 0, 1, 1]))


def test_the_weight_average_starts_from_the_palette_biases():
    m = InfoGAN(_tiny_cfg(palette_head=5, palette_size=3, g_average=0.9).validate(), seed=0)
    m.set_palette(np.eye(3) * 2 - 1, np.array([6, 3, 1]))
    assert np.array_equal(m.g_average.avg, m.g_flat.params)
    assert np.allclose(m.G[-1].params["b"], np.log([0.6, 0.3, 0.1]))


def test_initial_scores_have_unit_scale():
    layer = PaletteOutput(64, 200, 3)
    assert abs(float(layer.params["w"].std()) - 1 / 8) < 0.01
