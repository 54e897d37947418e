"""Checkers for notebook 06's exercises (pretraining data). The SOP checker compares with the library's
own example builder (minialbert.training.examples.build_example, on a small made-up vocabulary, its masked
pieces put back from the labels); the 80-10-10 checker compares with the rule written out below on fixed
draws, at positions chosen so that every branch occurs. No tokenizer or trained model is used."""
import numpy as np

from minialbert.training import PretrainingDataConfig
from minialbert.training.examples import build_example
from minialbert.training.masking import VocabInfo

from . import solutions_06 as solutions
from .check import cmp, exercise, fact

IGNORE_INDEX = -100
V, PAD, CLS, SEP, MASK = 40, 0, 2, 3, 4


def _vocab():
    special = np.zeros(V, dtype=bool)
    special[:5] = True
    return VocabInfo(vocab_size=V, mask_id=MASK, cls_id=CLS, sep_id=SEP, pad_id=PAD, special=special,
                     word_start=np.ones(V, dtype=bool), random_ids=np.arange(5, V))


@exercise("06.sop_example", "sop_example(a, b, swapped, cls_id, sep_id) -> (ids, token types, label)",
          solution=solutions.sop_example, wrong=solutions.WRONG_SOP)
def sop_example(answer):
    rng = np.random.default_rng(601)
    cfg = PretrainingDataConfig(max_seq_length=32)
    verdicts = []
    for na, nb, swapped in ((5, 3, False), (5, 3, True), (2, 7, True)):
        a, b = rng.integers(5, V, size=na).tolist(), rng.integers(5, V, size=nb).tolist()
        first, second = (b, a) if swapped else (a, b)
        ex = build_example(first, second, swapped, _vocab(), cfg, rng)
        n = int(ex["attention_mask"].sum())
        ref_ids = np.where(ex["labels"] != IGNORE_INDEX, ex["labels"], ex["input_ids"])[:n]   # unmasked
        got = answer(list(a), list(b), swapped, CLS, SEP)
        ids, tt, label = got if isinstance(got, tuple) and len(got) == 3 else (got, None, None)
        tag = f"|A|={na} |B|={nb} {'swapped' if swapped else 'in order'}"
        verdicts += [cmp(f"input_ids, {tag}", None if ids is None else np.asarray(ids), ref_ids, rtol=0.0),
                     cmp(f"token_type_ids, {tag}", None if tt is None else np.asarray(tt),
                         ex["token_type_ids"][:n], rtol=0.0),
                     fact(f"label, {tag}", label is not None and int(label) == ex["sentence_order_label"],
                          f"library {ex['sentence_order_label']}, yours {label}")]
    return verdicts


def _reference_corrupt(ids, positions, u, random_ids):
    out, labels = ids.copy(), np.full(ids.shape, IGNORE_INDEX, dtype=np.int64)
    for p, draw, r in zip(positions, u, random_ids):
        labels[p] = ids[p]
        out[p] = MASK if draw < 0.8 else r if draw < 0.9 else ids[p]
    return out, labels


@exercise("06.corrupt", "corrupt(ids, positions, u, random_ids, mask_id): the 80-10-10 rule",
          solution=solutions.corrupt, wrong=solutions.WRONG_CORRUPT)
def corrupt(answer):
    rng = np.random.default_rng(602)
    verdicts = []
    for T, u in ((12, np.array([0.05, 0.5, 0.79, 0.8, 0.85, 0.9, 0.99])),     # every branch and its edges
                 (30, rng.random(9))):
        ids = rng.integers(5, V, size=T)
        positions = np.sort(rng.choice(np.arange(1, T - 1), size=len(u), replace=False))
        random_ids = rng.integers(5, V, size=len(u))
        ref_out, ref_labels = _reference_corrupt(ids, positions, u, random_ids)
        got = answer(ids.copy(), positions.copy(), u.copy(), random_ids.copy(), MASK)
        out, labels = got if isinstance(got, tuple) and len(got) == 2 else (got, None)
        verdicts += [cmp(f"input_ids, T={T}, {len(u)} chosen", out, ref_out, rtol=0.0),
                     cmp(f"labels, T={T}, {len(u)} chosen", labels, ref_labels, rtol=0.0)]
    return verdicts


EXERCISES = [sop_example, corrupt]
