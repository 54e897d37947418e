"""The model-call arguments HF users pass besides input_ids: position_ids, head_mask, inputs_embeds,
and the gradients with respect to the inputs (inputs_embeds_grad(), head_mask_grad()).

1. Finite-difference checks in float64 (the convention of test_gradcheck.py: a random upstream
   gradient or a loss, dropout on with fixed masks, relative error <= 1e-6).
2. Parity with Hugging Face: tests/fixtures/hf_call_args/ (scripts/make_call_args_fixture.py; HF's
   eager attention plus HF 4's head-mask product, since transformers 5 has no head_mask), compared in
   float64: every array agrees with HF's to max|ours - HF| <= 1e-10 * max(1, max|HF|).
"""
import json
from pathlib import Path

import numpy as np
import pytest

import minialbert as ma
from minialbert.config import AlbertConfig
from minialbert.gradcheck import numeric_grad, rel_error

RTOL = 1e-6
HF_TOL = 1e-10
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "hf_call_args"

# 3 layers over 2 groups of 2 inner layers: 6 applied layers, so a 2-D head mask has 6 rows
TINY = dict(vocab_size=23, embedding_size=6, hidden_size=8, num_attention_heads=2, intermediate_size=10,
            num_hidden_layers=3, num_hidden_groups=2, inner_group_num=2, max_position_embeddings=16,
            type_vocab_size=2, initializer_range=0.5, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
IDS = np.array([[2, 5, 9, 9, 17, 3], [2, 11, 4, 3, 0, 0]])
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
LABELS = np.array([[-100, 7, -100, 12, -100, -100], [-100, -100, 20, -100, -100, -100]])
POS = np.array([[3, 4, 5, 6, 7, 8], [0, 2, 2, 2, 9, 1]])      # (B, T), with a repeated row
HEAD_MASK = np.array([[1.0, 0.5], [0.3, 1.7], [0.0, 1.2], [0.8, -0.4], [1.3, 0.6], [0.9, 1.1]])


def check(analytic, f, x, name, idx=None):
    num = numeric_grad(f, x, idx)
    ana = np.ravel(analytic) if idx is None else np.ravel(analytic)[idx]
    err = rel_error(ana, num)
    assert err <= RTOL, f"{name}: relative error {err:.2e} > {RTOL}"
    return err


def tiny_mlm(rng):
    model = ma.AlbertForMaskedLM(AlbertConfig(**TINY), seed=0, dtype="float64").train()
    for v in model.params.values():      # LN gains and biases away from 1 and 0
        if v.ndim == 1:
            v += 0.2 * rng.normal(size=v.shape)
    return model


def loss_fn(model, **kw):
    return lambda: float(model.manual_seed(7)(attention_mask=MASK, labels=LABELS, **kw)["loss"])


# ----------------------------------------------------------------------------- finite differences


@pytest.mark.parametrize("ln_type", ["postln", "preln"])
def test_attention_op_with_head_mask(ln_type, rng):
    """attention_forward/backward with a float head mask and dropout: dx, the weights, and dhead_mask."""
    from minialbert import ops
    B, T, H, NH = 2, 5, 8, 2
    x = rng.normal(size=(B, T, H))
    p = {"wqkv": rng.normal(size=(3 * H, H)) * 0.5, "bqkv": rng.normal(size=3 * H) * 0.1,
         "wo": rng.normal(size=(H, H)) * 0.5, "bo": rng.normal(size=H) * 0.1,
         "ln_w": 1 + 0.1 * rng.normal(size=H), "ln_b": 0.1 * rng.normal(size=H)}
    bias = ops.attention_mask_bias(np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]), np.float64)
    hm = np.array([0.6, -1.3])
    R = rng.normal(size=(B, T, H))

    def run():
        return ops.attention_forward(x, p, bias, NH, 1e-12, ln_type, 0.2, 0.1, np.random.default_rng(3), True, hm)

    f = lambda: float((run()[0] * R).sum())
    _, cache = run()
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dhm = np.zeros(NH)
    dx = ops.attention_backward(R, cache, g, dhead_mask=dhm)
    check(dx, f, x, "attention dx")
    check(dhm, f, hm, "dhead_mask")
    for k in ("wqkv", "wo", "ln_w"):
        check(g[k], f, p[k], "attention " + k)


@pytest.mark.parametrize("pos", [POS, POS[:1]], ids=["per-row", "broadcast"])
def test_position_ids_gradient(pos, rng):
    model = tiny_mlm(rng)
    f = loss_fn(model, input_ids=IDS, position_ids=pos)
    f()
    model.backward()
    G = model.grads()
    table = model.params["albert.embeddings.position_embeddings.weight"]
    g = G["albert.embeddings.position_embeddings.weight"]
    used = np.unique(pos)
    assert np.all(g[np.setdiff1d(np.arange(table.shape[0]), used)] == 0)   # only the rows looked up
    E = table.shape[1]
    idx = (used[:, None] * E + np.arange(E)).ravel()
    check(g, f, table, "position_embeddings (rows used)", idx=idx)
    for name in ("albert.embeddings.word_embeddings.weight", "albert.embeddings.LayerNorm.weight"):
        p = model.params[name]
        start = E if "word" in name else 0        # the word table's padding row gets no lookup gradient
        check(G[name], f, p, name, idx=sorted(rng.choice(np.arange(start, p.size), 6, replace=False)))


@pytest.mark.parametrize("hm", [HEAD_MASK, HEAD_MASK[1]], ids=["per-layer", "all-layers"])
def test_head_mask_gradients(hm, rng):
    """A float mask with values other than 0 and 1: the parameters' gradients through the masked
    attention, and the gradient with respect to the mask itself."""
    model = tiny_mlm(rng)
    hm = hm.copy()
    f = loss_fn(model, input_ids=IDS, head_mask=hm)
    f()
    model.backward()
    G, g_hm = model.grads(), model.head_mask_grad()     # (a forward pass starts them afresh)
    for name in ("albert.encoder.albert_layer_groups.0.albert_layers.1.attention.query.weight",
                 "albert.encoder.albert_layer_groups.1.albert_layers.0.attention.value.bias",
                 "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.dense.weight",
                 "albert.embeddings.token_type_embeddings.weight"):
        p = model.params[name]
        check(G[name], f, p, name, idx=sorted(rng.choice(p.size, min(6, p.size), replace=False)))
    assert g_hm.shape == hm.shape
    check(g_hm, f, hm, "head_mask")


def test_head_mask_zero_silences_a_head(rng):
    model = ma.AlbertModel(AlbertConfig(**TINY), seed=0, dtype="float64")
    out = model(IDS, MASK, head_mask=np.array([0.0, 1.0]), output_attentions=True)
    assert len(out["attentions"]) == 6
    assert all(np.all(a[:, 0] == 0) and np.abs(a[:, 1]).max() > 0 for a in out["attentions"])
    ones = model(IDS, MASK, head_mask=np.ones(2))["last_hidden_state"]
    np.testing.assert_array_equal(ones, model(IDS, MASK)["last_hidden_state"])


def test_inputs_embeds_gradient(rng):
    model = tiny_mlm(rng)
    emb = model.params["albert.embeddings.word_embeddings.weight"][IDS] + 0.1 * rng.normal(size=IDS.shape + (6,))
    f = loss_fn(model, inputs_embeds=emb, position_ids=POS, head_mask=HEAD_MASK)
    f()
    model.backward()
    check(model.inputs_embeds_grad(), f, emb, "inputs_embeds")
    p = model.params["albert.embeddings.word_embeddings.weight"]    # only the tied decoder uses it now
    check(model.grads()["albert.embeddings.word_embeddings.weight"], f, p, "word_embeddings (decoder only)",
          idx=sorted(rng.choice(p.size, 8, replace=False)))


def test_inputs_embeds_grad_with_input_ids(rng):
    """With input_ids, inputs_embeds_grad() is the gradient of the looked-up word vectors: the same as
    passing those vectors as inputs_embeds."""
    model = tiny_mlm(rng)
    loss_fn(model, input_ids=IDS)()
    model.backward()
    g_ids = model.inputs_embeds_grad()
    emb = model.params["albert.embeddings.word_embeddings.weight"][IDS]
    f = loss_fn(model, inputs_embeds=emb)
    assert abs(f() - loss_fn(model, input_ids=IDS)()) == 0.0
    check(g_ids, f, emb, "word vectors looked up from input_ids")


def test_inputs_embeds_multiple_choice(rng):
    cfg = AlbertConfig(**TINY)
    model = ma.AlbertForMultipleChoice(cfg, seed=0, dtype="float64").train()
    ids = np.stack([IDS, IDS[::-1]], axis=1)                                          # (B, C=2, T)
    emb = model.params["albert.embeddings.word_embeddings.weight"][ids] + 0.1 * rng.normal(size=ids.shape + (6,))
    mask = np.stack([MASK, MASK[::-1]], axis=1)
    kw = dict(inputs_embeds=emb, attention_mask=mask, position_ids=POS[:1], head_mask=HEAD_MASK[2],
              labels=np.array([1, 0]))
    f = lambda: float(model.manual_seed(3)(**kw)["loss"])
    f()
    model.backward()
    assert model.inputs_embeds_grad().shape == emb.shape
    check(model.inputs_embeds_grad(), f, emb, "multiple-choice inputs_embeds",
          idx=sorted(rng.choice(emb.size, 20, replace=False)))


def test_bad_call_args_are_clear():
    model = ma.AlbertModel(AlbertConfig(**TINY), seed=0, dtype="float64")
    emb = np.zeros((2, 6, 6))
    with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
        model(IDS, inputs_embeds=emb)
    with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
        model()
    with pytest.raises(ValueError, match="inputs_embeds must have shape"):
        model(inputs_embeds=np.zeros((2, 6, 5)))
    with pytest.raises(TypeError, match="inputs_embeds must hold floats"):
        model(inputs_embeds=np.zeros((2, 6, 6), dtype=np.int64))
    with pytest.raises(ValueError, match="head_mask must have shape"):
        model(IDS, head_mask=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"position_ids must lie in \[0, 16\)"):
        model(IDS, position_ids=np.arange(6) + 11)
    with pytest.raises(ValueError, match="position_ids must have shape"):
        model(IDS, position_ids=np.zeros((2, 5), dtype=np.int64))
    with pytest.raises(RuntimeError, match="head-mask gradient"):
        model(IDS).get("last_hidden_state")
        model.backward(last_hidden_state=np.ones((2, 6, 8)))
        model.head_mask_grad()


# ----------------------------------------------------------------------------- parity with HF


def _max_err(ours, ref):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    return float(np.abs(ours - ref).max()) / max(1.0, float(np.abs(ref).max()))


@pytest.mark.parametrize("call", ["embeds", "ids"])
def test_call_args_match_hf(call):
    meta = json.loads((FIXTURE / "meta.json").read_text())
    ref = dict(np.load(FIXTURE / "reference.npz"))
    model = ma.AlbertForMaskedLM.from_pretrained(FIXTURE, dtype="float64")
    r = {k[len(call) + 1:]: v for k, v in ref.items() if k.startswith(call + ".")}
    inputs = {k: r[k] for k in ("input_ids", "inputs_embeds", "attention_mask", "token_type_ids", "position_ids")
              if k in r}
    out = model(**inputs, head_mask=r["head_mask"], labels=r["labels"])
    model.backward()
    errs = {"logits": _max_err(out["logits"], r["out.logits"]), "loss": _max_err(out["loss"], r["out.loss"]),
            "inputs_embeds_grad": _max_err(model.inputs_embeds_grad(), r["inputs_embeds_grad"]),
            "head_mask_grad": _max_err(model.head_mask_grad(), r["head_mask_grad"])}
    grads, aliases = model.grads(), model.tied_aliases()
    for name in meta["param_names"]:
        errs["grad." + name] = _max_err(grads[aliases.get(name, name)], r["grad." + name])
    worst = max(errs, key=errs.get)
    print(f"{call}: max error vs HF {errs[worst]:.2e} ({worst}); logits {errs['logits']:.2e}, "
          f"inputs_embeds_grad {errs['inputs_embeds_grad']:.2e}, head_mask_grad {errs['head_mask_grad']:.2e}")
    assert errs[worst] <= HF_TOL, f"{worst}: {errs[worst]:.2e} > {HF_TOL}"
