"""Checkers for notebook 05's exercises (fill-mask). Each checker runs twice: on the logits of a freshly
initialised float64 masked-LM model (V = 30000, the bundled vocabulary; random weights, larger than HF's
initialisation so that the distributions are not flat) against what ma.pipeline("fill-mask") itself
returns for the same texts, and on seeded logits built to expose the edge cases (tied logits, logits too
large for a naive exp) against the library's ops.softmax_forward. No trained model is used."""
import numpy as np

import minialbert as ma
from minialbert import ops
from minialbert.hub import default_model_path

from . import solutions_05 as solutions
from .check import cmp, exercise

TEXTS = ["The [MASK] statement imports a module.", "A [MASK] is defined with def and [MASK] a value."]
TARGETS = ["\u2581module", "\u2581the", "\u2581import", "\u2581return", "\u2581class", "\u2581function"]


def _pipeline_case(seed):
    """A fresh float64 model, its fill-mask pipeline, and its (N, V) logits at the texts' N = 3 masks,
    in the order the pipeline answers them (text by text, left to right)."""
    tok = ma.load_tokenizer(default_model_path())
    cfg = ma.AlbertConfig(vocab_size=tok.vocab_size, embedding_size=16, hidden_size=32, num_attention_heads=2,
                          intermediate_size=64, num_hidden_layers=1, max_position_embeddings=64,
                          initializer_range=0.5)
    model = ma.AlbertForMaskedLM(cfg, seed=seed, dtype="float64")
    fill = ma.pipeline("fill-mask", model=model, tokenizer=tok)
    rows = [tok(t)["input_ids"] for t in TEXTS]
    ids = np.full((len(rows), max(map(len, rows))), tok.pad_token_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, :len(r)], mask[i, :len(r)] = r, 1
    logits = model(ids, attention_mask=mask)["logits"]                     # (B, T, V)
    return fill, logits[(ids == tok.mask_token_id) & (mask == 1)]          # (N, V), row-major = pipeline order


def _per_mask(result):
    """The pipeline's answer as one list of predictions per mask, whatever its nesting."""
    if result and isinstance(result[0], dict):
        return [result]
    return [m for r in result for m in _per_mask(r)]


def _edge_logits(seed, N=3, V=50):
    """Seeded (N, V) logits: ordinary ones, integer-valued ones (many ties, several among the top k), and
    ones shifted by +800 (softmax does not change), whose exp overflows float64 unless the maximum is
    subtracted first."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N, V)) * 3.0
    z[1] = rng.integers(0, 4, size=V)
    z[2] = 800.0 + rng.normal(size=V) * 3.0
    return z


def _pair(got):
    """(ids, scores) from the answer; a ragged result stays a list (cmp then says it is not an array)."""
    ids, scores = got if isinstance(got, tuple) and len(got) == 2 else (got, None)
    out = []
    for a in (ids, scores):
        try:
            out.append(None if a is None else np.asarray(a))
        except ValueError:                                  # rows of different lengths
            out.append(list(a))
    return out


@exercise("05.top_k", "top_k(logits, k) -> (ids, scores): softmax over the vocabulary, then the k best",
          solution=solutions.top_k, wrong=solutions.WRONG_TOP_K)
def top_k(answer):
    verdicts = []
    fill, z = _pipeline_case(501)
    k = 5
    preds = _per_mask(fill(TEXTS, top_k=k))
    ref_ids = np.array([[p["token"] for p in m] for m in preds])
    ref_scores = np.array([[p["score"] for p in m] for m in preds])
    ids, scores = _pair(answer(z.copy(), k))
    tag = f"pipeline, {len(z)} masks, k={k}"
    verdicts += [cmp(f"ids, {tag}", ids, ref_ids, rtol=0.0), cmp(f"scores, {tag}", scores, ref_scores)]

    z = _edge_logits(502)
    p, _ = ops.softmax_forward(z.copy())                                   # the library's stable softmax
    ref_ids = np.argsort(-p, axis=-1, kind="stable")[:, :k]                # ties in id order, as the pipeline
    ids, scores = _pair(answer(z.copy(), k))
    tag = f"ties and logits ~800, k={k}"
    verdicts += [cmp(f"ids, {tag}", ids, ref_ids, rtol=0.0),
                 cmp(f"scores, {tag}", scores, np.take_along_axis(p, ref_ids, axis=-1))]
    return verdicts


@exercise("05.target_scores", "target_scores(logits, target_ids, k): the pipeline's targets= ranking",
          solution=solutions.target_scores, wrong=solutions.WRONG_TARGETS)
def target_scores(answer):
    verdicts = []
    fill, z = _pipeline_case(503)
    target_ids = fill.target_ids(TARGETS)                                  # the library's rule for the strings
    for k in (3, 10):                                                      # 10 > 6 targets: capped at 6
        preds = _per_mask(fill(TEXTS, top_k=k, targets=TARGETS))
        ref_ids = np.array([[p["token"] for p in m] for m in preds])
        ref_scores = np.array([[p["score"] for p in m] for m in preds])
        ids, scores = _pair(answer(z.copy(), list(target_ids), k))
        tag = f"pipeline, {len(target_ids)} targets, k={k}"
        verdicts += [cmp(f"ids, {tag}", ids, ref_ids, rtol=0.0), cmp(f"scores, {tag}", scores, ref_scores)]

    rng = np.random.default_rng(504)
    z = rng.normal(size=(2, 50)) * 3.0
    target_ids = rng.choice(50, size=7, replace=False).tolist()            # in no particular order
    p, _ = ops.softmax_forward(z.copy())
    order = np.argsort(-p[:, target_ids], axis=-1, kind="stable")[:, :4]
    ref_ids = np.asarray(target_ids)[order]
    ids, scores = _pair(answer(z.copy(), list(target_ids), 4))
    tag = f"seeded, {len(target_ids)} targets, k=4"
    verdicts += [cmp(f"ids, {tag}", ids, ref_ids, rtol=0.0),
                 cmp(f"scores, {tag}", scores, np.take_along_axis(p, ref_ids, axis=-1))]
    return verdicts


EXERCISES = [top_k, target_scores]
