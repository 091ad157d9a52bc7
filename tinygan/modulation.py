"""Self-modulation of G's BatchNorm layers (Chen et al. 2019, "On self modulation for
generative adversarial networks"), beyond the InfoGAN papers: after each of G's BatchNorm
layers, every channel is scaled and shifted by an amount that the latent vector decides,

    s = l @ ws + bs,     t = l @ wt + bt          l (N, L), ws, wt (L, C), bs, bt (C,)
    out = y * (1 + s) + t                         y (N, C) or (N, C, H, W), s and t per channel

so that a global choice (a punk's skin tone, its type) can be made once per image and applied
at every position of a feature map, rather than reached separately at each position through
the first layers. With ws, bs, wt, bt at zero the layer is the identity, and a modulated G
starts as the plain G. Used in G when InfoGANConfig.g_modulation is set
(docs/06-infogan.md derives it; docs/08-cryptopunks.md measures it).

Gradient. For dout = dL/dout, summing over the positions p of each channel (none for (N, C)):

    dy = dout * (1 + s)                       (same shape as y)
    ds[n, c] = sum_p dout[n, c, p] y[n, c, p] (N, C)
    dt[n, c] = sum_p dout[n, c, p]            (N, C)
    dws = l.T @ ds,  dbs = sum_n ds,  dwt = l.T @ dt,  dbt = sum_n dt
    dl  = ds @ ws.T + dt @ wt.T               (N, L)
"""
from typing import NamedTuple

from .layers import Module, Sequential, _full


class ModulationCache(NamedTuple):
    y: object        # (N, C) or (N, C, H, W) the input
    latent: object   # (N, L)
    scale: object    # (N, C) 1 + s
    ws: object       # (L, C)
    wt: object       # (L, C)


def _per_channel(a, ndim):
    """(N, C) -> broadcastable against an (N, C) or (N, C, H, W) array."""
    return a if ndim == 2 else a[:, :, None, None]                     # (N, C, 1, 1)


def modulate_forward(y, latent, ws, bs, wt, bt):
    """out = y * (1 + latent @ ws + bs) + (latent @ wt + bt), per sample and channel.
    y (N, C) or (N, C, H, W), latent (N, L), ws, wt (L, C), bs, bt (C,)  ->  out, like y."""
    scale = 1 + latent @ ws + bs                                       # (N, L)(L, C) -> (N, C)
    shift = latent @ wt + bt                                           # (N, C)
    out = y * _per_channel(scale, y.ndim) + _per_channel(shift, y.ndim)
    return out, ModulationCache(y, latent, scale, ws, wt)


def modulate_backward(dout, cache, need_latent_grad=True):
    """Given dout = dL/dout (like y): (dy, dlatent, dws, dbs, dwt, dbt), as the module
    docstring derives; dlatent is None when not needed (G's latent is an input, not trained)."""
    y, latent = cache.y, cache.latent
    dy = dout * _per_channel(cache.scale, y.ndim)
    ds = dout * y if y.ndim == 2 else (dout * y).sum(axis=(2, 3))       # (N, C)
    dt = dout if y.ndim == 2 else dout.sum(axis=(2, 3))                  # (N, C)
    dlatent = ds @ cache.ws.T + dt @ cache.wt.T if need_latent_grad else None   # (N, C)(C, L) -> (N, L)
    return dy, dlatent, latent.T @ ds, ds.sum(axis=0), latent.T @ dt, dt.sum(axis=0)


class Modulation(Module):
    """The op above as a layer: forward(y, latent); params ws, bs, wt, bt, all zero at the
    start (the identity). backward(dout) returns dy; with need_latent_grad it also keeps
    dL/dlatent in `dlatent`, for the ModulatedSequential that feeds it the latent."""

    def __init__(self, latent_dim, num_features):
        super().__init__()
        self.latent_dim, self.num_features = latent_dim, num_features
        self.params = {"ws": _full((latent_dim, num_features), 0.0), "bs": _full((num_features,), 0.0),
                       "wt": _full((latent_dim, num_features), 0.0), "bt": _full((num_features,), 0.0)}
        self._init_grads()
        self.dlatent = None

    def forward(self, y, latent):
        if y.ndim not in (2, 4) or y.shape[1] != self.num_features:
            raise self._shape_error(f"(N, {self.num_features}) or (N, {self.num_features}, H, W)", y)
        if latent.ndim != 2 or latent.shape != (y.shape[0], self.latent_dim):
            raise self._shape_error(f"a latent ({y.shape[0]}, {self.latent_dim})", latent)
        out, self._cache = modulate_forward(y, latent, self.params["ws"], self.params["bs"],
                                            self.params["wt"], self.params["bt"])
        return out

    def backward(self, dout, need_param_grads=True, need_input_grad=True, need_latent_grad=False):
        dy, self.dlatent, dws, dbs, dwt, dbt = modulate_backward(dout, self._take_cache(), need_latent_grad)
        if need_param_grads:
            self._accumulate(ws=dws, bs=dbs, wt=dwt, bt=dbt)
        return dy

    def __repr__(self):
        return f"Modulation({self.latent_dim}, {self.num_features})"


class ModulatedSequential(Sequential):
    """A Sequential whose input (N, L) also reaches every Modulation layer inside it.
    backward returns the whole dL/dinput: through the first layer plus what each
    Modulation layer sends back to the latent."""

    def forward(self, latent):
        x = latent
        for layer in self.layers:
            x = layer.forward(x, latent) if isinstance(layer, Modulation) else layer.forward(x)
        return x

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        # the chain rule through the layers in reverse, as Sequential.backward, with each
        # Modulation layer's share of dL/dlatent added in only when dL/dlatent is wanted
        dlatent = 0
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if isinstance(layer, Modulation):
                dy = layer.backward(dy, need_param_grads, True, need_latent_grad=need_input_grad)
                if need_input_grad:
                    dlatent = dlatent + layer.dlatent
            else:
                dy = layer.backward(dy, need_param_grads, need_input_grad or i > 0)
        return dy + dlatent if need_input_grad else None
