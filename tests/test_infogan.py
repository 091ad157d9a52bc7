"""End-to-end gradient check of the InfoGAN losses on a tiny model in float64: every
parameter of G, the shared trunk, the D head and the Q head against finite differences."""
from dataclasses import replace

import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.infogan import InfoGAN, InfoGANConfig, info_loss, sample_latent
from tinygan.regularisers import Consistency

TOL = 1e-6


def tiny_cfg(**kw):
    base = dict(img_channels=1, img_size=8, n_noise=3, n_cat=3, n_cont=2, width=2, fc=6)
    base.update(kw)
    return InfoGANConfig(**base)


def tiny_model(**kw):
    model = InfoGAN(tiny_cfg(**kw), seed=0)
    for m in model.modules().values():
        m.astype(np.float64)
        # larger weights than the 0.02 init, so every path carries a measurable gradient
        for p in m.params.values():
            p[...] = np.random.default_rng(p.size).standard_normal(p.shape) * 0.5
    return model


def bias_before_batchnorm(seq):
    """Keys of biases that a training-mode BatchNorm subtracts out again: their true
    gradient is exactly zero, so they are checked for that instead of a ratio."""
    layers = seq.layers
    return {f"{i}.b" for i in range(len(layers) - 1)
            if "b" in layers[i].params and type(layers[i + 1]).__name__ == "BatchNorm"}


def check(seq, analytic, loss, where):
    zero = bias_before_batchnorm(seq)
    # a gradient that is exactly zero comes out as round-off, relative to the gradients' size
    scale = max(1.0, max(float(np.abs(g).max()) for g in analytic.values()))
    for k, p in seq.params.items():
        num = numeric_grad(lambda _: loss(), p)
        if k in zero:
            assert np.abs(analytic[k]).max() < 1e-12 * scale, (where, k)
            assert np.abs(num).max() < 1e-6, (where, k)
        else:
            assert rel_error(analytic[k], num) < TOL, (where, k)


@pytest.mark.parametrize("fixed_std,output,real_target", [(True, "sigmoid", 1.0), (False, "tanh", 1.0),
                                                          (True, "sigmoid", 0.9)])
def test_d_loss_gradients(float64_layers, rng, fixed_std, output, real_target):
    check_d_loss(tiny_model(fixed_std=fixed_std, output=output, real_target=real_target), rng)


def check_d_loss(model, rng):
    """L_D's gradient for every parameter of the trunk and both heads."""
    real = rng.random((5, 1, 8, 8))
    latent, cat, cont = sample_latent(model.cfg, 5, rng)
    latent = latent.astype(np.float64)
    model.d_loss_and_grads(real, latent, cat, cont)
    analytic = {name: {k: g.copy() for k, g in m.grads.items()}
                for name, m in model.modules().items() if name != "G"}

    def loss():
        return model.d_loss_and_grads(real, latent, cat, cont)["loss_d"]
    for name, grads in analytic.items():
        check(model.modules()[name], grads, loss, name)


def test_real_target_is_the_bce_target_of_the_real_half(float64_layers, rng):
    """One-sided label smoothing: the real half of L_D is BCE(D(x), real_target), written out
    here from D's logits; the fake half and L_G keep their targets 0 and 1."""
    real = rng.random((5, 1, 8, 8))
    latent, cat, cont = sample_latent(tiny_cfg(), 5, rng)
    out = {}
    for t in (1.0, 0.9):
        model = tiny_model(real_target=t)
        model.train()
        z = model.d_head.forward(model.trunk.forward(real))
        expected = np.mean(-t * np.log(1 / (1 + np.exp(-z))) - (1 - t) * np.log(1 - 1 / (1 + np.exp(-z))))
        out[t] = model.d_loss_and_grads(real, latent.astype(np.float64), cat, cont)
        assert abs(out[t]["d_real"] - expected) < 1e-10, t
    assert out[0.9]["d_real"] != out[1.0]["d_real"] and out[0.9]["d_fake"] == out[1.0]["d_fake"]
    for bad in (0.5, 1.1):
        with pytest.raises(ValueError, match="real_target"):
            tiny_cfg(real_target=bad).validate()


def test_cat_warmup_is_lambda_cat_0_then_lambda_cat(rng):
    """cat_warmup=3 trains exactly as 3 steps with lambda_cat 0 followed by steps with
    lambda_cat 1 (what benchmarks/fork_run.py and --resume do); without it training differs."""
    batches = [rng.random((6, 1, 8, 8)).astype(np.float32) for _ in range(5)]
    warm = InfoGAN(tiny_cfg(cat_warmup=3), seed=0)
    staged = InfoGAN(tiny_cfg(lambda_cat=0.0), seed=0)
    plain = InfoGAN(tiny_cfg(), seed=0)
    for i, x in enumerate(batches):
        if i == 3:
            staged.cfg = replace(staged.cfg, lambda_cat=1.0)
        for m in (warm, staged, plain):
            m.step(x)
    assert [warm.lambda_cat_at(t) for t in (0, 2, 3, 9)] == [0.0, 0.0, 1.0, 1.0]
    for k, v in warm.G.params.items():
        assert np.array_equal(v, staged.G.params[k]), k
    for k, v in warm.q_head.params.items():
        assert np.array_equal(v, staged.q_head.params[k]), k
    assert not np.array_equal(warm.G.params["0.w"], plain.G.params["0.w"])
    with pytest.raises(ValueError, match="cat_warmup"):
        tiny_cfg(cat_warmup=-1).validate()


def test_lr_g_late_is_a_step_down_of_g_alone(rng):
    """lr_g_late_from=3 trains exactly as 3 steps at lr_g followed by steps at lr_g_late
    (what benchmarks/fork_run.py --set lr_g=... and --resume do); D's rate is untouched."""
    batches = [rng.random((6, 1, 8, 8)).astype(np.float32) for _ in range(5)]
    late = InfoGAN(tiny_cfg(lr_g_late=1e-4, lr_g_late_from=3), seed=0)
    staged = InfoGAN(tiny_cfg(), seed=0)
    plain = InfoGAN(tiny_cfg(), seed=0)
    for i, x in enumerate(batches):
        if i == 3:
            staged.cfg = replace(staged.cfg, lr_g=1e-4)
        for m in (late, staged, plain):
            m.step(x)
    assert [late.lr_g_at(t) for t in (0, 2, 3, 9)] == [1e-3, 1e-3, 1e-4, 1e-4]
    assert [plain.lr_g_at(t) for t in (0, 9)] == [1e-3, 1e-3]
    assert late.opt_d.lr == plain.opt_d.lr == 2e-4
    for k, v in late.G.params.items():
        assert np.array_equal(v, staged.G.params[k]), k
    for k, v in late.trunk.params.items():
        assert np.array_equal(v, staged.trunk.params[k]), k
    assert not np.array_equal(late.G.params["0.w"], plain.G.params["0.w"])
    for bad in (dict(lr_g_late=1e-4), dict(lr_g_late_from=3), dict(lr_g_late=-1e-4, lr_g_late_from=3),
                dict(lr_g_late=float("inf"), lr_g_late_from=3)):
        with pytest.raises(ValueError, match="lr_g_late"):
            tiny_cfg(**bad).validate()


def test_consistency_gradients(float64_layers, rng):
    """The consistency term with its target held fixed (as in training): analytic gradients
    of lambda_aug * CE(target, Q(restyled)) for every trunk and Q-head parameter."""
    model = tiny_model(lambda_aug=0.7)
    term = model.regularisers[0]
    assert isinstance(term, Consistency) and term.weight == 0.7
    restyled = rng.random((5, 1, 8, 8))
    target = rng.dirichlet(np.ones(model.cfg.n_cat), 5)
    for m in (model.trunk, model.q_head):
        m.zero_grad()
    term.restyled_loss_and_grads(model, restyled, target)
    analytic = {name: {k: g.copy() for k, g in model.modules()[name].grads.items()} for name in ("trunk", "q_head")}
    for name, grads in analytic.items():
        check(model.modules()[name], grads, lambda: 0.7 * term.restyled_loss_and_grads(model, restyled, target), name)
    assert np.all(model.d_head.grads["0.w"] == 0)                       # D's head plays no part


def test_d_step_with_consistency_uses_the_restyled_batch(rng):
    cfg = tiny_cfg(lambda_aug=1.0)
    real = rng.random((6, 1, 8, 8)).astype(np.float32)
    with_aug = InfoGAN(cfg, seed=0).d_step(real)
    without = InfoGAN(tiny_cfg(), seed=0).d_step(real)
    assert with_aug["cons"] > 0 and "cons" not in without
    assert with_aug["loss_d"] == pytest.approx(without["loss_d"] + with_aug["cons"], rel=1e-5)


@pytest.mark.parametrize("fixed_std", [True, False])
def test_g_loss_gradients(float64_layers, rng, fixed_std):
    model = tiny_model(fixed_std=fixed_std)
    check_g_loss(model, rng)


def check_g_loss(model, rng):
    latent, cat, cont = sample_latent(model.cfg, 5, rng)
    latent = latent.astype(np.float64)
    model.g_loss_and_grads(latent, cat, cont)
    analytic = {k: g.copy() for k, g in model.G.grads.items()}
    check(model.G, analytic, lambda: model.g_loss_and_grads(latent, cat, cont)["loss_g"], "G")


def test_spectral_d_loss_and_g_loss_gradients(float64_layers, rng):
    """D's trunk and head spectrally normalised (d_norm "spectral"): L_D's gradient for every
    parameter of D, the trunk and Q, and L_G's for G's, through the normalised layers. The
    trunk and the D head are put in evaluation mode, where each layer's vector u is held (a
    training forward moves it one power step, which finite differences would see); they hold
    no BatchNorm, so nothing else changes."""
    model = tiny_model(d_norm="spectral")
    assert "u" in model.trunk.layers[0].buffers and not any("gamma" in k for k in model.trunk.params)
    model.trunk.eval(), model.d_head.eval()
    check_d_loss(model, rng)
    check_g_loss(model, rng)


def test_g_step_leaves_d_grads_alone(float64_layers, rng):
    model = tiny_model()
    for m in (model.trunk, model.d_head, model.q_head):
        m.zero_grad()
    latent, cat, cont = sample_latent(model.cfg, 4, rng)
    model.g_loss_and_grads(latent.astype(np.float64), cat, cont)
    for m in (model.trunk, model.d_head, model.q_head):
        assert all(not g.any() for g in m.grads.values())


def test_info_loss_gradient(rng):
    cfg = tiny_cfg(fixed_std=False, lambda_cat=0.7, lambda_cont=0.3)
    q = rng.standard_normal((6, cfg.q_dim))
    cat, cont = rng.integers(0, 3, 6), rng.uniform(-1, 1, (6, 2))
    loss, dq, parts = info_loss(q, cat, cont, cfg)
    assert loss == pytest.approx(0.7 * parts["cat"] + 0.3 * parts["cont"])
    assert rel_error(dq, numeric_grad(lambda v: info_loss(v, cat, cont, cfg)[0], q)) < TOL


def test_sample_latent_layout(rng):
    cfg = tiny_cfg()
    latent, cat, cont = sample_latent(cfg, 7, rng, cat=[0, 1, 2, 0, 1, 2, 0])
    assert latent.shape == (7, cfg.latent_dim) and latent.dtype == np.float32
    np.testing.assert_array_equal(latent[:, 3:6].argmax(1), cat)
    np.testing.assert_array_equal(latent[:, 3:6].sum(1), 1)
    np.testing.assert_allclose(latent[:, 6:], cont)
    assert np.all(np.abs(latent[:, :3]) <= 1)  # uniform noise by default


def test_config_validation():
    with pytest.raises(ValueError, match="img_size"):
        tiny_cfg(img_size=10).validate()
    with pytest.raises(ValueError, match="n_cat"):
        tiny_cfg(n_cat=0).validate()
    with pytest.raises(ValueError, match="lr_d"):
        tiny_cfg(lr_d=0).validate()
    with pytest.raises(ValueError, match="d_norm"):
        tiny_cfg(d_norm="layer").validate()
    with pytest.raises(ValueError, match="unknown"):
        InfoGANConfig.from_dict({"nope": 1})
    # options removed since (docs/07-mnist.md): accepted when off, refused when they were used
    assert InfoGANConfig.from_dict({"lambda_bal": 0.0, "noise_scale": 1.0, "n_cat": 5}).n_cat == 5
    with pytest.raises(ValueError, match="no longer has.*lambda_ent"):
        InfoGANConfig.from_dict({"lambda_ent": 0.5})
    with pytest.raises(ValueError, match="no longer has.*mbstd_group"):     # docs/08-cryptopunks.md
        InfoGANConfig.from_dict({"mbstd_group": 4})
    with pytest.raises(ValueError, match="no longer has.*palette_snap"):
        InfoGANConfig.from_dict({"palette_snap": True})
    with pytest.raises(ValueError, match="no longer has.*gan_loss"):
        InfoGANConfig.from_dict({"gan_loss": "hinge"})
    with pytest.raises(ValueError, match="no longer has.*q_norm"):
        InfoGANConfig.from_dict({"q_norm": "spectral"})
    with pytest.raises(ValueError, match="no longer has.*d_palette"):
        InfoGANConfig.from_dict({"d_palette": 222})
    with pytest.raises(ValueError, match="no longer has.*lr_d_late"):
        InfoGANConfig.from_dict({"lr_d_late": 5e-5, "lr_d_late_from": 10000})
    with pytest.raises(ValueError, match="no longer has.*lambda_r1"):
        InfoGANConfig.from_dict({"lambda_r1": 1.0, "d_norm": "spectral"})
    assert InfoGANConfig.from_dict({"lambda_r1": 0.0, "d_norm": "spectral"}).d_norm == "spectral"


def test_info_loss_weights_and_zero_continuous_weight(rng):
    cfg = tiny_cfg(lambda_cont=0.0)
    q = rng.standard_normal((5, cfg.q_dim))
    cat, cont = rng.integers(0, cfg.n_cat, 5), rng.uniform(-1, 1, (5, cfg.n_cont))
    loss0, dq0, parts = info_loss(q, cat, cont, cfg)
    assert np.all(dq0[:, cfg.n_cat:] == 0) and loss0 == pytest.approx(cfg.lambda_cat * parts["cat"])


def test_shapes_of_the_paper_models():
    for cfg, shape in [(InfoGANConfig(), (2, 1, 28, 28)),
                       (InfoGANConfig(img_channels=3, img_size=24, output="tanh", n_cont=4), (2, 3, 24, 24)),
                       (InfoGANConfig(img_channels=3, img_size=32, output="tanh", n_cont=4), (2, 3, 32, 32))]:
        model = InfoGAN(cfg, seed=0)
        latent, _, _ = sample_latent(cfg, 2, np.random.default_rng(0))
        img = model.generate(latent)
        assert img.shape == shape
        h = model.trunk.forward(img)
        assert model.d_head.forward(h).shape == (2, 1)
        assert model.q_head.forward(h).shape == (2, cfg.q_dim)


def test_float32_throughout_a_training_step(rng, monkeypatch):
    """float64 must never slip in (it halves GEMM speed): every upstream gradient that
    reaches a layer is float32, and after a step every parameter, gradient, buffer, Adam
    moment, image and Q output is still float32."""
    import tinygan.layers as L
    seen = []
    for name in ("linear_backward", "conv2d_backward", "conv_transpose2d_backward", "batchnorm_backward"):
        def spy(dy, *a, _f=getattr(L, name), **k):
            seen.append(dy.dtype)
            return _f(dy, *a, **k)
        monkeypatch.setattr(L, name, spy)
    model = InfoGAN(tiny_cfg(lambda_aug=1.0, fixed_std=False), seed=0)
    model.step(rng.random((6, 1, 8, 8)).astype(np.float32))
    assert len(seen) > 20 and set(seen) == {np.dtype(np.float32)}
    for m in model.modules().values():
        for d in (m.params, m.grads, m.buffers):
            assert all(v.dtype == np.float32 for v in d.values())
    for opt in (model.opt_d, model.opt_g):
        assert all(v.dtype == np.float32 for v in list(opt.g_sum.values()) + list(opt.g2_sum.values()))
    latent, _, _ = sample_latent(model.cfg, 4, rng)
    img = model.generate(latent)
    assert img.dtype == np.float32
    assert model.q_head.forward(model.trunk.forward(img)).dtype == np.float32
