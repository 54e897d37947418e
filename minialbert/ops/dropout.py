"""Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p)."""


def dropout_forward(x, p, rng, training):
    """rng: a generator from backend.device_rng (seeded, so runs repeat)."""
    if not training or p == 0.0:
        return x, None
    mask = rng.random(x.shape, dtype=x.dtype) >= p
    scale = x.dtype.type(1.0 / (1.0 - p))
    mask = mask * scale  # (.., ) of 0 or 1/(1-p), in x's dtype
    return x * mask, mask


def dropout_backward(dy, cache):
    mask = cache
    return dy if mask is None else dy * mask
