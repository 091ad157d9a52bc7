"""2-D convolution and transposed convolution, as im2col + one matrix product.

Both ops take and return NCHW arrays. Inside, they work channels-last (NHWC): an im2col
row is then KH*KW whole channel vectors, and the matrix product's result reshapes to NHWC
for free. The NCHW arrays returned are transposed views of NHWC memory.

conv_transpose2d is written as the adjoint of conv2d: its forward is conv2d's
backward-data (a GEMM then col2im), and its backward-data is conv2d's forward
(im2col then a GEMM). Derivations: docs/02-convolution.md.

This module holds the plain forms, one kernel offset at a time, as docs/02 derives them.
tinygan/fast.py holds the forms that run by default (a strided view copied at once,
col2im by disjoint window classes, the batch split over CPU threads), each equal to the
plain one here (tests/test_fast.py).
"""
from typing import NamedTuple

from .backend import get_array_module


def conv_output_size(size, kernel, stride, padding):
    """Output length of a convolution along one axis: floor((size + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_transpose_output_size(size, kernel, stride, padding):
    """Output length of a transposed convolution along one axis: (size - 1) s - 2p + k."""
    return (size - 1) * stride - 2 * padding + kernel


def pad(x, p):
    """Zero-pad the two spatial axes of a channels-last array.  (N, H, W, C) -> (N, H+2p, W+2p, C)"""
    if p == 0:
        return x
    N, H, W, C = x.shape
    out = get_array_module(x).zeros((N, H + 2 * p, W + 2 * p, C), dtype=x.dtype)
    out[:, p:p + H, p:p + W, :] = x
    return out


def im2col(xpad, KH, KW, stride, OH, OW):
    """Gather every receptive field into a row.

    xpad (N, Hp, Wp, C) padded, channels-last  ->  cols (N, OH, OW, KH, KW, C) with
        cols[n, oh, ow, i, j, c] = xpad[n, oh*stride + i, ow*stride + j, c]
    One kernel offset (i, j) at a time: the inputs that offset sees, for every output
    position, are a strided slice of xpad.
    """
    N, _, _, C = xpad.shape
    cols = get_array_module(xpad).empty((N, OH, OW, KH, KW, C), dtype=xpad.dtype)
    hi, wi = stride * (OH - 1) + 1, stride * (OW - 1) + 1      # extent of the slice
    for i in range(KH):
        for j in range(KW):
            cols[:, :, :, i, j, :] = xpad[:, i:i + hi:stride, j:j + wi:stride, :]
    return cols


def col2im(cols, Hp, Wp, stride):
    """The adjoint of im2col: scatter-add every row back to where it was gathered from.

    cols (N, OH, OW, KH, KW, C)  ->  xpad (N, Hp, Wp, C) with
        xpad[n, oh*stride + i, ow*stride + j, c] += cols[n, oh, ow, i, j, c]
    One kernel offset (i, j) at a time, as a slice-add: within one offset the targets are
    distinct (one per output position), and overlaps between offsets, where windows
    share an input, are summed by the loop.
    """
    N, OH, OW, KH, KW, C = cols.shape
    xpad = get_array_module(cols).zeros((N, Hp, Wp, C), dtype=cols.dtype)
    hi, wi = stride * (OH - 1) + 1, stride * (OW - 1) + 1
    for i in range(KH):
        for j in range(KW):
            xpad[:, i:i + hi:stride, j:j + wi:stride, :] += cols[:, :, :, i, j, :]
    return xpad


def _weight_matrix(w):
    """(F, C, KH, KW) -> (KH*KW*C, F), rows in the (i, j, c) order of an im2col row."""
    F, C, KH, KW = w.shape
    return w.transpose(2, 3, 1, 0).reshape(KH * KW * C, F)  # (KH, KW, C, F) -> (KH*KW*C, F)


def _weight_from_matrix(wmat, F, C, KH, KW):
    """Inverse of _weight_matrix: (KH*KW*C, F) -> (F, C, KH, KW)."""
    return wmat.reshape(KH, KW, C, F).transpose(3, 2, 0, 1)  # (KH, KW, C, F) -> (F, C, KH, KW)


# ----------------------------------------------------------------------------- conv2d
class Conv2dCache(NamedTuple):
    cols: object      # (N*OH*OW, KH*KW*C) im2col of the padded input
    wmat: object      # (KH*KW*C, F) weight as a matrix
    x_shape: tuple    # (N, C, H, W)
    w_shape: tuple    # (F, C, KH, KW)
    stride: int
    padding: int


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Cross-correlation, as PyTorch's Conv2d computes it.

    x (N, C, H, W), w (F, C, KH, KW), b (F,)  ->  y (N, F, OH, OW),
        y[n, f, oh, ow] = b[f] + sum_{c,i,j} w[f, c, i, j] * xpad[n, c, oh*s + i, ow*s + j]
    OH = floor((H + 2p - KH) / s) + 1, likewise OW.
    As matrices: y = im2col(x) @ W + b with W (KH*KW*C, F). See docs/02-convolution.md#conv2d.
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = conv_output_size(H, KH, stride, padding)
    OW = conv_output_size(W, KW, stride, padding)
    xpad = pad(x.transpose(0, 2, 3, 1), padding)                 # (N, Hp, Wp, C)
    cols = im2col(xpad, KH, KW, stride, OH, OW)                   # (N, OH, OW, KH, KW, C)
    cols = cols.reshape(N * OH * OW, KH * KW * C)                 # (M, K)
    wmat = _weight_matrix(w)                                      # (K, F)
    y = cols @ wmat                                               # (M, F)
    y += b
    y = y.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)             # (N, F, OH, OW) view of NHWC
    return y, Conv2dCache(cols, wmat, x.shape, w.shape, stride, padding)


def conv2d_backward(dy, cache, need_dw=True, need_dx=True):
    """Given dy = dL/dy (N, F, OH, OW), with cols = im2col(x) (M, K), W (K, F), dY = dy as (M, F):
    dW    = cols.T @ dY         (K, M)(M, F) -> (K, F), reshaped back to (F, C, KH, KW)
    db    = sum over n, oh, ow of dy  -> (F,)
    dcols = dY @ W.T            (M, F)(F, K) -> (M, K)
    dx    = col2im(dcols), padding cropped   (the adjoint of the gather)
    need_dw / need_dx False skip (and return None for) dw, db / dx.
    See docs/02-convolution.md#conv2d.
    """
    N, C, H, W = cache.x_shape
    F, _, KH, KW = cache.w_shape
    s, p = cache.stride, cache.padding
    _, _, OH, OW = dy.shape
    dY = dy.transpose(0, 2, 3, 1).reshape(N * OH * OW, F)         # (M, F)
    dw = db = None
    if need_dw:
        dw = _weight_from_matrix(cache.cols.T @ dY, F, C, KH, KW)  # (F, C, KH, KW)
        db = dY.sum(axis=0)                                       # (F,)
    if not need_dx:
        return None, dw, db
    dcols = (dY @ cache.wmat.T).reshape(N, OH, OW, KH, KW, C)      # (N, OH, OW, KH, KW, C)
    dxpad = col2im(dcols, H + 2 * p, W + 2 * p, s)                # (N, Hp, Wp, C)
    dx = dxpad[:, p:p + H, p:p + W, :].transpose(0, 3, 1, 2)      # (N, C, H, W)
    return dx, dw, db


# ----------------------------------------------------------------------------- conv_transpose2d
class ConvTranspose2dCache(NamedTuple):
    x_mat: object     # (N*H*W, Cin) input, channels-last rows
    wmat: object      # (KH*KW*Cout, Cin) weight as conv2d's matrix
    x_shape: tuple    # (N, Cin, H, W)
    w_shape: tuple    # (Cin, Cout, KH, KW)
    stride: int
    padding: int


def conv_transpose2d_forward(x, w, b, stride=1, padding=0):
    """Transposed convolution, as PyTorch's ConvTranspose2d computes it.

    x (N, Cin, H, W), w (Cin, Cout, KH, KW), b (Cout,)  ->  y (N, Cout, OH, OW),
    OH = (H - 1) s - 2p + KH. It is the adjoint of conv2d with the same weight read as
    (F=Cin, C=Cout, KH, KW): conv2d maps (N, Cout, OH, OW) -> (N, Cin, H, W) and its
    backward-data maps back, which is this forward:
        y = col2im(x_rows @ W.T) + b, W (KH*KW*Cout, Cin) as in conv2d.
    Every input pixel paints a KH x KW patch, weighted by w, into the output.
    See docs/02-convolution.md#conv_transpose2d-the-adjoint-of-conv2d.
    """
    N, Cin, H, W = x.shape
    _, Cout, KH, KW = w.shape
    OH = conv_transpose_output_size(H, KH, stride, padding)
    OW = conv_transpose_output_size(W, KW, stride, padding)
    x_mat = x.transpose(0, 2, 3, 1).reshape(N * H * W, Cin)       # (M, Cin)
    wmat = _weight_matrix(w)                                      # (K, Cin), K = KH*KW*Cout
    cols = (x_mat @ wmat.T).reshape(N, H, W, KH, KW, Cout)        # (N, H, W, KH, KW, Cout)
    ypad = col2im(cols, OH + 2 * padding, OW + 2 * padding, stride)
    y = ypad[:, padding:padding + OH, padding:padding + OW, :] + b  # (N, OH, OW, Cout)
    y = y.transpose(0, 3, 1, 2)                                   # (N, Cout, OH, OW)
    return y, ConvTranspose2dCache(x_mat, wmat, x.shape, w.shape, stride, padding)


def conv_transpose2d_backward(dy, cache, need_dw=True, need_dx=True):
    """Given dy = dL/dy (N, Cout, OH, OW); the adjoint of the forward's col2im is im2col:
    dcols = im2col(dy)          (M, K), M = N*H*W, K = KH*KW*Cout
    dx    = dcols @ W           (M, K)(K, Cin) -> (M, Cin)   (conv2d's forward on dy, no bias)
    dW    = dcols.T @ x_rows    (K, M)(M, Cin) -> (K, Cin), reshaped back to (Cin, Cout, KH, KW)
    db    = sum over n, oh, ow of dy  -> (Cout,)
    need_dw / need_dx False skip (and return None for) dw, db / dx.
    See docs/02-convolution.md#conv_transpose2d-the-adjoint-of-conv2d.
    """
    N, Cin, H, W = cache.x_shape
    _, Cout, KH, KW = cache.w_shape
    s, p = cache.stride, cache.padding
    dypad = pad(dy.transpose(0, 2, 3, 1), p)                     # (N, OH+2p, OW+2p, Cout)
    dcols = im2col(dypad, KH, KW, s, H, W).reshape(N * H * W, KH * KW * Cout)  # (M, K)
    dx = None
    if need_dx:
        dx = (dcols @ cache.wmat).reshape(N, H, W, Cin).transpose(0, 3, 1, 2)  # (N, Cin, H, W)
    dw = db = None
    if need_dw:
        dw = _weight_from_matrix(dcols.T @ cache.x_mat, Cin, Cout, KH, KW)   # (Cin, Cout, KH, KW)
        db = dy.sum(axis=(0, 2, 3))                               # (Cout,)
    return dx, dw, db
