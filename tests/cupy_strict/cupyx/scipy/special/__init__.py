"""cupyx.scipy.special for the strict stand-in: elementwise special functions on device arrays only
(a numpy array raises, as on CuPy). erf/erfc from scipy.special when installed, else math.erf."""
from __future__ import annotations

import math

import numpy as _np

from cupy._core import _from_numpy, _mixing_error, ndarray

try:
    from scipy import special as _sp
except ImportError:  # pragma: no cover
    _sp = None


def _elementwise(name, fallback):
    def f(x, out=None):
        if not isinstance(x, ndarray):
            raise _mixing_error(x, f"cupyx.scipy.special.{name}") if isinstance(x, _np.ndarray) else \
                TypeError(f"Unsupported type {type(x)}")
        a = x._a
        r = getattr(_sp, name)(a) if _sp is not None else _np.frompyfunc(fallback, 1, 1)(a).astype(a.dtype)
        r = _np.asarray(r, dtype=a.dtype if a.dtype.kind == "f" else _np.float64)
        if out is not None:
            out._a[...] = r
            return out
        return _from_numpy(r)
    f.__name__ = name
    return f


erf = _elementwise("erf", math.erf)
erfc = _elementwise("erfc", math.erfc)
