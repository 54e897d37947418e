"""Gradient checks: every op and every model class against central finite
differences, in float64.

Each check differentiates f = sum(op(x) * R) with a *random* upstream gradient
R (with R = 1, layer norm's input gradient is ~0 and the check proves nothing).
Error measure per tensor: ||analytic - numeric|| / max(||analytic||, ||numeric||),
required <= 1e-6. Central differences with h = 1e-5 have truncation error
~h^2 = 1e-10 and rounding error ~1e-16/h = 1e-11, far below that bound.

Gradients that are exactly zero in exact arithmetic -- the attention key bias,
the QA output bias and the multiple-choice classifier bias, since softmax
ignores a constant added to all of its inputs -- have no relative error to
speak of; there we assert both gradients are ~0 instead.
"""
import numpy as np
import pytest

import minialbert as ma
from minialbert import ops
from minialbert.config import AlbertConfig
from minialbert.gradcheck import numeric_grad, rel_error

RTOL = 1e-6


def check(analytic, f, x, name="", idx=None):
    num = numeric_grad(f, x, idx)
    ana = np.ravel(analytic) if idx is None else np.ravel(analytic)[idx]
    err = rel_error(ana, num)
    assert err <= RTOL, f"{name}: relative error {err:.2e} > {RTOL}"
    return err


# ----------------------------------------------------------------------------- ops


def test_linear(rng):
    x, w, b = rng.normal(size=(2, 3, 5)), rng.normal(size=(4, 5)), rng.normal(size=4)
    R = rng.normal(size=(2, 3, 4))
    f = lambda: float((ops.linear_forward(x, w, b)[0] * R).sum())
    y, cache = ops.linear_forward(x, w, b)
    dw, db = np.zeros_like(w), np.zeros_like(b)
    dx = ops.linear_backward(R, cache, dw, db)
    check(dx, f, x, "linear dx"), check(dw, f, w, "linear dw"), check(db, f, b, "linear db")


def test_linear_backward_adds_into_buffers(rng):
    """The llm.c contract: backward adds, so two uses of a weight sum up."""
    x, w, b = rng.normal(size=(3, 5)), rng.normal(size=(4, 5)), rng.normal(size=4)
    R = rng.normal(size=(3, 4))
    _, cache = ops.linear_forward(x, w, b)
    dw1, db1 = np.zeros_like(w), np.zeros_like(b)
    ops.linear_backward(R, cache, dw1, db1)
    dw2, db2 = dw1.copy(), db1.copy()
    ops.linear_backward(R, cache, dw2, db2)
    np.testing.assert_allclose(dw2, 2 * dw1)
    np.testing.assert_allclose(db2, 2 * db1)


def test_embedding_repeated_ids(rng):
    table = rng.normal(size=(7, 4))
    ids = np.array([[1, 3, 1], [6, 1, 0]])  # id 1 three times: add.at must sum all three
    R = rng.normal(size=(2, 3, 4))
    f = lambda: float((ops.embedding_forward(ids, table)[0] * R).sum())
    _, cache = ops.embedding_forward(ids, table)
    dt = np.zeros_like(table)
    ops.embedding_backward(R, cache, dt)
    check(dt, f, table, "embedding")


def test_layernorm(rng):
    x, w, b = rng.normal(size=(2, 3, 6)) * 3 + 1, rng.normal(size=6), rng.normal(size=6)
    R = rng.normal(size=(2, 3, 6))
    f = lambda: float((ops.layernorm_forward(x.copy(), w, b, 1e-12)[0] * R).sum())
    _, cache = ops.layernorm_forward(x.copy(), w, b, 1e-12)
    dw, db = np.zeros_like(w), np.zeros_like(b)
    dx = ops.layernorm_backward(R, cache, dw, db)
    check(dx, f, x, "layernorm dx"), check(dw, f, w, "layernorm dw"), check(db, f, b, "layernorm db")


@pytest.mark.parametrize("act", sorted(ops.ACTIVATION_FNS))
def test_activations(act, rng):
    x = rng.normal(size=(3, 7)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep relu away from its kink
    R = rng.normal(size=(3, 7))
    f = lambda: float((ops.activation_forward(x.copy(), act)[0] * R).sum())
    _, cache = ops.activation_forward(x.copy(), act)
    check(ops.activation_backward(R, cache, act), f, x, act)


def test_gelu_values():
    """Exact and tanh GELU against values computed independently (math.erf / math.tanh)."""
    import math
    xs = np.array([-3.0, -1.0, -0.1, 0.0, 0.5, 2.0])
    exact = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in xs]
    tanh = [0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))) for v in xs]
    np.testing.assert_allclose(ops.activation_forward(xs, "gelu")[0], exact, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(ops.activation_forward(xs, "gelu_new")[0], tanh, rtol=1e-14, atol=1e-15)


def test_softmax(rng):
    x = rng.normal(size=(2, 3, 5))
    R = rng.normal(size=(2, 3, 5))
    f = lambda: float((ops.softmax_forward(x)[0] * R).sum())
    _, cache = ops.softmax_forward(x)
    check(ops.softmax_backward(R, cache), f, x, "softmax")


def test_dropout_seeded(rng):
    x = rng.normal(size=(4, 50))
    R = rng.normal(size=(4, 50))
    f = lambda: float((ops.dropout_forward(x, 0.3, np.random.default_rng(5), True)[0] * R).sum())
    y, cache = ops.dropout_forward(x, 0.3, np.random.default_rng(5), True)
    kept, scale = cache                      # the mask is kept as booleans (1 byte an element), scaled at use
    assert kept.dtype == np.bool_ and kept.shape == x.shape and scale == 1 / 0.7
    assert 0.5 < kept.mean() < 0.9  # ~70 % kept
    np.testing.assert_allclose(y[kept], x[kept] / 0.7)
    assert np.all(y[~kept] == 0)
    # bit for bit what a float mask (0 or 1/(1-p)) gave
    np.testing.assert_array_equal(y, x * (kept * scale))
    np.testing.assert_array_equal(ops.dropout_backward(R, cache), R * (kept * scale))
    check(ops.dropout_backward(R, cache), f, x, "dropout")
    y_eval, c_eval = ops.dropout_forward(x, 0.3, None, False)
    assert y_eval is x and c_eval is None


@pytest.mark.parametrize("ln_type", ["postln", "preln"])
def test_attention_with_padding_and_dropout(ln_type, rng):
    B, T, H, NH = 2, 5, 8, 2
    x = rng.normal(size=(B, T, H))
    p = {"wqkv": rng.normal(size=(3 * H, H)) * 0.5, "bqkv": rng.normal(size=3 * H) * 0.1,
         "wo": rng.normal(size=(H, H)) * 0.5, "bo": rng.normal(size=H) * 0.1,
         "ln_w": 1 + 0.1 * rng.normal(size=H), "ln_b": 0.1 * rng.normal(size=H)}
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    bias = ops.attention_mask_bias(mask, np.float64)
    R = rng.normal(size=(B, T, H))

    def run(xx):
        return ops.attention_forward(xx, p, bias, NH, 1e-12, ln_type, 0.2, 0.1, np.random.default_rng(3), True)

    f = lambda: float((run(x)[0] * R).sum())
    y, cache = run(x)
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dx = ops.attention_backward(R, cache, g)
    check(dx, f, x, "attention dx")
    for k in p:
        if k == "bqkv":  # query and value bias; the key bias part is checked separately
            check(g[k], f, p[k], "bqkv[q]", idx=list(range(H)))
            check(g[k], f, p[k], "bqkv[v]", idx=list(range(2 * H, 3 * H)))
            assert np.abs(g[k][H:2 * H]).max() < 1e-12
        else:
            check(g[k], f, p[k], "attention " + k)
    # A padded key gets exactly zero attention.
    _, cache = ops.attention_forward(x, p, bias, NH, 1e-12, ln_type)
    assert np.all(cache.probs[1, :, :, 3:] == 0.0)
    # The scores the trace recomputes from the cache are the ones the softmax saw.
    np.testing.assert_allclose(ops.softmax_forward(ops.attention_scores(cache))[0], cache.probs, rtol=0, atol=0)


@pytest.mark.parametrize("ln_type", ["postln", "preln"])
def test_feedforward(ln_type, rng):
    B, T, H, I = 2, 3, 6, 10
    x = rng.normal(size=(B, T, H))
    p = {"w1": rng.normal(size=(I, H)), "b1": rng.normal(size=I), "w2": rng.normal(size=(H, I)),
         "b2": rng.normal(size=H), "ln_w": 1 + 0.1 * rng.normal(size=H), "ln_b": 0.1 * rng.normal(size=H)}
    R = rng.normal(size=(B, T, H))

    def run():
        return ops.feedforward_forward(x, p, "gelu_new", 1e-12, ln_type, 0.1, np.random.default_rng(2), True)

    f = lambda: float((run()[0] * R).sum())
    _, cache = run()
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dx = ops.feedforward_backward(R, cache, g)
    check(dx, f, x, "ffn dx")
    for k in p:
        check(g[k], f, p[k], "ffn " + k)


def test_cross_entropy_ignore_index(rng):
    logits = rng.normal(size=(6, 5))
    labels = np.array([1, -100, 4, 0, -100, 2])
    f = lambda: float(ops.cross_entropy_forward(logits, labels)[0])
    loss, cache = ops.cross_entropy_forward(logits, labels)
    # value against a direct log-softmax computation over the 4 counted rows
    lsm = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    rows = labels != -100
    assert abs(loss - -lsm[rows, labels[rows]].mean()) < 1e-14
    d = ops.cross_entropy_backward(1.0, cache)
    assert np.all(d[~rows] == 0)
    check(d, f, logits, "cross entropy")


def test_mse_and_bce(rng):
    z, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    t = (rng.random((4, 3)) > 0.5).astype(float)
    loss, c = ops.mse_forward(z, y)
    assert abs(loss - ((z - y) ** 2).mean()) < 1e-14
    check(ops.mse_backward(1.0, c), lambda: float(ops.mse_forward(z, y)[0]), z, "mse")
    loss, c = ops.bce_with_logits_forward(z, t)
    s = 1 / (1 + np.exp(-z))
    assert abs(loss - -(t * np.log(s) + (1 - t) * np.log(1 - s)).mean()) < 1e-12
    check(ops.bce_with_logits_backward(1.0, c), lambda: float(ops.bce_with_logits_forward(z, t)[0]), z, "bce")


# ----------------------------------------------------------------------------- whole models

TINY = dict(vocab_size=23, embedding_size=6, hidden_size=8, num_attention_heads=2, intermediate_size=10,
            num_hidden_layers=3, max_position_embeddings=16, type_vocab_size=2, initializer_range=0.5,
            hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, classifier_dropout_prob=0.1)
B, T = 2, 6
IDS = np.array([[2, 5, 9, 9, 17, 3], [2, 11, 4, 3, 0, 0]])
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
TT = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]])


def labels_for(cls_name, rng, cfg):
    if cls_name == "AlbertForMaskedLM":
        return {"labels": np.array([[-100, 7, -100, 12, -100, -100], [-100, -100, 20, -100, -100, -100]])}
    if cls_name == "AlbertForPreTraining":
        return {"labels": np.array([[-100, 7, -100, 12, -100, -100], [-100, -100, 20, -100, -100, -100]]),
                "sentence_order_label": np.array([1, 0])}
    if cls_name == "AlbertForSequenceClassification":
        if cfg.problem_type == "regression":
            return {"labels": np.array([0.3, -1.2])}
        if cfg.problem_type == "multi_label_classification":
            return {"labels": np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])}
        return {"labels": np.array([2, 0])}
    if cls_name == "AlbertForTokenClassification":
        return {"labels": np.array([[0, 1, 2, 1, 0, 2], [1, 1, 0, 2, -100, -100]])}
    if cls_name == "AlbertForQuestionAnswering":
        return {"start_positions": np.array([1, 2]), "end_positions": np.array([3, 3])}
    if cls_name == "AlbertForMultipleChoice":
        return {"labels": np.array([1, 0])}
    return {}


def model_gradcheck(cls, cfg, rng, n_per_tensor=6):
    model = cls(cfg, seed=0, dtype="float64").train()
    # Perturb LN gains and biases away from 1 and 0 so their gradients are generic.
    for k, v in model.params.items():
        if v.ndim == 1:
            v += 0.2 * rng.normal(size=v.shape)
    ids, mask, tt = IDS, MASK, TT
    if cls is ma.AlbertForMultipleChoice:
        ids, mask, tt = (np.stack([a, a[::-1]], axis=1) for a in (IDS, MASK, TT))   # (B, C=2, T)
    labels = labels_for(cls.__name__, rng, cfg)
    out0 = model.manual_seed(7)(ids, mask, tt, **labels)
    upstream = {}
    if "loss" not in out0:
        upstream = {k: rng.normal(size=out0[k].shape) for k in ("last_hidden_state", "pooler_output")
                    if out0.get(k) is not None}

    def f():
        out = model.manual_seed(7)(ids, mask, tt, **labels)   # same dropout masks every call
        if "loss" in out:
            return float(out["loss"])
        return float(sum((out[k] * r).sum() for k, r in upstream.items()))

    model.manual_seed(7)(ids, mask, tt, **labels)
    model.backward(**upstream)
    grads = model.grads()
    assert set(grads) == set(model.params)
    errs = {}
    for name, p in model.params.items():
        candidates = np.arange(p.size)
        if name.endswith("word_embeddings.weight"):
            # HF's padding_idx: the lookup sends no gradient to the padding row
            # (a deliberate difference from the true gradient; asserted below).
            candidates = candidates[p.shape[1] * (cfg.pad_token_id + 1):]
        k = min(n_per_tensor, candidates.size)
        idx = sorted(rng.choice(candidates, size=k, replace=False).tolist())
        if name.endswith("attention.key.bias") or (name in ("qa_outputs.bias", "classifier.bias")
                                                    and cls in (ma.AlbertForQuestionAnswering,
                                                                ma.AlbertForMultipleChoice)):
            # softmax shift invariance: a bias added equally to every score a
            # softmax sees (every key; every position; every choice) has zero gradient
            num = numeric_grad(f, p, idx)
            assert np.abs(grads[name]).max() < 1e-12 and np.abs(num).max() < 1e-8, name
            continue
        errs[name] = check(grads[name], f, p, name, idx)
    return model, errs


def test_padding_row_gets_no_lookup_gradient(rng):
    """nn.Embedding(padding_idx=pad_token_id) semantics, which HF's ALBERT uses."""
    cfg = AlbertConfig(**TINY)
    model = ma.AlbertModel(cfg, seed=0, dtype="float64")
    out = model(IDS, MASK, TT)
    model.backward(last_hidden_state=rng.normal(size=out["last_hidden_state"].shape))
    g = model.grads()["embeddings.word_embeddings.weight"]
    assert np.all(g[cfg.pad_token_id] == 0) and np.abs(g[IDS[0, 1]]).max() > 0


MODEL_CASES = [
    ("AlbertModel", {}),
    ("AlbertForMaskedLM", {}),
    ("AlbertForPreTraining", {}),
    ("AlbertForSequenceClassification", {"num_labels": 3, "problem_type": "single_label_classification"}),
    ("AlbertForSequenceClassification", {"num_labels": 1, "problem_type": "regression"}),
    ("AlbertForSequenceClassification", {"num_labels": 3, "problem_type": "multi_label_classification"}),
    ("AlbertForTokenClassification", {"num_labels": 3}),
    ("AlbertForQuestionAnswering", {}),
    ("AlbertForMultipleChoice", {}),
]


@pytest.mark.parametrize("cls_name,extra", MODEL_CASES, ids=[f"{c}-{e.get('problem_type', '')}" for c, e in MODEL_CASES])
def test_model_gradients(cls_name, extra, rng):
    model_gradcheck(ma.MODEL_CLASSES[cls_name], AlbertConfig(**TINY, **extra), rng)


VARIANTS = [dict(share_type=s, ln_type=l) for s in ("all", "attention", "ffn", "none") for l in ("postln", "preln")]
VARIANTS += [dict(num_hidden_layers=5, num_hidden_groups=2, inner_group_num=2),
             dict(hidden_act="gelu"), dict(hidden_act="relu"), dict(embedding_size=8),
             # brightmart's albert_zh layout (word_embeddings_2, width-H embeddings and MLM transform)
             dict(embedding_layout="albert_zh"), dict(embedding_layout="albert_zh", embedding_size=8),
             dict(embedding_layout="albert_zh", ln_type="preln", share_type="attention")]


@pytest.mark.parametrize("variant", VARIANTS, ids=["-".join(f"{k}={v}" for k, v in d.items()) for d in VARIANTS])
def test_variant_gradients(variant, rng):
    cfg = AlbertConfig(**{**TINY, **variant})
    model, errs = model_gradcheck(ma.AlbertForPreTraining, cfg, rng, n_per_tensor=4)
    # The variant's layers own the expected number of distinct parameter blocks.
    L = cfg.num_hidden_layers
    n_attn = len({k.split(".attention.")[0] for k in model.params if ".attention.query.weight" in k})
    n_ffn = len({k for k in model.params if k.endswith(".ffn.weight")})
    per_group = cfg.inner_group_num * (1 if cfg.share_type != "none" else 1)
    G = cfg.num_hidden_groups
    assert n_attn == (G * per_group if cfg.share_type in ("all", "attention") else L * cfg.inner_group_num)
    assert n_ffn == (G * per_group if cfg.share_type in ("all", "ffn") else L * cfg.inner_group_num)


def test_label_out_of_range_is_clear():
    cfg = AlbertConfig(**{**TINY, "num_labels": 2})
    m = ma.AlbertForTokenClassification(cfg)
    with pytest.raises(ValueError, match="label 2 is out of range for 2 classes"):
        m(IDS, MASK, TT, labels=np.full(IDS.shape, 2))


def test_shared_gradient_is_sum_over_layers(rng):
    """With every layer sharing one block, the block's gradient equals the sum of
    the gradients that each of L unshared copies of it would receive."""
    cfg = AlbertConfig(**{**TINY, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0})
    shared = ma.AlbertForMaskedLM(cfg, seed=3, dtype="float64")
    unshared = ma.AlbertForMaskedLM(cfg.replace(share_type="none"), seed=3, dtype="float64")
    # give every unshared layer the shared block's weights
    for k, v in unshared.params.items():
        src = k.replace(k.split("albert_layer_groups.")[1].split(".")[0], "0", 1) if "albert_layer_groups." in k else k
        src = ("albert.encoder.albert_layer_groups.0." + src.split("albert_layer_groups.0.", 1)[1]) \
            if "albert_layer_groups." in k else k
        unshared.params[k] = shared.params[src].copy()
    labels = labels_for("AlbertForMaskedLM", rng, cfg)
    a = shared(IDS, MASK, TT, **labels)
    b = unshared(IDS, MASK, TT, **labels)
    assert abs(float(a["loss"]) - float(b["loss"])) < 1e-12
    shared.backward(), unshared.backward()
    name = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"
    per_layer = [unshared.grads()[f"albert.encoder.albert_layer_groups.{i}.albert_layers.0.ffn.weight"]
                 for i in range(cfg.num_hidden_layers)]
    np.testing.assert_allclose(shared.grads()[name], sum(per_layer), rtol=1e-10, atol=1e-14)
    assert all(np.abs(g).max() > 1e-6 for g in per_layer)


@pytest.mark.parametrize("cls_name", ["AlbertForMaskedLM", "AlbertForPreTraining"])
def test_mlm_labelled_only_gives_the_same_loss_and_gradients(cls_name, rng):
    """The pretraining speed-up (MLM head only at labelled positions) changes
    nothing but the shape of the logits."""
    cls = ma.MODEL_CLASSES[cls_name]
    cfg = AlbertConfig(**{**TINY, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                          "classifier_dropout_prob": 0.0})
    labels = labels_for(cls_name, rng, cfg)
    full, sparse = cls(cfg, seed=1, dtype="float64"), cls(cfg, seed=1, dtype="float64")
    sparse.mlm_labelled_only = True
    a, b = full(IDS, MASK, TT, **labels), sparse(IDS, MASK, TT, **labels)
    key = "logits" if cls_name == "AlbertForMaskedLM" else "prediction_logits"
    assert b[key].shape == (int((labels["labels"] != -100).sum()), cfg.vocab_size)
    assert abs(float(a["loss"]) - float(b["loss"])) < 1e-12
    full.backward(), sparse.backward()
    for k, g in full.grads().items():
        np.testing.assert_allclose(sparse.grads()[k], g, atol=1e-13, err_msg=k)
