"""conv2d and conv_transpose2d: forward against direct loops, the adjoint identity, and
finite-difference gradients of every input and parameter."""
import numpy as np
import pytest

from tinygan.conv import (col2im, conv2d_backward, conv2d_forward, conv_transpose2d_backward,
                          conv_transpose2d_forward, im2col)
from tinygan.gradcheck import numeric_grad, rel_error

TOL = 1e-6

# (N, C, H, W, F, K, stride, padding): odd sizes, non-square inputs, the models' 4x4/s2/p1
CASES = [
    (2, 3, 5, 6, 4, 3, 1, 0),
    (2, 3, 5, 6, 4, 3, 1, 1),
    (2, 2, 7, 5, 3, 3, 2, 1),
    (2, 2, 8, 8, 3, 4, 2, 1),
    (1, 2, 9, 7, 2, 4, 2, 1),
    (2, 1, 6, 7, 2, 2, 2, 0),
    (1, 2, 7, 7, 3, 5, 3, 2),
    (2, 3, 4, 4, 2, 1, 1, 0),
    (1, 16, 6, 5, 16, 4, 2, 1),  # >= 16 channels: col2im's window-class form
    (1, 17, 5, 6, 16, 3, 1, 1),
]


def conv2d_loops(x, w, b, s, p):
    """Direct definition: y[n,f,oh,ow] = b[f] + sum_{c,i,j} w[f,c,i,j] xpad[n,c,oh*s+i,ow*s+j]."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    OH, OW = (H + 2 * p - KH) // s + 1, (W + 2 * p - KW) // s + 1
    y = np.zeros((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            for oh in range(OH):
                for ow in range(OW):
                    y[n, f, oh, ow] = b[f] + np.sum(w[f] * xpad[n, :, oh * s:oh * s + KH, ow * s:ow * s + KW])
    return y


def conv_transpose2d_loops(x, w, b, s, p):
    """Direct definition: every input pixel paints w[c_in] into the (uncropped) output."""
    N, Cin, H, W = x.shape
    _, Cout, KH, KW = w.shape
    OH, OW = (H - 1) * s - 2 * p + KH, (W - 1) * s - 2 * p + KW
    ypad = np.zeros((N, Cout, OH + 2 * p, OW + 2 * p))
    for n in range(N):
        for c in range(Cin):
            for h in range(H):
                for v in range(W):
                    ypad[n, :, h * s:h * s + KH, v * s:v * s + KW] += x[n, c, h, v] * w[c]
    return ypad[:, :, p:p + OH, p:p + OW] + b[None, :, None, None]


@pytest.mark.parametrize("N,C,H,W,F,K,s,p", CASES)
def test_conv2d_forward_matches_loops(rng, N, C, H, W, F, K, s, p):
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, K, K)), rng.standard_normal(F)
    y, _ = conv2d_forward(x, w, b, s, p)
    np.testing.assert_allclose(y, conv2d_loops(x, w, b, s, p), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("N,C,H,W,F,K,s,p", CASES)
def test_conv2d_grads(rng, N, C, H, W, F, K, s, p):
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, K, K)), rng.standard_normal(F)
    y, cache = conv2d_forward(x, w, b, s, p)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv2d_backward(dy, cache)
    assert rel_error(dx, numeric_grad(lambda v: conv2d_forward(v, w, b, s, p)[0], x, dy)) < TOL
    assert rel_error(dw, numeric_grad(lambda v: conv2d_forward(x, v, b, s, p)[0], w, dy)) < TOL
    assert rel_error(db, numeric_grad(lambda v: conv2d_forward(x, w, v, s, p)[0], b, dy)) < TOL


@pytest.mark.parametrize("N,C,H,W,F,K,s,p", CASES)
def test_conv_transpose2d_forward_matches_loops(rng, N, C, H, W, F, K, s, p):
    if (H - 1) * s - 2 * p + K < 1 or (W - 1) * s - 2 * p + K < 1:
        pytest.skip("empty output")
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((C, F, K, K)), rng.standard_normal(F)
    y, _ = conv_transpose2d_forward(x, w, b, s, p)
    np.testing.assert_allclose(y, conv_transpose2d_loops(x, w, b, s, p), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("N,C,H,W,F,K,s,p", CASES)
def test_conv_transpose2d_grads(rng, N, C, H, W, F, K, s, p):
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((C, F, K, K)), rng.standard_normal(F)
    y, cache = conv_transpose2d_forward(x, w, b, s, p)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv_transpose2d_backward(dy, cache)
    f = conv_transpose2d_forward
    assert rel_error(dx, numeric_grad(lambda v: f(v, w, b, s, p)[0], x, dy)) < TOL
    assert rel_error(dw, numeric_grad(lambda v: f(x, v, b, s, p)[0], w, dy)) < TOL
    assert rel_error(db, numeric_grad(lambda v: f(x, w, v, s, p)[0], b, dy)) < TOL


@pytest.mark.parametrize("H,K,s,p", [(7, 4, 2, 1), (14, 4, 2, 1), (5, 3, 1, 1), (6, 2, 2, 0)])
def test_conv_transpose_is_adjoint_of_conv(rng, H, K, s, p):
    """<conv(u), v> = <u, conv_T(v)> for the same weight and no bias, where conv maps
    (N, Cout, OH, OH) -> (N, Cin, H, H) and conv_T maps back."""
    Cin, Cout = 3, 2
    OH = (H - 1) * s - 2 * p + K
    w = rng.standard_normal((Cin, Cout, K, K))
    u = rng.standard_normal((2, Cout, OH, OH))
    v = rng.standard_normal((2, Cin, H, H))
    conv_u, _ = conv2d_forward(u, w, np.zeros(Cin), s, p)          # w read as (F=Cin, C=Cout, K, K)
    convT_v, _ = conv_transpose2d_forward(v, w, np.zeros(Cout), s, p)
    assert conv_u.shape == v.shape and convT_v.shape == u.shape
    np.testing.assert_allclose(np.sum(conv_u * v), np.sum(u * convT_v), rtol=1e-10)


def test_col2im_is_adjoint_of_im2col(rng):
    xpad = rng.standard_normal((2, 9, 8, 3))
    cols = im2col(xpad, 4, 3, 2, 3, 3)
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(xpad * col2im(c, 9, 8, 2)), rtol=1e-10)


def col2im_loops(cols, Hp, Wp, s):
    """Element by element: xpad[n, oh*s + i, ow*s + j, c] += cols[n, oh, ow, i, j, c]."""
    N, OH, OW, KH, KW, C = cols.shape
    xpad = np.zeros((N, Hp, Wp, C))
    for oh in range(OH):
        for ow in range(OW):
            for i in range(KH):
                for j in range(KW):
                    xpad[:, oh * s + i, ow * s + j, :] += cols[:, oh, ow, i, j, :]
    return xpad


@pytest.mark.parametrize("C", [1, 3, 16, 20])
@pytest.mark.parametrize("OH,OW,KH,KW,s", [(7, 7, 4, 4, 2), (5, 6, 3, 3, 1), (4, 5, 5, 3, 3), (3, 4, 2, 3, 3),
                                           (1, 2, 4, 4, 2), (6, 5, 1, 1, 1)])
def test_col2im_matches_loops(rng, C, OH, OW, KH, KW, s):
    cols = rng.standard_normal((3, OH, OW, KH, KW, C))
    Hp, Wp = s * (OH - 1) + KH + 1, s * (OW - 1) + KW  # one row more than the windows reach
    np.testing.assert_allclose(col2im(cols, Hp, Wp, s), col2im_loops(cols, Hp, Wp, s), rtol=1e-12, atol=1e-12)


def test_model_shapes_and_float32():
    x = np.zeros((4, 1, 28, 28), np.float32)
    y, _ = conv2d_forward(x, np.zeros((64, 1, 4, 4), np.float32), np.zeros(64, np.float32), 2, 1)
    assert y.shape == (4, 64, 14, 14) and y.dtype == np.float32
    z, cache = conv_transpose2d_forward(np.zeros((4, 128, 7, 7), np.float32),
                                        np.zeros((128, 64, 4, 4), np.float32), np.zeros(64, np.float32), 2, 1)
    assert z.shape == (4, 64, 14, 14) and z.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv_transpose2d_backward(np.ones_like(z), cache))
