"""Every layer through its public API: gradients of the input and of every parameter
against finite differences (float64), accumulation, modes, shape errors."""
import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.layers import (BatchNorm, Conv2d, ConvTranspose2d, Flatten, LeakyReLU, Linear, ReLU,
                            Reshape, Sequential, Sigmoid, Tanh)

TOL = 1e-6


def check_layer(layer, x, rng):
    """Assert dL/dx and dL/dparam for every param match finite differences."""
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    layer.zero_grad()
    dx = layer.backward(dy)
    assert dx.shape == x.shape
    assert rel_error(dx, numeric_grad(lambda v: layer.forward(v), x, dy)) < TOL
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    assert set(analytic) == set(layer.params)
    for k, p in layer.params.items():
        numeric = numeric_grad(lambda _: layer.forward(x), p, dy)
        if np.abs(numeric).max() < 1e-10:
            # a gradient that is identically zero (a bias right before a training-mode
            # BatchNorm, which subtracts it again): the analytic one must be zero too
            assert np.abs(analytic[k]).max() < 1e-10, k
        else:
            assert rel_error(analytic[k], numeric) < TOL, k


def away_from_zero(rng, shape):
    x = rng.standard_normal(shape)
    return x + np.sign(x) * 0.2


@pytest.mark.parametrize("make,shape", [
    (lambda: Linear(5, 3), (4, 5)),
    (lambda: Conv2d(3, 4, 3, stride=1, padding=1), (2, 3, 5, 6)),
    (lambda: Conv2d(2, 3, 4, stride=2, padding=1), (2, 2, 7, 9)),
    (lambda: ConvTranspose2d(3, 2, 4, stride=2, padding=1), (2, 3, 3, 4)),
    (lambda: ConvTranspose2d(2, 3, 3, stride=1, padding=0), (2, 2, 3, 3)),
    (lambda: BatchNorm(4), (6, 4)),
    (lambda: BatchNorm(3), (2, 3, 3, 4)),
    (lambda: BatchNorm(4).eval(), (6, 4)),
    (lambda: BatchNorm(3).eval(), (2, 3, 3, 4)),
    (lambda: ReLU(), (3, 4)),
    (lambda: LeakyReLU(0.2), (3, 2, 2, 2)),
    (lambda: Tanh(), (3, 4)),
    (lambda: Sigmoid(), (3, 4)),
    (lambda: Flatten(), (2, 3, 2, 2)),
    (lambda: Reshape(3, 2, 2), (2, 12)),
])
def test_layer_grads(float64_layers, rng, make, shape):
    layer = make()
    if isinstance(layer, BatchNorm) and not layer.training:  # non-trivial running stats
        layer.buffers["running_mean"][...] = rng.standard_normal(layer.num_features)
        layer.buffers["running_var"][...] = rng.random(layer.num_features) + 0.5
    if isinstance(layer, BatchNorm):  # non-trivial affine parameters
        layer.params["gamma"][...] = rng.standard_normal(layer.num_features)
        layer.params["beta"][...] = rng.standard_normal(layer.num_features)
    check_layer(layer, away_from_zero(rng, shape), rng)


def test_sequential_grads(float64_layers, rng):
    """A small generator-like and discriminator-like stack, every parameter checked."""
    model = Sequential(
        Linear(6, 2 * 3 * 3), BatchNorm(18), ReLU(), Reshape(2, 3, 3),
        ConvTranspose2d(2, 3, 4, stride=2, padding=1), BatchNorm(3), LeakyReLU(0.1),
        Conv2d(3, 2, 4, stride=2, padding=1), Flatten(), Linear(18, 2), Tanh())
    for layer in model.layers:  # break the symmetry of the default init for a sharper check
        for p in layer.params.values():
            p[...] = rng.standard_normal(p.shape) * 0.5
    assert set(model.params) == set(model.grads)
    assert "0.w" in model.params and "1.gamma" in model.params and "5.beta" in model.params
    check_layer(model, rng.standard_normal((4, 6)), rng)


@pytest.mark.parametrize("make,shape", [(lambda: Linear(3, 2), (4, 3)),          # dw written straight into grads
                                        (lambda: Conv2d(2, 3, 3, padding=1), (2, 2, 4, 4)),  # copied
                                        (lambda: BatchNorm(3), (5, 3))])
def test_grads_accumulate_until_zero_grad(float64_layers, rng, make, shape):
    layer = make()
    x = rng.standard_normal(shape)
    dy = rng.standard_normal(layer.forward(x).shape)
    layer.backward(dy)
    once = {k: g.copy() for k, g in layer.grads.items()}
    assert all(g.any() for g in once.values())
    layer.forward(x)
    layer.backward(dy)
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k])
    layer.zero_grad()
    assert not any(g.any() for g in layer.grads.values())
    layer.backward(dy, need_param_grads=False)                   # input gradient only: grads stay zero
    assert not any(g.any() for g in layer.grads.values())
    layer.backward(dy)                                           # the first after zero_grad: exactly once
    layer.backward(-dy)                                          # then they add up: back to zero
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 0, atol=1e-12)
    layer.zero_grad()
    layer.backward(dy)
    for k in once:
        np.testing.assert_array_equal(layer.grads[k], once[k])


def test_sequential_params_are_the_childrens_arrays(float64_layers):
    model = Sequential(Linear(2, 3), BatchNorm(3))
    model.params["0.w"][...] = 7
    assert np.all(model.layers[0].params["w"] == 7)
    assert set(model.buffers) == {"1.running_mean", "1.running_var"}


def test_batchnorm_running_stats_like_pytorch(float64_layers, rng):
    bn = BatchNorm(3, momentum=0.1)
    x = rng.standard_normal((5, 3, 2, 2)) * 2 + 1
    bn.forward(x)
    r = np.moveaxis(x, 1, -1).reshape(-1, 3)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.9 * 0 + 0.1 * r.mean(0))
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 * 1 + 0.1 * r.var(0, ddof=1))
    bn.eval()
    before = bn.buffers["running_mean"].copy()
    y = bn.forward(x)
    np.testing.assert_array_equal(bn.buffers["running_mean"], before)  # eval leaves them alone
    expected = (x - before[None, :, None, None]) / np.sqrt(bn.buffers["running_var"][None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, expected)


def test_train_eval_propagate():
    model = Sequential(Linear(2, 2), Sequential(BatchNorm(2)))
    model.eval()
    assert not model.layers[1].layers[0].training
    model.train()
    assert model.layers[1].layers[0].training


@pytest.mark.parametrize("layer,shape,needle", [
    (Linear(5, 3), (4, 6), r"Linear\(5, 3\): expected input of shape \(N, 5\), got \(4, 6\)"),
    (Conv2d(3, 4, 3), (2, 2, 5, 5), r"Conv2d\(3, 4.*expected input of shape \(N, 3, H, W\), got \(2, 2, 5, 5\)"),
    (Conv2d(3, 4, 3), (2, 3, 5), r"got \(2, 3, 5\)"),
    (Conv2d(1, 4, 5), (2, 1, 3, 3), r"H, W >= 5"),
    (ConvTranspose2d(8, 4, 4, 2, 1), (2, 4, 7, 7), r"ConvTranspose2d\(8, 4.*\(N, 8, H, W\)"),
    (BatchNorm(4), (2, 3), r"BatchNorm\(4\).*\(N, 4\) or \(N, 4, H, W\)"),
    (Reshape(2, 3), (4, 5), r"Reshape\(2, 3\).*6 values per sample"),
    (Flatten(), (4,), r"Flatten"),
])
def test_wrong_shape_is_a_clear_error(layer, shape, needle):
    with pytest.raises(ValueError, match=needle):
        layer.forward(np.zeros(shape, np.float32))


def test_batchnorm_training_needs_two_values():
    with pytest.raises(ValueError, match="more than one value"):
        BatchNorm(3).forward(np.zeros((1, 3), np.float32))


def test_backward_without_forward():
    with pytest.raises(RuntimeError, match="without a forward"):
        Linear(2, 2).backward(np.zeros((1, 2), np.float32))


def test_default_init_and_dtype():
    from tinygan import backend
    backend.seed(3)
    a = Conv2d(64, 128, 4, 2, 1)
    backend.seed(3)
    b = Conv2d(64, 128, 4, 2, 1)
    w = a.params["w"]
    assert w.dtype == np.float32 and w.shape == (128, 64, 4, 4)
    assert abs(w.std() - 0.02) < 0.001 and abs(w.mean()) < 0.001
    np.testing.assert_array_equal(w, b.params["w"])  # seedable
    assert not a.params["b"].any()
    assert ConvTranspose2d(128, 64, 4).params["w"].shape == (128, 64, 4, 4)
    bn = BatchNorm(5)
    assert np.all(bn.params["gamma"] == 1) and not bn.params["beta"].any()


def test_astype(rng):
    model = Sequential(Linear(2, 3), BatchNorm(3))
    model.astype(np.float64)
    assert all(v.dtype == np.float64 for d in (model.params, model.grads, model.buffers) for v in d.values())
    assert model.forward(rng.standard_normal((4, 2))).dtype == np.float64


def test_every_layer_is_a_module_with_matching_params_and_grads():
    from tinygan.layers import Module
    layers = [Linear(2, 3), Conv2d(1, 2, 3), ConvTranspose2d(2, 1, 4, 2, 1), BatchNorm(3), ReLU(),
              LeakyReLU(0.1), Tanh(), Sigmoid(), Flatten(), Reshape(2, 2), Sequential(Linear(2, 2), ReLU())]
    for layer in layers:
        assert isinstance(layer, Module)
        assert set(layer.params) == set(layer.grads)
        assert all(layer.params[k].shape == layer.grads[k].shape for k in layer.params)
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(1.5)


def test_backward_flags(float64_layers, rng):
    """need_param_grads=False leaves the grads alone; need_input_grad=False returns no dx."""
    layer = Conv2d(2, 3, 3, padding=1)
    x = rng.standard_normal((2, 2, 4, 4))
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    full = layer.backward(dy)
    g = layer.grads["w"].copy()
    np.testing.assert_allclose(layer.backward(dy, need_param_grads=False), full)
    np.testing.assert_array_equal(layer.grads["w"], g)
    assert layer.backward(dy, need_input_grad=False) is None
    np.testing.assert_allclose(layer.grads["w"], 2 * g)
