"""Batchnorm, (N, C) and (N, C, H, W), training and evaluation mode."""
import numpy as np
import pytest

from tinygan.batchnorm import batchnorm_backward, batchnorm_forward
from tinygan.gradcheck import numeric_grad, rel_error

TOL = 1e-6
SHAPES = [(6, 4), (3, 4, 3, 5)]


def per_channel(x):
    """The values of each channel as columns: (N, C) or (N, C, H, W) -> (m, C)."""
    return x if x.ndim == 2 else np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


@pytest.mark.parametrize("shape", SHAPES)
def test_training_forward_normalises(rng, shape):
    x = rng.standard_normal(shape) * 3 + 2
    C = shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    y, cache = batchnorm_forward(x, gamma, beta, eps=0.0)
    r = per_channel((y - beta.reshape((1, C) + (1,) * (x.ndim - 2))) / gamma.reshape((1, C) + (1,) * (x.ndim - 2)))
    np.testing.assert_allclose(r.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(r.std(axis=0), 1, rtol=1e-10)
    np.testing.assert_allclose(cache.mean, per_channel(x).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cache.var, per_channel(x).var(axis=0), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_eval_forward_uses_given_statistics(rng, shape):
    x = rng.standard_normal(shape)
    C = shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    mean, var = rng.standard_normal(C), rng.random(C) + 0.5
    y, _ = batchnorm_forward(x, gamma, beta, 1e-5, mean, var)
    b = (1, C) + (1,) * (x.ndim - 2)
    expected = gamma.reshape(b) * (x - mean.reshape(b)) / np.sqrt(var.reshape(b) + 1e-5) + beta.reshape(b)
    np.testing.assert_allclose(y, expected, rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_grads(rng, shape, training):
    x = rng.standard_normal(shape) * 2 + 1
    C = shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    stats = () if training else (rng.standard_normal(C), rng.random(C) + 0.5)

    def f(x_, g_, b_):
        return batchnorm_forward(x_, g_, b_, 1e-5, *stats)[0]

    y, cache = batchnorm_forward(x, gamma, beta, 1e-5, *stats)
    dy = rng.standard_normal(y.shape)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    assert rel_error(dx, numeric_grad(lambda v: f(v, gamma, beta), x, dy)) < TOL
    assert rel_error(dgamma, numeric_grad(lambda v: f(x, v, beta), gamma, dy)) < TOL
    assert rel_error(dbeta, numeric_grad(lambda v: f(x, gamma, v), beta, dy)) < TOL


def test_needs_both_running_stats(rng):
    with pytest.raises(ValueError, match="both"):
        batchnorm_forward(rng.standard_normal((4, 2)), np.ones(2), np.zeros(2), 1e-5, np.zeros(2), None)


def test_float32_in_float32_out(rng):
    x = rng.standard_normal((8, 3, 2, 2)).astype(np.float32)
    g, b = np.ones(3, np.float32), np.zeros(3, np.float32)
    y, cache = batchnorm_forward(x, g, b)
    assert y.dtype == np.float32
    assert all(a.dtype == np.float32 for a in batchnorm_backward(np.ones_like(y), cache))


@pytest.mark.parametrize("training", [True, False])
def test_large_input_matches_plain_formulas(rng, training):
    """Above one cache block the passes run on wide rows, block by block, over threads."""
    x = rng.standard_normal((8, 24, 24, 64)).transpose(0, 3, 1, 2) * 2 + 1   # NCHW view of NHWC, 4.5 blocks
    C = 64
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    stats = () if training else (rng.standard_normal(C), rng.random(C) + 0.5)
    y, cache = batchnorm_forward(x, gamma, beta, 1e-5, *stats)
    r = per_channel(x)
    mu, var = (r.mean(0), r.var(0)) if training else stats
    xhat = (r - mu) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(per_channel(y), gamma * xhat + beta, rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    g, m = per_channel(dy), r.shape[0]
    np.testing.assert_allclose(dbeta, g.sum(0), rtol=1e-10)
    np.testing.assert_allclose(dgamma, (g * xhat).sum(0), rtol=1e-10)
    scale = gamma / np.sqrt(var + 1e-5)
    expected = scale / m * (m * g - g.sum(0) - xhat * (g * xhat).sum(0)) if training else scale * g
    np.testing.assert_allclose(per_channel(dx), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(7, 3), (4, 3, 5, 2)])
def test_the_two_sums_docs_03_states(rng, shape):
    """sum_k dx_k = 0 exactly; sum_k dx_k xhat_k = gamma dgamma eps / sigma^3, not 0 (docs/03)."""
    eps = 0.3                                                     # large, so the second sum matters
    x = rng.standard_normal(shape) * 0.7 + 2
    gamma, beta = rng.random(3) + 0.5, rng.standard_normal(3)
    y, cache = batchnorm_forward(x, gamma, beta, eps)
    dy = rng.standard_normal(shape)
    dx, dgamma, _ = batchnorm_backward(dy, cache)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    bshape = (1, 3) if x.ndim == 2 else (1, 3, 1, 1)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    sigma = np.sqrt(var + eps)
    xhat = (x - mu.reshape(bshape)) / sigma.reshape(bshape)
    np.testing.assert_allclose(dx.sum(axis=axes), 0, atol=1e-12)
    second = (dx * xhat).sum(axis=axes)
    np.testing.assert_allclose(second, gamma * dgamma * eps / sigma**3, rtol=1e-10)
    assert np.abs(second).min() > 1e-3                            # really not zero
