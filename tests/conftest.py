import numpy as np
import pytest

from tinygan import backend


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
