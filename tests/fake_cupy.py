"""A strict stand-in for CuPy, so that the GPU code paths run in every test run.

Its arrays wrap NumPy arrays but are not NumPy arrays, and they are as strict as CuPy's:
- implicit conversion to the host fails (`np.asarray(a)` raises TypeError, as CuPy's
  `__array__` does); `.get()`, `float(a)`, `bool(a)`, `int(a)` and `.item()` are the
  explicit ways, and each counts as one device-to-host synchronisation;
- a NumPy array is refused as an operand of a device operation (CuPy raises TypeError
  for `cupy_array + numpy_array`); only `asarray`/`array` accept one, and count a
  host-to-device copy;
- a NumPy function called on one of these arrays fails (no `__array_function__`), so
  code that forgets `xp` is caught;
- the module offers a fixed list of names, each of which CuPy also has.

It also counts, in `COUNTS`: "ops" (every call that writes an array: a kernel launch on
a GPU; views such as reshape, transpose and slices are free), "syncs" (device-to-host
transfers), "h2d" (host-to-device copies) and "h2d_bytes". `reset_counts()` zeroes them.

Install it with `install(monkeypatch)`, which puts it in sys.modules as "cupy"; then
`tinygan.backend.set_backend("cupy")` runs on it.
"""
import operator
import sys
import types

import numpy as np

COUNTS = {"ops": 0, "syncs": 0, "h2d": 0, "h2d_bytes": 0, "d2h_bytes": 0}
BROKEN = {"matmul": False}  # set True to play a CuPy whose CUDA libraries are missing


TRACE = None  # a collections.Counter to also count ops by the tinygan function that made them


def _op():
    COUNTS["ops"] += 1
    if TRACE is not None:
        f = sys._getframe(1)
        while f is not None and "tinygan" not in f.f_code.co_filename:
            f = f.f_back
        TRACE[f"{f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_code.co_name}" if f else "?"] += 1


def reset_counts():
    for k in COUNTS:
        COUNTS[k] = 0


def _sync(a):
    COUNTS["syncs"] += 1
    COUNTS["d2h_bytes"] += a.nbytes


def _unwrap(v):
    """Device arrays -> their NumPy arrays; a NumPy array operand is refused, as CuPy does."""
    if isinstance(v, ndarray):
        return v._a
    if isinstance(v, np.ndarray):
        raise TypeError("Unsupported type <class 'numpy.ndarray'> (fake cupy: a host array "
                        "was passed to a device operation; use cupy.asarray first)")
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(u) for u in v)
    return v


def _wrap(r):
    if isinstance(r, np.ndarray):
        return ndarray(r)
    if isinstance(r, tuple):
        return tuple(_wrap(u) for u in r)
    if isinstance(r, list):
        return [_wrap(u) for u in r]
    return r


def _writes(result, inputs):
    """One op when the result is new memory (not a view of an input)."""
    if isinstance(result, np.ndarray):
        if not any(isinstance(a, np.ndarray) and np.may_share_memory(result, a) for a in inputs):
            _op()


def _flat_inputs(args, kwargs):
    out = []
    for v in list(args) + list(kwargs.values()):
        if isinstance(v, (list, tuple)):
            out.extend(u for u in v if isinstance(u, np.ndarray))
        elif isinstance(v, np.ndarray):
            out.append(v)
    return out


def _call(fn, *args, **kwargs):
    args, kwargs = _unwrap(args), {k: _unwrap(v) for k, v in kwargs.items()}
    r = fn(*args, **kwargs)
    if isinstance(r, np.generic):       # CuPy returns 0-d device arrays, never host scalars
        r = np.asarray(r)
    if kwargs.get("out") is not None:
        _op()
    else:
        _writes(r, _flat_inputs(args, kwargs))
    return _wrap(r)


class _Flags:
    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous


class ndarray:
    """A device array: a NumPy array inside, a CuPy-like surface outside."""
    __array_ufunc__ = None        # NumPy's operators defer to ours; np.exp(a) fails

    def __init__(self, a):
        self._a = a

    # ---- host conversion: explicit only
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(f"fake cupy: numpy.{func.__name__} called on a device array")

    def get(self, stream=None, order="C", out=None):
        _sync(self._a)
        return self._a.copy()

    def item(self):
        _sync(self._a)
        return self._a.item()

    def tolist(self):
        _sync(self._a)
        return self._a.tolist()

    def __float__(self):
        _sync(self._a)
        return float(self._a)

    def __int__(self):
        _sync(self._a)
        return int(self._a)

    def __bool__(self):
        _sync(self._a)
        return bool(self._a)

    def __index__(self):
        _sync(self._a)
        return operator.index(self._a)

    def __repr__(self):
        return "fake_cupy." + repr(self._a)

    def __format__(self, spec):
        _sync(self._a)
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    # ---- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: ndarray(self._a.T))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self._a)))

    # ---- indexing
    def __getitem__(self, key):
        return _call(operator.getitem, self, key)

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):                        # CuPy copies a host value over
            COUNTS["h2d"] += 1
            COUNTS["h2d_bytes"] += value.nbytes
        else:
            value = _unwrap(value)
        self._a[_unwrap(key)] = value
        _op()

    # ---- methods (each as in CuPy)
    def reshape(self, *shape, order="C"):
        return _call(self._a.__class__.reshape, self, *shape, order=order)

    def transpose(self, *axes):
        return ndarray(self._a.transpose(*axes))                 # a view, as in CuPy

    def ravel(self):
        return _call(np.ravel, self)

    def astype(self, dtype, copy=True):
        return _call(self._a.__class__.astype, self, dtype, copy=copy)

    def copy(self):
        return _call(np.copy, self)

    def fill(self, v):
        self._a.fill(v)
        _op()

    def view(self, dtype=None):
        return ndarray(self._a.view(dtype) if dtype is not None else self._a.view())

    def dot(self, b):
        return _call(np.dot, self, b)

    def clip(self, lo=None, hi=None):
        return _call(np.clip, self, lo, hi)


for _name in ("sum", "mean", "max", "min", "argmax", "argmin", "var", "std", "prod", "any", "all", "cumsum"):
    setattr(ndarray, _name, (lambda f: lambda self, *a, **k: _call(f, self, *a, **k))(getattr(np, _name)))

_BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
           "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
           "matmul": operator.matmul, "and": operator.and_, "or": operator.or_, "xor": operator.xor}
for _name, _f in _BINARY.items():
    def _fwd(self, other, f=_f):
        if f is operator.matmul and BROKEN["matmul"]:
            raise RuntimeError("CUDA library libcublas.so.12 not found (fake cupy)")
        return _call(f, self, other)

    def _rev(self, other, f=_f):
        return _call(lambda a, b: f(b, a), self, other)

    def _inplace(self, other, f=getattr(operator, "i" + _name.rstrip("_"))):
        f(self._a, _unwrap(other))
        _op()
        return self
    setattr(ndarray, f"__{_name}__", _fwd)
    setattr(ndarray, f"__r{_name}__", _rev)
    setattr(ndarray, f"__i{_name}__", _inplace)
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", (lambda f: lambda self, o: _call(f, self, o))(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", (lambda f: lambda self: _call(f, self))(getattr(operator, _name)))
ndarray.__hash__ = None
ndarray.__module__ = "cupy"       # what tinygan.backend looks at to tell device arrays apart


# ----------------------------------------------------------------------------- the module
def asarray(a, dtype=None, order=None):
    if isinstance(a, ndarray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    host = np.asarray(a, dtype=dtype, order=order)
    if isinstance(a, np.ndarray) or host.ndim > 0:
        COUNTS["h2d"] += 1
        COUNTS["h2d_bytes"] += host.nbytes
    return ndarray(np.array(host, copy=True))


def array(a, dtype=None, copy=True):
    return asarray(a, dtype).copy() if isinstance(a, ndarray) else asarray(a, dtype)


def asnumpy(a):
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def get_array_module(*arrays):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in arrays) else np


def matmul(a, b, out=None):
    if BROKEN["matmul"]:
        raise RuntimeError("CUDA library libcublas.so.12 not found (fake cupy)")
    return _call(np.matmul, a, b, out=out)


def copyto(dst, src, casting="same_kind", where=None):
    np.copyto(dst._a, _unwrap(src), casting=casting)
    _op()


# Functions CuPy offers under the same names and signatures (the subset tinygan may use).
_FUNCTIONS = """abs absolute add arange argmax argmin argpartition broadcast_to ceil clip concatenate copy
cos deg2rad divide dot einsum empty empty_like equal exp eye floor full full_like isfinite isnan
linspace log log1p logical_and logical_not logical_or maximum mean meshgrid minimum multiply ones
ones_like pad power repeat reshape sign sin sqrt square stack subtract sum tanh tile transpose
where zeros zeros_like""".split()

_module = sys.modules[__name__]
for _name in _FUNCTIONS:
    setattr(_module, _name, (lambda f: lambda *a, **k: _call(f, *a, **k))(getattr(np, _name)))
# dtypes are NumPy's, as in CuPy
for _name in ("float16", "float32", "float64", "int32", "int64", "uint8", "bool_", "dtype", "newaxis", "pi"):
    setattr(_module, _name, getattr(np, _name))

linalg = types.SimpleNamespace(norm=lambda *a, **k: _call(np.linalg.norm, *a, **k))
lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=lambda x, shape=None, strides=None: ndarray(np.lib.stride_tricks.as_strided(x._a, shape, strides))))
random = types.SimpleNamespace(seed=lambda s=None: None)


class _Device:
    def __init__(self, i=0):
        self.id = i

    def synchronize(self):
        pass


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_pool = _MemoryPool()
get_default_memory_pool = lambda: _pool  # noqa: E731
cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    Device=_Device)
__version__ = "0.0-fake"


def install(monkeypatch):
    """Make `import cupy` give this module for the rest of the test (and have tinygan check
    it afresh when chosen, as it checks a newly imported CuPy)."""
    from tinygan import backend
    monkeypatch.setitem(sys.modules, "cupy", _module)
    monkeypatch.setattr(backend, "_checked", None)
    monkeypatch.setitem(BROKEN, "matmul", False)
    reset_counts()
    return _module
