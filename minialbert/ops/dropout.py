"""Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

The cache is the keep mask as booleans (1 byte an element, not 4) and the scale, applied at use:
``(x * mask) * scale`` is bit for bit ``x * (mask * scale)`` (a kept element is x * scale, a dropped one
x * 0), so the result is what a float mask would give.

Mixed precision: the uniform numbers are drawn in float32 for a float16 input (NumPy's and CuPy's
generators make float32 and float64 only); the result is stored in the input's precision."""
from ..backend import array_module, store


def dropout_forward(x, p, rng, training):
    """rng: a generator from backend.device_rng (seeded, so runs repeat).
    Returns (y, cache); cache is None (no dropout) or (keep mask (bool, x's shape), scale 1/(1-p))."""
    if not training or p == 0.0:
        return x, None
    draw = x.dtype if x.dtype.itemsize >= 4 else array_module(x).float32
    mask = rng.random(x.shape, dtype=draw) >= p         # (.., ) bool: True where the element is kept
    scale = x.dtype.type(1.0 / (1.0 - p))
    y = x * mask
    y *= scale
    return store(y, x.dtype), (mask, scale)


def dropout_backward(dy, cache):
    if cache is None:
        return dy
    mask, scale = cache
    dx = dy * mask
    dx *= scale
    return store(dx, dy.dtype)
