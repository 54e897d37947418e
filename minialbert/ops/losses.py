"""Losses with HF's reductions: mean over the counted elements.

Mixed precision: every loss is computed in float32 from float16 inputs (backend.upcast), and the loss is
a float32 number; the logits' gradient is returned in the logits' storage precision. A loss scale (dynamic
loss scaling for float16 training) enters as the upstream gradient `dloss`."""
from ..backend import acc_dtype, array_module, store, upcast

IGNORE_INDEX = -100  # label value that is not counted (padding, unmasked MLM positions)


def check_class_labels(labels, num_classes, ignore_index=IGNORE_INDEX):
    """ValueError unless every label other than ignore_index lies in [0, num_classes). Reads the values:
    call it on host labels (the models do, before copying them to the device); on device labels it
    waits for the device."""
    labels = labels.reshape(-1)
    xp = array_module(labels)
    valid = labels != ignore_index
    safe = xp.where(valid, labels, 0)
    if labels.size and bool(valid.any()):
        lo, hi = int(safe.min()), int(safe.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"label {lo if lo < 0 else hi} is out of range for {num_classes} classes "
                             f"(use {ignore_index} to ignore a position)")


# The full-vocabulary cross-entropy works on row chunks of at most this many logits: its (N, V) temporaries
# (the shifted logits, their exponentials, the softmax) then never exist whole. Every quantity is per row,
# so the result does not depend on the chunking.
CE_CHUNK_ELEMENTS = 1 << 23          # 32 MiB of float32 per temporary


def _row_chunks(n_rows, n_cols):
    """Slices of at most CE_CHUNK_ELEMENTS logits, whole rows each (at least one row)."""
    step = max(1, CE_CHUNK_ELEMENTS // max(n_cols, 1))
    return [slice(r, min(r + step, n_rows)) for r in range(0, n_rows, step)]


def cross_entropy_forward(logits, labels, ignore_index=IGNORE_INDEX, check=True):
    """logits (N, K), labels (N,) int -> mean negative log-likelihood over labels != ignore_index.

    Like PyTorch, a batch where every label is ignored gives nan (0/0). The count of labels stays an
    array where the labels are (no host sync). check=False skips the range check of the labels (which
    reads them: the models check on the host before the copy to the device and pass check=False).

    Computed by row chunks (CE_CHUNK_ELEMENTS), so that with a full vocabulary and many rows no (N, K)
    temporary is made whole. The cache holds the logits themselves (not a shifted copy: the caller must
    not change them before the backward) and, per row, the maximum and the log-sum-exp of the shifted
    logits: O(N) besides the logits.
    """
    xp = array_module(logits)
    labels = labels.reshape(-1)
    if check:
        check_class_labels(labels, logits.shape[-1], ignore_index)
    valid = labels != ignore_index
    n = valid.sum()                                                                 # 0-d int array
    safe = xp.where(valid, labels, 0)
    N, K = logits.shape
    acc = acc_dtype(logits.dtype)                                                   # float32 for float16
    rowmax = xp.empty((N, 1), dtype=acc)                                            # max of each row
    logsumexp = xp.empty((N,), dtype=acc)                                           # of the shifted row
    picked = xp.empty((N,), dtype=acc)                                              # shifted logit of the label
    for rows in _row_chunks(N, K):
        x = upcast(logits[rows])
        m = x.max(axis=-1, keepdims=True)
        shifted = x - m
        picked[rows] = xp.take_along_axis(shifted, safe[rows, None], axis=-1)[:, 0]
        xp.exp(shifted, out=shifted)
        logsumexp[rows] = xp.log(shifted.sum(axis=-1))
        rowmax[rows] = m
        del shifted                 # before the next chunk's is made: one chunk at a time
    nll = logsumexp - picked                                                        # (N,)
    total = (nll * valid).sum()
    loss = xp.where(n > 0, total / xp.maximum(n, 1).astype(total.dtype), float("nan"))[()]
    return loss, (logits, rowmax, logsumexp, safe, valid, n)


def cross_entropy_backward(dloss, cache):
    """d/dlogits = (softmax - onehot) / n on counted rows, 0 elsewhere; the softmax is rebuilt chunk by
    chunk from the logits and the per-row maximum and log-sum-exp, straight into the result."""
    logits, rowmax, logsumexp, safe, valid, n = cache
    xp = array_module(logits)
    N, K = logits.shape
    dlogits = xp.empty((N, K), dtype=logits.dtype)
    coef = (valid * (dloss / xp.maximum(n, 1)))[:, None]                          # (N, 1)
    low = acc_dtype(logits.dtype) != logits.dtype    # float16 logits: each chunk in float32, stored once
    for rows in _row_chunks(N, K):
        d = upcast(logits[rows]) if low else dlogits[rows]
        xp.subtract(upcast(logits[rows]) if low else logits[rows], rowmax[rows], out=d)   # the forward's shift
        d -= logsumexp[rows, None]
        xp.exp(d, out=d)                                                           # softmax
        d[xp.arange(d.shape[0]), safe[rows]] -= 1.0
        d *= coef[rows]
        if low:
            dlogits[rows] = d
    return store(dlogits, logits.dtype)


def mse_forward(pred, target):
    diff = upcast(pred) - upcast(target)
    return (diff * diff).mean(), (diff, pred.dtype)


def mse_backward(dloss, cache):
    diff, dtype = cache if len(cache) == 2 else (cache[0], cache[0].dtype)
    return store(diff * (2.0 * dloss / diff.size), dtype)


def bce_with_logits_forward(logits, targets):
    """Mean binary cross-entropy on logits, in the stable form
    max(z, 0) - z*y + log(1 + exp(-|z|))."""
    xp = array_module(logits)
    z, targets = upcast(logits), upcast(targets)
    loss = xp.maximum(z, 0) - z * targets + xp.log1p(xp.exp(-xp.abs(z)))
    return loss.mean(), (logits, targets)


def bce_with_logits_backward(dloss, cache):
    """d/dz = (sigmoid(z) - y) / n."""
    z0, y = cache
    xp = array_module(z0)
    z = upcast(z0)
    s = 1.0 / (1.0 + xp.exp(-z))
    return store((s - y) * (dloss / z.size), z0.dtype)
