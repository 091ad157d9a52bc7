import sys
from pathlib import Path

import numpy as np
import pytest

from tinygan import backend

sys.path.insert(0, str(Path(__file__).resolve().parent))   # fake_cupy, test_data helpers
import fake_cupy  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def float64_layers():
    """New layers in float64 for gradient checks; restores the default afterwards."""
    old = backend.default_dtype()
    backend.set_default_dtype(np.float64)
    backend.seed(0)
    yield
    backend.set_default_dtype(old)


def _real_cupy_usable():
    if "cupy" in sys.modules and sys.modules["cupy"] is fake_cupy:
        return False
    return backend.cupy_available()


REAL_CUPY = _real_cupy_usable()


@pytest.fixture(params=["fake", pytest.param("cupy", marks=pytest.mark.gpu)])
def cupy_backend(request, monkeypatch):
    """The CuPy backend, twice: on the strict stand-in (tests/fake_cupy.py), which runs on
    every machine, and on real CuPy, which runs where a CUDA GPU is (skipped elsewhere).
    Yields the array module; the test starts with the NumPy backend active and may call
    backend.set_backend("cupy") itself; NumPy is active again afterwards."""
    if request.param == "fake":
        module = fake_cupy.install(monkeypatch)
    else:
        if not REAL_CUPY:
            pytest.skip("needs CuPy and a CUDA GPU")
        import importlib
        module = importlib.import_module("cupy")
    yield module
    backend.set_backend("numpy")


@pytest.fixture(autouse=True)
def no_real_home_cache(tmp_path, monkeypatch):
    """Nothing a test does is cached in, or read from, the real ~/.cache/tinygan."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def quick_digit_classifier(request, monkeypatch):
    """The digit classifier of the MNIST Fréchet distance trains for 20 steps in tests
    (1500 in use); tests marked slow train it in full."""
    if request.node.get_closest_marker("slow") is None:
        from tinygan import evaluate
        monkeypatch.setitem(evaluate.DIGIT_CLASSIFIER, "steps", 20)
