"""Top-k training of G (tinygan/topk.py): the loss and its gradient against finite
differences and against the plain BCE, the model's L_G gradients through it, the flag."""
import numpy as np
import pytest

from tinygan import backend
from tinygan.cli import configs_from_args, training_parser
from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.infogan import sample_latent
from tinygan.losses import bce_with_logits
from tinygan.topk import top_k_count, top_k_real_bce
from test_infogan import check_g_loss, tiny_cfg, tiny_model


def test_gradient_matches_finite_differences(rng):
    z = rng.standard_normal((7, 1)) * 2                      # distinct logits: no ties
    loss, dz = top_k_real_bce(z, 3)
    assert rel_error(dz, numeric_grad(lambda v: top_k_real_bce(v, 3)[0], z)) < 1e-6


def test_keeps_the_k_largest_logits_and_is_their_mean_bce():
    z = np.array([[0.5], [-2.0], [3.0], [1.0], [-0.1]])
    loss, dz = top_k_real_bce(z, 2)                          # the two largest: 3.0 and 1.0
    want, dkept = bce_with_logits(np.array([[3.0], [1.0]]), 1.0)
    assert np.isclose(loss, want)
    assert np.allclose(dz[[2, 3]], dkept) and np.all(dz[[0, 1, 4]] == 0)
    assert np.all(dz[[2, 3]] < 0)                            # G raises the kept logits


def test_all_of_the_batch_is_the_plain_bce(rng):
    z = rng.standard_normal((6, 1))
    loss, dz = top_k_real_bce(z, 6)
    want, dwant = bce_with_logits(z, 1.0)
    assert np.isclose(loss, want) and np.allclose(dz, dwant)


def test_count_and_bad_k():
    assert [top_k_count(f, 32) for f in (0.5, 0.75, 1.0, 0.001)] == [16, 24, 32, 1]
    for k in (0, 5):
        with pytest.raises(ValueError, match="k must be in"):
            top_k_real_bce(np.zeros((4, 1)), k)


def test_g_loss_gradients_with_top_k(float64_layers, rng):
    """L_G's gradient for every parameter of G with half the fakes in its adversarial term
    (check_g_loss draws 5 latents: the 2 or 3 most real, round(2.5) = 2, are kept)."""
    check_g_loss(tiny_model(g_top_k=0.5), rng)


def test_top_k_changes_only_the_adversarial_term(float64_layers, rng):
    full, top = tiny_model(), tiny_model(g_top_k=0.4)
    latent, cat, cont = sample_latent(full.cfg, 5, rng)
    a = full.g_loss_and_grads(latent.astype(np.float64), cat, cont)
    b = top.g_loss_and_grads(latent.astype(np.float64), cat, cont)
    assert np.isclose(a["info_g"], b["info_g"])
    assert b["g_gan"] < a["g_gan"]                            # the most real fakes cost G the least


def test_config_and_flag():
    with pytest.raises(ValueError, match="g_top_k"):
        tiny_cfg(g_top_k=0.0).validate()
    with pytest.raises(ValueError, match="g_top_k"):
        tiny_cfg(g_top_k=1.5).validate()
    parser = training_parser("", {"out": "runs/x"})
    for argv, want in [([], 1.0), (["--g-top-k", "0.5"], 0.5)]:
        model_cfg, _ = configs_from_args(parser.parse_args(argv), {})
        assert model_cfg.g_top_k == want


def test_on_the_cupy_backend(cupy_backend):
    z = np.array([[0.5], [-2.0], [3.0], [1.0]], dtype=np.float32)
    want, dwant = top_k_real_bce(z, 2)
    backend.set_backend("cupy")
    loss, dz = top_k_real_bce(backend.asarray(z), 2)
    assert np.isclose(float(loss), want) and np.allclose(backend.to_numpy(dz), dwant)
