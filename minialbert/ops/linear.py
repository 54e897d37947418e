"""Linear layer in HF/PyTorch layout: W is (out, in) and y = x @ W.T + b."""


def linear_forward(x, w, b=None):
    """x (..., in), w (out, in), b (out,) or None -> y (..., out).

    The leading axes are flattened into one (N, in) matrix first: one large
    GEMM is what BLAS is fast at; numpy's stacked 3-D @ 2-D path is 2x slower.
    """
    lead = x.shape[:-1]
    y = x.reshape(-1, x.shape[-1]) @ w.T                 # (N, out)
    if b is not None:
        y += b  # in place: y is a fresh array
    return y.reshape(*lead, w.shape[0]), (x, w)


def linear_backward(dy, cache, dw, db=None):
    """dy (..., out). Adds into dw (out, in) and db (out,); returns dx (..., in)."""
    x, w = cache
    dy2 = dy.reshape(-1, dy.shape[-1])          # (N, out)
    x2 = x.reshape(-1, x.shape[-1])             # (N, in)
    dw += dy2.T @ x2
    if db is not None:
        db += dy2.sum(axis=0)
    return (dy2 @ w).reshape(x.shape)
