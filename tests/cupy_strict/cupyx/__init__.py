"""cupyx for the strict stand-in: scatter_add and the pinned-memory helpers, and cupyx.scipy.special."""
from __future__ import annotations

import numpy as _np

from cupy._core import _index, _unwrap


def scatter_add(a, slices, value):
    _np.add.at(a._a, _index(slices), _unwrap(value, "cupyx.scatter_add"))


def scatter_max(a, slices, value):
    _np.maximum.at(a._a, _index(slices), _unwrap(value, "cupyx.scatter_max"))


def scatter_min(a, slices, value):
    _np.minimum.at(a._a, _index(slices), _unwrap(value, "cupyx.scatter_min"))


def empty_pinned(shape, dtype=float, order="C"):
    return _np.empty(shape, dtype=dtype, order=order)      # host memory


def zeros_pinned(shape, dtype=float, order="C"):
    return _np.zeros(shape, dtype=dtype, order=order)


def empty_like_pinned(a, dtype=None, order="K", subok=None, shape=None):
    return _np.empty(a.shape if shape is None else shape, dtype=a.dtype if dtype is None else dtype)


def zeros_like_pinned(a, dtype=None, order="K", subok=None, shape=None):
    return _np.zeros(a.shape if shape is None else shape, dtype=a.dtype if dtype is None else dtype)
