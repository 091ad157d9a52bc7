"""Gradient checks and forward checks for linear, the activations and reshape."""
import numpy as np
import pytest

from tinygan import threads
from tinygan.gradcheck import numeric_grad, rel_error
from tinygan import fast
from tinygan.fast import column_sums
from tinygan.ops import (leaky_relu_backward, leaky_relu_forward, linear_backward, linear_forward,
                         relu_backward, relu_forward, reshape_backward, reshape_forward, sigmoid,
                         sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward)

TOL = 1e-6


def away_from_zero(rng, shape, margin=0.1):
    """Random values with |x| > margin, so finite differences never straddle a kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * (margin + np.abs(x)), x)


def test_linear_forward_matches_sum(rng):
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    y, _ = linear_forward(x, w, b)
    expected = np.array([[sum(x[n, d] * w[d, m] for d in range(5)) + b[m] for m in range(3)] for n in range(4)])
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_linear_grads(rng):
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    y, cache = linear_forward(x, w, b)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = linear_backward(dy, cache)
    assert rel_error(dx, numeric_grad(lambda v: linear_forward(v, w, b)[0], x, dy)) < TOL
    assert rel_error(dw, numeric_grad(lambda v: linear_forward(x, v, b)[0], w, dy)) < TOL
    assert rel_error(db, numeric_grad(lambda v: linear_forward(x, w, v)[0], b, dy)) < TOL


@pytest.mark.parametrize("fwd,bwd,kinked", [
    (relu_forward, relu_backward, True),
    (lambda x: leaky_relu_forward(x, 0.2), leaky_relu_backward, True),
    (lambda x: leaky_relu_forward(x, 0.01), leaky_relu_backward, True),
    (tanh_forward, tanh_backward, False),
    (sigmoid_forward, sigmoid_backward, False),
])
def test_activation_grads(rng, fwd, bwd, kinked):
    x = away_from_zero(rng, (3, 4, 5)) if kinked else rng.standard_normal((3, 4, 5)) * 2
    y, cache = fwd(x)
    dy = rng.standard_normal(y.shape)
    dx = bwd(dy, cache)
    assert rel_error(dx, numeric_grad(lambda v: fwd(v)[0], x, dy)) < TOL


def test_activation_forward_values():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    np.testing.assert_array_equal(relu_forward(x)[0], [0, 0, 0.5, 3.0])
    np.testing.assert_allclose(leaky_relu_forward(x, 0.2)[0], [-0.4, -0.1, 0.5, 3.0])
    np.testing.assert_allclose(tanh_forward(x)[0], np.tanh(x))
    np.testing.assert_allclose(sigmoid_forward(x)[0], 1 / (1 + np.exp(-x)))


def test_sigmoid_stable_for_huge_inputs():
    x = np.array([-1e4, -800.0, 0.0, 800.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = sigmoid(x)
    np.testing.assert_allclose(y, [0, 0, 0.5, 1, 1])
    assert y.dtype == np.float32


def test_activations_keep_float32():
    x = np.linspace(-1, 1, 10, dtype=np.float32)
    for fwd, bwd in [(relu_forward, relu_backward), (lambda v: leaky_relu_forward(v, 0.2), leaky_relu_backward),
                     (tanh_forward, tanh_backward), (sigmoid_forward, sigmoid_backward)]:
        y, cache = fwd(x)
        assert y.dtype == np.float32
        assert bwd(np.ones_like(y), cache).dtype == np.float32


def test_reshape_grads(rng):
    x = rng.standard_normal((2, 3, 4))
    y, cache = reshape_forward(x, (2, 12))
    assert y.shape == (2, 12)
    dy = rng.standard_normal(y.shape)
    dx = reshape_backward(dy, cache)
    assert rel_error(dx, numeric_grad(lambda v: reshape_forward(v, (2, 12))[0], x, dy)) < TOL


@pytest.mark.parametrize("layout_dy", ["same", "nchw", "strided"])
def test_relus_on_large_arrays_in_any_layout(rng, layout_dy):
    """Above one block the fast passes run block by block over threads; every memory layout
    of the upstream gradient must give the plain-form result."""
    assert 3 * 48 * 40 * 24 > threads.BLOCK  # more than one block
    x = rng.standard_normal((3, 48, 40, 24)).astype(np.float32).transpose(0, 3, 1, 2)  # NCHW view of NHWC
    g = rng.standard_normal((3, 24, 48, 40)).astype(np.float32)
    dy = {"same": np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2), "nchw": g,
          "strided": np.pad(g, ((0, 0), (0, 0), (1, 1), (1, 1)))[:, :, 1:-1, 1:-1]}[layout_dy]
    y, cache = fast.leaky_relu_forward(x, 0.2)
    np.testing.assert_array_equal(y, np.where(x > 0, x, np.float32(0.2) * x))
    np.testing.assert_allclose(fast.leaky_relu_backward(dy, cache), np.where(x > 0, dy, 0.2 * dy), rtol=1e-6)
    y, cache = fast.relu_forward(x)
    np.testing.assert_array_equal(y, np.where(x > 0, x, 0))
    np.testing.assert_array_equal(fast.relu_backward(dy, cache), np.where(x > 0, dy, 0))


@pytest.mark.parametrize("shape", [(6, 4), (24, 64), (7, 64), (3, 5000), (4096, 1)])
def test_column_sums(rng, shape):
    """Wide rows when the row count allows it (24 x 64: 8 rows of 4 x 64; 4096 x 1: 4 x 1024), plain otherwise."""
    r = rng.standard_normal(shape)
    np.testing.assert_allclose(column_sums(r), r.sum(axis=0), rtol=1e-12, atol=1e-12)
