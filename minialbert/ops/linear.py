"""Linear layer in HF/PyTorch layout: W is (out, in) and y = x @ W.T + b.

Mixed precision (float16 / bfloat16 storage): the products accumulate in float32 (backend.mm), the bias is
added in float32, and y and dx are rounded to the storage precision once (backend.store); the weight and
bias gradients are added, in float32, into the float32 gradient buffers."""
from ..backend import mm, store


def linear_forward(x, w, b=None):
    """x (..., in), w (out, in), b (out,) or None -> y (..., out).

    The leading axes are flattened into one (N, in) matrix first: one large
    GEMM is what BLAS is fast at; numpy's stacked 3-D @ 2-D path is 2x slower.
    """
    lead = x.shape[:-1]
    y = mm(x.reshape(-1, x.shape[-1]), w.T)              # (N, out), accumulated in float32 at least
    if b is not None:
        y += b  # in place: y is a fresh array
    return store(y, x.dtype).reshape(*lead, w.shape[0]), (x, w)


def linear_backward(dy, cache, dw, db=None):
    """dy (..., out). Adds into dw (out, in) and db (out,); returns dx (..., in)."""
    x, w = cache
    dy2 = dy.reshape(-1, dy.shape[-1])          # (N, out)
    x2 = x.reshape(-1, x.shape[-1])             # (N, in)
    dw += mm(dy2.T, x2)
    if db is not None:
        db += dy2.sum(axis=0, dtype=db.dtype) if dy2.dtype != db.dtype else dy2.sum(axis=0)
    return store(mm(dy2, w), dy.dtype).reshape(x.shape)
