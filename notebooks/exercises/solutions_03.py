"""Reference solutions to notebook 03's exercises (attention), and the plausible wrong answers that
tests/test_exercises.py proves the checkers (ex03.py) reject.

Try the exercises in the notebook before reading this file.
"""
import numpy as np


# ----------------------------------------------------------------------------- reference solutions

def attention(q, k, v, attention_mask):
    """Scaled dot-product attention of every head at once. q, k, v (B, NH, T, HS); attention_mask (B, T),
    1 for a real piece and 0 for padding. Returns (probs (B, NH, T, T), context (B, NH, T, HS)): a query
    never attends to a padded key."""
    HS = q.shape[-1]
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(HS)                    # (B, NH, T, T): query × key
    scores = np.where(attention_mask[:, None, None, :] == 0, -np.inf, scores)   # padded keys: weight 0
    scores = scores - scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    probs = p / p.sum(axis=-1, keepdims=True)                        # softmax over the keys
    return probs, probs @ v


def attention_entropy(probs):
    """Entropy in nats of each query's attention distribution: probs (..., T) -> (...); a zero
    probability contributes 0 (the limit of p log p)."""
    safe = np.where(probs > 0, probs, 1.0)
    return -(probs * np.log(safe)).sum(axis=-1)


# ----------------------------------------------------------------------------- plausible wrong answers

def _att_unscaled(q, k, v, attention_mask):
    return attention(q * np.sqrt(q.shape[-1]), k, v, attention_mask)   # forgot the 1/sqrt(HS)


def _att_no_mask(q, k, v, attention_mask):
    return attention(q, k, v, np.ones_like(attention_mask))          # padding is attended to


def _att_softmax_over_queries(q, k, v, attention_mask):
    HS = q.shape[-1]
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(HS)
    scores = np.where(attention_mask[:, None, None, :] == 0, -np.inf, scores)
    with np.errstate(invalid="ignore"):                              # a fully padded key column: -inf - -inf
        p = np.exp(scores - scores.max(axis=-2, keepdims=True))
    probs = p / p.sum(axis=-2, keepdims=True)                        # normalised over the wrong axis
    return probs, probs @ v


def _att_masks_queries(q, k, v, attention_mask):
    HS = q.shape[-1]
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(HS)
    scores = scores + np.where(attention_mask[:, None, :, None] == 0, -1e9, 0.0)   # rows, not columns
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = p / p.sum(axis=-1, keepdims=True)
    return probs, probs @ v


def _entropy_naive(probs):
    with np.errstate(divide="ignore", invalid="ignore"):            # (silences numpy's warning, not the nan)
        return -(probs * np.log(probs)).sum(axis=-1)                 # 0 · log 0 = nan at padded keys


def _entropy_bits(probs):
    return attention_entropy(probs) / np.log(2)                     # bits, not nats


def _entropy_wrong_axis(probs):
    safe = np.where(probs > 0, probs, 1.0)
    return -(probs * np.log(safe)).sum(axis=-2)                      # over the queries


WRONG_ATTENTION = {
    "forgets the 1/sqrt(HS) scaling": _att_unscaled,
    "ignores the padding mask": _att_no_mask,
    "softmax over the queries instead of the keys": _att_softmax_over_queries,
    "masks the padded queries (rows) instead of the keys (columns)": _att_masks_queries,
}
WRONG_ENTROPY = {
    "p log p without guarding p = 0": _entropy_naive,
    "log base 2": _entropy_bits,
    "sums over the query axis": _entropy_wrong_axis,
}
