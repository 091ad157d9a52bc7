"""CuPy parity: every op in float32 on the device against float64 NumPy on the CPU.
Each test runs on the strict CuPy stand-in (tests/fake_cupy.py) everywhere, and on real
CuPy where a CUDA GPU is (skipped cleanly elsewhere)."""
import numpy as np
import pytest

from tinygan import backend, conv, fast
from tinygan.batchnorm import batchnorm_backward, batchnorm_forward
from tinygan.losses import bce_with_logits, gaussian_nll, softmax_cross_entropy
from tinygan.spectral import spectral_normalise_backward, spectral_normalise_forward
from tinygan.ops import (leaky_relu_backward, leaky_relu_forward, linear_backward, linear_forward,
                         sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward)

RTOL = 1e-4


def close(gpu, cpu):
    """float32 GPU result against float64 CPU result, relative to the array's scale."""
    gpu = backend.to_numpy(gpu).astype(np.float64)
    scale = max(np.abs(cpu).max(), 1e-12)
    assert np.abs(gpu - cpu).max() <= RTOL * scale, np.abs(gpu - cpu).max() / scale


def both(cp, fwd, bwd, rng, *inputs):
    """Run fwd/bwd in float64 NumPy and float32 CuPy with the same inputs; compare all outputs."""
    y64, c64 = fwd(*inputs)
    dy = rng.standard_normal(y64.shape)
    g64 = bwd(dy, c64)
    y32, c32 = fwd(*[cp.asarray(a, dtype=np.float32) for a in inputs])
    g32 = bwd(cp.asarray(dy, dtype=np.float32), c32)
    assert y32.dtype == np.float32
    close(y32, y64)
    for a, b in zip(g32 if isinstance(g32, tuple) else (g32,), g64 if isinstance(g64, tuple) else (g64,)):
        assert a.dtype == np.float32
        close(a, b)


def test_linear(cupy_backend, rng):
    both(cupy_backend, linear_forward, linear_backward, rng, rng.standard_normal((64, 300)),
         rng.standard_normal((300, 50)), rng.standard_normal(50))


def test_spectral(cupy_backend, rng):
    """The op of tinygan/spectral.py, and SpectralLinear's fast form (which runs on CuPy too)."""
    u = rng.standard_normal(50)
    u /= np.linalg.norm(u)
    both(cupy_backend, spectral_normalise_forward, spectral_normalise_backward, rng,
         rng.standard_normal((50, 300)), u)
    both(cupy_backend, fast.spectral_linear_forward, fast.spectral_linear_backward, rng,
         rng.standard_normal((64, 300)), rng.standard_normal((300, 50)), rng.standard_normal(50), u)


@pytest.mark.parametrize("form", [conv, fast], ids=["plain", "fast"])
@pytest.mark.parametrize("C,F,H,K,s,p", [(1, 64, 28, 4, 2, 1), (64, 128, 14, 4, 2, 1), (3, 5, 9, 3, 1, 1)])
def test_conv2d(cupy_backend, rng, form, C, F, H, K, s, p):
    both(cupy_backend, lambda x, w, b: form.conv2d_forward(x, w, b, s, p), form.conv2d_backward, rng,
         rng.standard_normal((8, C, H, H)), rng.standard_normal((F, C, K, K)) * 0.1, rng.standard_normal(F))


@pytest.mark.parametrize("form", [conv, fast], ids=["plain", "fast"])
@pytest.mark.parametrize("C,F,H,K,s,p", [(128, 64, 7, 4, 2, 1), (64, 1, 14, 4, 2, 1), (3, 5, 5, 3, 1, 0)])
def test_conv_transpose2d(cupy_backend, rng, form, C, F, H, K, s, p):
    both(cupy_backend, lambda x, w, b: form.conv_transpose2d_forward(x, w, b, s, p), form.conv_transpose2d_backward, rng,
         rng.standard_normal((8, C, H, H)), rng.standard_normal((C, F, K, K)) * 0.1, rng.standard_normal(F))


@pytest.mark.parametrize("shape", [(64, 1024), (16, 128, 7, 7)])
def test_batchnorm(cupy_backend, rng, shape):
    C = shape[1]
    both(cupy_backend, batchnorm_forward, batchnorm_backward, rng, rng.standard_normal(shape) * 2 + 1,
         rng.random(C) + 0.5, rng.standard_normal(C))


@pytest.mark.parametrize("fwd,bwd", [(lambda x: leaky_relu_forward(x, 0.2), leaky_relu_backward),
                                     (tanh_forward, tanh_backward), (sigmoid_forward, sigmoid_backward)])
def test_activations(cupy_backend, rng, fwd, bwd):
    both(cupy_backend, fwd, bwd, rng, rng.standard_normal((16, 3, 5, 5)))


def test_losses(cupy_backend, rng):
    cp = cupy_backend
    z, t = rng.standard_normal((64, 1)) * 3, rng.random((64, 1))
    l64, d64 = bce_with_logits(z, t)
    l32, d32 = bce_with_logits(cp.asarray(z, np.float32), cp.asarray(t, np.float32))
    assert abs(l32 - l64) <= RTOL * abs(l64)
    close(d32, d64)
    z, labels = rng.standard_normal((64, 10)), rng.integers(0, 10, 64)
    l64, d64 = softmax_cross_entropy(z, labels)
    l32, d32 = softmax_cross_entropy(cp.asarray(z, np.float32), cp.asarray(labels))
    assert abs(l32 - l64) <= RTOL * abs(l64)
    close(d32, d64)
    x, mu, ls = (rng.standard_normal((64, 2)) for _ in range(3))
    r64 = gaussian_nll(x, mu, ls * 0.3)
    r32 = gaussian_nll(*(cp.asarray(a, np.float32) for a in (x, mu, ls * 0.3)))
    assert abs(r32[0] - r64[0]) <= RTOL * abs(r64[0])
    for a, b in zip(r32[1:], r64[1:]):
        close(a, b)


@pytest.mark.parametrize("d_norm", ["batch", "spectral"])
def test_training_step_matches_numpy(cupy_backend, rng, d_norm):
    """One whole InfoGAN step with the MNIST default's consistency term on (its restyling
    on the device), and with D spectrally normalised: the same losses
    on CuPy as on NumPy, float32 both, from the same initial weights, latents and restyled images."""
    from tinygan.infogan import InfoGAN, InfoGANConfig
    cfg = dict(img_size=8, n_noise=3, n_cat=3, width=4, fc=16, lambda_aug=1.0, d_norm=d_norm)
    real = rng.random((8, 1, 8, 8)).astype(np.float32)
    on_cpu = InfoGAN(InfoGANConfig(**cfg), seed=0).step(real)
    backend.set_backend("cupy")
    model = InfoGAN(InfoGANConfig(**cfg), seed=0)
    on_gpu = model.step(backend.asarray(real))
    assert model.is_finite()
    backend.set_backend("numpy")
    assert set(on_gpu) == set(on_cpu)
    for k, v in on_cpu.items():
        assert abs(float(on_gpu[k]) - v) <= 1e-3 * max(1.0, abs(v)), (k, float(on_gpu[k]), v)
