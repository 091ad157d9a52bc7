"""Random shifts of D's inputs (tinygan/shift.py): known answers, the adjoint against finite
differences, and a training step that uses them."""
import numpy as np
import pytest

from tinygan.gradcheck import numeric_grad, rel_error
from tinygan.infogan import InfoGAN, InfoGANConfig
from tinygan.shift import random_shifts, shift_backward, shift_forward


def test_known_answer():
    x = np.arange(2 * 1 * 3 * 4, dtype=np.float64).reshape(2, 1, 3, 4)
    out, _ = shift_forward(x, [[1, 0], [0, -2]])
    assert np.array_equal(out[0, 0], [[0, 0, 0, 0], [0, 1, 2, 3], [4, 5, 6, 7]])     # down one row
    assert np.array_equal(out[1, 0], [[14, 15, 0, 0], [18, 19, 0, 0], [22, 23, 0, 0]])  # two columns left


def test_no_shift_is_the_identity_and_channels_move_together(rng):
    x = rng.standard_normal((3, 3, 5, 5))
    assert np.array_equal(shift_forward(x, np.zeros((3, 2), int))[0], x)
    out, _ = shift_forward(x, [[2, 1], [-1, 0], [0, 3]])
    assert np.array_equal(out[0, :, 2:, 1:], x[0, :, :3, :4])
    assert np.array_equal(out[2, :, :, 3:], x[2, :, :, :2])


def test_backward_matches_finite_differences(rng):
    x = rng.standard_normal((3, 2, 5, 6))
    shifts = [[2, -1], [0, 3], [-3, -3]]
    out, cache = shift_forward(x, shifts)
    dy = rng.standard_normal(out.shape)
    assert rel_error(shift_backward(dy, cache), numeric_grad(lambda v: shift_forward(v, shifts)[0], x, dy)) < 1e-7


def test_bad_shifts_and_the_range_of_random_ones(rng):
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        shift_forward(np.zeros((2, 1, 4, 4)), [[1, 1]])
    s = random_shifts(4000, 3, rng)
    assert s.shape == (4000, 2) and s.min() == -3 and s.max() == 3
    assert abs(s.mean()) < 0.1


def test_a_training_step_with_shifts_is_finite_and_differs(rng):
    cfg = dict(img_size=8, n_noise=3, n_cat=3, width=4, fc=16)
    real = rng.random((8, 1, 8, 8)).astype(np.float32)
    with pytest.raises(ValueError, match="d_shift"):
        InfoGANConfig(**cfg, d_shift=8).validate()
    plain = InfoGAN(InfoGANConfig(**cfg), seed=0).step(real)
    model = InfoGAN(InfoGANConfig(**cfg, d_shift=2).validate(), seed=0)
    shifted = model.step(real)
    assert model.is_finite()
    assert shifted["d_real"] != plain["d_real"]


def test_with_zero_shifts_a_step_is_the_plain_one_and_g_gets_the_adjoint(rng, monkeypatch):
    """Shifts forced to 0 reproduce the plain step exactly (the same latents: the shifts are
    drawn after them); and G's gradient is routed through shift_backward."""
    import tinygan.infogan as infogan
    cfg = dict(img_size=8, n_noise=3, n_cat=3, width=4, fc=16)
    real = rng.random((8, 1, 8, 8)).astype(np.float32)
    plain = InfoGAN(InfoGANConfig(**cfg), seed=0)
    model = InfoGAN(InfoGANConfig(**cfg, d_shift=2), seed=0)
    monkeypatch.setattr(infogan, "random_shifts", lambda n, s, rng: np.zeros((n, 2), np.int64))
    calls = []
    monkeypatch.setattr(infogan, "shift_backward", lambda d, c: calls.append(c) or shift_backward(d, c))
    model.rng, plain.rng = np.random.default_rng(5), np.random.default_rng(5)
    a, b = plain.step(real), model.step(real)
    assert a == b
    assert len(calls) == 1
    assert np.array_equal(plain.g_flat.params, model.g_flat.params)
