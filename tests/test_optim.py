"""LAMB, AdamW, the learning-rate schedule and the gradient utilities.

The reference updates are written out formula by formula in float64, apart
from the optimiser code, so a shared mistake would have to be made twice.
"""
import copy
import math

import numpy as np
import pytest

from minialbert.optim import (AdamW, DEFAULT_EXCLUDE, LAMB, clip_grad_norm, scale_grads,
                              warmup_linear_decay)

B1, B2, EPS, WD = 0.9, 0.999, 1e-6, 0.01


def _params():
    """A dense weight (decayed, adapted), a LayerNorm weight (neither) and an
    all-zero weight (decayed, but ||w|| = 0 so its trust ratio is 1)."""
    return {
        "encoder.dense.weight": np.array([[0.5, -1.0], [2.0, 0.25]]),
        "encoder.LayerNorm.weight": np.array([1.0, 0.5, -0.75]),
        "encoder.zero.weight": np.zeros(2),
    }


G1 = {
    "encoder.dense.weight": np.array([[0.1, -0.2], [0.3, 0.05]]),
    "encoder.LayerNorm.weight": np.array([0.5, -0.25, 0.125]),
    "encoder.zero.weight": np.array([1.0, -2.0]),
}
G2 = {
    "encoder.dense.weight": np.array([[-0.3, 0.1], [0.2, -0.4]]),
    "encoder.LayerNorm.weight": np.array([-0.5, 0.75, 0.25]),
    "encoder.zero.weight": np.array([0.5, 0.5]),
}


def _grads(g):
    return {k: a.copy() for k, a in g.items()}


# -- LAMB ------------------------------------------------------------------------------

def _lamb_by_hand(w, m, v, g, lr, decay, adapt):
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g ** 2
    u = m / (np.sqrt(v) + EPS)
    if decay:
        u = u + WD * w
    ratio = 1.0
    if adapt:
        w_norm = math.sqrt(float(np.sum(w ** 2)))
        u_norm = math.sqrt(float(np.sum(u ** 2)))
        if w_norm > 0 and u_norm > 0:
            ratio = w_norm / u_norm
    return w - lr * ratio * u, m, v, ratio


def test_lamb_two_steps_by_hand():
    lr = 0.1
    params = _params()
    opt = LAMB(params, lr=lr)
    assert opt.uses_weight_decay("encoder.dense.weight") and opt.uses_layer_adaptation("encoder.dense.weight")
    assert not opt.uses_weight_decay("encoder.LayerNorm.weight")
    assert not opt.uses_layer_adaptation("encoder.LayerNorm.weight")

    kinds = {"encoder.dense.weight": (True, True), "encoder.LayerNorm.weight": (False, False),
             "encoder.zero.weight": (True, True)}
    ref = {k: (w.copy(), np.zeros_like(w), np.zeros_like(w)) for k, w in _params().items()}
    ratios = [{}, {}]
    for i, g in enumerate((G1, G2)):
        opt.step(_grads(g))
        for k, (w, m, v) in ref.items():
            w, m, v, ratios[i][k] = _lamb_by_hand(w, m, v, g[k], lr, *kinds[k])
            ref[k] = (w, m, v)
            np.testing.assert_allclose(opt.m[k], m, rtol=1e-14, atol=0)
            np.testing.assert_allclose(opt.v[k], v, rtol=1e-14, atol=0)
            np.testing.assert_allclose(params[k], w, rtol=1e-13, atol=1e-15)

    # The cases the example is built to cover actually happen:
    assert ratios[0]["encoder.zero.weight"] == 1.0           # ||w|| = 0 -> ratio 1, still moves
    assert not np.array_equal(params["encoder.zero.weight"], 0)
    assert ratios[0]["encoder.dense.weight"] != 1.0
    assert ratios[1]["encoder.zero.weight"] != 1.0           # nonzero after step 1
    # No bias correction: the first step of an excluded tensor is
    # lr * 0.1 g / (sqrt(0.001 g^2) + eps) ~ lr * sqrt(10) * sign(g), not lr * sign(g).
    w0 = _params()["encoder.LayerNorm.weight"]
    first = w0 - lr * (0.1 * G1["encoder.LayerNorm.weight"]) / (
        np.sqrt(0.001) * np.abs(G1["encoder.LayerNorm.weight"]) + EPS)
    np.testing.assert_allclose(first, w0 - lr * math.sqrt(10) * np.sign(G1["encoder.LayerNorm.weight"]),
                               rtol=1e-3)


def test_lamb_step_length_is_lr_times_weight_norm():
    """The trust ratio makes a decayed, adapted tensor move by exactly lr * ||w||."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 4))
    params = {"a.weight": w.copy()}
    LAMB(params, lr=0.01).step({"a.weight": rng.standard_normal((8, 4))})
    assert np.linalg.norm(params["a.weight"] - w) == pytest.approx(0.01 * np.linalg.norm(w), rel=1e-12)


def test_lamb_exclusions_follow_google():
    names = ["albert.embeddings.word_embeddings.weight", "albert.embeddings.LayerNorm.weight",
             "albert.embeddings.LayerNorm.bias",
             "albert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.weight",
             "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.LayerNorm.weight",
             "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight",
             "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.bias",
             "predictions.bias", "predictions.dense.weight", "predictions.LayerNorm.weight"]
    opt = LAMB({n: np.ones(2) for n in names})
    excluded = {n for n in names if not opt.uses_weight_decay(n)}
    assert excluded == {n for n in names if not opt.uses_layer_adaptation(n)}
    assert excluded == {n for n in names if "LayerNorm" in n or "layer_norm" in n or "bias" in n}
    assert set(DEFAULT_EXCLUDE) == {"LayerNorm", "layer_norm", "bias"}
    # weight_decay 0 turns decay off everywhere but keeps the adaptation exclusions
    opt0 = LAMB({n: np.ones(2) for n in names}, weight_decay=0.0)
    assert not any(opt0.uses_weight_decay(n) for n in names)
    assert not opt0.uses_layer_adaptation("predictions.bias")


# -- AdamW -----------------------------------------------------------------------------

def test_adamw_two_steps_by_hand():
    lr = 0.05
    params = _params()
    opt = AdamW(params, lr=lr)
    decayed = {"encoder.dense.weight": True, "encoder.LayerNorm.weight": False, "encoder.zero.weight": True}
    ref = {k: (w.copy(), np.zeros_like(w), np.zeros_like(w)) for k, w in _params().items()}
    for t, g in enumerate((G1, G2), start=1):
        opt.step(_grads(g))
        for k, (w, m, v) in ref.items():
            m = B1 * m + (1 - B1) * g[k]
            v = B2 * v + (1 - B2) * g[k] ** 2
            m_hat = m / (1 - B1 ** t)
            v_hat = v / (1 - B2 ** t)
            w = w - lr * (m_hat / (np.sqrt(v_hat) + EPS) + (WD * w if decayed[k] else 0.0))
            ref[k] = (w, m, v)
            np.testing.assert_allclose(params[k], w, rtol=1e-13, atol=1e-15)

    # With bias correction the first step is ~ lr * sign(g) (plus decay).
    w0 = _params()["encoder.LayerNorm.weight"]
    fresh = {"encoder.LayerNorm.weight": w0.copy()}
    AdamW(fresh, lr=lr).step({"encoder.LayerNorm.weight": G1["encoder.LayerNorm.weight"].copy()})
    np.testing.assert_allclose(fresh["encoder.LayerNorm.weight"],
                               w0 - lr * np.sign(G1["encoder.LayerNorm.weight"]), rtol=1e-6)


def test_adamw_constant_gradient_closed_form():
    """With a constant gradient g, m_hat = g and v_hat = g^2 exactly at every step,
    so each step is lr * g / (|g| + eps) plus decay: w_t = c^t w_0 - s (1 - c^t) / (1 - c),
    with c = 1 - lr wd and s = lr g / (|g| + eps)."""
    lr, T = 0.01, 5
    w0, g = np.array([1.5, -0.5, 0.0]), np.array([0.2, -0.7, 0.05])
    params = {"x.weight": w0.copy()}
    opt = AdamW(params, lr=lr)
    for _ in range(T):
        opt.step({"x.weight": g.copy()})
    c, s = 1 - lr * WD, lr * g / (np.abs(g) + EPS)
    np.testing.assert_allclose(params["x.weight"], c ** T * w0 - s * (1 - c ** T) / (1 - c), rtol=1e-12)


def test_adamw_without_bias_correction_is_googles_adam_weight_decay():
    lr = 0.05
    params = _params()
    AdamW(params, lr=lr, bias_correction=False).step(_grads(G1))
    k = "encoder.dense.weight"
    w, g = _params()[k], G1[k]
    m, v = (1 - B1) * g, (1 - B2) * g ** 2
    np.testing.assert_allclose(params[k], w - lr * (m / (np.sqrt(v) + EPS) + WD * w), rtol=1e-13)


# -- shared behaviour ----------------------------------------------------------------------

@pytest.mark.parametrize("cls", [LAMB, AdamW])
def test_updates_in_place_and_keeps_dtype(cls):
    params = {"a.weight": np.ones((2, 3), np.float32), "a.bias": np.zeros(3, np.float64)}
    arrays = dict(params)
    opt = cls(params, lr=0.1)
    opt.step({"a.weight": np.full((2, 3), 0.5, np.float32), "a.bias": np.ones(3)})
    for k in params:
        assert params[k] is arrays[k]                      # the same array objects, changed
        assert opt.m[k].dtype == opt.v[k].dtype == params[k].dtype
    assert params["a.weight"].dtype == np.float32 and not np.allclose(params["a.weight"], 1.0)
    assert not np.allclose(params["a.bias"], 0.0)


@pytest.mark.parametrize("cls", [LAMB, AdamW])
def test_missing_gradient_leaves_parameter_and_moments_alone(cls):
    params = _params()
    opt = cls(params, lr=0.1)
    g = _grads(G1)
    del g["encoder.dense.weight"]
    opt.step(g)
    assert np.array_equal(params["encoder.dense.weight"], _params()["encoder.dense.weight"])
    assert not opt.m["encoder.dense.weight"].any()


@pytest.mark.parametrize("cls", [LAMB, AdamW])
def test_rejects_bad_input(cls):
    params = _params()
    opt = cls(params)
    with pytest.raises(KeyError):
        opt.step({"nope.weight": np.zeros(2)})
    with pytest.raises(ValueError):   # checked before anything moves
        opt.step({"encoder.LayerNorm.weight": np.ones(3), "encoder.zero.weight": np.zeros(3)})
    assert opt.step_count == 0 and np.array_equal(params["encoder.LayerNorm.weight"], [1.0, 0.5, -0.75])
    shared = np.ones(2)
    with pytest.raises(ValueError, match="same array"):
        cls({"a.weight": shared, "tied.weight": shared})


@pytest.mark.parametrize("cls", [LAMB, AdamW])
def test_state_dict_resume_is_bit_identical(cls):
    rng = np.random.default_rng(7)
    shapes = {"emb.weight": (5, 3), "dense.weight": (3, 3), "dense.bias": (3,), "LayerNorm.weight": (3,)}
    params = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    grads = [{k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()} for _ in range(5)]

    def lr_at(t):
        return warmup_linear_decay(t, 5, 2, 0.01)

    opt = cls(params, lr=0.123)
    for t in range(3):
        opt.step(_grads(grads[t]), lr=lr_at(t))
    saved_state = opt.state_dict()
    saved_params = copy.deepcopy(params)
    for t in range(3, 5):
        opt.step(_grads(grads[t]), lr=lr_at(t))

    resumed = copy.deepcopy(saved_params)
    opt2 = cls(resumed, lr=99.0, weight_decay=0.5)   # hyper-parameters come from the state
    opt2.load_state_dict(saved_state)
    assert opt2.step_count == 3 and opt2.lr == 0.123 and opt2.weight_decay == 0.01
    for t in range(3, 5):
        opt2.step(_grads(grads[t]), lr=lr_at(t))
    for k in params:
        assert resumed[k].dtype == np.float32 and opt2.m[k].dtype == np.float32
        assert np.array_equal(resumed[k], params[k]), k
        assert np.array_equal(opt2.m[k], opt.m[k]) and np.array_equal(opt2.v[k], opt.v[k])

    # The saved state is a snapshot: stepping on afterwards did not change it.
    assert saved_state["step"] == 3 and opt.state_dict()["step"] == 5
    assert not np.array_equal(saved_state["m"]["emb.weight"], opt.m["emb.weight"])


def test_load_state_dict_checks_type_and_names():
    params = _params()
    state = LAMB(params).state_dict()
    with pytest.raises(ValueError):
        AdamW(_params()).load_state_dict(state)
    with pytest.raises(KeyError):
        LAMB({"other.weight": np.ones(2)}).load_state_dict(state)


@pytest.mark.parametrize("cls,peak_lr", [(LAMB, 0.05), (AdamW, 0.05)])
def test_converges_on_least_squares(cls, peak_lr):
    """Fit y = x W + b: loss falls by more than 90 % with warmup and linear decay."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 4))
    w_true, b_true = rng.standard_normal((4, 3)), rng.standard_normal(3)
    y = x @ w_true + b_true
    params = {"lin.weight": 0.1 * rng.standard_normal((4, 3)), "lin.bias": np.zeros(3)}

    def loss_and_grads():
        r = x @ params["lin.weight"] + params["lin.bias"] - y
        loss = float(np.mean(r ** 2))
        dr = 2 * r / r.size
        return loss, {"lin.weight": x.T @ dr, "lin.bias": dr.sum(0)}

    steps = 300
    opt = cls(params, lr=peak_lr, weight_decay=0.0)
    first, _ = loss_and_grads()
    for t in range(steps):
        _, g = loss_and_grads()
        opt.step(g, lr=warmup_linear_decay(t, steps, 20, peak_lr))
    last, _ = loss_and_grads()
    assert last < 0.1 * first, (first, last)


# -- schedule --------------------------------------------------------------------------

def test_schedule_googles_way():
    # polynomial decay over all 100 steps, overridden by linear warmup for the first 10
    f = lambda s, **kw: warmup_linear_decay(s, 100, 10, 1.0, **kw)  # noqa: E731
    assert f(0) == 0.0                       # the first update has lr 0
    assert f(5) == pytest.approx(0.5)        # mid-warmup
    assert f(9) == pytest.approx(0.9)
    assert f(10) == pytest.approx(0.9)       # warmup end: the decay curve, 1 - 10/100
    assert f(55) == pytest.approx(0.45)      # mid-decay: 1 - 55/100
    assert f(100) == 0.0 and f(150) == 0.0   # end, and held there
    assert f(55, power=2.0) == pytest.approx(0.45 ** 2)
    assert f(10, power=2.0) == pytest.approx(0.81)
    assert f(5, power=2.0) == pytest.approx(0.5)   # warmup stays linear
    assert f(100, end_lr=0.1) == pytest.approx(0.1)
    assert f(55, end_lr=0.1) == pytest.approx(0.9 * 0.45 + 0.1)


def test_schedule_decay_after_warmup():
    f = lambda s, **kw: warmup_linear_decay(s, 110, 10, 1.0, decay_after_warmup=True, **kw)  # noqa: E731
    assert f(0) == 0.0 and f(5) == pytest.approx(0.5)
    assert f(10) == pytest.approx(1.0)       # exactly the peak at warmup end
    assert f(60) == pytest.approx(0.5)       # half way from step 10 to step 110
    assert f(110) == 0.0 and f(200) == 0.0
    assert f(60, power=2.0) == pytest.approx(0.25)
    assert f(110, end_lr=0.2) == pytest.approx(0.2)
    assert f(60, end_lr=0.2) == pytest.approx(0.6)


def test_schedule_without_warmup():
    assert warmup_linear_decay(0, 10, 0, 2.0) == 2.0
    assert warmup_linear_decay(5, 10, 0, 2.0) == pytest.approx(1.0)


# -- gradient utilities ----------------------------------------------------------------

def test_clip_grad_norm_scales_above_max():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}   # global norm 5
    norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.0], [0.8]])
    total = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
    assert total == pytest.approx(1.0)


def test_clip_grad_norm_no_op_below_max():
    grads = {"a": np.array([0.3, 0.4], np.float32)}
    before = grads["a"].copy()
    assert clip_grad_norm(grads, 1.0) == pytest.approx(0.5)
    assert np.array_equal(grads["a"], before) and grads["a"].dtype == np.float32


def test_scale_grads_averages_accumulated_gradients():
    grads = {"a": np.array([2.0, 4.0]), "b": np.array([6.0])}
    scale_grads(grads, 0.5)
    np.testing.assert_allclose(grads["a"], [1.0, 2.0])
    np.testing.assert_allclose(grads["b"], [3.0])


# -- with a real (tiny) model ----------------------------------------------------------

@pytest.mark.parametrize("cls,lr", [(LAMB, 0.03), (AdamW, 0.03)])
def test_tiny_mlm_training_recipe(cls, lr):
    """The whole recipe on AlbertForMaskedLM: accumulate two micro-batches, average,
    clip, step. model.params and model.grads() line up name for name.

    (LAMB sits a while on the plateau of predicting label frequencies here, and
    diverges from lr 0.3: LayerNorm weights and biases skip the trust ratio, so
    they take Adam-sized steps of about lr each, and LAMB's lr is large.)"""
    import minialbert as ma
    cfg = ma.AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=32, max_position_embeddings=16)
    model = ma.AlbertForMaskedLM(cfg, seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 50, size=(2, 2, 8))
    labels = np.where(rng.random((2, 2, 8)) < 0.5, ids, -100)
    labels[:, :, 0] = ids[:, :, 0]                      # at least one label per row
    opt = cls(model.params, lr=lr)
    assert any(not opt.uses_weight_decay(n) for n in model.params)
    losses = []
    for t in range(40):
        model.zero_grad()
        loss = 0.0
        for k in range(2):
            out = model(ids[k], labels=labels[k])
            model.backward()
            loss += float(out.loss) / 2
        losses.append(loss)
        grads = model.grads()
        assert set(grads) == set(model.params)
        scale_grads(grads, 0.5)
        clip_grad_norm(grads, 1.0)
        opt.step(grads, lr=warmup_linear_decay(t, 40, 3, lr))
    assert losses[-1] < 0.7 * losses[0], losses   # both get past the unigram plateau (~0.63)
