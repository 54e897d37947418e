"""Layer normalisation over the last axis.

Mixed precision: the mean, variance and 1/std are computed in float32 (backend.upcast) and 1/std is kept
in float32; the normalised copy kept for the backward, y and dx are stored in the storage precision."""
from ..backend import array_module, store, upcast


def layernorm_forward(x, w, b, eps):
    """x (..., D), w (D,), b (D,) -> y (..., D)."""
    xp = array_module(x)
    dtype, x = x.dtype, upcast(x)
    mean = x.mean(axis=-1, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=-1, keepdims=True)  # biased variance, as PyTorch
    rstd = 1.0 / xp.sqrt(var + eps)
    xhat = xc
    xhat *= rstd                                    # reuse the buffer: xhat = (x - mean) / std
    y = xhat * w
    y += b
    return store(y, dtype), (store(xhat, dtype), rstd, w)


def layernorm_backward(dy, cache, dw, db):
    """Adds into dw, db; returns dx.

    With xhat = (x - mean) * rstd and g = dy * w:
        dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
    """
    xhat, rstd, w = cache
    dtype, dy, xhat = dy.dtype, upcast(dy), upcast(xhat)
    D = dy.shape[-1]
    dw += (dy * xhat).reshape(-1, D).sum(axis=0)
    db += dy.reshape(-1, D).sum(axis=0)
    g = dy * w
    dx = g - g.mean(axis=-1, keepdims=True)
    dx -= xhat * (g * xhat).mean(axis=-1, keepdims=True)
    dx *= rstd
    return store(dx, dtype)
