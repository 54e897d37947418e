"""Layer normalisation over the last axis."""
from ..backend import array_module


def layernorm_forward(x, w, b, eps):
    """x (..., D), w (D,), b (D,) -> y (..., D)."""
    xp = array_module(x)
    mean = x.mean(axis=-1, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=-1, keepdims=True)  # biased variance, as PyTorch
    rstd = 1.0 / xp.sqrt(var + eps)
    xhat = xc
    xhat *= rstd                                    # reuse the buffer: xhat = (x - mean) / std
    y = xhat * w
    y += b
    return y, (xhat, rstd, w)


def layernorm_backward(dy, cache, dw, db):
    """Adds into dw, db; returns dx.

    With xhat = (x - mean) * rstd and g = dy * w:
        dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
    """
    xhat, rstd, w = cache
    D = dy.shape[-1]
    dw += (dy * xhat).reshape(-1, D).sum(axis=0)
    db += dy.reshape(-1, D).sum(axis=0)
    g = dy * w
    dx = g - g.mean(axis=-1, keepdims=True)
    dx -= xhat * (g * xhat).mean(axis=-1, keepdims=True)
    dx *= rstd
    return dx
