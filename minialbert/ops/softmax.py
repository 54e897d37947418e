"""Softmax over the last axis."""
from ..backend import array_module


def softmax_forward(x):
    xp = array_module(x)
    y = x - x.max(axis=-1, keepdims=True)  # shift for stability; result unchanged
    xp.exp(y, out=y)
    y /= y.sum(axis=-1, keepdims=True)
    return y, y


def softmax_backward(dy, cache):
    """dx = y * (dy - sum(dy * y)) : the Jacobian of softmax applied to dy."""
    y = cache
    dx = dy * y
    dx -= y * dx.sum(axis=-1, keepdims=True)
    return dx
