"""Softmax over the last axis.

Mixed precision: computed in float32 whatever the input (backend.upcast); the probabilities are returned
(and kept) in `dtype`, the storage precision (default: the input's). The backward computes in float32 and
returns float32 (the attention's next step, a scaled matmul, accumulates in float32 anyway)."""
from ..backend import array_module, store, upcast


def softmax_forward(x, dtype=None):
    xp = array_module(x)
    dtype = x.dtype if dtype is None else dtype
    x = upcast(x)
    y = x - x.max(axis=-1, keepdims=True)  # shift for stability; result unchanged
    xp.exp(y, out=y)
    y /= y.sum(axis=-1, keepdims=True)
    y = store(y, dtype)
    return y, y


def softmax_backward(dy, cache):
    """dx = y * (dy - sum(dy * y)) : the Jacobian of softmax applied to dy."""
    y = upcast(cache)
    dy = upcast(dy)
    dx = dy * y
    dx -= y * dx.sum(axis=-1, keepdims=True)
    return dx
