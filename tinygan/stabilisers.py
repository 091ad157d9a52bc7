"""Layers that go beyond the InfoGAN papers, to keep the GAN game healthy; each is an option
of InfoGANConfig (off by default) and measured in docs/08-cryptopunks.md.

Minibatch standard deviation (Karras et al., "Progressive Growing of GANs", 2018). D judges
one image at a time, so a G that draws only a few different images, each of them
convincing, goes unseen: nothing in one image says that the batch lacks variety. This layer
gives every image a number that does: the spread of the batch around it. The batch is cut
into groups of `group` images (n = m * group + g: group m, member g); for each group m

    mu_m   = (1/G) sum_g x_mg                          (C, H, W)  the group's mean image
    sd_m   = sqrt((1/G) sum_g (x_mg - mu_m)^2 + eps)   (C, H, W)  its spread at each value
    s_m    = (1/(C H W)) sum_chw sd_m[c, h, w]         ()         one number for the group

and s_m is appended to each member's map as one more channel, constant over (h, w):
y_mg = concat(x_mg, s_m), (C + 1, H, W). A G that draws the same image twice in a group
lowers s_m toward sqrt(eps); real groups never do.

Why groups, and not one number for the whole batch: D's next layers are FC and BatchNorm,
and BatchNorm subtracts the batch mean of every feature. A value that is the same for
every image of the batch moves every image's FC output by the same amount, and the mean
subtraction removes it exactly: with one group per batch D could not see the layer at all
(tests/test_stabilisers.py checks this). Groups give different images different values,
which survive.

Backward. y's first C channels are x, so dL/dx gets dy[:, :C] unchanged. The extra channel
of each member of group m, at each (h, w), is s_m, so dL/ds_m = sum_g sum_hw dy_mg[C, h, w].
Since sum_g (x_mg - mu_m) = 0, the dependence of mu_m on x drops out of the variance's
derivative: d var_m / d x_mg = (2/G) (x_mg - mu_m), elementwise, and so

    d s_m / d x_mg = (x_mg - mu_m) / (G * C*H*W * sd_m)      (elementwise over (c, h, w))
    dL/dx_mg = dy_mg[:C] + dL/ds_m * (x_mg - mu_m) / (G * C*H*W * sd_m).

A batch whose size is not a multiple of `group` ends with one shorter group (a group of one
has no spread: its s is sqrt(eps)); training batches should be multiples of `group`.
"""
from . import backend
from .layers import Module

EPS = 1e-8


def _group_forward(xg):
    """xg (M, G, C, H, W): groups of G images -> (s (M,), cache)."""
    G = xg.shape[1]
    xp = backend.get_array_module(xg)
    d = xg - xg.mean(axis=1, keepdims=True)                   # (M, G, C, H, W)  x_mg - mu_m
    sd = xp.sqrt((d * d).mean(axis=1, keepdims=True) + EPS)   # (M, 1, C, H, W)
    s = sd.reshape(sd.shape[0], -1).mean(axis=1)              # (M,)
    return s, (d, sd, G)


def _group_backward(ds, cache):
    """ds (M,): dL/ds_m -> dL/dx through s only, (M, G, C, H, W)."""
    d, sd, G = cache
    chw = d[0, 0].size
    return ds[:, None, None, None, None] * d / (G * chw * sd)


def _groups(N, group):
    """The batch's groups as (start, stop, size): full groups of `group`, then the rest."""
    full = (N // group) * group
    parts = [(0, full, group)] if full else []
    if full < N:
        parts.append((full, N, N - full))
    return parts


def minibatch_std_forward(x, group):
    """x (N, C, H, W) -> y (N, C + 1, H, W): x with each group's spread s_m as one more
    channel (the module docstring derives it). Returns (y, cache)."""
    xp = backend.get_array_module(x)
    N, C, H, W = x.shape
    feature = xp.empty((N, 1, H, W), dtype=x.dtype)                   # s_m of each image's group
    caches = []
    for start, stop, G in _groups(N, group):
        s, cache = _group_forward(x[start:stop].reshape(-1, G, C, H, W))
        feature[start:stop] = xp.repeat(s, G)[:, None, None, None]
        caches.append((start, stop, G, cache))
    y = xp.concatenate([x, feature], axis=1)                          # (N, C + 1, H, W)
    return y, (x.shape, caches)


def minibatch_std_backward(dy, cache):
    """dy (N, C + 1, H, W) -> dx (N, C, H, W)."""
    shape, caches = cache
    N, C, H, W = shape
    dx = dy[:, :C].copy()                                             # the identity part
    for start, stop, G, group_cache in caches:
        ds = dy[start:stop, C].reshape(-1, G, H * W).sum(axis=(1, 2))  # (M,)  dL/ds_m
        dx[start:stop] += _group_backward(ds, group_cache).reshape(-1, C, H, W)
    return dx


class MinibatchStd(Module):
    """(N, C, H, W) -> (N, C + 1, H, W): appends the spread of each image's group of
    `group` images (module docstring). No parameters."""

    def __init__(self, group=4):
        super().__init__()
        if group < 2:
            raise ValueError(f"MinibatchStd: group must be >= 2, got {group}")
        self.group = group

    def forward(self, x):
        if x.ndim != 4:
            raise self._shape_error("(N, C, H, W)", x)
        y, self._cache = minibatch_std_forward(x, self.group)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        return minibatch_std_backward(dy, self._take_cache())

    def __repr__(self):
        return f"MinibatchStd(group={self.group})"
