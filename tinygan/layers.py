"""Layers: thin stateful wrappers around the pure ops, with PyTorch's names and weight
layouts (Linear keeps w as (in, out) so that y = x @ w + b reads like the math).

Every layer has forward(x) -> y, backward(dy) -> dx, dicts `params` and `grads` with
the same keys, gradients that accumulate across backward calls until zero_grad()
(backward(dy, need_param_grads=False) returns dx only and leaves the grads alone;
need_input_grad=False lets Linear and the convolutions skip dx and return None),
and train() / eval(). Inputs are NCHW. Parameters live on the backend that is active
when the layer is built (tinygan.backend.set_backend first), in its default dtype.
"""
from contextlib import contextmanager

import numpy as np

from . import backend
# The layers run the fast forms of tinygan/fast.py, which equal the plain ones of ops.py,
# conv.py and batchnorm.py and run them instead when backend.set_fast(False)
from .fast import (batchnorm_backward, batchnorm_forward, conv2d_backward, conv2d_forward,
                   conv_transpose2d_backward, conv_transpose2d_forward, leaky_relu_backward,
                   leaky_relu_forward, linear_backward, relu_backward, relu_forward, sigmoid_forward,
                   spectral_linear_backward, spectral_linear_forward)
from .ops import (linear_forward, reshape_backward, reshape_forward, sigmoid_backward,
                  tanh_backward, tanh_forward)
from .spectral import power_iteration, spectral_normalise_backward, spectral_normalise_forward

INIT_STD = 0.02  # DCGAN / InfoGAN initialisation: weights ~ N(0, 0.02^2), biases 0


def _normal(shape, rng):
    """N(0, INIT_STD^2) weights drawn on the host (same values on every backend)."""
    rng = backend.rng() if rng is None else rng
    return backend.asarray(rng.normal(0.0, INIT_STD, size=shape), dtype=backend.default_dtype())


def _full(shape, value):
    return backend.xp().full(shape, value, dtype=backend.default_dtype())


class Module:
    """What every layer shares: parameters, gradients, buffers and the train/eval flag."""

    def __init__(self):
        self.params = {}     # name -> array, updated in place by the optimisers
        self.grads = {}      # name -> array, same keys and shapes as params
        self.buffers = {}    # name -> array, state that is not trained (BatchNorm's running stats)
        self.training = True
        self._cache = None
        self._fresh = True   # grads hold zeros since zero_grad(): the next backward may write, not add

    def __call__(self, x):
        return self.forward(x)

    def _init_grads(self):
        xp = backend.get_array_module(*self.params.values())
        self.grads = {k: xp.zeros_like(v) for k, v in self.params.items()}

    def _accumulate(self, **grads):
        """grads[k] += g for each k. Right after zero_grad() the sum is just g: copied (two
        passes over memory, not three), or nothing to do when the op wrote g into grads[k]."""
        for k, g in grads.items():
            if g is self.grads[k]:
                continue
            if self._fresh:
                self.grads[k][...] = g
            else:
                self.grads[k] += g
        self._fresh = False

    def _take_cache(self):
        # The cache stays until the next forward, so one forward may be followed by
        # several backward passes (InfoGAN backpropagates D's and G's losses separately).
        if self._cache is None:
            raise RuntimeError(f"{self!r}: backward() called without a forward() before it")
        return self._cache

    def zero_grad(self):
        for g in self.grads.values():
            g[...] = 0
        self._fresh = True

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def astype(self, dtype):
        """Cast parameters, gradients and buffers to `dtype` on the active backend."""
        for d in (self.params, self.grads, self.buffers):
            for k in d:
                d[k] = backend.asarray(d[k], dtype=dtype)
        return self

    def _shape_error(self, expected, x):
        return ValueError(f"{self!r}: expected input of shape {expected}, got {tuple(x.shape)}")

    def __repr__(self):
        return f"{type(self).__name__}()"


class Linear(Module):
    """y = x @ w + b.  w (in_features, out_features), b (out_features,)."""

    def __init__(self, in_features, out_features, rng=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.params = {"w": _normal((in_features, out_features), rng), "b": _full((out_features,), 0.0)}
        self._init_grads()

    backward_fn = staticmethod(linear_backward)   # SpectralLinear runs its own with the same signature

    def _check(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise self._shape_error(f"(N, {self.in_features})", x)

    def forward(self, x):
        self._check(x)
        y, self._cache = linear_forward(x, self.params["w"], self.params["b"])
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        dw_out = self.grads["w"] if self._fresh and need_param_grads else None  # product straight into grads
        dx, dw, db = self.backward_fn(dy, self._take_cache(), need_param_grads, need_input_grad, dw_out)
        if need_param_grads:
            self._accumulate(w=dw, b=db)
        return dx

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features})"


class Conv2d(Module):
    """Cross-correlation, w (C_out, C_in, KH, KW), b (C_out,); see conv.conv2d_forward."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        k = kernel_size
        self.params = {"w": _normal((out_channels, in_channels, k, k), rng), "b": _full((out_channels,), 0.0)}
        self._init_grads()

    def _check(self, x):
        k, p = self.kernel_size, self.padding
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise self._shape_error(f"(N, {self.in_channels}, H, W)", x)
        if x.shape[2] + 2 * p < k or x.shape[3] + 2 * p < k:
            raise self._shape_error(f"(N, {self.in_channels}, H, W) with H, W >= {k - 2 * p}", x)

    def forward(self, x):
        self._check(x)
        y, self._cache = conv2d_forward(x, self.params["w"], self.params["b"], self.stride, self.padding)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        dx, dw, db = conv2d_backward(dy, self._take_cache(), need_param_grads, need_input_grad)
        if need_param_grads:
            self._accumulate(w=dw, b=db)
        return dx

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class ConvTranspose2d(Conv2d):
    """Transposed convolution (conv2d's adjoint), w (C_in, C_out, KH, KW), b (C_out,).
    Output size (H - 1) * stride - 2 * padding + kernel_size."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        Module.__init__(self)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        k = kernel_size
        self.params = {"w": _normal((in_channels, out_channels, k, k), rng), "b": _full((out_channels,), 0.0)}
        self._init_grads()

    def _check(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise self._shape_error(f"(N, {self.in_channels}, H, W)", x)
        if (x.shape[2] - 1) * self.stride - 2 * self.padding + self.kernel_size < 1:
            raise self._shape_error(f"(N, {self.in_channels}, H, W) large enough for a non-empty output", x)

    def forward(self, x):
        self._check(x)
        y, self._cache = conv_transpose2d_forward(x, self.params["w"], self.params["b"], self.stride, self.padding)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        dx, dw, db = conv_transpose2d_backward(dy, self._take_cache(), need_param_grads, need_input_grad)
        if need_param_grads:
            self._accumulate(w=dw, b=db)
        return dx

    def __repr__(self):
        return super().__repr__().replace("Conv2d", "ConvTranspose2d", 1)


class BatchNorm(Module):
    """Batch normalisation over (N, C) or (N, C, H, W); params gamma, beta (C,);
    buffers running_mean, running_var, updated in training mode as PyTorch does:
        running = (1 - momentum) * running + momentum * batch_stat,
    with the unbiased batch variance (times m / (m - 1)) in running_var."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.params = {"gamma": _full((num_features,), 1.0), "beta": _full((num_features,), 0.0)}
        self.buffers = {"running_mean": _full((num_features,), 0.0), "running_var": _full((num_features,), 1.0)}
        self._init_grads()

    def forward(self, x):
        if x.ndim not in (2, 4) or x.shape[1] != self.num_features:
            raise self._shape_error(f"(N, {self.num_features}) or (N, {self.num_features}, H, W)", x)
        if self.training:
            m = x.size // self.num_features
            if m < 2:
                raise ValueError(f"{self!r}: training mode needs more than one value per channel "
                                 f"to estimate a variance, got input of shape {tuple(x.shape)}")
            y, cache = batchnorm_forward(x, self.params["gamma"], self.params["beta"], self.eps)
            mom, rm, rv = self.momentum, self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1 - mom
            rm += mom * cache.mean
            rv *= 1 - mom
            rv += (mom * m / (m - 1)) * cache.var
        else:
            y, cache = batchnorm_forward(x, self.params["gamma"], self.params["beta"], self.eps,
                                         self.buffers["running_mean"], self.buffers["running_var"])
        self._cache = cache
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        dx, dgamma, dbeta = batchnorm_backward(dy, self._take_cache())
        if need_param_grads:
            self._accumulate(gamma=dgamma, beta=dbeta)
        return dx

    def __repr__(self):
        return f"BatchNorm({self.num_features})"


def _unit_vector(n, rng):
    """A random unit vector (n,) drawn on the host, on the active backend."""
    rng = backend.rng() if rng is None else rng
    u = rng.standard_normal(n)
    return backend.asarray(u / (u ** 2).sum() ** 0.5, dtype=backend.default_dtype())


class SpectralLinear(Linear):
    """y = x @ w_bar + b with w_bar = w / sigma(w), sigma(w) = ||w u|| (tinygan/spectral.py:
    A = w.T (out, in), u (out,)). Beyond the papers; each training forward first moves the
    buffer u one power-iteration step, evaluation leaves it. Runs the fast form of fast.py."""

    def __init__(self, in_features, out_features, rng=None):
        super().__init__(in_features, out_features, rng)
        self.buffers = {"u": _unit_vector(out_features, rng)}

    backward_fn = staticmethod(spectral_linear_backward)   # Linear.backward calls it

    def forward(self, x):
        self._check(x)
        w = self.params["w"]
        if self.training:   # a new array, not written in place: the cache keeps the u it used
            self.buffers["u"] = power_iteration(w.T, self.buffers["u"])
        y, self._cache = spectral_linear_forward(x, w, self.params["b"], self.buffers["u"])
        return y

    def __repr__(self):
        return f"SpectralLinear({self.in_features}, {self.out_features})"


class SpectralConv2d(Conv2d):
    """Conv2d with the weight w_bar = w / sigma(w), A = w as (C_out, C_in*KH*KW), u (C_out,)
    (tinygan/spectral.py): the norm of this matrix, as in Miyato et al., not of the
    convolution as an operator on images (which is at most KH*KW / stride^2 times larger)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, rng)
        self.buffers = {"u": _unit_vector(out_channels, rng)}

    def forward(self, x):
        self._check(x)
        w = self.params["w"]
        a = w.reshape(w.shape[0], -1)                                     # (C_out, C_in*KH*KW)
        if self.training:   # a new array, not written in place: the cache keeps the u it used
            self.buffers["u"] = power_iteration(a, self.buffers["u"])
        a_bar, sn = spectral_normalise_forward(a, self.buffers["u"])
        y, cache = conv2d_forward(x, a_bar.reshape(w.shape), self.params["b"], self.stride, self.padding)
        self._cache = (cache, sn)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        cache, sn = self._take_cache()
        dx, dw_bar, db = conv2d_backward(dy, cache, need_param_grads, need_input_grad)
        if need_param_grads:
            F = dw_bar.shape[0]
            self._accumulate(w=spectral_normalise_backward(dw_bar.reshape(F, -1), sn).reshape(dw_bar.shape), b=db)
        return dx

    def __repr__(self):
        return super().__repr__().replace("Conv2d", "SpectralConv2d", 1)


class _Activation(Module):
    """A parameter-free elementwise op: forward_fn(x) -> (y, cache), backward_fn(dy, cache)."""
    forward_fn = backward_fn = None

    def forward(self, x):
        y, self._cache = type(self).forward_fn(x)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        return type(self).backward_fn(dy, self._take_cache())


class ReLU(_Activation):
    forward_fn, backward_fn = relu_forward, relu_backward


class Tanh(_Activation):
    forward_fn, backward_fn = tanh_forward, tanh_backward


class Sigmoid(_Activation):
    forward_fn, backward_fn = sigmoid_forward, sigmoid_backward


class LeakyReLU(Module):
    """y = x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope=0.2):
        super().__init__()
        if not 0 <= negative_slope <= 1:
            raise ValueError(f"LeakyReLU: negative_slope must be in [0, 1], got {negative_slope}")
        self.negative_slope = negative_slope

    def forward(self, x):
        y, self._cache = leaky_relu_forward(x, self.negative_slope)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        return leaky_relu_backward(dy, self._take_cache())

    def __repr__(self):
        return f"LeakyReLU({self.negative_slope})"


class Reshape(Module):
    """(N, ...) -> (N, *shape), the batch axis kept."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        if x.ndim < 1 or int(np.prod(x.shape[1:])) != int(np.prod(self.shape)):
            raise self._shape_error(f"(N, ...) with {int(np.prod(self.shape))} values per sample", x)
        y, self._cache = reshape_forward(x, (x.shape[0],) + self.shape)
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        return reshape_backward(dy, self._take_cache())

    def __repr__(self):
        return f"Reshape{self.shape}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x):
        if x.ndim < 2:
            raise self._shape_error("(N, d1, ...)", x)
        y, self._cache = reshape_forward(x, (x.shape[0], -1))
        return y

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        return reshape_backward(dy, self._take_cache())


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse (the chain rule, one link at a time).
    params / grads / buffers expose the children's as "index.name", e.g. "0.w", "1.gamma"."""

    def __init__(self, *layers):
        self.layers = list(layers)
        self.training = True

    def _merged(self, attr):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in getattr(layer, attr).items()}

    params = property(lambda self: self._merged("params"))
    grads = property(lambda self: self._merged("grads"))
    buffers = property(lambda self: self._merged("buffers"))

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy, need_param_grads=True, need_input_grad=True):
        for i in range(len(self.layers) - 1, -1, -1):
            dy = self.layers[i].backward(dy, need_param_grads, need_input_grad or i > 0)
        return dy

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def train(self):
        for layer in self.layers:
            layer.train()
        self.training = True
        return self

    def eval(self):
        for layer in self.layers:
            layer.eval()
        self.training = False
        return self

    def astype(self, dtype):
        for layer in self.layers:
            layer.astype(dtype)
        return self

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "".join(f"\n  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


@contextmanager
def evaluation(*modules):
    """Inside the block the modules are in evaluation mode (BatchNorm uses its running
    statistics); afterwards each is back in the mode it was in (also on an exception)."""
    was = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, training in zip(modules, was):
            if training:
                m.train()


def leaves(module):
    """The layers inside `module` (itself, or a Sequential's children, recursively)."""
    if isinstance(module, Sequential):
        return [leaf for layer in module.layers for leaf in leaves(layer)]
    return [module]


class FlatParams:
    """The parameters of some modules as views of one flat buffer, and their gradients as
    views of another, so that an optimiser can update them all with a few whole-buffer
    passes (on a GPU: a few kernel launches, not ten per parameter) and zero_grad() is one
    pass. The layers keep working on their `params` and `grads` dicts, which now hold the
    views; values are copied over, so nothing changes in what the modules compute.

        flat.params  (P,)  every parameter, in the order of the modules and their keys
        flat.grads   (P,)  the gradients, in the same order
    """

    def __init__(self, *modules):
        self.layers = [leaf for m in modules for leaf in leaves(m) if leaf.params]
        arrays = [v for layer in self.layers for v in layer.params.values()]
        xp = backend.get_array_module(*arrays)
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) != 1:
            raise ValueError(f"FlatParams: the parameters have several dtypes {sorted(map(str, dtypes))}")
        total = sum(a.size for a in arrays)
        self.params = xp.empty(total, dtype=arrays[0].dtype)     # (P,)
        self.grads = xp.zeros(total, dtype=arrays[0].dtype)      # (P,)
        self.starts = {}                                          # id(parameter view) -> its offset
        start = 0
        for layer in self.layers:
            for k, v in list(layer.params.items()):
                view = self.params[start:start + v.size].reshape(v.shape)
                view[...] = v
                layer.params[k] = view
                layer.grads[k] = self.grads[start:start + v.size].reshape(v.shape)
                self.starts[id(view)] = start
                start += v.size

    def zero_grad(self):
        """Zero every gradient in one pass (Module.zero_grad does it parameter by parameter)."""
        self.grads[...] = 0
        for layer in self.layers:
            layer._fresh = True

