"""A strict CuPy stand-in for CPU-only test runs: CuPy's rules on top of NumPy arithmetic.

Put ``tests/cupy_strict`` first on ``sys.path`` (or PYTHONPATH) and ``import cupy`` gets this package;
see tests/cupy_strict/README.md. Arrays are ``cupy.ndarray`` objects holding a private numpy array;
everything CuPy refuses that NumPy allows is refused here too (implicit conversion to NumPy, numpy
arrays mixed into device operations or assigned into device arrays, names CuPy does not have), and
every host synchronisation and host<->device copy is recorded with its call site (``cupy._strict``).

The numbers are NumPy's: a computation gives the same floats as it would on the CPU, except where the
code itself chooses a different algorithm for the device.
"""
from __future__ import annotations

import sys as _sys

import numpy as _np

from . import _strict  # noqa: F401  (the counters; not part of CuPy's API)
from ._core import _from_numpy, _matmul_copies, _unwrap, _unwrap_all, _wrap, ndarray
from . import cuda, linalg, random  # noqa: F401
from .cuda.memory import MemoryPool, PinnedMemoryPool

__version__ = "14.0.0+strict.standin"
_STRICT_STANDIN = True

# ----------------------------------------------------------------------------- the namespace
# Names of CuPy 13/14's top-level namespace (NumPy routines CuPy implements, its dtypes and constants,
# and its own functions). A NumPy name outside this set (errstate, frompyfunc, ndindex, nditer, memmap,
# object_, ...) raises AttributeError, as on CuPy.
_NUMPY_ROUTINES = set("""
abs absolute add all allclose amax amin angle any append apply_along_axis arange arccos arccosh arcsin
arcsinh arctan arctan2 arctanh argmax argmin argpartition argsort argwhere around array_equal array_equiv
array_repr array_split array_str array2string asanyarray asarray_chkfinite asfortranarray atleast_1d
atleast_2d atleast_3d average bartlett base_repr binary_repr bincount bitwise_and bitwise_not bitwise_or
bitwise_xor blackman broadcast broadcast_arrays broadcast_to can_cast cbrt ceil choose clip column_stack
common_type compress concatenate conj conjugate convolve copy copysign copyto corrcoef correlate cos cosh
count_nonzero cov cross cumprod cumsum deg2rad degrees delete diag diag_indices diag_indices_from diagflat
diagonal diff digitize divide divmod dot dsplit dstack ediff1d einsum empty empty_like equal exp exp2
expand_dims expm1 extract eye fabs fill_diagonal fix flatnonzero flip fliplr flipud float_power floor
floor_divide fmax fmin fmod frexp fromfile fromfunction fromiter frombuffer fromstring full full_like gcd
gradient greater greater_equal hamming hanning heaviside histogram histogram2d histogramdd hsplit hstack
hypot i0 identity imag in1d indices inner interp intersect1d invert isclose iscomplex iscomplexobj
isfinite isfortran isin isinf isnan isneginf isposinf isreal isrealobj isscalar ix_ kaiser kron lcm ldexp
left_shift less less_equal lexsort linspace loadtxt log log10 log1p log2 logaddexp logaddexp2 logical_and
logical_not logical_or logical_xor logspace matmul max maximum mean median meshgrid min min_scalar_type
minimum mintypecode mod modf moveaxis multiply nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax
nanmean nanmedian nanmin nanprod nanstd nansum nanvar ndim negative nextafter nonzero not_equal ones
ones_like outer packbits pad partition percentile piecewise place poly1d polyadd polyder polydiv polyfit
polyint polymul polysub polyval positive power prod promote_types ptp put put_along_axis putmask quantile
rad2deg radians ravel ravel_multi_index real real_if_close reciprocal remainder repeat require reshape
resize result_type right_shift rint roll rollaxis roots rot90 round row_stack save savez savez_compressed
load searchsorted select setdiff1d setxor1d shape sign signbit sin sinc sinh size sort sort_complex split
sqrt square squeeze stack std subtract sum swapaxes take take_along_axis tan tanh tensordot tile trace
transpose trapz tri tril tril_indices tril_indices_from trim_zeros triu triu_indices triu_indices_from
true_divide trunc typename union1d unique unpackbits unravel_index unwrap vander var vdot vectorize vsplit
vstack where zeros zeros_like ascontiguousarray empty_like
""".split())

_NUMPY_PASSTHROUGH = set("""
e euler_gamma inf nan newaxis pi
bool_ byte short intc int_ longlong intp int8 int16 int32 int64 ubyte ushort uintc uint ulonglong uintp
uint8 uint16 uint32 uint64 half single double float16 float32 float64 csingle cdouble complex64 complex128
generic number integer signedinteger unsignedinteger inexact floating complexfloating
dtype finfo iinfo issubdtype format_float_positional format_float_scientific
""".split())

_CUPY_OWN_MISSING = set("""
ElementwiseKernel ReductionKernel RawKernel RawModule fuse memoize clear_memo fft sparse testing lib
get_include from_dlpack fromDlpack show_config c_ r_ mgrid ogrid flatiter
""".split())

# Routines whose output size depends on the data: CuPy has to copy a count to the host first.
_SYNCING = {"nonzero", "flatnonzero", "argwhere", "unique", "extract", "compress", "intersect1d", "setdiff1d",
            "setxor1d", "union1d", "trim_zeros", "bincount", "delete"}
# Routines that read device data on the host (printing, saving): a sync and a copy of the arrays.
_READING = {"array_repr", "array_str", "array2string", "save", "savez", "savez_compressed"}
# Routines NumPy answers with a Python bool that CuPy answers with a 0-d device array.
_DEVICE_BOOL = {"array_equal", "array_equiv", "allclose"}
# Routines that only read metadata (no device data involved): host results, no sync.
_HOST_RESULT = {"shape", "ndim", "size", "isscalar", "iscomplexobj", "isrealobj", "isfortran", "result_type",
                "can_cast", "min_scalar_type", "promote_types", "common_type", "mintypecode", "typename",
                "binary_repr", "base_repr"}


class ufunc:
    """A CuPy ufunc: device arrays and scalars in, device arrays out."""

    def __init__(self, npufunc):
        self._uf = npufunc
        self.__name__ = npufunc.__name__
        self.nin, self.nout, self.nargs = npufunc.nin, npufunc.nout, npufunc.nargs

    def _apply(self, method, args, kwargs):
        a, k = _unwrap_all(args, kwargs, f"cupy.{self.__name__}")
        out = kwargs.get("out")
        keep = out if isinstance(out, tuple) else (out,) if out is not None else ()
        temps = _matmul_copies(*a) if self._uf is _np.matmul and method == "__call__" and len(a) == 2 else ()
        r = _wrap(getattr(self._uf, method)(*a, **k), keep)
        del temps                   # the operand copies live until the product is made
        return r

    def __call__(self, *args, **kwargs):
        return self._apply("__call__", args, kwargs)

    def reduce(self, *args, **kwargs):
        return self._apply("reduce", args, kwargs)

    def accumulate(self, *args, **kwargs):
        return self._apply("accumulate", args, kwargs)

    def reduceat(self, *args, **kwargs):
        return self._apply("reduceat", args, kwargs)

    def outer(self, *args, **kwargs):
        return self._apply("outer", args, kwargs)

    def at(self, a, indices, b=None):
        idx = _unwrap(indices, f"cupy.{self.__name__}.at")
        if b is None:
            self._uf.at(a._a, idx)
        else:
            self._uf.at(a._a, idx, _unwrap(b, f"cupy.{self.__name__}.at"))

    def __repr__(self):
        return f"<ufunc '{self.__name__}'>"


def _routine(name, fn):
    def f(*args, **kwargs):
        a, k = _unwrap_all(args, kwargs, f"cupy.{name}")
        if name in _SYNCING or (name == "where" and len(args) == 1):
            _strict.record("sync", name, d2h_bytes=8)
        elif name in _READING:
            _strict.record("sync", name, d2h_bytes=sum(v.nbytes for v in list(args) + list(kwargs.values())
                                                       if type(v) is ndarray))
        r = fn(*a, **k)
        if name in _HOST_RESULT:
            return r
        if name in _DEVICE_BOOL:
            return _from_numpy(_np.asarray(r))
        out = kwargs.get("out")
        return _wrap(r, (out,) if out is not None else ())
    f.__name__ = f.__qualname__ = name
    f.__module__ = "cupy"
    return f


def __getattr__(name):
    if name in _NUMPY_PASSTHROUGH:
        v = getattr(_np, name)
    elif name in _NUMPY_ROUTINES:
        fn = getattr(_np, name, None)
        if fn is None:
            raise AttributeError(f"cupy.{name} exists in CuPy but not in this NumPy, so the strict stand-in "
                                 "cannot provide it")
        v = ufunc(fn) if isinstance(fn, _np.ufunc) else _routine(name, fn)
    elif name in _CUPY_OWN_MISSING:
        raise AttributeError(f"cupy.{name} exists in CuPy but the strict stand-in does not model it "
                             "(tests/cupy_strict/README.md says how to add a name)")
    else:
        raise AttributeError(f"module 'cupy' has no attribute {name!r}")
    globals()[name] = v
    return v


def __dir__():
    return sorted(set(globals()) | _NUMPY_ROUTINES | _NUMPY_PASSTHROUGH)


# ----------------------------------------------------------------------------- what differs from NumPy
def asarray(a, dtype=None, order=None, *, blocking=False):
    """Host data -> a device copy (a counted host->device copy); a device array -> itself (or a cast)."""
    if type(a) is ndarray:
        r = _np.asarray(a._a, dtype=dtype, order=order)
        return a if r is a._a else _from_numpy(r)
    h = _np.array(a, dtype=dtype, order=order or "K", copy=True)    # nested device arrays raise TypeError
    _strict.record("h2d", "asarray", h2d_bytes=h.nbytes)
    return _from_numpy(h)


asanyarray = asarray


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if type(obj) is ndarray:
        r = _np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
        return obj if r is obj._a else _from_numpy(r)
    h = _np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin)
    _strict.record("h2d", "array", h2d_bytes=h.nbytes)
    return _from_numpy(h)


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """Device -> host (a counted sync and copy); host input passes through np.asarray."""
    if type(a) is ndarray:
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    return _np.asarray(a, order=order)


def get_array_module(*args):
    for a in args:
        if type(a) is ndarray:
            return _package_self()
    return _np


def _package_self():
    return _sys.modules[__name__]


def is_available():
    return True


def get_default_memory_pool():
    return _POOL


def get_default_pinned_memory_pool():
    return _PINNED_POOL


_POOL = MemoryPool()
_PINNED_POOL = PinnedMemoryPool()


def argsort(a, axis=-1, kind=None):
    return a.argsort(axis=axis, kind=kind) if type(a) is ndarray else _routine("argsort", _np.argsort)(a)


def sort(a, axis=-1, kind=None):
    if type(a) is not ndarray:
        raise _unwrap_error(a, "cupy.sort")
    if kind not in (None, "stable"):
        raise NotImplementedError(f"kind {kind!r}: CuPy's sort is always stable and takes no other kind")
    return _from_numpy(_np.sort(a._a, axis=axis, kind="stable"))


def argpartition(a, kth, axis=-1):
    return a.argpartition(kth, axis=axis) if type(a) is ndarray else _routine("argpartition", _np.argpartition)(a, kth)


def _unwrap_error(a, where):
    try:
        _unwrap(a, where)
    except TypeError as e:
        return e
    return TypeError(f"{where}: expected a cupy.ndarray, got {type(a)}")
