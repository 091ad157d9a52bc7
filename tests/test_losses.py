"""Losses: values against direct formulas, gradients against finite differences, stability."""
import math

import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.losses import bce_with_logits, gaussian_nll, gaussian_nll_fixed_std, softmax_cross_entropy

TOL = 1e-6


@pytest.mark.parametrize("targets", ["ones", "zeros", "soft"])
def test_bce_value_and_grad(rng, targets):
    z = rng.standard_normal((6, 1)) * 3
    t = {"ones": np.ones((6, 1)), "zeros": np.zeros((6, 1)), "soft": rng.random((6, 1))}[targets]
    loss, dz = bce_with_logits(z, t)
    p = 1 / (1 + np.exp(-z))
    assert math.isclose(loss, np.mean(-t * np.log(p) - (1 - t) * np.log(1 - p)), rel_tol=1e-12)
    assert rel_error(dz, numeric_grad(lambda v: bce_with_logits(v, t)[0], z)) < TOL


def test_bce_scalar_target_broadcasts(rng):
    z = rng.standard_normal((5, 1))
    assert bce_with_logits(z, 1.0)[0] == pytest.approx(bce_with_logits(z, np.ones((5, 1)))[0], rel=1e-14)


def test_bce_stable_for_huge_logits():
    z = np.array([[-1e4], [-50.0], [50.0], [1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss1, d1 = bce_with_logits(z, 1.0)
        loss0, d0 = bce_with_logits(z, 0.0)
    # the wrong side costs |z|, the right side about 0
    assert loss1 == pytest.approx((1e4 + 50) / 4, rel=1e-9)
    assert loss0 == pytest.approx((1e4 + 50) / 4, rel=1e-9)
    np.testing.assert_allclose(d1.ravel(), [-0.25, -0.25, 0, 0], atol=1e-12)
    np.testing.assert_allclose(d0.ravel(), [0, 0, 0.25, 0.25], atol=1e-12)
    assert np.all(np.isfinite(d1)) and np.all(np.isfinite(d0))


@pytest.mark.parametrize("as_onehot", [False, True])
def test_softmax_cross_entropy(rng, as_onehot):
    z = rng.standard_normal((5, 4)) * 2
    labels = rng.integers(0, 4, 5)
    t = np.eye(4)[labels] if as_onehot else labels
    loss, dz = softmax_cross_entropy(z, t)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert math.isclose(loss, -np.mean(np.log(p[np.arange(5), labels])), rel_tol=1e-12)
    assert rel_error(dz, numeric_grad(lambda v: softmax_cross_entropy(v, t)[0], z)) < TOL


def test_softmax_cross_entropy_stable():
    z = np.array([[1e4, 0.0, -1e4]])
    loss, dz = softmax_cross_entropy(z, np.array([1]))
    assert loss == pytest.approx(1e4) and np.all(np.isfinite(dz))


def test_softmax_cross_entropy_bad_labels(rng):
    with pytest.raises(ValueError, match="labels"):
        softmax_cross_entropy(rng.standard_normal((3, 4)), np.array([0, 1]))


def test_gaussian_nll(rng):
    x, mu, ls = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3)) * 0.5
    loss, dx, dmu, dls = gaussian_nll(x, mu, ls)
    sigma = np.exp(ls)
    direct = -np.sum(np.log(np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)))) / 4
    assert math.isclose(loss, direct, rel_tol=1e-12)
    assert rel_error(dx, numeric_grad(lambda v: gaussian_nll(v, mu, ls)[0], x)) < TOL
    assert rel_error(dmu, numeric_grad(lambda v: gaussian_nll(x, v, ls)[0], mu)) < TOL
    assert rel_error(dls, numeric_grad(lambda v: gaussian_nll(x, mu, v)[0], ls)) < TOL


@pytest.mark.parametrize("std", [1.0, 0.5])
def test_gaussian_nll_fixed_std(rng, std):
    x, mu = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    loss, dx, dmu = gaussian_nll_fixed_std(x, mu, std)
    # equals the general form with log_std fixed at log(std)
    assert math.isclose(loss, gaussian_nll(x, mu, np.full_like(x, np.log(std)))[0], rel_tol=1e-12)
    if std == 1.0:  # MSE/2 (summed over D) plus the constant D * 0.5 log(2 pi)
        assert math.isclose(loss, 0.5 * np.sum((x - mu) ** 2) / 4 + 3 * 0.5 * np.log(2 * np.pi), rel_tol=1e-12)
    assert rel_error(dx, numeric_grad(lambda v: gaussian_nll_fixed_std(v, mu, std)[0], x)) < TOL
    assert rel_error(dmu, numeric_grad(lambda v: gaussian_nll_fixed_std(x, v, std)[0], mu)) < TOL
