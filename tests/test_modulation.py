"""Self-modulation of G's BatchNorm layers (tinygan/modulation.py): the op and a modulated G
against finite differences, the identity at the start, the model's L_G gradients through it."""
import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.infogan import InfoGAN, build_generator, sample_latent
from tinygan.modulation import Modulation, modulate_backward, modulate_forward
from test_infogan import check, check_g_loss, tiny_cfg, tiny_model

TOL = 1e-6


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3, 2)])
def test_op_gradients_match_finite_differences(rng, shape):
    N, C, L = shape[0], shape[1], 3
    y, latent = rng.standard_normal(shape), rng.standard_normal((N, L))
    ws, wt = rng.standard_normal((L, C)), rng.standard_normal((L, C))
    bs, bt = rng.standard_normal(C), rng.standard_normal(C)
    out, cache = modulate_forward(y, latent, ws, bs, wt, bt)
    dout = rng.standard_normal(out.shape)
    analytic = modulate_backward(dout, cache)
    args = [y, latent, ws, bs, wt, bt]
    for i, a in enumerate(analytic):
        def f(v, i=i):
            return modulate_forward(*(v if j == i else args[j] for j in range(6)))[0]
        assert a.shape == args[i].shape
        assert rel_error(a, numeric_grad(f, args[i], dout)) < TOL, i


def test_forward_is_a_per_channel_scale_and_shift(rng):
    y, latent = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((2, 5))
    ws, wt, bs, bt = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)
    out = modulate_forward(y, latent, ws, bs, wt, bt)[0]
    n, c = 1, 2
    s, t = latent[n] @ ws[:, c] + bs[c], latent[n] @ wt[:, c] + bt[c]
    np.testing.assert_allclose(out[n, c], y[n, c] * (1 + s) + t)


def test_layer_starts_as_the_identity_and_checks_its_shapes(float64_layers, rng):
    layer = Modulation(5, 3)
    y, latent = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal((4, 5))
    assert np.array_equal(layer.forward(y, latent), y)
    with pytest.raises(ValueError, match="latent"):
        layer.forward(y, latent[:, :4])
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        layer.forward(rng.standard_normal((4, 2)), latent)


def test_modulated_generator_gradients(float64_layers, rng):
    """The whole modulated G (every layer, its input the latent that also reaches each
    Modulation layer) against finite differences, with nonzero modulation weights."""
    G = build_generator(tiny_cfg(g_modulation=True))
    for k, p in G.params.items():
        p[...] = np.random.default_rng(p.size).standard_normal(p.shape) * 0.3
    latent = rng.standard_normal((5, G.layers[0].in_features))
    dy = rng.standard_normal(G.forward(latent).shape)
    G.zero_grad()
    dlatent = G.backward(dy)
    assert rel_error(dlatent, numeric_grad(G.forward, latent, dy)) < TOL
    analytic = {k: g.copy() for k, g in G.grads.items()}
    check(G, analytic, lambda: float((G.forward(latent) * dy).sum()), "modulated G")


def test_modulated_g_starts_as_the_plain_g(rng):
    """The modulation weights start at zero and draw nothing from the random stream, so
    the same seed gives the same G weights and, at the start, the same images."""
    plain, modulated = InfoGAN(tiny_cfg(), seed=3), InfoGAN(tiny_cfg(g_modulation=True), seed=3)
    latent = sample_latent(plain.cfg, 6, rng)[0]
    assert np.array_equal(plain.generate(latent), modulated.generate(latent))
    assert len(modulated.G.params) == len(plain.G.params) + 4 * 3


def test_g_loss_gradients_through_the_modulated_g(float64_layers, rng):
    check_g_loss(tiny_model(g_modulation=True), rng)


def test_a_modulated_model_saves_and_loads(rng):
    """The modulation weights travel with the checkpoint's arrays: a trained step, saved and
    loaded into a fresh model, draws the same images; a plain model refuses them."""
    model = InfoGAN(tiny_cfg(g_modulation=True), seed=0)
    model.step(rng.uniform(-1, 1, (4, 1, 8, 8)).astype(np.float32))
    assert any(np.abs(p).max() > 0 for k, p in model.G.params.items() if k.endswith(".ws"))
    arrays, meta = model.state_dict()
    fresh = InfoGAN(tiny_cfg(g_modulation=True), seed=5)
    fresh.load_state_dict(arrays, meta)
    model.eval(), fresh.eval()
    latent = sample_latent(model.cfg, 3, rng)[0]
    assert np.array_equal(model.generate(latent), fresh.generate(latent))
    with pytest.raises(ValueError, match="different configuration"):
        InfoGAN(tiny_cfg(), seed=0).load_state_dict(arrays, meta)
