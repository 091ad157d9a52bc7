"""The minibatch-std layer (tinygan/stabilisers.py): known values, the gradient against
finite differences, and why it needs groups when BatchNorm follows."""
import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.layers import BatchNorm, Flatten, Linear
from tinygan.stabilisers import EPS, MinibatchStd, minibatch_std_backward, minibatch_std_forward


def test_known_values():
    x = np.zeros((4, 2, 3, 3))
    x[0], x[1] = 1.0, -1.0          # group 0: members +1 and -1 everywhere: spread 1
    x[2] = x[3] = 5.0               # group 1: two equal images: no spread
    y, _ = minibatch_std_forward(x, 2)
    assert y.shape == (4, 3, 3, 3)
    assert np.array_equal(y[:, :2], x)                                   # x passes through
    assert np.allclose(y[:2, 2], np.sqrt(1 + EPS))
    assert np.allclose(y[2:, 2], np.sqrt(EPS))


def test_groups_are_contiguous_and_a_short_last_group():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 2, 2, 2))
    y, _ = minibatch_std_forward(x, 3)
    for members in ([0, 1, 2], [3, 4, 5]):
        sd = np.sqrt(x[members].var(axis=0) + EPS).mean()
        assert np.allclose(y[members, 2], sd)
    assert np.allclose(y[6, 2], np.sqrt(EPS))                            # a group of one


@pytest.mark.parametrize("n,group", [(8, 4), (6, 2), (7, 3), (3, 4)])
def test_gradient(rng, n, group):
    x = rng.standard_normal((n, 3, 2, 3))
    y, cache = minibatch_std_forward(x, group)
    dy = rng.standard_normal(y.shape)
    dx = minibatch_std_backward(dy, cache)
    num = numeric_grad(lambda v: minibatch_std_forward(v, group)[0], x, dy)
    assert rel_error(dx, num) < 1e-7
    # the spread's own part of the gradient is not negligible next to the identity's
    assert np.abs(dx - dy[:, :3]).max() > 1e-2


def test_one_group_for_the_whole_batch_is_erased_by_batchnorm(rng):
    """D's trunk follows the layer with FC and BatchNorm: a feature equal for every image of
    the batch shifts every FC output equally and BatchNorm's mean subtraction removes it.
    With one group per batch D's output does not depend on the feature at all; with
    smaller groups it does."""
    x = rng.standard_normal((8, 4, 2, 2))
    fc, bn, flat = Linear(5 * 4, 6, rng=rng), BatchNorm(6), Flatten()
    fc.params["w"][...] = rng.standard_normal(fc.params["w"].shape)

    def d_features(y):
        return bn.forward(fc.forward(flat.forward(y)))

    for group, erased in ((8, True), (4, False), (2, False)):
        y, _ = minibatch_std_forward(x.astype(np.float32), group)
        without = y.copy()
        without[:, 4] = 0                                                # the feature removed
        same = np.allclose(d_features(y), d_features(without), atol=1e-4)
        assert same == erased, group


def test_layer():
    layer = MinibatchStd(4)
    x = np.random.default_rng(1).standard_normal((8, 2, 3, 3)).astype(np.float32)
    y = layer.forward(x)
    assert y.shape == (8, 3, 3, 3) and y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).shape == x.shape
    assert not layer.params
    with pytest.raises(ValueError, match="group"):
        MinibatchStd(1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        layer.forward(np.zeros((8, 3)))
