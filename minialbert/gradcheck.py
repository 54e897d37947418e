"""Finite-difference gradient checks, as the tests and notebook 04 use them.

Central differences, (f(x + h) - f(x - h)) / 2h, have O(h²) truncation error; in float64 with
h = 1e-5 that and the rounding error (~1e-16 / h) are both ~1e-10, so a correct backward pass
agrees to a relative error far below 1e-6. The upstream gradient of the checked scalar must be
random: with all ones, layer norm's input gradient is ~0 and a wrong backward would pass.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy

H_STEP = 1e-5


def numeric_grad(f: Callable[[], float], x, idx: Optional[Sequence[int]] = None, h: float = H_STEP):
    """d f() / d x by central differences: every entry of x (shaped like x), or only the flat
    indices idx (a 1-D array). x is perturbed in place and restored; f reads it."""
    flat = x.reshape(-1)
    entries = range(flat.size) if idx is None else idx
    g = numpy.zeros(len(entries))
    for n, i in enumerate(entries):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        g[n] = (fp - fm) / (2 * h)
    return g.reshape(x.shape) if idx is None else g


def rel_error(analytic, numeric) -> float:
    """‖a - n‖ / max(‖a‖, ‖n‖): scale-free, and 0/0-safe."""
    a, n = numpy.ravel(analytic), numpy.ravel(numeric)
    return float(numpy.linalg.norm(a - n) / max(numpy.linalg.norm(a), numpy.linalg.norm(n), 1e-300))
