"""The palette layer (tinygan/palette.py): nearest colours forward, the straight-through
gradient backward, and its place at the end of G (trained, saved, loaded, resumed)."""
import numpy as np
import pytest

from tinygan import backend
from tinygan.infogan import InfoGAN, InfoGANConfig, sample_latent
from tinygan.layers import Sequential
from tinygan.palette import PaletteSnap, palette_of, palette_snap_backward, palette_snap_forward
from tinygan.train import TrainConfig, load_model, read_checkpoint, train


def brute_force_nearest(x, palette):
    """Each pixel of x (N, C, H, W) replaced by its nearest palette colour, by full distances."""
    px = np.moveaxis(x, 1, -1)[..., None, :]                              # (N, H, W, 1, C)
    d = ((px - palette) ** 2).sum(axis=-1)                                # (N, H, W, K)
    return np.moveaxis(palette[d.argmin(axis=-1)], -1, 1)


def test_forward_is_the_nearest_colour(rng):
    palette = rng.uniform(-1, 1, (7, 3))
    x = rng.uniform(-1.2, 1.2, (4, 3, 5, 6))
    y, cache = palette_snap_forward(x, palette)
    np.testing.assert_array_equal(y, brute_force_nearest(x, palette))
    # every output pixel is one of the colours, and a palette colour maps to itself
    assert set(map(tuple, np.moveaxis(y, 1, -1).reshape(-1, 3))) <= set(map(tuple, palette))
    on = np.moveaxis(palette[rng.integers(0, 7, (2, 4, 4))], -1, 1)      # (2, 3, 4, 4)
    np.testing.assert_array_equal(palette_snap_forward(on, palette)[0], on)


def test_backward_is_straight_through(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    _, cache = palette_snap_forward(x, rng.standard_normal((5, 3)))
    dy = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(palette_snap_backward(dy, cache), dy)
    with pytest.raises(ValueError, match="dy of shape"):
        palette_snap_backward(dy[:1], cache)


def test_layer_refuses_bad_palettes_and_use_before_one_is_set(rng):
    layer = PaletteSnap()
    with pytest.raises(RuntimeError, match="no palette set"):
        layer.forward(rng.standard_normal((1, 3, 2, 2)))
    for bad in (np.zeros((1, 3)), np.zeros((4,)), np.array([[0, 0, 0], [0, 0, np.nan]])):
        with pytest.raises(ValueError, match="the palette must be"):
            layer.set_palette(bad)
    with pytest.raises(ValueError, match="repeated colours"):
        layer.set_palette(np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]))
    layer.set_palette(np.eye(3))
    with pytest.raises(ValueError, match="expected input"):
        layer.forward(rng.standard_normal((1, 4, 2, 2)))
    with pytest.raises(RuntimeError, match="without a forward"):
        PaletteSnap().set_palette(np.eye(3)).backward(rng.standard_normal((1, 3, 2, 2)))


def test_palette_of_lists_the_distinct_colours():
    x = np.zeros((2, 3, 2, 2))
    x[0, :, 0, 0] = [1, 0, 0]
    x[1, :, 1, 1] = [0, 0, 1]
    np.testing.assert_array_equal(palette_of(x), [[0, 0, 0], [0, 0, 1], [1, 0, 0]])


def test_on_the_cupy_backend(cupy_backend, rng):
    palette = rng.uniform(-1, 1, (6, 3)).astype(np.float32)
    x = rng.uniform(-1, 1, (3, 3, 4, 4)).astype(np.float32)
    backend.set_backend("cupy")
    layer = PaletteSnap().set_palette(palette)
    y = layer.forward(backend.asarray(x))
    assert isinstance(y, cupy_backend.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(y), brute_force_nearest(x, palette.astype(np.float32)))
    dy = backend.asarray(np.ones_like(x))
    assert layer.backward(dy) is dy


# ----------------------------------------------------------------------------- in G
def colour_images(rng, n=40, colours=4):
    """Images (n, 3, 8, 8) in [-1, 1] made of a few flat colours."""
    pal = rng.uniform(-1, 1, (colours, 3)).astype(np.float32)
    return np.moveaxis(pal[rng.integers(0, colours, (n, 8, 8))], -1, 1).copy(), pal


def tiny_rgb_cfg(**kw):
    return InfoGANConfig(img_channels=3, img_size=8, output="tanh", n_noise=4, n_cat=3, n_cont=2, width=4,
                         fc=16, **kw)


def test_g_draws_only_training_colours_and_a_checkpoint_keeps_them(tmp_path, rng):
    x, pal = colour_images(rng)
    model = train(tiny_rgb_cfg(palette_snap=True), TrainConfig(steps=3, batch_size=8, sample_every=0), x,
                  tmp_path / "run", progress=False)
    assert "PaletteSnap(4)" in repr(model.G)
    latent = np.random.default_rng(0).uniform(-1, 1, (16, model.cfg.latent_dim)).astype(np.float32)
    drawn = {tuple(c) for c in np.moveaxis(model.generate(latent), 1, -1).reshape(-1, 3)}
    assert drawn <= {tuple(c) for c in pal}
    arrays, _ = read_checkpoint(tmp_path / "run" / "checkpoint.npz")
    np.testing.assert_array_equal(np.sort(arrays["G_palette"], axis=0), np.sort(pal.astype(np.float64), axis=0))
    again, _ = load_model(tmp_path / "run" / "checkpoint.npz")
    np.testing.assert_array_equal(again.generate(latent), model.generate(latent))


def test_without_the_snap_g_draws_other_colours(tmp_path, rng):
    """The control of the test above: the same training without the layer does not happen
    to draw only palette colours."""
    x, pal = colour_images(rng)
    model = train(tiny_rgb_cfg(), TrainConfig(steps=3, batch_size=8, sample_every=0), x, tmp_path / "run",
                  progress=False)
    latent = np.random.default_rng(0).uniform(-1, 1, (16, model.cfg.latent_dim)).astype(np.float32)
    drawn = {tuple(c) for c in np.moveaxis(model.generate(latent), 1, -1).reshape(-1, 3)}
    assert not drawn <= {tuple(c) for c in pal}
    with pytest.raises(ValueError, match="no palette layer"):
        model.set_palette(pal)


def test_g_gradient_passes_the_snap_straight_through(rng):
    """G's weight gradients for a dL/dy at the snapped output are those of the same G without
    the layer for the same dL/dy at its tanh output, and L_G's gradient reaches them (the
    exact derivative of the snap would give zero)."""
    model = InfoGAN(tiny_rgb_cfg(palette_snap=True), seed=0)
    model.set_palette(rng.uniform(-1, 1, (5, 3)))
    latent, cat, cont = sample_latent(model.cfg, 6, rng)
    model.g_loss_and_grads(latent, cat, cont)
    assert max(float(np.abs(g).max()) for g in model.G.grads.values()) > 0
    z = backend.asarray(latent)
    dy = rng.standard_normal((6, 3, 8, 8)).astype(np.float32)
    model.G.zero_grad()
    model.G.forward(z)
    model.G.backward(dy)
    snapped = {k: g.copy() for k, g in model.G.grads.items()}
    plain = Sequential(*model.G.layers[:-1])
    plain.zero_grad()
    plain.forward(z)
    plain.backward(dy)
    assert snapped.keys() == plain.grads.keys()
    for k in snapped:
        np.testing.assert_array_equal(snapped[k], plain.grads[k])
