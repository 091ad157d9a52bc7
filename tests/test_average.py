"""The running average of G's weights: its arithmetic, the swap, and exact resume."""
import numpy as np
import pytest

from tinygan.average import WeightAverage
from tinygan.infogan import InfoGAN, InfoGANConfig
from tinygan.layers import FlatParams, Linear
from tinygan.train import TrainConfig, load_model, train


def test_update_follows_the_formula(float64_layers):
    layer = Linear(3, 2)
    flat = FlatParams(layer)
    avg = WeightAverage(flat, beta=0.9)
    w0 = flat.params.copy()
    want = w0.copy()
    for t in range(1, 300):
        flat.params[...] = t                                    # weights after the t-th update
        avg.update()
        b = min(0.9, (1 + t) / (10 + t))
        want = b * want + (1 - b) * t
        np.testing.assert_allclose(avg.avg, want, rtol=1e-12)
    assert avg.t == 299
    # once beta_t = beta (t >= 80), the average of a ramp lags it by beta / (1 - beta) = 9 steps
    assert 299 - avg.avg.mean() == pytest.approx(9, abs=1e-6)


def test_swapped_in_restores_the_trained_weights_even_on_error(float64_layers):
    layer = Linear(3, 2)
    flat = FlatParams(layer)
    avg = WeightAverage(flat, beta=0.5)
    trained = flat.params.copy()
    avg.avg[...] = 7.0
    x = np.ones((1, 3))
    with avg.swapped_in():
        np.testing.assert_allclose(layer.forward(x), 7 * 3 + 7)   # the layer's dict views see the average
    np.testing.assert_array_equal(flat.params, trained)
    with pytest.raises(RuntimeError):
        with avg.swapped_in():
            raise RuntimeError("boom")
    np.testing.assert_array_equal(flat.params, trained)


def test_bad_beta_is_refused():
    with pytest.raises(ValueError, match="g_average"):
        InfoGANConfig(g_average=1.0).validate()
    with pytest.raises(ValueError, match="beta"):
        WeightAverage(FlatParams(Linear(2, 2)), 0.0)


def test_resume_continues_the_average_exactly(tmp_path):
    cfg = InfoGANConfig(img_size=8, n_noise=3, n_cat=3, n_cont=1, width=4, fc=8, g_average=0.9)
    x = np.random.default_rng(0).random((40, 1, 8, 8)).astype(np.float32)
    full = train(cfg, TrainConfig(steps=6, batch_size=8, sample_every=0, ckpt_every=3), x, tmp_path / "a", progress=False)
    train(cfg, TrainConfig(steps=3, batch_size=8, sample_every=0), x, tmp_path / "b", progress=False)
    resumed = train(cfg, TrainConfig(steps=6, batch_size=8, sample_every=0), x, tmp_path / "b",
                    resume=True, progress=False)
    np.testing.assert_array_equal(full.g_average.avg, resumed.g_average.avg)
    assert resumed.g_average.t == 6
    loaded, _ = load_model(tmp_path / "b" / "checkpoint.npz")
    np.testing.assert_array_equal(loaded.g_average.avg, full.g_average.avg)
    assert not np.array_equal(loaded.g_average.avg, loaded.g_flat.params)   # an average, not the weights


def test_render_uses_the_average_and_restores(tmp_path):
    from tinygan.figures import render
    cfg = InfoGANConfig(img_size=8, n_noise=3, n_cat=3, n_cont=1, width=4, fc=8, g_average=0.5)
    model = InfoGAN(cfg)
    latent = np.random.default_rng(0).uniform(-1, 1, (4, cfg.latent_dim)).astype(np.float32)
    before = model.g_flat.params.copy()
    model.g_average.avg[...] = 0.0                          # all-zero weights: every pixel sigmoid(0) = 0.5
    assert (render(model, latent) == 128).all()
    assert not (render(model, latent, averaged=False) == 128).all()
    np.testing.assert_array_equal(model.g_flat.params, before)
    assert model.G.training


def test_average_betas_exports_a_checkpoint_per_beta(tmp_path):
    import runpy
    from pathlib import Path
    script = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "average_betas.py"),
                            run_name="not_main")
    cfg = InfoGANConfig(img_size=8, n_noise=3, n_cat=3, n_cont=1, width=4, fc=8)
    x = np.random.default_rng(0).random((24, 1, 8, 8)).astype(np.float32)
    trained = train(cfg, TrainConfig(steps=5, batch_size=8, sample_every=0), x, tmp_path, progress=False)
    avg = np.random.default_rng(1).standard_normal(trained.g_flat.params.shape).astype(np.float32)
    np.savez(tmp_path / "averages.npz", **{"beta_0.995": avg})
    path = script["export_checkpoint"](tmp_path, 0.995)
    model, meta = load_model(path)
    assert model.cfg.g_average == 0.995 and model.g_average.t == 5 == meta["step"]
    np.testing.assert_array_equal(model.g_average.avg, avg)                    # the exported average
    np.testing.assert_array_equal(model.g_flat.params, trained.g_flat.params)  # the same trained weights
    with model.sampling_weights():
        np.testing.assert_array_equal(model.g_flat.params, avg)                # and it draws with it
    with pytest.raises(SystemExit, match="no average of beta 0.99"):
        script["export_checkpoint"](tmp_path, 0.99)
