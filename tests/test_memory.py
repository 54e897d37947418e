"""The memory model (minialbert/model/memory.py, docs/memory.md) against the strict CuPy stand-in's pool
accounting (tests/cupy_strict: every device buffer counted, exact sizes, from creation to collection).

What is asserted:
- the bytes a forward pass keeps (its cache and outputs) equal the model's formula exactly, for post-LN
  and pre-LN, dropout, a head mask, shared and unshared layers, four activations, and the three heads;
- the backward frees the cache as it goes: at each layer application's backward the live bytes have
  fallen by exactly one application's cache (layer_bytes); after it only the parameters, their
  gradients and the input-embedding gradient (and outputs the caller holds) are live;
- two forward passes never hold two caches; backward(retain_graph=True) keeps the cache, a second
  backward without it is refused;
- the step's peaks (forward, backward) are within PEAK_TOL of the model's estimate (step_peaks);
- no (B, NH, T, T) operand is copied by the attention's matmuls (CuPy copies non-contiguous batched
  operands, which the stand-in models); the full-vocabulary cross-entropy never makes an (N, V)
  temporary whole and gives the same bits chunked or not; micro-batching a step divides its activation
  memory and gives the full batch's gradient.
"""
import gc

import numpy as np
import pytest

import minialbert as ma
from minialbert import backend, ops
from minialbert.model import backbone
from minialbert.model.memory import cache_bytes, layer_bytes, param_bytes, step_peaks
from minialbert.ops import losses

PEAK_TOL = 0.02      # the peaks are estimates (the largest temporaries of the peak's phase): within 2 %

BASE = dict(vocab_size=300, embedding_size=16, hidden_size=48, num_hidden_layers=3, num_hidden_groups=1,
            num_attention_heads=4, intermediate_size=96, max_position_embeddings=64)
B, T = 4, 32
VARIANTS = {
    "postln": {},
    "dropout": dict(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, classifier_dropout_prob=0.1),
    "preln-relu": dict(ln_type="preln", hidden_act="relu"),
    "groups-inner-gelu": dict(num_hidden_groups=2, inner_group_num=2, hidden_act="gelu"),
    "unshared-tanh-attn-dropout": dict(share_type="none", hidden_act="tanh", attention_probs_dropout_prob=0.2),
}
HEADS = {"pretraining": (ma.AlbertForPreTraining, "pretraining"), "mlm": (ma.AlbertForMaskedLM, "mlm"),
         "backbone": (ma.AlbertModel, None)}


def batch(cfg, seed=0, b=B, t=T):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, cfg.vocab_size, size=(b, t))
    mask = np.ones((b, t), dtype=np.int64)
    mask[:, -3:] = 0
    labels = np.where(rng.random((b, t)) < 0.15, ids, -100)
    labels[0, 0] = ids[0, 0]
    return ids, mask, labels, rng.integers(0, 2, size=b)


def labels_for(head, labels, sop):
    return {"pretraining": dict(labels=labels, sentence_order_label=sop), "mlm": dict(labels=labels),
            None: {}}[head]


def live(cp):
    gc.collect()
    return cp._strict.live_bytes()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("head_name", HEADS)
def test_the_forward_keeps_exactly_what_the_model_says(strict_cupy, variant, head_name):
    cp = strict_cupy
    cfg = ma.AlbertConfig(**{**BASE, **VARIANTS[variant]})
    cls, head = HEADS[head_name]
    ids, mask, labels, sop = batch(cfg)
    for labelled, head_mask in ((False, False), (True, True)) if head else ((False, False), (False, True)):
        m = cls(cfg, seed=0, device="cuda").train()
        m.mlm_labelled_only = labelled
        p0 = live(cp)
        hm = np.array([1.0, 0.0, 0.5, 1.0]) if head_mask else None
        out = m(ids, mask, head_mask=hm, **labels_for(head, labels, sop))
        want = cache_bytes(cfg, B, T, training=True, head=head, head_mask=head_mask,
                           mlm_rows=int((labels != -100).sum()) if labelled else None)
        assert live(cp) - p0 == want["total"], (variant, head, labelled, head_mask)
        del out, m


def test_backward_frees_each_layer_as_it_goes_and_keeps_nothing_after(strict_cupy, monkeypatch):
    cp = strict_cupy
    cfg = ma.AlbertConfig(**{**BASE, **VARIANTS["groups-inner-gelu"]})   # 3 layers x 2 inner: 6 applications
    ids, mask, labels, sop = batch(cfg)
    m = ma.AlbertForPreTraining(cfg, seed=0, device="cuda").train()
    at_each = []
    ffn_backward = backbone.feedforward_backward

    def probe(*a, **k):           # the live bytes as each application's backward starts
        at_each.append(live(cp))
        return ffn_backward(*a, **k)
    monkeypatch.setattr(backbone, "feedforward_backward", probe)
    per_layer = sum(layer_bytes(cfg, B, T, training=True).values())
    dwords = 4 * B * T * cfg.embedding_size          # the input-embedding gradient backward() keeps
    for step in range(2):         # step 0 allocates the gradients; step 1 runs with them in place
        p0 = live(cp)
        loss = m(ids, mask, labels=labels, sentence_order_label=sop)["loss"]   # the other outputs let go
        assert live(cp) - p0 == cache_bytes(cfg, B, T, training=True, head="pretraining")["total"] - \
            (dwords if step else 0)       # step 1: the last step's input gradient went at the forward
        at_each.clear()
        m.backward()
        assert len(at_each) == 6
        steps = [a - b for a, b in zip(at_each, at_each[1:])]
        # each application's backward starts with one application's cache fewer live. The first step down
        # is two (B, T, H) less: the last application's output stays (the pooler's cache views it for
        # h[CLS]), and the encoder's output gradient is still held by the callers when the next starts
        assert steps == [per_layer - 2 * 4 * B * T * cfg.hidden_size] + [per_layer] * 4, (steps, per_layer)
        # after the backward only the gradients (made by the first), the input gradient (which replaces
        # the last step's) and the loss the caller holds
        assert live(cp) - p0 == ((param_bytes(m) + dwords) if step == 0 else 0) + 4
        assert m.backbone_cache is None
        with pytest.raises(RuntimeError, match="already ran for the last forward pass"):
            m.backward()
        del loss
    assert m.inputs_embeds_grad().nbytes == 4 * B * T * cfg.embedding_size


def test_two_forward_passes_never_hold_two_caches(strict_cupy):
    cp = strict_cupy
    cfg = ma.AlbertConfig(**BASE)
    ids, mask, labels, sop = batch(cfg)
    m = ma.AlbertForPreTraining(cfg, seed=0, device="cuda").train()
    p0 = live(cp)
    cache = cache_bytes(cfg, B, T, training=True, head="pretraining")["total"]
    est = step_peaks(cfg, B, T, training=True, head="pretraining")
    out = m(ids, mask, labels=labels, sentence_order_label=sop)
    assert live(cp) - p0 == cache
    del out        # the caller lets the outputs go: only the model's cache holds the logits now
    with cp._strict.track() as t:
        out = m(ids, mask, labels=labels, sentence_order_label=sop)
    assert live(cp) - p0 == cache
    # the first pass's cache went before the second made its own: its peak is one cache, not two
    assert t.peak_bytes - p0 <= est["forward"] * (1 + PEAK_TOL) < 1.5 * cache
    # the trace of a traced pass goes with it too
    m(ids, mask, labels=labels, sentence_order_label=sop, trace=True)
    assert m.trace is not None
    out = m(ids, mask, labels=labels, sentence_order_label=sop)
    assert m.trace is None and live(cp) - p0 == cache


def test_retain_graph_keeps_the_cache_for_a_second_backward(strict_cupy):
    cp = strict_cupy
    cfg = ma.AlbertConfig(**BASE)
    ids, mask, labels, sop = batch(cfg)
    m = ma.AlbertForPreTraining(cfg, seed=0, device="cuda").train()
    m._ensure_grads()
    p0 = live(cp)
    out = m(ids, mask, labels=labels, sentence_order_label=sop)
    with_cache = live(cp)
    m.backward(retain_graph=True)
    once = {k: backend.to_numpy(v) for k, v in m.grads().items()}
    assert live(cp) == with_cache + 4 * B * T * cfg.embedding_size and m.backbone_cache is not None
    m.backward()
    for k, g in m.grads().items():             # the same gradient added twice
        np.testing.assert_allclose(backend.to_numpy(g), 2 * once[k], rtol=1e-6, atol=1e-12, err_msg=k)
    del out
    assert live(cp) == p0 + 4 * B * T * cfg.embedding_size
    # a traced pass keeps its cache after backward by default (its trace holds those arrays anyway)
    m(ids, mask, labels=labels, sentence_order_label=sop, trace=True)
    m.backward()
    assert m.backbone_cache is not None and len(m.backbone_cache.encoder.layers) == cfg.num_hidden_layers


@pytest.mark.parametrize("variant", ["postln", "dropout", "preln-relu"])
@pytest.mark.parametrize("labelled,held,t", [(False, False, T), (True, False, 64), (False, True, T)])
def test_step_peaks_are_within_tolerance_of_the_estimate(strict_cupy, variant, labelled, held, t):
    cp = strict_cupy
    cfg = ma.AlbertConfig(**{**BASE, **VARIANTS[variant]})
    ids, mask, labels, sop = batch(cfg, t=t)
    m = ma.AlbertForPreTraining(cfg, seed=0, device="cuda").train()
    m.mlm_labelled_only = labelled
    m._ensure_grads()
    p0 = live(cp)
    with cp._strict.track() as tf:
        out = m(ids, mask, labels=labels, sentence_order_label=sop)
    if not held:
        del out
    with cp._strict.track() as tb:
        m.backward()
    est = step_peaks(cfg, B, t, training=True, head="pretraining", outputs_held=held,
                     mlm_rows=int((labels != -100).sum()) if labelled else None)
    for phase, got in (("forward", tf.peak_bytes - p0), ("backward", tb.peak_bytes - p0)):
        assert abs(got / est[phase] - 1) <= PEAK_TOL, (phase, got, est[phase])
    assert est["cache"] < est["forward"] < est["backward"]


def test_attention_matmuls_copy_no_t_by_t_operand(strict_cupy):
    cp = strict_cupy
    cfg = ma.AlbertConfig(**{**BASE, **VARIANTS["dropout"]})
    ids, mask, labels, sop = batch(cfg)
    m = ma.AlbertForPreTraining(cfg, seed=0, device="cuda").train()
    with cp._strict.track() as t:
        m(ids, mask, labels=labels, sentence_order_label=sop)
        m.backward()
    copies = t.of("copy", "matmul-operand")
    bnth = 4 * B * T * cfg.hidden_size                 # a (B, NH, T, HS) operand, as q, k, v, dctx
    assert copies and max(e.nbytes for e in copies) == bnth, t.report()
    # the stand-in models CuPy's rule: a transposed (B, NH, T, T) operand is copied whole, a transposed
    # 2-D matrix is not (a cuBLAS flag), a strided 2-D one is
    p = cp.ones((B, 4, T, T), dtype=cp.float32)
    v = cp.ones((B, 4, T, 12), dtype=cp.float32)
    w = cp.ones((12, 7), dtype=cp.float32)
    with cp._strict.track() as t:
        p.transpose(0, 1, 3, 2) @ v
        v.transpose(0, 1, 3, 2) @ p                        # the orientation attention_backward uses
        v[0, 0] @ w
        v[0, 0].T.T @ w.T.T
        w.T @ v[0, 0].T
        v[0, 0, ::2] @ w
    assert [e.nbytes for e in t.of("copy")] == [p.nbytes, v.nbytes, v[0, 0, ::2].nbytes]


def test_full_vocabulary_cross_entropy_is_chunked_and_equal(strict_cupy, monkeypatch):
    cp = strict_cupy
    rng = np.random.default_rng(0)
    N, V = 96, 500
    logits_h = rng.normal(size=(N, V)).astype(np.float32) * 4
    labels_h = np.where(rng.random(N) < 0.5, rng.integers(0, V, size=N), -100)
    results = []
    for chunk in (N * V, 1000, 7 * V + 3):            # one chunk; 2 rows a chunk; 7 rows a chunk
        monkeypatch.setattr(losses, "CE_CHUNK_ELEMENTS", chunk)
        logits, labels = cp.asarray(logits_h), cp.asarray(labels_h)
        gc.collect()
        with cp._strict.track() as tf:
            loss, cache = ops.cross_entropy_forward(logits, labels, check=False)
        with cp._strict.track() as tb:
            d = ops.cross_entropy_backward(1.0, cache)
        rows = min(N, max(1, chunk // V))
        # the forward: one chunk's shifted logits at a time, and O(N) per-row numbers; the backward: the
        # (N, V) gradient itself, built in place chunk by chunk, and O(N)
        assert 4 * rows * V < tf.peak_increase <= 4 * rows * V + 40 * N + 256, (chunk, tf.peak_increase)
        assert 4 * N * V < tb.peak_increase <= 4 * N * V + 32 * N + 256, (chunk, tb.peak_increase)
        results.append((loss.get(), d.get()))
        assert cache[0] is logits                       # the cache keeps the logits, not a shifted copy
    for loss, d in results[1:]:
        assert loss.tobytes() == results[0][0].tobytes() and d.tobytes() == results[0][1].tobytes()
    # and the numbers are the textbook ones
    lse = np.log(np.exp(logits_h.astype(np.float64)).sum(-1))
    keep = labels_h != -100
    ref = (lse - logits_h[np.arange(N), np.where(keep, labels_h, 0)])[keep].mean()
    assert abs(float(results[0][0]) - ref) < 1e-5 * abs(ref)


def test_micro_batching_divides_activation_memory_and_keeps_the_gradient(strict_cupy):
    """A step of 8 rows as one batch, then as 4 micro-batches of 2 whose gradients add up: the same
    gradient (float64; the objective is a sum over rows, so the parts add exactly up to rounding), and a
    backward peak that follows the model's estimate for a micro-batch of 2."""
    cp = strict_cupy
    cfg = ma.AlbertConfig(**BASE)
    rows, micro = 8, 2
    ids, mask, _, _ = batch(cfg, seed=1, b=rows)
    up = np.random.default_rng(2).standard_normal((rows, T, cfg.hidden_size))
    peaks, grads = {}, {}
    for size in (rows, micro):
        m = ma.AlbertModel(cfg, seed=0, dtype="float64", device="cuda")
        m._ensure_grads()
        p0 = live(cp)
        with cp._strict.track() as t:
            for r in range(0, rows, size):
                m(ids[r:r + size], mask[r:r + size])
                m.backward(last_hidden_state=up[r:r + size])
        peaks[size] = t.peak_bytes - p0
        grads[size] = {k: backend.to_numpy(v) for k, v in m.grads().items()}
        est = step_peaks(cfg, size, T, dtype="float64", head=None)
        assert abs(peaks[size] / est["backward"] - 1) <= PEAK_TOL, (size, peaks[size], est)
    floor = 1e-13 * max(np.abs(g).max() for g in grads[rows].values())   # key.bias: 0 up to rounding
    for k, g in grads[rows].items():
        np.testing.assert_allclose(grads[micro][k], g, rtol=1e-11, atol=floor, err_msg=k)
    assert peaks[micro] < peaks[rows] / 3              # activations scale with the rows; parameters do not
