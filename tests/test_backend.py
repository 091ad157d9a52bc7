"""The backend switch and the gradient-check helpers themselves."""
import numpy as np
import pytest

from tinygan import backend
from tinygan.gradcheck import numeric_grad, rel_error


def test_numpy_is_default_and_switchable():
    assert backend.get_backend() == "numpy"
    backend.set_backend("numpy")
    assert backend.xp() is np


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        backend.set_backend("torch")


@pytest.mark.skipif(backend.cupy_available(), reason="CuPy with a GPU is present")
def test_cupy_missing_is_one_clear_error():
    with pytest.raises(backend.BackendError, match="cupy"):
        backend.set_backend("cupy")
    assert backend.get_backend() == "numpy"  # no silent switch, no half-switch


def test_to_numpy_and_array_module():
    a = np.arange(3)
    assert backend.to_numpy(a) is a or np.array_equal(backend.to_numpy(a), a)
    assert backend.get_array_module(a) is np
    assert backend.get_array_module(1.0) is np


def test_default_dtype_guard():
    with pytest.raises(ValueError, match="float32 or float64"):
        backend.set_default_dtype(np.int32)


def test_numeric_grad_of_known_function():
    x = np.array([1.0, -2.0, 3.0])
    g = numeric_grad(lambda v: (v ** 3).sum(), x)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # restored


def test_numeric_grad_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numeric_grad(lambda v: v.sum(), np.zeros(2, np.float32))


def test_rel_error():
    assert rel_error(np.ones(3), np.ones(3)) == 0
    assert rel_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    assert rel_error(np.ones(2), np.ones(2) * (1 + 1e-3)) == pytest.approx(5e-4, rel=1e-2)


def test_parallel_for_covers_the_range_once_and_reraises(monkeypatch):
    from tinygan import threads
    monkeypatch.setattr(threads, "_threads", 3)
    monkeypatch.setattr(threads, "_pool", None)
    hits = np.zeros(1000, int)

    def mark(i0, i1):
        hits[i0:i1] += 1
    threads.parallel_for(mark, 1000)
    assert np.all(hits == 1)

    def fail(i0, i1):
        if i0 > 0:
            raise ValueError("worker failed")
    with pytest.raises(ValueError, match="worker failed"):
        threads.parallel_for(fail, 1000)
