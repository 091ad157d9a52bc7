"""The fast forms: what tinygan runs by default, each equal to a plain function of
tinygan.ops, tinygan.conv, tinygan.batchnorm or tinygan.optim, which hold the formulas as docs/01-05
derive them. tests/test_fast.py checks every pair equal (forward, backward and optimiser
steps; float32 and float64; arrays larger than a cache block; transposed and strided inputs).

The switch: backend.set_fast(False), or TINYGAN_PLAIN=1 in the environment, makes every
function here run its plain form instead. On a GPU the plain whole-array forms are the fast
ones already (each array operation is one kernel launch, and these CPU tricks only add
launches), so most functions here run the plain form on CuPy too; where a GPU has a faster
form of its own (sigmoid, Adam over one flat buffer) it is here and says so.

What makes a NumPy op slow on a 2-core CPU, and what is done about it:
- an elementwise pass over a large array runs on one core, and several passes each go out
  to memory: the passes run block by block (threads.blocked: blocks that fit in cache,
  shared out over CPU threads);
- a reduction or broadcast over few columns (64 channels) runs one short inner loop per
  row: the rows are viewed as "wide" rows of about WIDE values;
- NumPy's `where` and bool operands take slow casting paths: max(x, slope x) and copyto.
"""
import math
from typing import NamedTuple

import numpy as np

from . import backend
from .backend import get_array_module
from .threads import BLOCK, blocked, parallel_for
from . import batchnorm as plain_bn
from . import conv as plain_conv
from . import ops as plain_ops
from . import spectral as plain_spectral
from .conv import Conv2dCache, ConvTranspose2dCache, conv_output_size, conv_transpose_output_size
from . import optim as plain_optim


def _on(x):
    """True when the fast CPU form should run for x: the switch is on and x is a NumPy array."""
    return backend.fast_enabled() and get_array_module(x) is np


# ----------------------------------------------------------------------------- column sums
WIDE = 1024  # target width, in values, of a "wide" row


def wide_factor(M, C):
    """k such that (M, C) rows can be viewed as (M / k, k*C): gcd(M, WIDE // C), which is
    WIDE // C whenever M is a multiple of it (M = N*H*W for the conv layers)."""
    return math.gcd(M, max(1, WIDE // C))


def column_sums(r):
    """Equals r.sum(axis=0) for r (M, C).

    With few columns NumPy's axis-0 sum runs one C-long inner loop per row, and the loop
    overhead costs more than the additions. Fast form: r viewed as (M / k, k*C) wide rows
    (k = wide_factor(M, C)), summed down, and the k partial sums of each column added.
    """
    M, C = r.shape
    k = wide_factor(M, C)
    if k == 1 or not _on(r):
        return r.sum(axis=0)
    return r.reshape(M // k, k * C).sum(axis=0).reshape(k, C).sum(axis=0)


# ----------------------------------------------------------------------------- linear
def linear_backward(dy, cache, need_dw=True, need_dx=True, dw_out=None):
    """Equals ops.linear_backward. dw_out, a (D, M) array (the layer's gradient, right after
    zero_grad), receives x.T @ dy directly: no new array, and no copy into the grads."""
    if not backend.fast_enabled() or dw_out is None or not need_dw:
        return plain_ops.linear_backward(dy, cache, need_dw, need_dx)
    xp = get_array_module(dy)
    dx = dy @ cache.w.T if need_dx else None
    return dx, xp.matmul(cache.x.T, dy, out=dw_out), dy.sum(axis=0)


class SpectralLinearCache(NamedTuple):
    x: object       # (N, D) input
    w: object       # (D, M) the weight before normalising
    y0: object      # (N, M) x @ w
    u: object       # (M,) the unit vector of the forward
    v: object       # (D,) w u / sigma
    sigma: object   # ||w u||, a 0-d array


def spectral_linear_forward(x, w, b, u):
    """Equals ops.linear_forward(x, w_bar, b), w_bar the transpose of
    spectral.spectral_normalise_forward(w.T, u)'s output (SpectralLinear's plain form), without
    making w_bar: y = (x @ w) / sigma + b, sigma = ||w u||."""
    if not backend.fast_enabled():
        a_bar, sn = plain_spectral.spectral_normalise_forward(w.T, u)
        y, cache = plain_ops.linear_forward(x, a_bar.T, b)
        return y, (cache, sn)
    xp = get_array_module(x)
    t = w @ u                                                     # (D,)
    sigma = xp.sqrt((t * t).sum())
    y0 = x @ w                                                    # (N, M)
    y = y0 / sigma
    y += b
    return y, SpectralLinearCache(x=x, w=w, y0=y0, u=u, v=t / sigma, sigma=sigma)


def spectral_linear_backward(dy, cache, need_dw=True, need_dx=True, dw_out=None):
    """Equals the plain form: ops.linear_backward for w_bar, then spectral_normalise_backward.
    With G = x.T @ dy (dL/dw_bar) and <G, w_bar> = sum(dy * y0) / sigma, the plain
        dw = (G - <G, w_bar> v u^T) / sigma = x.T @ (dy / sigma) - k v u^T,   k = sum(dy * y0) / sigma^2,
    is one product of the inputs with v appended as a row and the scaled dy with -k u
    appended: [x; v].T @ [dy / sigma; -k u]. No (D, M) pass besides the product itself; dw_out
    (the layer's gradient, right after zero_grad) receives it."""
    if not backend.fast_enabled():
        cache, sn = cache
        dx, dw_bar, db = plain_ops.linear_backward(dy, cache, need_dw, need_dx)
        dw = plain_spectral.spectral_normalise_backward(dw_bar.T, sn).T if need_dw else None
        return dx, dw, db
    xp = get_array_module(dy)
    dys = dy / cache.sigma                                        # (N, M)
    dx = dys @ cache.w.T if need_dx else None
    if not need_dw:
        return dx, None, None
    k = (dy * cache.y0).sum() / (cache.sigma * cache.sigma)
    xa = xp.concatenate([cache.x, cache.v[None, :].astype(cache.x.dtype)])          # (N + 1, D)
    da = xp.concatenate([dys, (-k * cache.u)[None, :].astype(dys.dtype)])          # (N + 1, M)
    dw = xp.matmul(xa.T, da, out=dw_out) if dw_out is not None else xa.T @ da
    return dx, dw, dy.sum(axis=0)


# ----------------------------------------------------------------------------- activations
# The ReLUs keep their output y, not a mask, as the plain forms do; their passes run block
# by block over threads.
def relu_forward(x):
    """Equals ops.relu_forward."""
    if not _on(x):
        return plain_ops.relu_forward(x)
    y = np.empty_like(x)
    blocked(lambda yb, xb: np.maximum(xb, 0, out=yb), y, x)
    return y, plain_ops.ReluCache(y=y)


def relu_backward(dy, cache):
    """Equals ops.relu_backward: dy * [y > 0]."""
    if not _on(dy):
        return plain_ops.relu_backward(dy, cache)
    dx = np.empty_like(cache.y)                   # the forward's memory layout

    def fn(db, gb, yb):
        np.copyto(db, yb > 0)                     # [y > 0] as 0. / 1. (a bool operand in a
        db *= gb                                  # product would take NumPy's slow casting path)
    blocked(fn, dx, dy, cache.y)
    return dx


def leaky_relu_forward(x, slope=0.2):
    """Equals ops.leaky_relu_forward. For 0 <= slope <= 1, where(x > 0, x, slope x) equals
    max(x, slope x), which NumPy computes about 10x faster (two fast ufuncs, one buffer)."""
    if not _on(x):
        return plain_ops.leaky_relu_forward(x, slope)
    if not 0 <= slope <= 1:
        raise ValueError(f"leaky_relu: slope must be in [0, 1], got {slope}")
    y = np.empty_like(x)

    def fn(yb, xb):
        np.multiply(xb, slope, out=yb)
        np.maximum(xb, yb, out=yb)
    blocked(fn, y, x)
    return y, plain_ops.LeakyReluCache(y=y, slope=slope)


def leaky_relu_backward(dy, cache):
    """Equals ops.leaky_relu_backward: dy * (slope + (1 - slope) [y > 0])."""
    if not _on(dy):
        return plain_ops.leaky_relu_backward(dy, cache)
    dx = np.empty_like(cache.y)                   # the forward's memory layout
    s = cache.slope

    def fn(db, gb, yb):
        np.copyto(db, yb > 0)                     # [y > 0] as 0. / 1.
        db *= 1 - s
        db += s
        db *= gb
    blocked(fn, dx, dy, cache.y)
    return dx


def sigmoid(x):
    """Equals ops.sigmoid. On a GPU computed as 0.5 tanh(x / 2) + 0.5, the same value and
    stable too, in three kernel launches instead of eight; on a CPU the plain form."""
    xp = get_array_module(x)
    if xp is np or not backend.fast_enabled():
        return plain_ops.sigmoid(x)
    y = xp.tanh(x * 0.5)
    y *= 0.5
    y += 0.5
    return y


def sigmoid_forward(x):
    """Equals ops.sigmoid_forward."""
    y = sigmoid(x)
    return y, plain_ops.OutputCache(y=y)


# ----------------------------------------------------------------------------- convolutions
# The same compositions as conv.py's four functions, with the faster pieces below. These
# run on the GPU too: there every slice-add of the plain im2col / col2im is a kernel
# launch, and the forms here make one (im2col) or gh * gw (col2im) instead of KH * KW.
def pad(x, p):
    """Equals conv.pad. On a CPU only the border is zeroed (the inside is written once)."""
    if p == 0 or not _on(x):
        return plain_conv.pad(x, p)
    N, H, W, C = x.shape
    out = np.empty((N, H + 2 * p, W + 2 * p, C), dtype=x.dtype)
    out[:, :p] = 0
    out[:, p + H:] = 0
    out[:, p:p + H, :p] = 0
    out[:, p:p + H, p + W:] = 0
    out[:, p:p + H, p:p + W, :] = x
    return out


def im2col(xpad, KH, KW, stride, OH, OW):
    """Equals conv.im2col. The 6-D gather is a strided *view* of xpad (no data moves),
    materialised by one copy (2.5x faster on the 64->128 conv), the batch split over CPU
    threads:  windows[n, oh, ow, i, j, c] = xpad[n, oh*stride + i, ow*stride + j, c]."""
    if not backend.fast_enabled():
        return plain_conv.im2col(xpad, KH, KW, stride, OH, OW)
    xp = get_array_module(xpad)
    N, _, _, C = xpad.shape
    sn, sh, sw, sc = xpad.strides                                 # bytes
    windows = xp.lib.stride_tricks.as_strided(
        xpad, shape=(N, OH, OW, KH, KW, C), strides=(sn, stride * sh, stride * sw, sh, sw, sc))
    cols = xp.empty((N, OH, OW, KH, KW, C), dtype=xpad.dtype)

    def gather(n0, n1):                                           # samples n0..n1-1, one thread
        cols[n0:n1] = windows[n0:n1]
    parallel_for(gather, N)
    return cols


def col2im(cols, Hp, Wp, stride):
    """Equals conv.col2im. The plain form's inner loop is only C values long. Here whole
    windows are added instead: windows of outputs (oh, ow) and (oh + gh, ow + gw),
    gh = ceil(KH / stride), never overlap, so the outputs split into gh * gw classes
    (oh mod gh, ow mod gw) whose windows are disjoint; each class is one slice-add of its
    (KH, KW, C) windows into a strided view of xpad, with KW*C-long inner loops (about 2x
    faster on the 64-channel layers). When C < 16 the per-offset form is the faster one on
    a CPU and runs, threaded. Samples are independent: the batch is split over threads."""
    if not backend.fast_enabled():
        return plain_conv.col2im(cols, Hp, Wp, stride)
    xp = get_array_module(cols)
    N, OH, OW, KH, KW, C = cols.shape
    xpad = xp.zeros((N, Hp, Wp, C), dtype=cols.dtype)
    s = stride
    if C < 16 and xp is np:
        hi, wi = s * (OH - 1) + 1, s * (OW - 1) + 1

        def scatter(n0, n1):                                      # samples n0..n1-1, one thread
            for i in range(KH):
                for j in range(KW):
                    xpad[n0:n1, i:i + hi:s, j:j + wi:s, :] += cols[n0:n1, :, :, i, j, :]
    else:
        gh, gw = -(-KH // s), -(-KW // s)                         # window classes per axis
        sn, sh, sw, sc = xpad.strides                             # bytes

        def scatter(n0, n1):                                      # samples n0..n1-1, one thread
            for ah in range(min(gh, OH)):
                for aw in range(min(gw, OW)):
                    src = cols[n0:n1, ah::gh, aw::gw]             # (n, A, B, KH, KW, C)
                    # dst[n, a, b, i, j, c] = xpad[n, s*(ah + gh*a) + i, s*(aw + gw*b) + j, c]
                    dst = xp.lib.stride_tricks.as_strided(
                        xpad[n0:n1, s * ah:, s * aw:], shape=src.shape,
                        strides=(sn, s * gh * sh, s * gw * sw, sh, sw, sc))
                    dst += src
    parallel_for(scatter, N)
    return xpad


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Equals conv.conv2d_forward (the same steps, with the pieces above)."""
    if not backend.fast_enabled():
        return plain_conv.conv2d_forward(x, w, b, stride, padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = conv_output_size(H, KH, stride, padding)
    OW = conv_output_size(W, KW, stride, padding)
    xpad = pad(x.transpose(0, 2, 3, 1), padding)                  # (N, Hp, Wp, C)
    cols = im2col(xpad, KH, KW, stride, OH, OW).reshape(N * OH * OW, KH * KW * C)   # (M, K)
    wmat = plain_conv._weight_matrix(w)                           # (K, F)
    y = cols @ wmat                                               # (M, F)
    y += b
    y = y.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)             # (N, F, OH, OW) view of NHWC
    return y, Conv2dCache(cols, wmat, x.shape, w.shape, stride, padding)


def conv2d_backward(dy, cache, need_dw=True, need_dx=True):
    """Equals conv.conv2d_backward."""
    if not backend.fast_enabled():
        return plain_conv.conv2d_backward(dy, cache, need_dw, need_dx)
    N, C, H, W = cache.x_shape
    F, _, KH, KW = cache.w_shape
    s, p = cache.stride, cache.padding
    _, _, OH, OW = dy.shape
    dY = dy.transpose(0, 2, 3, 1).reshape(N * OH * OW, F)         # (M, F)
    dw = db = None
    if need_dw:
        dw = plain_conv._weight_from_matrix(cache.cols.T @ dY, F, C, KH, KW)
        db = column_sums(dY)                                      # (F,)
    if not need_dx:
        return None, dw, db
    dcols = (dY @ cache.wmat.T).reshape(N, OH, OW, KH, KW, C)
    dxpad = col2im(dcols, H + 2 * p, W + 2 * p, s)                # (N, Hp, Wp, C)
    return dxpad[:, p:p + H, p:p + W, :].transpose(0, 3, 1, 2), dw, db


def conv_transpose2d_forward(x, w, b, stride=1, padding=0):
    """Equals conv.conv_transpose2d_forward."""
    if not backend.fast_enabled():
        return plain_conv.conv_transpose2d_forward(x, w, b, stride, padding)
    N, Cin, H, W = x.shape
    _, Cout, KH, KW = w.shape
    OH = conv_transpose_output_size(H, KH, stride, padding)
    OW = conv_transpose_output_size(W, KW, stride, padding)
    x_mat = x.transpose(0, 2, 3, 1).reshape(N * H * W, Cin)       # (M, Cin)
    wmat = plain_conv._weight_matrix(w)                           # (K, Cin)
    cols = (x_mat @ wmat.T).reshape(N, H, W, KH, KW, Cout)
    ypad = col2im(cols, OH + 2 * padding, OW + 2 * padding, stride)
    y = ypad[:, padding:padding + OH, padding:padding + OW, :] + b  # (N, OH, OW, Cout)
    return y.transpose(0, 3, 1, 2), ConvTranspose2dCache(x_mat, wmat, x.shape, w.shape, stride, padding)


def conv_transpose2d_backward(dy, cache, need_dw=True, need_dx=True):
    """Equals conv.conv_transpose2d_backward."""
    if not backend.fast_enabled():
        return plain_conv.conv_transpose2d_backward(dy, cache, need_dw, need_dx)
    N, Cin, H, W = cache.x_shape
    _, Cout, KH, KW = cache.w_shape
    s, p = cache.stride, cache.padding
    dypad = pad(dy.transpose(0, 2, 3, 1), p)                      # (N, OH+2p, OW+2p, Cout)
    dcols = im2col(dypad, KH, KW, s, H, W).reshape(N * H * W, KH * KW * Cout)  # (M, K)
    dx = (dcols @ cache.wmat).reshape(N, H, W, Cin).transpose(0, 3, 1, 2) if need_dx else None
    dw = db = None
    if need_dw:
        dw = plain_conv._weight_from_matrix(dcols.T @ cache.x_mat, Cin, Cout, KH, KW)
        db = column_sums(dy.transpose(0, 2, 3, 1).reshape(-1, Cout))   # (Cout,)
    return dx, dw, db


# ----------------------------------------------------------------------------- batchnorm
# The math is per channel over rows r (M, C). With few channels (64 here) NumPy's
# per-channel reductions and row-broadcast ufuncs run one short inner loop per row, and
# that loop overhead costs more than the arithmetic. So the passes are written as:
#   r.sum(axis=0)              -> column_sums(r): the same additions on wide rows
#   (a * b).sum(axis=0)        -> einsum("ij,ij->j", a, b), no temporary
#   a * u + v (u, v per channel) on "wide" rows: r viewed as (M / k, k*C) with u, v tiled
#                                 k times, so each inner loop is k*C values long, done on
#                                 cache-sized blocks of rows shared out over CPU threads.
def _column_dots(a, b):
    """(a * b).sum(axis=0) for a, b (M, C), without the (M, C) temporary."""
    return np.einsum("ij,ij->j", a, b)


def _affine(out, terms, const):
    """out = sum of a * u over (a, u) in terms, + const; a (M, C) arrays, u and const (C,);
    u None means 1. Blocked and threaded (see the note above)."""
    M, C = out.shape
    k = wide_factor(M, C)
    rows = M // k
    wide = lambda a: a.reshape(rows, k * C)                           # noqa: E731 a view when contiguous
    o = wide(out)
    ts = [(wide(a), None if u is None else np.tile(u, k)) for a, u in terms]
    cst = np.tile(const, k)
    step = max(1, BLOCK // (k * C))

    def run(i0, i1):                                                  # wide rows i0..i1-1, one thread
        tmp = np.empty((min(step, i1 - i0), k * C), dtype=out.dtype) if len(ts) > 1 else None
        for s in range(i0, i1, step):
            e = min(s + step, i1)
            ob = o[s:e]
            a, u = ts[0]
            if u is None:
                np.add(a[s:e], cst, out=ob)
            else:
                np.multiply(a[s:e], u, out=ob)
                ob += cst
            for a, u in ts[1:]:
                tb = tmp[:e - s]
                np.multiply(a[s:e], u, out=tb)
                ob += tb
    parallel_for(run, rows, min_size=step)
    return out


def batchnorm_forward(x, gamma, beta, eps=1e-5, running_mean=None, running_var=None):
    """Equals batchnorm.batchnorm_forward (same cache), with the passes above."""
    if not _on(x):
        return plain_bn.batchnorm_forward(x, gamma, beta, eps, running_mean, running_var)
    training = running_mean is None
    if training != (running_var is None):
        raise ValueError("batchnorm_forward: give both running_mean and running_var (evaluation) or neither (training)")
    r = plain_bn._rows(x)                                         # (M, C)
    M = r.shape[0]
    mean = column_sums(r) / M if training else running_mean       # (C,)
    xc = _affine(np.empty(r.shape, dtype=r.dtype), [(r, None)], -mean)  # (M, C) x - mu
    var = _column_dots(xc, xc) / M if training else running_var   # (C,) biased
    inv_std = 1 / np.sqrt(var + eps)                              # (C,)
    y = _affine(np.empty_like(xc), [(xc, gamma * inv_std)], beta)  # gamma xhat + beta
    y = plain_bn._unrows(y, x.shape)
    return y, plain_bn.BatchNormCache(xc, gamma, inv_std, x.shape, training, mean, var)


def batchnorm_backward(dy, cache):
    """Equals batchnorm.batchnorm_backward, computed as dx = a dy + b (x - mu) + c with
    per-channel a = gamma inv_std, b = -a inv_std dgamma / m, c = -a dbeta / m."""
    if not _on(dy):
        return plain_bn.batchnorm_backward(dy, cache)
    g = plain_bn._rows(dy)                                        # (M, C)
    xc, inv_std = cache.xc, cache.inv_std
    m = g.shape[0]
    dbeta = column_sums(g)                                        # (C,)
    dgamma = _column_dots(g, xc) * inv_std                        # (C,) sum dy * xhat
    a = cache.gamma * inv_std                                     # (C,)
    dx = np.empty(g.shape, dtype=g.dtype)
    if cache.training:
        _affine(dx, [(g, a), (xc, -a * inv_std * dgamma / m)], -a * dbeta / m)
    else:
        _affine(dx, [(g, a)], np.zeros_like(a))
    return plain_bn._unrows(dx, cache.shape), dgamma, dbeta


# ----------------------------------------------------------------------------- Adam
class FastAdam(plain_optim.Adam):
    """Equals optim.Adam, with the moments stored as discounted sums G = m / (1 - b1) and
    G2 = v / (1 - b2), which update with one multiply-add fewer each (G <- b1 G + g;
    G2 <- b2 G2 + g^2); then
        p <- p - lr' * G / (sqrt(G2) + eps'),
        lr'  = lr (1 - b1) / (1 - b1^t) * sqrt(1 - b2^t) / sqrt(1 - b2),
        eps' = eps * sqrt(1 - b2^t) / sqrt(1 - b2),
    the same update, in ten in-place passes per cache block (_adam_update).

    flat: optionally a layers.FlatParams whose views `params` and `grads` are (all of them,
    and nothing else): each step then updates the flat buffers whole, ten passes in all
    instead of ten per parameter (on a GPU, ten kernel launches instead of 320).
    """

    def __init__(self, params, grads, lr=2e-4, betas=(0.5, 0.999), eps=1e-8, flat=None):
        super().__init__(params, grads, lr, betas, eps)
        del self.m, self.v                             # this form keeps the sums instead
        self.flat = flat
        if flat is None:
            self.g_sum = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}   # m / (1 - b1)
            self.g2_sum = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}  # v / (1 - b2)
            return
        if (sum(p.size for p in params.values()) != flat.params.size
                or any(id(p) not in flat.starts for p in params.values())):
            raise ValueError("Adam: flat must hold exactly these parameters and gradients (views of its buffers)")
        xp = get_array_module(flat.params)
        self._g_sum_flat, self._g2_sum_flat = xp.zeros_like(flat.params), xp.zeros_like(flat.params)
        self.g_sum, self.g2_sum = {}, {}
        for k, p in params.items():                    # the per-parameter state: views of the flat state
            start = flat.starts[id(p)]
            self.g_sum[k] = self._g_sum_flat[start:start + p.size].reshape(p.shape)
            self.g2_sum[k] = self._g2_sum_flat[start:start + p.size].reshape(p.shape)

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        c2 = math.sqrt(1 - b2 ** self.t) / math.sqrt(1 - b2)
        lr_t = self.lr * (1 - b1) / (1 - b1 ** self.t) * c2
        if self.flat is not None:
            _adam_update(self.flat.params, self.flat.grads, self._g_sum_flat, self._g2_sum_flat,
                         b1, b2, lr_t, self.eps * c2)
            return
        for k, p in self.params.items():               # in place on p itself, whatever its layout
            _adam_update(p, self.grads[k], self.g_sum[k], self.g2_sum[k], b1, b2, lr_t, self.eps * c2)

    def state_dict(self):
        """{"t", "g_sum", "g2_sum"}: the stored sums as they are, so a resumed run is exact."""
        return {"t": self.t,
                "g_sum": {k: backend.to_numpy(a) for k, a in self.g_sum.items()},
                "g2_sum": {k: backend.to_numpy(a) for k, a in self.g2_sum.items()}}

    def load_state_dict(self, state):
        """Restore from state_dict()'s output, or from optim.Adam's (and PyTorch's) moments
        {"t", "m", "v"} (m = (1 - b1) g_sum, v = (1 - b2) g2_sum)."""
        b1, b2 = self.betas
        if "g_sum" in state:
            sums, sums2, s1, s2 = state["g_sum"], state["g2_sum"], 1.0, 1.0
        else:
            sums, sums2, s1, s2 = state["m"], state["v"], 1 / (1 - b1), 1 / (1 - b2)
        plain_optim.check_state_keys(sums, self.g_sum)
        self.t = int(state["t"])
        for k in self.g_sum:
            xp = get_array_module(self.g_sum[k])
            self.g_sum[k][...] = xp.asarray(sums[k]) * s1
            self.g2_sum[k][...] = xp.asarray(sums2[k]) * s2


def _adam_update(p, g, g_sum, g2_sum, b1, b2, lr_t, eps_t):
    """FastAdam's update of one parameter p (and its sums, laid out like p) in place:
        g_sum = b1 g_sum + g;  g2_sum = b2 g2_sum + g^2;  p = p - lr_t * g_sum / (sqrt(g2_sum) + eps_t)
    Written as ten in-place ufunc passes per cache-sized block with one scratch block
    (backend.blocked, which shares the blocks out over CPU threads): the form above makes
    several full-size temporaries and passes over memory; this reads p, g, g_sum, g2_sum
    once and writes p, g_sum, g2_sum once. On a GPU the whole array is one block.
    """
    xp = get_array_module(p)

    def fn(pc, gc, mc, vc):                        # one block of each; all four share a layout
        tc = xp.empty_like(gc)                     # scratch
        mc *= b1
        mc += gc                                   # g_sum = b1 g_sum + g
        xp.multiply(gc, gc, out=tc)
        vc *= b2
        vc += tc                                   # g2_sum = b2 g2_sum + g^2
        xp.sqrt(vc, out=tc)
        tc += eps_t
        xp.divide(mc, tc, out=tc)
        tc *= lr_t
        pc -= tc                                   # p -= lr_t g_sum / (sqrt(g2_sum) + eps_t)
    blocked(fn, p, g, g_sum, g2_sum)


def average_update(avg, w, beta_t):
    """Equals average.average_update (avg <- beta_t avg + (1 - beta_t) w, in place), the
    same two passes in the same order, so bit for bit: run block by block over threads, the
    scaled w of each block a cache-sized scratch instead of a full-size temporary. G's
    running average updates 5 million weights after every step of the punks' default; the
    plain form makes a 20 MB temporary and four passes over memory on one core."""
    if not _on(avg):
        from .average import average_update as plain_average_update   # here: average imports fast
        plain_average_update(avg, w, beta_t)
        return

    def fn(ac, wc):
        tc = np.multiply(wc, 1 - beta_t)           # (1 - beta_t) w, one block
        ac *= beta_t
        ac += tc
    blocked(fn, avg, w)


def adam(params, grads, lr=2e-4, betas=(0.5, 0.999), eps=1e-8, flat=None):
    """The Adam that tinygan trains with: FastAdam (over `flat` when given) when the fast
    forms are on, the plain optim.Adam otherwise."""
    if backend.fast_enabled():
        return FastAdam(params, grads, lr, betas, eps, flat)
    return plain_optim.Adam(params, grads, lr, betas, eps)
