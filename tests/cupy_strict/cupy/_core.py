"""The device array of the strict stand-in: a numpy array held privately, with CuPy's rules where they
differ from NumPy's (written from CuPy's documentation and behaviour; no CuPy code):

- implicit conversion to NumPy raises TypeError (``__array__``: ``np.asarray(x)``, ``np.array(x)``);
- a NumPy array (of any shape) as an operand of an operator, a ufunc or a cupy function raises
  TypeError ("Unsupported type <class 'numpy.ndarray'>"); numpy and Python scalars are fine;
- assigning a non-scalar NumPy array into a device array raises ValueError (CuPy: "non-scalar
  numpy.ndarray cannot be used for fill"); a list raises TypeError;
- only CuPy's ndarray methods exist (no ``tostring``, ``itemset``, ``resize``, ...); sorts are stable and
  take no other ``kind`` (as CuPy); reductions return 0-d device arrays, never host scalars;
- getting a value to the host is a counted synchronisation: ``get``, ``item``, ``tolist``,
  ``float/int/bool/complex``, ``repr/str/format``, and anything whose output size depends on the data
  (``nonzero``, boolean-mask indexing); host data used as an index is a counted implicit host->device copy.
"""
from __future__ import annotations

import sys

import numpy as np

from . import _strict

_PY_SCALARS = (bool, int, float, complex)
_BAD_KINDS = "OUSVMm"     # CuPy has no object, string, void or datetime arrays


def _mixing_error(x, where):
    return TypeError(f"Unsupported type {type(x)} (strict CuPy stand-in: a host value mixed with device "
                     f"arrays in {where}; copy it to the device with cupy.asarray first)")


def _unwrap(x, where):
    """Device arrays -> their buffer; numpy arrays anywhere (also inside lists/tuples) -> TypeError."""
    if type(x) is ndarray:
        return x._a
    if isinstance(x, np.ndarray):
        raise _mixing_error(x, where)
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_unwrap(v, where) for v in x)
    return x


def _unwrap_all(args, kwargs, where):
    return ([_unwrap(a, where) for a in args],
            {k: _unwrap(v, where) for k, v in kwargs.items()})


def _from_numpy(a):
    """Wrap a numpy array that lives 'on the device' (no copy; its buffer is counted once)."""
    if a.dtype.kind in _BAD_KINDS:
        raise ValueError(f"Unsupported dtype {a.dtype}")
    obj = ndarray.__new__(ndarray)
    obj._a = a
    _strict.allocate(a)
    return obj


def _wrap(r, keep=None):
    """numpy results -> device arrays (numpy scalars -> 0-d arrays, as CuPy returns). `keep`: device
    arrays whose buffer may come back (out=, in-place methods): returned as themselves."""
    if isinstance(r, np.ndarray):
        if keep:
            for k in keep:
                if type(k) is ndarray and k._a is r:
                    return k
        return _from_numpy(r)
    if isinstance(r, np.generic):
        return _from_numpy(np.asarray(r))
    if isinstance(r, tuple) and not hasattr(r, "_fields"):
        return tuple(_wrap(v, keep) for v in r)
    if isinstance(r, list):
        return [_wrap(v, keep) for v in r]
    return r


def _operand(x, where):
    if type(x) is ndarray:
        return x._a
    if isinstance(x, _PY_SCALARS) or isinstance(x, np.generic):
        return x
    if isinstance(x, np.ndarray):
        raise _mixing_error(x, where)
    if isinstance(x, (list, tuple)):
        raise TypeError(f"Unsupported type {type(x)}")
    return NotImplemented


def _index_part(k):
    if type(k) is ndarray:
        if k.dtype == np.bool_:
            _strict.record("sync", "bool-index", d2h_bytes=8)      # the output size comes from the data
        return k._a
    if isinstance(k, np.ndarray):
        _strict.record("h2d", "index", h2d_bytes=k.nbytes, implicit=True)
        if k.dtype == np.bool_:
            _strict.record("sync", "bool-index", d2h_bytes=8)
        return k
    if isinstance(k, list):
        a = np.asarray(k)
        _strict.record("h2d", "index", h2d_bytes=a.nbytes, implicit=True)
        return a
    return k


def _index(key):
    if isinstance(key, tuple):
        return tuple(_index_part(k) for k in key)
    return _index_part(key)


def _sync(what, nbytes):
    _strict.record("sync", what, d2h_bytes=nbytes)


def _matmul_copies(a, b):
    """The operand copies CuPy's matmul makes before calling cuBLAS (CuPy 13/14,
    cupy/_core/_routines_linalg.pyx): a batched product (either operand > 2-D) makes each operand
    C-contiguous (`ascontiguousarray`: a transposed view is copied whole); a 2-D product takes C- or
    F-contiguous operands as they are (a transposed matrix is a cuBLAS flag) and copies the others.
    Each copy is recorded (kind "copy", what "matmul-operand", nbytes) and returned as a counted
    buffer, which the caller keeps until the product is made: it counts in the peak, as on the device.
    The product itself is computed from the original operands (NumPy's numbers are unchanged)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or not (a.ndim and b.ndim):
        return []
    batched = max(a.ndim, b.ndim) > 2
    temps = []
    for x in (a, b):
        contiguous = x.flags.c_contiguous or (not batched and x.flags.f_contiguous)
        if not contiguous and x.size:
            _strict.record("copy", "matmul-operand", nbytes=x.nbytes)
            t = np.empty(x.shape, dtype=x.dtype)
            _strict.allocate(t)
            temps.append(t)
    return temps


def _package():
    return sys.modules[__name__.rpartition(".")[0]]


class ndarray:
    """cupy.ndarray(shape, dtype=float, memptr=None, strides=None, order='C'): an uninitialised device array."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("strict CuPy stand-in: ndarray(memptr=, strides=) is not modelled")
        a = np.empty(shape, dtype=dtype, order=order)
        if a.dtype.kind in _BAD_KINDS:
            raise ValueError(f"Unsupported dtype {a.dtype}")
        self._a = a
        _strict.allocate(a)

    # -- metadata (no sync) --------------------------------------------------------------
    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def itemsize(self):
        return self._a.itemsize

    @property
    def nbytes(self):
        return self._a.nbytes

    @property
    def strides(self):
        return self._a.strides

    @property
    def flags(self):
        return self._a.flags

    @property
    def base(self):
        b = self._a.base
        return _from_numpy(b) if isinstance(b, np.ndarray) else None

    @property
    def T(self):
        return _from_numpy(self._a.T)

    @property
    def real(self):
        return _from_numpy(self._a.real)

    @property
    def imag(self):
        return _from_numpy(self._a.imag)

    @property
    def device(self):
        return _package().cuda.Device(0)

    @property
    def data(self):
        return _package().cuda.memory.MemoryPointer(self._a)

    @property
    def _c_contiguous(self):
        return bool(self._a.flags.c_contiguous)

    @property
    def _f_contiguous(self):
        return bool(self._a.flags.f_contiguous)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    # -- conversions: refused implicitly, counted explicitly ------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
                        "a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}.{method}" if method != "__call__" else f"numpy.{ufunc.__name__}"
        ins, kw = _unwrap_all(inputs, kwargs, where)
        out = kwargs.get("out")
        keep = out if isinstance(out, tuple) else (out,) if out is not None else ()
        temps = _matmul_copies(*ins) if ufunc is np.matmul and method == "__call__" and len(ins) == 2 else ()
        r = _wrap(getattr(ufunc, method)(*ins, **kw), keep)
        del temps                   # the operand copies live until the product is made
        return r

    def __array_function__(self, func, types, args, kwargs):
        mod = _package()
        for part in func.__module__.split(".")[1:]:
            mod = getattr(mod, part, None)
            if mod is None:
                return NotImplemented
        try:
            f = getattr(mod, func.__name__)
        except AttributeError:
            return NotImplemented      # numpy then raises TypeError: no implementation found
        return f(*args, **kwargs)

    def get(self, stream=None, order="C", out=None, blocking=True):
        _sync("get", self.nbytes)
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            np.copyto(out, self._a)
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        if arr.shape != self.shape or arr.dtype != self.dtype:
            raise ValueError("Shape or dtype mismatch")
        _strict.record("h2d", "set", h2d_bytes=arr.nbytes)
        np.copyto(self._a, arr)

    def item(self, *args):
        _sync("item", self.itemsize)
        return self._a.item(*args)

    def tolist(self):
        _sync("tolist", self.nbytes)
        return self._a.tolist()

    def tobytes(self, order="C"):
        _sync("tobytes", self.nbytes)
        return self._a.tobytes(order)

    def tofile(self, fid, sep="", format="%s"):
        _sync("tofile", self.nbytes)
        return self._a.tofile(fid, sep, format)

    def dump(self, file):
        _sync("dump", self.nbytes)
        return self._a.dump(file)

    def dumps(self):
        _sync("dumps", self.nbytes)
        return self._a.dumps()

    def __int__(self):
        _sync("int", self.itemsize)
        return int(self._a)

    def __float__(self):
        _sync("float", self.itemsize)
        return float(self._a)

    def __complex__(self):
        _sync("complex", self.itemsize)
        return complex(self._a)

    def __bool__(self):
        _sync("bool", self.itemsize)
        return bool(self._a)

    def __repr__(self):
        _sync("repr", self.nbytes)
        return repr(self._a)

    def __str__(self):
        _sync("str", self.nbytes)
        return str(self._a)

    def __format__(self, spec):
        _sync("format", self.nbytes)
        return format(self._a if self.ndim else self._a[()], spec)

    def __reduce__(self):
        _sync("pickle", self.nbytes)
        return (_rebuild, (np.array(self._a, copy=True),))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # -- indexing ---------------------------------------------------------------------------
    def __getitem__(self, key):
        return _wrap(self._a[_index(key)], (self,))

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill (strict CuPy stand-in: copy it "
                             "to the device with cupy.asarray first)")
        if isinstance(value, (list, tuple)):
            raise TypeError(f"Unsupported type {type(value)}")
        v = value._a if type(value) is ndarray else value
        self._a[_index(key)] = v

    # -- methods CuPy's ndarray has --------------------------------------------------------
    def _call(self, name, *args, **kwargs):
        a, k = _unwrap_all(args, kwargs, f"ndarray.{name}")
        out = kwargs.get("out")
        return _wrap(getattr(self._a, name)(*a, **k), (self, out))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        r = self._a.astype(dtype, order=order, casting=casting or "unsafe", copy=copy)
        return self if r is self._a else _from_numpy(r)

    def copy(self, order="C"):
        return _from_numpy(self._a.copy(order=order))

    def view(self, dtype=None, array_class=None):
        return _from_numpy(self._a.view() if dtype is None else self._a.view(dtype))

    def fill(self, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        self._a.fill(value._a[()] if type(value) is ndarray else value)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _from_numpy(self._a.reshape(shape, order=order))

    def transpose(self, *axes):
        return _from_numpy(self._a.transpose(*axes))

    def sort(self, axis=-1, kind=None):
        if kind not in (None, "stable"):
            raise NotImplementedError(f"kind {kind!r}: CuPy's sort is always stable and takes no other kind")
        self._a.sort(axis=axis, kind="stable")

    def argsort(self, axis=-1, kind=None):
        if kind not in (None, "stable"):
            raise NotImplementedError(f"kind {kind!r}: CuPy's argsort is always stable and takes no other kind")
        return _from_numpy(self._a.argsort(axis=axis, kind="stable"))

    def argpartition(self, kth, axis=-1):
        return _from_numpy(self._a.argpartition(_unwrap(kth, "argpartition"), axis=axis))

    def partition(self, kth, axis=-1):
        self._a.partition(_unwrap(kth, "partition"), axis=axis)

    def nonzero(self):
        _sync("nonzero", 8)
        return _wrap(self._a.nonzero())

    def compress(self, condition, axis=None, out=None):
        _sync("compress", 8)
        return self._call("compress", condition, axis=axis, out=out)

    def repeat(self, repeats, axis=None):
        if type(repeats) is ndarray:
            _sync("repeat", 8)
        return self._call("repeat", repeats, axis=axis)

    def dot(self, b, out=None):
        return self._call("dot", b, out=out)

    def take(self, indices, axis=None, out=None):
        return self._call("take", indices, axis=axis, out=out)

    def put(self, indices, values, mode="wrap"):
        self._a.put(_unwrap(indices, "put"), _unwrap(values, "put"), mode=mode)

    def scatter_add(self, slices, value):
        np.add.at(self._a, _index(slices), _unwrap(value, "scatter_add"))

    def scatter_max(self, slices, value):
        np.maximum.at(self._a, _index(slices), _unwrap(value, "scatter_max"))

    def scatter_min(self, slices, value):
        np.minimum.at(self._a, _index(slices), _unwrap(value, "scatter_min"))

    def reduced_view(self, dtype=None):
        return self

    def __dlpack_device__(self):
        return (2, 0)     # kDLCUDA, device 0


def _rebuild(a):
    return _from_numpy(a)


def _method(name):
    def m(self, *args, **kwargs):
        return self._call(name, *args, **kwargs)
    m.__name__ = m.__qualname__ = name
    return m


for _n in ("all", "any", "argmax", "argmin", "choose", "clip", "conj", "conjugate", "cumprod", "cumsum",
           "diagonal", "flatten", "max", "mean", "min", "prod", "ptp", "ravel", "round", "squeeze", "std", "sum",
           "swapaxes", "trace", "var"):
    setattr(ndarray, _n, _method(_n))


# -- operators: device (op) device | Python/numpy scalar; a numpy array raises ------------------------
def _binary(uf, name):
    def op(self, other):
        o = _operand(other, f"the operator {name}")
        if o is NotImplemented:
            return NotImplemented
        temps = _matmul_copies(self._a, o) if uf is np.matmul else ()
        r = _wrap(uf(self._a, o))
        del temps                   # the operand copies live until the product is made
        return r

    def rop(self, other):
        o = _operand(other, f"the operator {name}")
        if o is NotImplemented:
            return NotImplemented
        temps = _matmul_copies(o, self._a) if uf is np.matmul else ()
        r = _wrap(uf(o, self._a))
        del temps
        return r

    def iop(self, other):
        o = _operand(other, f"the operator {name}=")
        if o is NotImplemented:
            return NotImplemented
        uf(self._a, o, out=self._a, casting="same_kind")
        return self
    return op, rop, iop


for _name, _uf in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
                   ("floordiv", np.floor_divide), ("mod", np.remainder), ("pow", np.power),
                   ("matmul", np.matmul), ("and", np.bitwise_and), ("or", np.bitwise_or),
                   ("xor", np.bitwise_xor), ("lshift", np.left_shift), ("rshift", np.right_shift)):
    _op, _rop, _iop = _binary(_uf, _name)
    setattr(ndarray, f"__{_name}__", _op)
    setattr(ndarray, f"__r{_name}__", _rop)
    if _name != "matmul":
        setattr(ndarray, f"__i{_name}__", _iop)

for _name, _uf in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                   ("gt", np.greater), ("ge", np.greater_equal)):
    setattr(ndarray, f"__{_name}__", _binary(_uf, _name)[0])


def _divmod(self, other):
    o = _operand(other, "divmod")
    return NotImplemented if o is NotImplemented else _wrap(np.divmod(self._a, o))


ndarray.__divmod__ = _divmod
ndarray.__neg__ = lambda self: _from_numpy(-self._a)
ndarray.__pos__ = lambda self: _from_numpy(+self._a)
ndarray.__abs__ = lambda self: _from_numpy(abs(self._a))
ndarray.__invert__ = lambda self: _from_numpy(~self._a)
ndarray.__module__ = "cupy"
