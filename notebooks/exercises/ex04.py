"""Checkers for notebook 04's exercises (the backward pass). Each grades a learner's function on fixed,
seeded float64 inputs against the library's own op (minialbert.ops, "library" in the verdicts) and against central finite
differences of the library's forward with a random upstream gradient. Gradient buffers are handed in
already holding a gradient, so an answer that assigns (=) instead of adding (+=) is caught."""
import numpy as np

from minialbert import ops

from . import solutions_04 as solutions
from .check import cmp, exercise, fact, fd_grad

EPS = 1e-12


def buffer_cmp(name, buf, before, reference):
    """Compare a gradient buffer the answer should have added into; say so when it was left unchanged
    or overwritten."""
    if np.array_equal(buf, before) and not np.array_equal(reference, before):
        return fact(name, False, "left unchanged: add the gradient into the buffer in place (+=)")
    if np.allclose(buf, reference - before, rtol=1e-6, atol=1e-12) and np.abs(before).max() > 0:
        return fact(name, False, "overwritten: the buffer lost the gradient it already held (use +=, not =)")
    return cmp(name, buf, reference)


@exercise("04.layernorm_backward", "layernorm_backward(dy, cache, dw, db) -> dx",
          solution=solutions.layernorm_backward, wrong=solutions.WRONG_LAYERNORM)
def layernorm_backward(answer):
    rng = np.random.default_rng(4041)
    verdicts = []
    for shape in ((2, 3, 6), (5, 4)):
        D = shape[-1]
        x = rng.normal(size=shape)
        w, b = 1.0 + 0.3 * rng.normal(size=D), 0.3 * rng.normal(size=D)
        R = rng.normal(size=shape)                                  # random upstream gradient
        _, cache = ops.layernorm_forward(x, w, b, EPS)
        dw0, db0 = rng.normal(size=D), rng.normal(size=D)           # buffers already holding a gradient
        ref_dw, ref_db = dw0.copy(), db0.copy()
        ref_dx = ops.layernorm_backward(R, cache, ref_dw, ref_db)
        dw, db = dw0.copy(), db0.copy()
        dx = answer(R.copy(), tuple(a.copy() for a in cache), dw, db)
        f = lambda: float((ops.layernorm_forward(x, w, b, EPS)[0] * R).sum())   # noqa: E731
        verdicts += [cmp(f"dx vs library, x {shape}", dx, ref_dx),
                     cmp(f"dx vs finite differences, x {shape}", dx, fd_grad(f, x)),
                     buffer_cmp(f"dw (added into the buffer), x {shape}", dw, dw0, ref_dw),
                     buffer_cmp(f"db (added into the buffer), x {shape}", db, db0, ref_db)]
    return verdicts


@exercise("04.softmax_backward", "softmax_backward(dy, y) -> dx",
          solution=solutions.softmax_backward, wrong=solutions.WRONG_SOFTMAX)
def softmax_backward(answer):
    rng = np.random.default_rng(4042)
    verdicts = []
    for shape in ((2, 2, 3, 5), (4, 7)):                           # attention-like (B, NH, T, T), plain rows
        s = 2.0 * rng.normal(size=shape)
        R = rng.normal(size=shape)
        y, cache = ops.softmax_forward(s)
        dx = answer(R.copy(), y.copy())
        f = lambda: float((ops.softmax_forward(s)[0] * R).sum())   # noqa: E731
        verdicts += [cmp(f"dx vs library, y {shape}", dx, ops.softmax_backward(R, cache)),
                     cmp(f"dx vs finite differences, y {shape}", dx, fd_grad(f, s))]
    return verdicts


@exercise("04.cross_entropy_backward", "cross_entropy_backward(logits, labels) -> dlogits, with ignore index",
          solution=solutions.cross_entropy_backward, wrong=solutions.WRONG_CROSS_ENTROPY)
def cross_entropy_backward(answer):
    rng = np.random.default_rng(4043)
    ign = ops.IGNORE_INDEX
    verdicts = []
    for labels, K in ((np.array([2, ign, 0, 4, ign, 1]), 5), (np.array([1, 0, 2, 2]), 3)):
        logits = 2.0 * rng.normal(size=(len(labels), K))
        loss, cache = ops.cross_entropy_forward(logits, labels)
        ref = ops.cross_entropy_backward(1.0, cache)
        d = answer(logits.copy(), labels.copy())
        f = lambda: float(ops.cross_entropy_forward(logits, labels)[0])   # noqa: E731
        tag = f"{int((labels == ign).sum())}/{len(labels)} rows ignored"
        verdicts += [cmp(f"dlogits vs library, {tag}", d, ref),
                     cmp(f"dlogits vs finite differences, {tag}", d, fd_grad(f, logits))]
    return verdicts


@exercise("04.embedding_backward", "fix the scatter-add: embedding_backward(dout, ids, dtable)",
          solution=solutions.embedding_backward, wrong=solutions.WRONG_EMBEDDING)
def embedding_backward(answer):
    rng = np.random.default_rng(4044)
    verdicts = []
    V, D = 7, 3
    for ids in (np.array([[3, 1, 3, 0, 3], [5, 1, 2, 2, 6]]),      # repeats inside and across sentences
                np.array([4, 4, 4, 0])):
        table = rng.normal(size=(V, D))
        dout = rng.normal(size=ids.shape + (D,))                   # random upstream gradient
        dtable0 = rng.normal(size=(V, D))                          # the buffer already holds a gradient
        ref = dtable0.copy()
        _, cache = ops.embedding_forward(ids, table)
        ops.embedding_backward(dout, cache, ref)
        dtable = dtable0.copy()
        answer(dout.copy(), ids.copy(), dtable)
        f = lambda: float((ops.embedding_forward(ids, table)[0] * dout).sum())   # noqa: E731
        tag = f"ids {ids.shape}, {ids.size - len(np.unique(ids))} repeats"
        verdicts += [buffer_cmp(f"dtable vs library, {tag}", dtable, dtable0, ref),
                     cmp(f"dtable - before vs finite diff., {tag}", dtable - dtable0, fd_grad(f, table))]
    return verdicts


EXERCISES = [layernorm_backward, softmax_backward, cross_entropy_backward, embedding_backward]
