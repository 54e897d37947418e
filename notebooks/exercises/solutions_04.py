"""Reference solutions to notebook 04's exercises, and the plausible wrong answers that
tests/test_exercises.py proves the checkers (ex04.py) reject.

Try the exercises in the notebook before reading this file.
"""
import numpy as np

IGNORE_INDEX = -100


# ----------------------------------------------------------------------------- reference solutions

def layernorm_backward(dy, cache, dw, db):
    """dy (..., D); cache = (xhat, rstd, w) as ops.layernorm_forward keeps it. Adds into dw, db; returns dx."""
    xhat, rstd, w = cache
    D = dy.shape[-1]
    dw += (dy * xhat).reshape(-1, D).sum(axis=0)          # every row (token) contributes
    db += dy.reshape(-1, D).sum(axis=0)
    g = dy * w                                             # the gradient reaching xhat
    through_mean = g.mean(axis=-1, keepdims=True)
    through_std = xhat * (g * xhat).mean(axis=-1, keepdims=True)
    return rstd * (g - through_mean - through_std)


def softmax_backward(dy, y):
    """dy, y = softmax(x) (..., K) -> dx: the Jacobian diag(y) - y yᵀ of each row applied to dy."""
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def _softmax_rows(logits):
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def cross_entropy_backward(logits, labels, ignore_index=IGNORE_INDEX):
    """logits (N, K), labels (N,) -> d(mean loss over the counted rows)/d logits, (N, K).

    Row i counts when labels[i] != ignore_index; a counted row gets (softmax - onehot) / n, with n the
    number of counted rows; an ignored row gets exactly 0."""
    counted = labels != ignore_index
    n = max(int(counted.sum()), 1)
    d = _softmax_rows(logits)
    rows = np.flatnonzero(counted)
    d[rows, labels[rows]] -= 1.0
    d[~counted] = 0.0
    return d / n


def embedding_backward(dout, ids, dtable):
    """Add dout[i] into dtable[ids[i]] for every position i, in place; an id that occurs k times
    receives all k rows. ids (...) int, dout (..., D), dtable (V, D)."""
    np.add.at(dtable, ids.reshape(-1), dout.reshape(-1, dtable.shape[1]))


# ----------------------------------------------------------------------------- plausible wrong answers
# Each is a one-line slip from the reference; the checker must reject every one.

def _ln_forgets_std_path(dy, cache, dw, db):
    xhat, rstd, w = cache
    D = dy.shape[-1]
    dw += (dy * xhat).reshape(-1, D).sum(axis=0)
    db += dy.reshape(-1, D).sum(axis=0)
    g = dy * w
    return rstd * (g - g.mean(axis=-1, keepdims=True))    # the path through the standard deviation is missing


def _ln_wrong_axis(dy, cache, dw, db):
    xhat, rstd, w = cache
    D = dy.shape[-1]
    dw += (dy * xhat).reshape(-1, D).sum(axis=0)
    db += dy.reshape(-1, D).sum(axis=0)
    g = dy * w
    return rstd * (g - g.mean(axis=0, keepdims=True) - xhat * (g * xhat).mean(axis=0, keepdims=True))


def _ln_overwrites_buffers(dy, cache, dw, db):
    xhat, rstd, w = cache
    D = dy.shape[-1]
    dw[...] = (dy * xhat).reshape(-1, D).sum(axis=0)      # = instead of +=: a shared weight's other uses lost
    db[...] = dy.reshape(-1, D).sum(axis=0)
    g = dy * w
    return rstd * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))


def _ln_forgets_w(dy, cache, dw, db):
    xhat, rstd, w = cache
    D = dy.shape[-1]
    dw += (dy * xhat).reshape(-1, D).sum(axis=0)
    db += dy.reshape(-1, D).sum(axis=0)
    g = dy                                                  # forgot the scale: g = dy * w
    return rstd * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))


def _sm_diagonal_only(dy, y):
    return dy * y * (1.0 - y)                               # only the diagonal of the Jacobian


def _sm_wrong_axis(dy, y):
    return y * (dy - (dy * y).sum(axis=0, keepdims=True))


def _sm_forgets_y(dy, y):
    return y * dy - (dy * y).sum(axis=-1, keepdims=True)    # the subtracted term lost its factor y


def _ce_divides_by_all_rows(logits, labels, ignore_index=IGNORE_INDEX):
    counted = labels != ignore_index
    d = _softmax_rows(logits)
    rows = np.flatnonzero(counted)
    d[rows, labels[rows]] -= 1.0
    d[~counted] = 0.0
    return d / len(labels)                                  # N, not the number of counted rows


def _ce_ignored_rows_not_zeroed(logits, labels, ignore_index=IGNORE_INDEX):
    counted = labels != ignore_index
    safe = np.where(counted, labels, 0)
    d = _softmax_rows(logits)
    d[np.arange(len(labels)), safe] -= 1.0                  # ignored rows treated as label 0
    return d / max(int(counted.sum()), 1)


def _ce_sign_flipped(logits, labels, ignore_index=IGNORE_INDEX):
    return -cross_entropy_backward(logits, labels, ignore_index)   # onehot - softmax


def _emb_fancy_index_add(dout, ids, dtable):
    dtable[ids] += dout                                     # a repeated id keeps only one of its rows


def _emb_loop_over_sentences(dout, ids, dtable):
    for sentence_ids, sentence_dout in zip(ids, dout):     # repeats across sentences add up...
        dtable[sentence_ids] += sentence_dout               # ...repeats inside a sentence are still lost


def _emb_overwrites(dout, ids, dtable):
    dtable[ids] = dout                                      # = instead of +=: what the buffer held is lost


WRONG_LAYERNORM = {
    "forgets the path through the standard deviation": _ln_forgets_std_path,
    "means over the batch axis instead of the feature axis": _ln_wrong_axis,
    "overwrites dw and db (=) instead of adding (+=)": _ln_overwrites_buffers,
    "forgets the scale w in g = dy * w": _ln_forgets_w,
}
WRONG_SOFTMAX = {
    "only the diagonal of the Jacobian, dy * y * (1 - y)": _sm_diagonal_only,
    "sums over the wrong axis": _sm_wrong_axis,
    "the subtracted term misses its factor y": _sm_forgets_y,
}
WRONG_CROSS_ENTROPY = {
    "divides by all N rows instead of the counted rows": _ce_divides_by_all_rows,
    "ignored rows not zeroed": _ce_ignored_rows_not_zeroed,
    "sign flipped (onehot - softmax)": _ce_sign_flipped,
}
WRONG_EMBEDDING = {
    "dtable[ids] += dout (repeated ids lost)": _emb_fancy_index_add,
    "a loop over sentences (repeats inside a sentence lost)": _emb_loop_over_sentences,
    "overwrites the looked-up rows (=)": _emb_overwrites,
}
