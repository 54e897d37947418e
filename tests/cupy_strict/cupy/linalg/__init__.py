"""cupy.linalg for the strict stand-in: numpy.linalg's routines that CuPy has, on device arrays."""
from __future__ import annotations

import numpy as _np

from .._core import _unwrap_all, _wrap

_NAMES = set("""cholesky det eig eigh eigvals eigvalsh inv lstsq matrix_power matrix_rank multi_dot norm pinv
qr slogdet solve svd tensorinv tensorsolve""".split())


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module 'cupy.linalg' has no attribute {name!r}")
    fn = getattr(_np.linalg, name)

    def f(*args, **kwargs):
        a, k = _unwrap_all(args, kwargs, f"cupy.linalg.{name}")
        return _wrap(fn(*a, **k))
    f.__name__ = name
    globals()[name] = f
    return f
