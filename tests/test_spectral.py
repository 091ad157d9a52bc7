"""Spectral normalisation (tinygan/spectral.py): the op against finite differences, sigma
against the SVD, the layers through their public API."""
import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.layers import Conv2d, Linear, SpectralConv2d, SpectralLinear
from tinygan.spectral import power_iteration, spectral_normalise_backward, spectral_normalise_forward
from test_layers import check_layer

TOL = 1e-6


pytestmark = pytest.mark.usefixtures("float64_layers")


def unit(rng, n):
    u = rng.standard_normal(n)
    return u / np.linalg.norm(u)


def test_op_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    a, u = rng.standard_normal((4, 7)), unit(rng, 4)
    a_bar, cache = spectral_normalise_forward(a, u)
    g = rng.standard_normal(a.shape)
    analytic = spectral_normalise_backward(g, cache)
    numeric = numeric_grad(lambda m: spectral_normalise_forward(m, u)[0], a, g)
    assert rel_error(analytic, numeric) < TOL
    # a_bar does not change when a is scaled, so no loss has a gradient along a itself
    assert abs(float((analytic * a).sum())) < 1e-12 * np.abs(analytic).sum() * np.abs(a).max()


def test_sigma_converges_to_the_largest_singular_value():
    rng = np.random.default_rng(1)
    a, u = rng.standard_normal((6, 10)), unit(rng, 6)
    first = spectral_normalise_forward(a, u)[1].sigma
    for _ in range(200):
        u = power_iteration(a, u)
    a_bar, cache = spectral_normalise_forward(a, u)
    top = np.linalg.svd(a, compute_uv=False)[0]
    assert first < top                                    # ||a^T u|| is a lower bound before
    assert abs(float(cache.sigma) - top) < 1e-9 * top
    assert abs(np.linalg.svd(a_bar, compute_uv=False)[0] - 1) < 1e-9


@pytest.mark.parametrize("make,shape", [
    (lambda: SpectralLinear(5, 3), (4, 5)),
    (lambda: SpectralConv2d(3, 4, 3, stride=2, padding=1), (2, 3, 5, 6)),
])
def test_layer_gradients_with_u_held(make, shape):
    """In evaluation mode u stays where it is, and the layer is an exact function of its weight."""
    rng = np.random.default_rng(2)
    layer = make().eval()
    layer.params["w"][...] = rng.standard_normal(layer.params["w"].shape)
    check_layer(layer, rng.standard_normal(shape), rng)


@pytest.mark.parametrize("make,plain,shape", [
    (lambda: SpectralLinear(8, 6), lambda: Linear(8, 6), (5, 8)),
    (lambda: SpectralConv2d(3, 4, 3, padding=1), lambda: Conv2d(3, 4, 3, padding=1), (2, 3, 5, 5)),
])
def test_training_forward_normalises_the_weight(make, plain, shape):
    """Each training forward moves u one power step; after enough steps the layer computes
    the plain layer with w / (w's largest singular value)."""
    rng = np.random.default_rng(3)
    layer, ref = make(), plain()
    w = rng.standard_normal(layer.params["w"].shape)
    layer.params["w"][...] = w
    x = rng.standard_normal(shape)
    for _ in range(100):
        y = layer.forward(x)
    mat = w.T if w.ndim == 2 else w.reshape(w.shape[0], -1)
    ref.params["w"][...] = w / np.linalg.svd(mat, compute_uv=False)[0]
    assert rel_error(y, ref.forward(x)) < 1e-9
    u = layer.buffers["u"].copy()
    layer.eval().forward(x)
    assert np.array_equal(layer.buffers["u"], u)          # evaluation leaves u alone


def test_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match="SpectralLinear"):
        SpectralLinear(5, 3).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="SpectralConv2d"):
        SpectralConv2d(3, 4, 3).forward(np.zeros((2, 2, 5, 5)))
