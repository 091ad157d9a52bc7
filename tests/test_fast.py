"""Every fast form of tinygan/fast.py against the plain form it names: forward, backward and
optimiser steps, float32 and float64, arrays larger than a cache block (so the blocked and
threaded passes run), and transposed or strided inputs (as the conv ops hand them on)."""
import numpy as np
import pytest

from tinygan import backend, batchnorm, conv, fast, ops, optim, threads

TOL = {np.float32: 2e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]
# (N, C, H, W) activations: small; larger than one block (threads.BLOCK values)
SHAPES = [(4, 8, 5, 5), (4, 64, 40, 48)]
LAYOUTS = ["contiguous", "nchw_view_of_nhwc", "strided"]


def array(rng, shape, dtype, layout):
    N, C, H, W = shape
    if layout == "contiguous":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "nchw_view_of_nhwc":
        return rng.standard_normal((N, H, W, C)).astype(dtype).transpose(0, 3, 1, 2)
    return rng.standard_normal((N, C, H + 2, W + 2)).astype(dtype)[:, :, 1:-1, 1:-1]


def close(a, b, dtype):
    scale = max(np.abs(b).max(), 1.0)
    assert np.abs(np.asarray(a, np.float64) - b).max() <= TOL[dtype] * scale


def test_a_large_shape_spans_several_blocks():
    assert np.prod(SHAPES[1]) > 3 * threads.BLOCK


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,args", [("relu", ()), ("leaky_relu", (0.1,))])
def test_activations(rng, dtype, shape, layout, name, args):
    x = array(rng, shape, dtype, layout)
    dy = array(rng, shape, dtype, LAYOUTS[(LAYOUTS.index(layout) + 1) % 3])   # another layout
    y_fast, c_fast = getattr(fast, f"{name}_forward")(x, *args)
    y_plain, c_plain = getattr(ops, f"{name}_forward")(x, *args)
    assert y_fast.dtype == y_plain.dtype == dtype
    np.testing.assert_array_equal(y_fast, y_plain)
    np.testing.assert_array_equal(getattr(fast, f"{name}_backward")(dy, c_fast),
                                  getattr(ops, f"{name}_backward")(dy, c_plain))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 4), (24, 64), (7, 64), (3, 5000), (4096, 1), (40960, 64)])
def test_column_sums(rng, dtype, shape):
    r = rng.standard_normal(shape).astype(dtype)
    close(fast.column_sums(r), r.astype(np.float64).sum(axis=0), dtype)
    close(fast.column_sums(r.T.copy().T), r.astype(np.float64).sum(axis=0), dtype)   # Fortran order


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES + [(64, 1024), (5, 3)])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm(rng, dtype, shape, layout, training):
    if len(shape) == 2:
        if layout != "contiguous":
            pytest.skip("layouts are for 4-D inputs")
        x, dy = (rng.standard_normal(shape).astype(dtype) * 2 + 1 for _ in range(2))
    else:
        x = array(rng, shape, dtype, layout) * 2 + 1
        dy = array(rng, shape, dtype, layout)
    C = shape[1]
    gamma, beta = (rng.random(C) + 0.5).astype(dtype), rng.standard_normal(C).astype(dtype)
    stats = () if training else ((rng.standard_normal(C) * 0.1).astype(dtype), (rng.random(C) + 0.5).astype(dtype))
    y_fast, c_fast = fast.batchnorm_forward(x, gamma, beta, 1e-5, *stats)
    y_plain, c_plain = batchnorm.batchnorm_forward(x.astype(np.float64), gamma.astype(np.float64),
                                                   beta.astype(np.float64), 1e-5,
                                                   *(s.astype(np.float64) for s in stats))
    assert y_fast.dtype == dtype
    close(y_fast, y_plain, dtype)
    close(c_fast.mean, c_plain.mean, dtype)
    close(c_fast.var, c_plain.var, dtype)
    g_fast = fast.batchnorm_backward(dy, c_fast)
    g_plain = batchnorm.batchnorm_backward(dy.astype(np.float64), c_plain)
    for a, b in zip(g_fast, g_plain):
        assert a.dtype == dtype
        close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flat", [False, True])
def test_adam(rng, dtype, flat):
    """FastAdam (stored sums, blocked passes; over one flat buffer or per parameter) against
    the plain optim.Adam, on parameters of several shapes, one larger than a block, one
    Fortran-ordered, one transposed."""
    shapes = {"big": (3 * threads.BLOCK + 7,), "w": (5, 7), "b": (7,)}
    init = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    plain_p = {k: v.copy() for k, v in init.items()}
    plain_p["w"] = np.asfortranarray(plain_p["w"])
    plain_g = {k: np.zeros_like(v) for k, v in plain_p.items()}
    plain = optim.Adam(plain_p, plain_g, lr=1e-2, betas=(0.5, 0.999), eps=1e-6)
    if flat:
        from tinygan.layers import FlatParams, Module
        holder = Module()
        holder.params = {k: v.copy() for k, v in init.items()}
        holder.grads = {k: np.zeros_like(v) for k, v in init.items()}
        fp = FlatParams(holder)
        fast_p, fast_g = holder.params, holder.grads
        opt = fast.FastAdam(fast_p, fast_g, lr=1e-2, betas=(0.5, 0.999), eps=1e-6, flat=fp)
    else:
        fast_p = {k: v.copy() for k, v in init.items()}
        fast_p["w"] = fast_p["w"].T.copy().T                       # Fortran order too
        fast_g = {k: np.zeros_like(v) for k, v in fast_p.items()}
        opt = fast.FastAdam(fast_p, fast_g, lr=1e-2, betas=(0.5, 0.999), eps=1e-6)
    for _ in range(4):
        for k in init:
            g = rng.standard_normal(shapes[k]).astype(dtype)
            plain_g[k][...] = g
            fast_g[k][...] = g
        plain.step()
        opt.step()
    for k in init:
        close(fast_p[k], plain_p[k].astype(np.float64), dtype)
    # each loads the other's state
    again = optim.Adam({k: v.copy() for k, v in plain_p.items()}, {k: np.zeros_like(v) for k, v in plain_p.items()})
    again.load_state_dict(opt.state_dict())
    for k in init:
        close(again.m[k], plain.m[k].astype(np.float64), dtype)
        close(again.v[k], plain.v[k].astype(np.float64), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1000, 3 * threads.BLOCK + 7])
@pytest.mark.parametrize("w_layout", ["contiguous", "strided"])
def test_average_update(rng, dtype, size, w_layout):
    """The running average's step, blocked and threaded, equals the plain two passes bit for
    bit, for several steps and every beta_t the warm-up gives."""
    from tinygan import average
    avg0 = rng.standard_normal(size).astype(dtype)
    plain_avg, fast_avg = avg0.copy(), avg0.copy()
    for t in range(1, 5):
        w = rng.standard_normal(2 * size).astype(dtype)
        w = w[:size] if w_layout == "contiguous" else w[::2]
        beta_t = min(0.99, (1 + t) / (10 + t))
        average.average_update(plain_avg, w, beta_t)
        fast.average_update(fast_avg, w, beta_t)
        np.testing.assert_array_equal(fast_avg, plain_avg)
    assert fast_avg.dtype == dtype
    assert not np.array_equal(fast_avg, avg0)


def test_the_switch_runs_the_plain_forms_and_a_step_agrees(monkeypatch):
    """backend.set_fast(False): the layers and Adam run the plain forms; a training step of
    the InfoGAN (float64) gives the same losses and parameters as the fast forms."""
    from tinygan.infogan import InfoGAN, InfoGANConfig
    cfg = InfoGANConfig(img_size=8, n_noise=3, n_cat=3, width=4, fc=16, lambda_aug=1.0)
    real = np.random.default_rng(0).random((8, 1, 8, 8))
    old = backend.default_dtype()
    backend.set_default_dtype(np.float64)
    try:
        fast_model = InfoGAN(cfg, seed=0)
        fast_losses = [fast_model.step(real) for _ in range(2)]
        monkeypatch.setattr(backend, "_fast", False)
        called = []
        monkeypatch.setattr(fast, "_affine", lambda *a: called.append(1))   # must not be reached
        plain_model = InfoGAN(cfg, seed=0)
        plain_losses = [plain_model.step(real) for _ in range(2)]
    finally:
        backend.set_default_dtype(old)
    assert isinstance(plain_model.opt_d, optim.Adam) and not isinstance(plain_model.opt_d, fast.FastAdam)
    assert isinstance(fast_model.opt_d, fast.FastAdam) and not called
    for a, b in zip(fast_losses, plain_losses):
        for k in a:
            assert abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k])), k
    # Adam divides by sqrt(v): where a gradient is at rounding level (a bias before BatchNorm)
    # the two forms' rounding moves the parameter by ~1e-10; a step moves them by ~lr = 1e-3
    for k, v in fast_model.G.params.items():
        np.testing.assert_allclose(plain_model.G.params[k], v, rtol=1e-8, atol=1e-8)


def test_sigmoid_gpu_form(cupy_backend):
    """On a GPU fast.sigmoid is 0.5 tanh(x / 2) + 0.5: the plain form's values, finite and in
    [0, 1] at any |x|."""
    x = np.concatenate([np.linspace(-30, 30, 121), [-1e4, 1e4, 0.0]]).astype(np.float32)
    backend.set_backend("cupy")
    y = backend.to_numpy(fast.sigmoid(backend.asarray(x)))
    backend.set_backend("numpy")
    assert np.all(np.isfinite(y)) and y.min() >= 0 and y.max() <= 1
    np.testing.assert_allclose(y, ops.sigmoid(x.astype(np.float64)), rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- conv and linear
CONVS = [  # (N, C, H, F, K, stride, padding): C below and above the col2im switch (16), odd sizes
    (3, 1, 28, 8, 4, 2, 1), (2, 3, 9, 5, 3, 1, 1), (4, 20, 14, 16, 4, 2, 1), (2, 17, 7, 6, 3, 2, 0),
    (16, 64, 14, 32, 4, 2, 1)]


def conv_input(rng, shape, dtype, layout):
    return array(rng, shape, dtype, layout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("N,C,H,F,K,s,p", CONVS)
def test_conv2d(rng, dtype, layout, N, C, H, F, K, s, p):
    x = conv_input(rng, (N, C, H, H), dtype, layout)
    w, b = rng.standard_normal((F, C, K, K)).astype(dtype), rng.standard_normal(F).astype(dtype)
    y_fast, c_fast = fast.conv2d_forward(x, w, b, s, p)
    y_plain, c_plain = conv.conv2d_forward(x, w, b, s, p)
    np.testing.assert_array_equal(y_fast, y_plain)          # the same gather, the same product
    dy = conv_input(rng, y_plain.shape, dtype, LAYOUTS[(LAYOUTS.index(layout) + 1) % 3])
    for a, b_ in zip(fast.conv2d_backward(dy, c_fast), conv.conv2d_backward(dy, c_plain)):
        close(a, b_.astype(np.float64), dtype)                # col2im and bias sums: other order


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("N,C,H,F,K,s,p", CONVS)
def test_conv_transpose2d(rng, dtype, layout, N, C, H, F, K, s, p):
    x = conv_input(rng, (N, F, H // 2 + 1, H // 2 + 1), dtype, layout)   # F in, C out
    w, b = rng.standard_normal((F, C, K, K)).astype(dtype), rng.standard_normal(C).astype(dtype)
    y_fast, c_fast = fast.conv_transpose2d_forward(x, w, b, s, p)
    y_plain, c_plain = conv.conv_transpose2d_forward(x, w, b, s, p)
    close(y_fast, y_plain.astype(np.float64), dtype)
    dy = conv_input(rng, y_plain.shape, dtype, LAYOUTS[(LAYOUTS.index(layout) + 2) % 3])
    for a, b_ in zip(fast.conv_transpose2d_backward(dy, c_fast), conv.conv_transpose2d_backward(dy, c_plain)):
        close(a, b_.astype(np.float64), dtype)


@pytest.mark.parametrize("need_dw,need_dx", [(True, True), (True, False), (False, True)])
def test_conv_backward_skips_what_is_not_needed(rng, need_dw, need_dx):
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    for form in (fast, conv):
        _, cache = form.conv2d_forward(x, w, b, 1, 1)
        dx, dw, db = form.conv2d_backward(np.ones((2, 4, 6, 6)), cache, need_dw, need_dx)
        assert (dx is None) != need_dx and (dw is None) != need_dw and (db is None) != need_dw


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_col2im_pad_pieces(rng, dtype):
    x = rng.standard_normal((5, 9, 11, 20)).astype(dtype)
    np.testing.assert_array_equal(fast.pad(x, 2), conv.pad(x, 2))
    cols = fast.im2col(conv.pad(x, 1), 4, 3, 2, 4, 6)
    np.testing.assert_array_equal(cols, conv.im2col(conv.pad(x, 1), 4, 3, 2, 4, 6))
    for C in (3, 20):                                       # the per-offset and the window-class forms
        c = rng.standard_normal((4, 5, 6, 4, 3, C)).astype(dtype)
        close(fast.col2im(c, 12, 13, 2), conv.col2im(c.astype(np.float64), 12, 13, 2), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_backward_into_the_gradient(rng, dtype):
    x, w = rng.standard_normal((32, 50)).astype(dtype), rng.standard_normal((50, 7)).astype(dtype)
    dy = rng.standard_normal((32, 7)).astype(dtype)
    _, cache = ops.linear_forward(x, w, np.zeros(7, dtype))
    out = np.full((50, 7), np.nan, dtype)
    dx, dw, db = fast.linear_backward(dy, cache, dw_out=out)
    assert dw is out
    for a, b in zip((dx, dw, db), ops.linear_backward(dy, cache)):
        close(a, b.astype(np.float64), dtype)


def test_the_switch_runs_the_plain_conv(monkeypatch, rng):
    calls, plain = [], conv.conv2d_forward
    monkeypatch.setattr(conv, "conv2d_forward", lambda *a: calls.append(1) or plain(*a))
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    fast.conv2d_forward(x, w, b, 1, 1)
    assert calls == []
    backend.set_fast(False)
    try:
        fast.conv2d_forward(x, w, b, 1, 1)
    finally:
        backend.set_fast(True)
    assert calls == [1]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("into_grad", [False, True])
def test_spectral_linear(rng, dtype, into_grad):
    """The fast SpectralLinear (no w_bar made; one product for dw) against its plain form, the
    op of tinygan/spectral.py and ops.linear_*; with and without writing dw into the gradient."""
    x, w = rng.standard_normal((32, 300)).astype(dtype), rng.standard_normal((300, 7)).astype(dtype)
    b, dy = rng.standard_normal(7).astype(dtype), rng.standard_normal((32, 7)).astype(dtype)
    u = rng.standard_normal(7)
    u = (u / np.linalg.norm(u)).astype(dtype)
    y, cache = fast.spectral_linear_forward(x, w, b, u)
    out = np.full((300, 7), np.nan, dtype) if into_grad else None
    grads = fast.spectral_linear_backward(dy, cache, dw_out=out)
    backend.set_fast(False)
    try:
        y_plain, cache_plain = fast.spectral_linear_forward(x, w, b, u)
        plain = fast.spectral_linear_backward(dy, cache_plain)
    finally:
        backend.set_fast(True)
    assert isinstance(cache, fast.SpectralLinearCache) and not isinstance(cache_plain, fast.SpectralLinearCache)
    close(y, y_plain.astype(np.float64), dtype)
    for a, p in zip(grads, plain):
        close(a, p.astype(np.float64), dtype)
    if into_grad:
        assert grads[1] is out
    assert fast.spectral_linear_backward(dy, cache, need_dw=False)[1:] == (None, None)
