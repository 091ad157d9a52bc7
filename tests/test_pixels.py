"""Pixel ranges: uint8 <-> each model range, exact at the ends and inverse of each other."""
import numpy as np
import pytest

from tinygan.layers import BatchNorm, evaluation
from tinygan.pixels import to_model, to_uint8, to_unit


@pytest.mark.parametrize("output,lo,hi", [("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0)])
def test_round_trip_and_ends(output, lo, hi):
    u8 = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)          # (n, H, W), one channel
    x = to_model(u8, output)
    assert x.shape == (4, 1, 8, 8) and x.dtype == np.float32
    assert x.min() == lo and x.max() == hi
    np.testing.assert_array_equal(to_uint8(x, output)[..., 0], u8)
    np.testing.assert_allclose(to_unit(x, output), u8[:, None] / 255.0, atol=1e-7)
    rgb = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_uint8(to_model(rgb, output), output), rgb)   # channels last both ways


def test_out_of_range_values_clip_and_bad_output_is_refused():
    assert to_uint8(np.array([[[[-3.0, 0.5, 7.0]]]]), "sigmoid").ravel().tolist() == [0, 128, 255]
    with pytest.raises(ValueError, match="output must be"):
        to_model(np.zeros((1, 2, 2), np.uint8), "relu")


def test_evaluation_restores_each_mode_even_on_error():
    a, b = BatchNorm(3), BatchNorm(3)
    b.eval()
    with pytest.raises(RuntimeError):
        with evaluation(a, b):
            assert not a.training and not b.training
            raise RuntimeError("boom")
    assert a.training and not b.training
