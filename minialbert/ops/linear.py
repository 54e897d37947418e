"""Linear layer in HF/PyTorch layout: W is (out, in) and y = x @ W.T + b."""
from ..backend import array_module


def linear_forward(x, w, b=None):
    """x (..., in), w (out, in), b (out,) or None -> y (..., out)."""
    y = x @ w.T
    if b is not None:
        y += b  # in place: y is a fresh array
    return y, (x, w)


def linear_backward(dy, cache, dw, db=None):
    """dy (..., out). Adds into dw (out, in) and db (out,); returns dx (..., in)."""
    x, w = cache
    xp = array_module(dy)
    dy2 = dy.reshape(-1, dy.shape[-1])          # (N, out)
    x2 = x.reshape(-1, x.shape[-1])             # (N, in)
    dw += dy2.T @ x2
    if db is not None:
        db += dy2.sum(axis=0)
    dx = dy @ w
    return dx
