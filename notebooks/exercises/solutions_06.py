"""Reference solutions to notebook 06's exercises (pretraining data), and the plausible wrong answers that
tests/test_exercises.py proves the checkers (ex06.py) reject.

Try the exercises in the notebook before reading this file.
"""
import numpy as np

IGNORE_INDEX = -100


# ----------------------------------------------------------------------------- reference solutions

def sop_example(a, b, swapped, cls_id, sep_id):
    """A sentence-order example from two consecutive segments a, b (lists of ids, a first in the
    document). Returns (input_ids, token_type_ids, sentence_order_label), unpadded:
    [CLS] first [SEP] second [SEP], with (first, second) = (b, a) when swapped, token type 1 from the
    second segment through the last [SEP], label 1 when swapped."""
    first, second = (b, a) if swapped else (a, b)
    input_ids = [cls_id, *first, sep_id, *second, sep_id]
    token_type_ids = [0] * (len(first) + 2) + [1] * (len(second) + 1)
    return input_ids, token_type_ids, int(swapped)


def corrupt(ids, positions, u, random_ids, mask_id):
    """BERT's 80-10-10 rule on the chosen positions. ids (T,); positions (P,) the chosen positions; u (P,)
    one uniform draw in [0, 1) per chosen position; random_ids (P,) the random replacement for each.
    u < 0.8: [MASK]; 0.8 <= u < 0.9: the random id; otherwise left as is. Returns (input_ids, labels):
    labels hold the original id at every chosen position (whatever happened to it), -100 elsewhere."""
    ids = np.asarray(ids)
    out = ids.copy()
    labels = np.full(ids.shape, IGNORE_INDEX, dtype=np.int64)
    labels[positions] = ids[positions]
    out[positions] = np.where(u < 0.8, mask_id, np.where(u < 0.9, random_ids, ids[positions]))
    return out, labels


# ----------------------------------------------------------------------------- plausible wrong answers

def _sop_label_inverted(a, b, swapped, cls_id, sep_id):
    ids, tt, label = sop_example(a, b, swapped, cls_id, sep_id)
    return ids, tt, 1 - label                                       # 1 for "in order"


def _sop_types_without_last_sep(a, b, swapped, cls_id, sep_id):
    ids, tt, label = sop_example(a, b, swapped, cls_id, sep_id)
    return ids, tt[:-1] + [0], label                                 # the final [SEP] belongs to segment B


def _sop_swaps_label_only(a, b, swapped, cls_id, sep_id):
    ids, tt, _ = sop_example(a, b, False, cls_id, sep_id)
    return ids, tt, int(swapped)                                     # label says swapped, order unchanged


def _sop_nsp_style(a, b, swapped, cls_id, sep_id):
    ids, tt, label = sop_example(a, b, False, cls_id, sep_id)
    if swapped:                                                      # NSP: B replaced by "another document"
        ids = [cls_id, *a, sep_id, *[i + 1 for i in b], sep_id]
    return ids, tt, label if not swapped else 1


def _corrupt_labels_everywhere(ids, positions, u, random_ids, mask_id):
    out, _ = corrupt(ids, positions, u, random_ids, mask_id)
    return out, np.asarray(ids).copy()                               # the loss would count every piece


def _corrupt_labels_replaced(ids, positions, u, random_ids, mask_id):
    out, labels = corrupt(ids, positions, u, random_ids, mask_id)
    labels[positions] = out[positions]                               # labels after the replacement
    return out, labels


def _corrupt_90_percent_mask(ids, positions, u, random_ids, mask_id):
    return corrupt(ids, positions, np.where(u < 0.9, 0.0, u), random_ids, mask_id)   # no random 10 %


def _corrupt_order_swapped(ids, positions, u, random_ids, mask_id):
    return corrupt(ids, positions, np.where(u < 0.1, 0.85, np.where(u < 0.9, 0.0, u)), random_ids, mask_id)


WRONG_SOP = {
    "label inverted (1 for in order)": _sop_label_inverted,
    "the final [SEP] given token type 0": _sop_types_without_last_sep,
    "label set but the segments not swapped": _sop_swaps_label_only,
    "NSP: the second segment from another document": _sop_nsp_style,
}
WRONG_CORRUPT = {
    "labels at every position": _corrupt_labels_everywhere,
    "labels hold the replaced ids": _corrupt_labels_replaced,
    "90 % [MASK], no random replacement": _corrupt_90_percent_mask,
    "random id for u < 0.1, [MASK] for 0.1 <= u < 0.9": _corrupt_order_swapped,
}
