"""The mode-seeking term (tinygan/diversity.py): the pairing, known values, and its
gradient against finite differences."""
import numpy as np
import pytest

from tinygan.diversity import EPS, mode_seeking_backward, mode_seeking_forward, pair_up
from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.infogan import InfoGAN, InfoGANConfig, sample_latent


def test_pair_up_shares_the_codes_not_the_noise(rng):
    cfg = InfoGANConfig(n_noise=4, n_cat=3, n_cont=2)
    latent, cat, cont = pair_up(*sample_latent(cfg, 7, rng), cfg.n_noise)
    assert np.array_equal(latent[3:6, 4:], latent[:3, 4:])
    assert np.array_equal(cat[3:6], cat[:3]) and np.array_equal(cont[3:6], cont[:3])
    assert np.array_equal(latent[:, 4:7].argmax(1), cat)                   # the one-hot still matches
    assert not np.any(latent[3:6, :4] == latent[:3, :4])                    # fresh noise


def test_known_values():
    x = np.zeros((4, 1, 2, 2))
    x[0], x[2] = 0.5, -0.5                       # pair (0, 2): |diff| 1 everywhere; pair (1, 3): 0
    z = np.array([[1.0], [0.0], [0.0], [0.0]])   # noise differences 1 and 0: d_z = 0.5
    loss, cache = mode_seeking_forward(x, z)
    assert float(loss) == pytest.approx(1 / (0.5 / 0.5 + EPS))
    dx = mode_seeking_backward(cache)
    # -1/(r+eps)^2 * sign / (P*D*d_z), r = 1, P*D*d_z = 2*4*0.5: for the differing pair; 0 for the equal one
    g = -1 / (1 + EPS) ** 2 / 4
    assert np.allclose(dx[0], g, rtol=1e-12) and np.allclose(dx[2], -g, rtol=1e-12)
    assert np.all(dx[1] == 0) and np.all(dx[3] == 0)


@pytest.mark.parametrize("n", [6, 7])
def test_gradient(rng, n):
    x = rng.standard_normal((n, 2, 3, 3))
    z = rng.uniform(-1, 1, (n, 5))
    loss, cache = mode_seeking_forward(x, z)
    num = numeric_grad(lambda v: mode_seeking_forward(v, z)[0], x)
    dx = mode_seeking_backward(cache)
    assert rel_error(dx, num) < 1e-7
    if n % 2:
        assert np.all(dx[-1] == 0)


def test_g_step_pairs_its_batch(monkeypatch):
    cfg = InfoGANConfig(img_channels=1, img_size=8, n_noise=3, n_cat=3, n_cont=2, width=2, fc=6, lambda_ms=1.0)
    model = InfoGAN(cfg, seed=0)
    seen = {}

    def spy(latent, cat, cont):
        seen["latent"] = latent
        return {"loss_g": 0.0}
    monkeypatch.setattr(model, "g_loss_and_grads", spy)
    model.g_step(6)
    assert np.array_equal(seen["latent"][3:, 3:], seen["latent"][:3, 3:])
    with pytest.raises(ValueError, match="lambda_ms"):
        InfoGANConfig(lambda_ms=-1).validate()
