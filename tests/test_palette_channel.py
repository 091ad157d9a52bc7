"""The palette channel of D's input (tinygan/palette_channel.py): known values, the op and
the layer against finite differences, and the whole of L_D and L_G through it."""
import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.infogan import InfoGAN, palette_scale
from tinygan.palette_channel import (PaletteChannel, distinct_colours, palette_channel_backward,
                                     palette_channel_forward)
from test_infogan import check_d_loss, check_g_loss, tiny_cfg, tiny_model
from test_layers import check_layer

TOL = 1e-6


def test_palette_pixels_score_0_and_a_pixel_at_distance_s_scores_1_minus_exp_minus_half():
    colours = np.array([[0.0, 0.0, 0.0], [1.0, 0.5, -0.5], [-1.0, 1.0, 0.2]])
    x = colours[[0, 1, 2, 1]].T.reshape(1, 3, 2, 2).copy()                 # every pixel a palette colour
    s = 0.1
    y, _ = palette_channel_forward(x, colours, s)
    assert y.shape == (1, 4, 2, 2)
    assert np.array_equal(y[:, :3], x)                                        # the image passes through
    assert np.abs(y[:, 3]).max() < 1e-12
    x[0, :, 1, 1] = colours[1] + np.array([0.6, 0.8, 0.0]) * s              # distance s from its nearest
    y, _ = palette_channel_forward(x, colours, s)
    assert abs(y[0, 3, 1, 1] - (1 - np.exp(-0.5))) < 1e-12
    assert np.abs(y[0, 3].reshape(-1)[:3]).max() < 1e-12                      # the others still 0


def test_the_nearest_colour_is_the_one_measured():
    """A pixel between two colours takes its distance from the nearer one."""
    colours = np.array([[0.0], [1.0]])
    x = np.array([0.3, 0.8]).reshape(1, 1, 1, 2)
    y, _ = palette_channel_forward(x, colours, 1.0)
    assert np.allclose(y[0, 1, 0], 1 - np.exp(-np.array([0.3, 0.2]) ** 2 / 2))


def test_op_gradient_matches_finite_differences(rng):
    colours = rng.uniform(-1, 1, (7, 3))
    x = rng.uniform(-1, 1, (2, 3, 4, 5))
    s = 0.4                                           # comparable to the distances, so f is not flat
    y, cache = palette_channel_forward(x, colours, s)
    dy = rng.standard_normal(y.shape)
    analytic = palette_channel_backward(dy, cache)
    numeric = numeric_grad(lambda v: palette_channel_forward(v, colours, s)[0], x, dy)
    assert rel_error(analytic, numeric) < TOL
    # the part through f is there: without it the gradient would be dy's first 3 channels
    assert rel_error(analytic, dy[:, :3]) > 1e-2


def test_layer_gradient(float64_layers, rng):
    layer = PaletteChannel(5, 3, 0.5)
    layer.buffers["colours"][...] = rng.uniform(-1, 1, (5, 3))
    check_layer(layer, rng.uniform(-1, 1, (2, 3, 4, 4)), rng)
    with pytest.raises(ValueError, match="expected input"):
        layer.forward(np.zeros((2, 1, 4, 4)))


def test_distinct_colours():
    images = np.zeros((2, 3, 2, 2))
    images[0, :, 0, 0] = [1, 2, 3]
    images[1, :, 1, 1] = [1, 2, 3]
    images[1, :, 0, 1] = [-1, 0, 0]
    assert np.array_equal(distinct_colours(images), [[-1, 0, 0], [0, 0, 0], [1, 2, 3]])


@pytest.mark.parametrize("d_norm", ["batch", "spectral"])
def test_d_loss_and_g_loss_gradients_through_the_channel(float64_layers, rng, d_norm):
    """L_D's gradient for every parameter of D, the trunk and Q, and L_G's for G's, with the
    palette channel in front of the trunk. The palette is 4 grey levels of the tiny model's
    sigmoid output; s is raised from 16/255 so that f varies over the check's pixels."""
    model = tiny_model(d_norm=d_norm, d_palette=4)
    assert model.trunk.layers[1].params["w"].shape[1] == 2                  # 1 image channel + f
    model.set_d_palette(np.array([0.1, 0.4, 0.6, 0.9]).reshape(4, 1, 1, 1))
    model.trunk.layers[0].scale = 0.2
    if d_norm == "spectral":
        model.trunk.eval(), model.d_head.eval()
    check_d_loss(model, rng)
    check_g_loss(model, rng)


def test_set_d_palette_checks_the_count_and_the_checkpoint_keeps_the_colours(rng):
    cfg = tiny_cfg(d_palette=3)
    model = InfoGAN(cfg, seed=0)
    with pytest.raises(ValueError, match="d_palette is 3, but the training images have 2"):
        model.set_d_palette(np.array([0.0, 1.0]).reshape(2, 1, 1, 1))
    model.set_d_palette(np.array([0.0, 0.5, 1.0, 0.5]).reshape(4, 1, 1, 1))
    arrays, meta = model.state_dict()
    other = InfoGAN(cfg, seed=1)
    other.load_state_dict(arrays, meta)
    assert np.allclose(other.trunk.layers[0].buffers["colours"].ravel(), [0.0, 0.5, 1.0])
    assert palette_scale(tiny_cfg(output="tanh")) == 2 * palette_scale(tiny_cfg(output="sigmoid"))
