"""Reference solutions to notebook 05's exercises (fill-mask), and the plausible wrong answers that
tests/test_exercises.py proves the checkers (ex05.py) reject.

Try the exercises in the notebook before reading this file.
"""
import numpy as np


# ----------------------------------------------------------------------------- reference solutions

def _softmax_rows(logits):
    """Softmax over the last axis in float64, the maximum subtracted first so that exp cannot overflow."""
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def top_k(logits, k):
    """logits (N, V), one row per [MASK] -> (ids (N, k), scores (N, k)): the k most probable ids of each
    row, most probable first, ties in increasing id order, with their softmax probabilities."""
    p = _softmax_rows(logits)
    ids = np.argsort(-p, axis=-1, kind="stable")[:, :k]       # stable: equal scores keep id order
    return ids, np.take_along_axis(p, ids, axis=-1)


def target_scores(logits, target_ids, k):
    """As the pipeline's targets=: logits (N, V), target_ids a list of K vocabulary ids -> (ids, scores),
    each (N, min(k, K)). The softmax is over the whole vocabulary (scores are not renormalised over the
    targets); the targets are then ranked by it, ties in the order the targets were given."""
    cand = np.asarray(target_ids, dtype=np.int64)
    p = _softmax_rows(logits)[:, cand]                         # (N, K): probabilities of the targets only
    order = np.argsort(-p, axis=-1, kind="stable")[:, :k]      # positions in the target list
    return cand[order], np.take_along_axis(p, order, axis=-1)  # back to vocabulary ids


# ----------------------------------------------------------------------------- plausible wrong answers

def _top_k_of_logits(logits, k):
    z = np.asarray(logits, dtype=np.float64)
    ids = np.argsort(-z, axis=-1, kind="stable")[:, :k]
    return ids, np.take_along_axis(z, ids, axis=-1)             # right ids, but logits are not probabilities


def _top_k_unstable_softmax(logits, k):
    z = np.asarray(logits, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)  # exp(1000) = inf, inf / inf = nan
    ids = np.argsort(-p, axis=-1, kind="stable")[:, :k]
    return ids, np.take_along_axis(p, ids, axis=-1)


def _top_k_reversed_ascending(logits, k):
    p = _softmax_rows(logits)
    ids = np.argsort(p, axis=-1, kind="stable")[:, ::-1][:, :k]   # ties come out in decreasing id order
    return ids, np.take_along_axis(p, ids, axis=-1)


def _top_k_softmax_wrong_axis(logits, k):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=0, keepdims=True))
    p = p / p.sum(axis=0, keepdims=True)                        # normalised across the masks
    ids = np.argsort(-p, axis=-1, kind="stable")[:, :k]
    return ids, np.take_along_axis(p, ids, axis=-1)


def _targets_renormalised(logits, target_ids, k):
    cand = np.asarray(target_ids, dtype=np.int64)
    p = _softmax_rows(np.asarray(logits)[:, cand])              # softmax over the targets only: sums to 1
    order = np.argsort(-p, axis=-1, kind="stable")[:, :k]
    return cand[order], np.take_along_axis(p, order, axis=-1)


def _targets_positions_not_ids(logits, target_ids, k):
    cand = np.asarray(target_ids, dtype=np.int64)
    p = _softmax_rows(logits)[:, cand]
    order = np.argsort(-p, axis=-1, kind="stable")[:, :k]
    return order, np.take_along_axis(p, order, axis=-1)         # indices into target_ids, not token ids


def _targets_top_k_then_filter(logits, target_ids, k):
    ids, scores = top_k(logits, k)                              # top k of the vocabulary first ...
    keep = np.isin(ids, target_ids)
    return ([row[m] for row, m in zip(ids, keep)],               # ... then the targets among them: often none
            [row[m] for row, m in zip(scores, keep)])


WRONG_TOP_K = {
    "top k of the logits: the scores are logits, not probabilities": _top_k_of_logits,
    "softmax without subtracting the maximum (overflows)": _top_k_unstable_softmax,
    "argsort ascending, reversed: ties in decreasing id order": _top_k_reversed_ascending,
    "softmax over the masks (axis 0) instead of the vocabulary": _top_k_softmax_wrong_axis,
}
WRONG_TARGETS = {
    "softmax over the targets only (renormalised)": _targets_renormalised,
    "positions in the target list instead of vocabulary ids": _targets_positions_not_ids,
    "top k of the vocabulary, then the targets among them": _targets_top_k_then_filter,
}
