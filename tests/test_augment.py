"""The restyling used by the consistency term: exact on transforms with known answers."""
import numpy as np
import pytest

from tinygan.augment import random_affine, random_stroke, restyle


class Fixed:
    """A stand-in generator whose uniform draws are all the top of their range."""

    def uniform(self, low, high, size):
        return np.full(size, float(high))


def test_no_change_is_the_identity(rng):
    x = rng.random((3, 2, 9, 7)).astype(np.float32)
    assert np.array_equal(random_affine(x, rng, 0, 0, 0, 0), x)


def test_quarter_turn_and_whole_pixel_shift():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 0, 2] = 1                                                   # top middle
    turned = random_affine(x, Fixed(), max_rotate=90, max_scale=0, max_shift=0, max_shear=0)
    assert np.allclose(turned[0, 0], np.rot90(x[0, 0], -1))             # clockwise: to the right middle
    shifted = random_affine(x, Fixed(), max_rotate=0, max_scale=0, max_shift=1, max_shear=0)
    expected = np.zeros((5, 5))
    expected[1, 3] = 1                                                  # one row down, one column right
    assert np.allclose(shifted[0, 0], expected)


def test_shear_slants_a_vertical_bar():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, :, 2] = 1
    y = random_affine(x, Fixed(), max_rotate=0, max_scale=0, max_shift=0, max_shear=0.5)[0, 0]
    # row r (from the centre) moves by 0.5 r columns: the top leans left, the bottom right
    assert y[0, 1] == 1 and y[2, 2] == 1 and y[4, 3] == 1
    assert np.allclose(y[1, 1:3], 0.5) and np.allclose(y[3, 2:4], 0.5)
    assert y.sum() == pytest.approx(5)


def test_outside_pixels_take_the_background_and_values_stay_in_range(rng):
    x = rng.random((4, 1, 10, 10)) + 2.0                               # background 2.x, not 0
    y = random_affine(x, rng, max_rotate=30, max_scale=0.3, max_shift=3)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.all(y >= x.min(axis=(1, 2, 3))[:, None, None, None] - 1e-12)
    assert np.all(y <= x.max(axis=(1, 2, 3))[:, None, None, None] + 1e-12)


def test_stroke_thickens_or_thins():
    x = np.zeros((30, 1, 6, 6), np.float32)
    x[:, 0, 2:4, 2:4] = 1                                               # a 2x2 dot
    y = random_stroke(x, np.random.default_rng(0))
    sizes = set((y > 0.5).sum(axis=(1, 2, 3)).tolist())
    assert sizes == {1, 4, 9}                                           # thinned, kept, thickened
    assert y.dtype == np.float32


def test_restyle_is_reproducible(rng):
    x = rng.random((5, 1, 8, 8)).astype(np.float32)
    a = restyle(x, np.random.default_rng(3))
    assert np.array_equal(a, restyle(x, np.random.default_rng(3)))
    assert not np.array_equal(a, x)
    with pytest.raises(ValueError, match=r"batch of images \(N, C, H, W\)"):
        restyle(x[0], rng)
