"""Mixed precision: float16 / bfloat16 storage, float32 accumulation, float32 master weights, dynamic loss
scaling; and what it costs against float32 and float64 (the figures of the README's "Mixed precision").

Tolerances, from the unit roundoff u of the storage format (float16: u = 2^-11 = 4.9e-4; bfloat16, 8 bits of
significand: u = 2^-8 = 3.9e-3, 8x float16's) and the measured figures (scripts/measure_mixed_precision.py,
2026-12-05, this CPU); every bound is about 3x the worst measured value, so a change that adds one more
rounding per layer passes and a lost float32 accumulation (errors ~ u * sqrt(K) * |x| per dot product of
length K, or a softmax in float16) does not. Each figure is also bounded *below*: the low-precision error
must be well above float32's, or the rounding to the storage format did not happen.

| measure (worst of 12 HF cases / 40 training steps) | float16 measured | bound | bfloat16 measured | bound |
| --- | --- | --- | --- | --- |
| outputs (logits, hidden states, attentions) max abs diff vs float64 | 6.3e-3 | 2e-2 | 5.6e-2 | 0.15 |
| loss relative diff vs float64 | 2.4e-3 | 1e-2 | 4.0e-2 | 0.12 |
| gradient relative L2 diff vs float64 | 5.0e-3 | 2e-2 | 3.8e-2 | 0.12 |
| worst parameter's gradient, max diff / max (parity-test measure) | 1.9e-2 | 6e-2 | 3.2e-1 | 1.0 |
| pretraining: max abs loss diff vs float32 over 40 steps | 7.0e-4 | 5e-3 | 5.1e-3 | 3e-2 |
| pretraining: relative weight diff vs float32 after 40 steps | 2.7e-4 | 2e-3 | 2.4e-3 | 1.5e-2 |

Gradients whose exact value is zero (the attention key bias, the QA / multiple-choice head biases) are left
out of the worst-parameter measure: any rounding is an infinite relative error there.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import minialbert as ma
from minialbert import backend
from minialbert.parity import load_hf_case
from minialbert.optim import AdamW, DynamicLossScaler, LAMB, grads_finite
from minialbert.training.pretrain import TrainConfig, pretrain

from test_cupy_strict import CFG as DEVICE_CFG, loop_syncs, train_config
from test_pretraining import CFG, tc as _tc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import measure_mixed_precision as mmp  # noqa: E402

BOUNDS = {  # (outputs, loss, gradient L2, worst parameter) vs float64; trajectory (loss, weights) vs float32
    "float16": dict(hf=(2e-2, 1e-2, 2e-2, 6e-2), traj=(5e-3, 2e-3)),
    "bfloat16": dict(hf=(0.15, 0.12, 0.12, 1.0), traj=(3e-2, 1.5e-2)),
}


# ----------------------------------------------------------------------------- bfloat16 rounding
def test_round_bfloat16_is_round_to_nearest_even_on_the_upper_16_bits():
    f = np.float32
    x = np.array([1.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -9, -(1 + 3 * 2 ** -8),
                  3.0e38, -3.4e38, np.inf, -np.inf, 0.0, -0.0, 2 ** -130], f)
    want = np.array([1.0, 1.0, 1 + 2 ** -6, 1 + 2 ** -7, 1.0, -(1 + 2 ** -6),
                     # 3.0e38 = 0x7F61B1E6 -> 0x7F62; -3.4e38 = 0xFF7FC99E rounds past the largest bf16: -inf
                     np.frombuffer(np.array([0x7F620000], np.uint32).tobytes(), f)[0], -np.inf, np.inf, -np.inf,
                     0.0, -0.0, 2 ** -130], f)
    got = backend.round_bfloat16(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[11])                                  # -0.0 stays negative
    assert np.isnan(backend.round_bfloat16(np.array([np.nan, -np.nan], f))).all()
    # against a slow reference: the nearest of the two bf16 neighbours (ties to the even one), on random values
    r = (np.random.default_rng(0).standard_normal(2000) * 10.0 ** np.random.default_rng(1).integers(-20, 20, 2000)).astype(f)
    u = r.view(np.uint32).astype(np.int64)
    lo = (u & ~0xFFFF) & 0xFFFFFFFF
    rem = u & 0xFFFF
    up = (rem > 0x8000) | ((rem == 0x8000) & ((lo >> 16) & 1 == 1))
    ref = np.where(up, lo + 0x10000, lo).astype(np.uint32).view(f)
    np.testing.assert_array_equal(backend.round_bfloat16(r), ref)
    assert backend.is_bfloat16(ref) and not backend.is_bfloat16(r)


# ----------------------------------------------------------------------------- storage and accumulation
def _pretraining_case(dtype):
    d, meta, ref = load_hf_case("pretraining")
    model = ma.AlbertForPreTraining.from_pretrained(d, dtype=dtype)
    out = model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"], labels=ref["labels"],
                sentence_order_label=ref["sentence_order_label"])
    return model, out


def test_float16_really_stores_float16_and_accumulates_in_float32():
    model, out = _pretraining_case("float16")
    assert model.precision == "float16" and model.dtype == np.float16
    assert all(p.dtype == np.float16 for p in model.params.values())
    layer = model.backbone_cache.encoder.layers[0]
    for a in (layer.attention.qkv[0], layer.attention.probs, layer.attention.out[0], layer.attention.ln_out[0],
              layer.attention_y, layer.ffn.ffn_output[0], layer.y, out["prediction_logits"], out["sop_logits"]):
        assert a.dtype == np.float16
    assert layer.attention.ln_out[1].dtype == np.float32          # 1/std of the layer norm: float32
    assert out["loss"].dtype == np.float32                        # the loss: float32 from float16 logits
    model.backward()
    assert all(g.dtype == np.float32 for g in model.grads().values())   # float32 gradient buffers
    # the attention's probabilities sum to 1 to float16's rounding (a softmax done in float16 would be ~1e-2 off)
    s = layer.attention.probs.astype(np.float64).sum(-1)
    assert np.abs(s - 1).max() < 2 ** -11 * 8


def test_bfloat16_emulation_holds_bfloat16_values_in_float32_arrays():
    model, out = _pretraining_case("bfloat16")
    assert model.precision == "bfloat16" and model.dtype == np.float32
    assert all(backend.is_bfloat16(p) for p in model.params.values())
    layer = model.backbone_cache.encoder.layers[-1]
    for a in (layer.attention.qkv[0], layer.attention.probs, layer.attention.ln_out[0], layer.y,
              out["prediction_logits"]):
        assert a.dtype == np.float32 and backend.is_bfloat16(a)
    assert not backend.is_bfloat16(out["loss"])                   # the loss is float32's
    model.backward()
    g = model.grads()["albert.encoder.embedding_hidden_mapping_in.weight"]
    assert g.dtype == np.float32 and not backend.is_bfloat16(g)   # accumulated in float32, not rounded
    # to(): float32 -> bfloat16 rounds the weights; the same model in float32 is not bfloat16
    m32, _ = _pretraining_case("float32")
    assert not all(backend.is_bfloat16(p) for p in m32.params.values())
    m32.to(dtype="bfloat16")
    assert m32.precision == "bfloat16" and all(backend.is_bfloat16(p) for p in m32.params.values())
    for k in m32.params:
        np.testing.assert_array_equal(m32.params[k], model.params[k])


# ----------------------------------------------------------------------------- the parity cost (HF fixtures)
@pytest.fixture(scope="module")
def hf_parity():
    return mmp.hf_parity()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_parity_cost_against_float64_and_float32(hf_parity, dtype):
    assert len(hf_parity) == 12
    bounds = BOUNDS[dtype]["hf"]
    for case, r in hf_parity.items():
        got, f32 = r[dtype]["f64"], r["float32"]["f64"]
        for i, what in enumerate(("outputs", "loss", "gradient L2", "worst parameter")):
            if np.isnan(got[i]):                                  # AlbertModel has no loss
                assert what == "loss" and case == "base"
                continue
            assert got[i] <= bounds[i], f"{case} {dtype}: {what} {got[i]:.3e} > {bounds[i]}"
        # the storage rounding really happens: outputs 100x (float16) / 1000x (bfloat16) float32's error
        assert got[0] > (100 if dtype == "float16" else 1000) * f32[0], (case, got[0], f32[0])
        assert got[2] > 10 * f32[2], (case, got[2], f32[2])
        # against minialbert's float32 the error is the same size (float32's own is ~1e-6)
        assert abs(r[dtype]["f32"][0] - got[0]) <= 1e-4 + 0.1 * got[0]
    worst16 = max(r["float16"]["f64"][0] for r in hf_parity.values())
    worst_bf = max(r["bfloat16"]["f64"][0] for r in hf_parity.values())
    assert worst_bf > 4 * worst16             # bfloat16's 3 fewer significand bits show (8x in u)


# ----------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def trajectories(tmp_path_factory):
    return mmp.trajectory_diffs(mmp.trajectory(tmp_path_factory.mktemp("traj")))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_pretraining_trajectory_follows_float32(trajectories, dtype):
    dl, final, rw, skipped = trajectories[dtype]
    bl, bw = BOUNDS[dtype]["traj"]
    assert 0 < dl <= bl, (dtype, dl)
    assert 0 < rw <= bw, (dtype, rw)
    assert skipped == 0                                         # 2**16 is small enough for this model
    assert trajectories["float32"][1] < 6 and abs(final - trajectories["float32"][1]) < bl   # it learnt as float32 did


def test_master_weights_keep_updates_float16_would_lose():
    # w = 1 in float16 has a spacing of 2**-10 ~ 1e-3 above 1; AdamW's first steps move it by ~lr = 1e-4 each,
    # under half a spacing: without a float32 master copy the weight would never move
    for precision in ("float16", "bfloat16"):
        dt = np.float16 if precision == "float16" else np.float32
        p = {"w": np.ones(4, dt)}
        opt = AdamW(p, lr=1e-4, weight_decay=0.0, precision=precision)
        arr = p["w"]
        for i in range(30):
            opt.step({"w": np.ones(4, np.float32)})
        assert p["w"] is arr and p["w"].dtype == dt                      # refreshed in place
        master = opt.master["w"]
        assert master.dtype == np.float32 and abs(float(master[0]) - (1 - 30e-4)) < 1e-5
        if precision == "float16":
            np.testing.assert_array_equal(p["w"], master.astype(np.float16))
        else:
            np.testing.assert_array_equal(p["w"], backend.round_bfloat16(master))
        assert float(p["w"][0]) < 1.0
        # the state dict carries the master copy: a new optimiser resumes it exactly
        st = opt.state_dict()
        opt2 = AdamW({"w": p["w"]}, lr=1e-4, weight_decay=0.0, precision=precision)
        opt2.load_state_dict(st)
        np.testing.assert_array_equal(opt2.master["w"], master)
    # float32 parameters: no master copy, updated in place as before
    p = {"w": np.ones(4, np.float32)}
    opt = LAMB(p, lr=1e-4)
    opt.step({"w": np.ones(4, np.float32)})
    assert opt.master == {} and "master" not in opt.state_dict()


def test_dynamic_loss_scaler_rule():
    s = DynamicLossScaler(init_scale=2.0 ** 10, growth_interval=3)
    assert s.update(False) is False and s.scale == 2.0 ** 9 and s.skipped == 1
    assert [s.update(True) for _ in range(3)] == [True] * 3 and s.scale == 2.0 ** 10    # grows after 3 good steps
    assert s.update(True) and s.scale == 2.0 ** 10 and s.good_steps == 1
    s2 = DynamicLossScaler()
    s2.load_state_dict(s.state_dict())
    assert s2.state_dict() == s.state_dict()
    assert grads_finite({"a": np.ones(3, np.float32)}) and not grads_finite({"a": np.array([1, np.inf], np.float32)})
    tiny = DynamicLossScaler(init_scale=2.0 ** -24)
    with pytest.raises(FloatingPointError):
        tiny.update(False)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning")
def test_float16_training_skips_overflowing_steps_and_resumes_bit_for_bit(tmp_path):
    # a scale of 2**22 makes the float16 logit gradients (~ scale / labelled tokens) overflow to inf (this
    # batch's are finite from 2**19 down): those steps are skipped and the scale halves until the gradients
    # are finite, then training goes on
    kw = dict(dtype="float16", steps=12, lr=1e-2, loss_scale=2.0 ** 22, optimizer="lamb")
    model, h, _ = pretrain(CFG, _tc(tmp_path, "full", **kw), progress=False)
    skipped = [x["step"] for x in h if x.get("skipped")]
    scales = [x["loss_scale"] for x in h]
    assert 1 <= len(skipped) <= 6 and skipped == list(range(1, len(skipped) + 1)), h   # the first steps, then none
    assert scales[:len(skipped) + 1] == [2.0 ** (22 - i) for i in range(len(skipped) + 1)]
    assert all(np.isfinite(x["loss"]) for x in h) and h[-1]["loss"] < h[len(skipped)]["loss"]
    assert all(p.dtype == np.float16 and np.isfinite(p.astype(np.float32)).all() for p in model.params.values())
    # --stop-at, then --resume (master weights and the scaler's state in the checkpoint): bit for bit
    pretrain(CFG, _tc(tmp_path, "cut", **kw), progress=False, stop_after=len(skipped) + 2)
    m2, h2, _ = pretrain(CFG, _tc(tmp_path, "cut", **kw), progress=False, resume=True)
    assert [x["loss"] for x in h2] == [x["loss"] for x in h] and [x["loss_scale"] for x in h2] == scales
    for k in model.params:
        np.testing.assert_array_equal(m2.params[k], model.params[k])


def test_train_config_checks_the_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        TrainConfig(corpus="c", out="o", dtype="int8")
    assert TrainConfig(corpus="c", out="o", dtype="float16").loss_scaler().scale == 2.0 ** 16
    assert TrainConfig(corpus="c", out="o", dtype="bfloat16").loss_scaler() is None
    assert TrainConfig(corpus="c", out="o").loss_scaler() is None


# ----------------------------------------------------------------------------- the CUDA path (stand-in)
def test_float16_on_the_device_stays_float16_with_no_implicit_conversion(strict_cupy, tmp_path):
    cp = strict_cupy
    with cp._strict.track() as t:
        model, full, _ = pretrain(DEVICE_CFG, train_config(tmp_path, "dev", dtype="float16"), progress=False)
    assert model.xp is cp
    assert all(isinstance(p, cp.ndarray) and p.dtype == cp.float16 for p in model.params.values())
    assert all(p.dtype == cp.float32 for p in model.grads().values())
    assert not [e for e in t.events if e.implicit], t.report()   # no implicit host <-> device conversion
    assert len(loop_syncs(t)) == 6, t.report()                   # still one sync per step with the loss scaler
    out = model(np.array([[2, 48, 4, 3]]), labels=np.array([[-100, 48, -100, -100]]))
    layer = model.backbone_cache.encoder.layers[0]
    assert layer.attention.probs.dtype == cp.float16 and out["prediction_logits"].dtype == cp.float16
    assert out["loss"].dtype == cp.float32
    # the CPU run of the same float16 training: the same numbers (the stand-in computes with NumPy; the
    # device's embedding scatter sums in another order, hence not bit for bit)
    _, cpu, _ = pretrain(DEVICE_CFG, train_config(tmp_path, "cpu", dtype="float16", device="cpu"), progress=False)
    np.testing.assert_allclose([h["loss"] for h in full], [h["loss"] for h in cpu], rtol=1e-3)
    # bfloat16's rounding runs on the device too (a uint32 view, no host copy)
    x = cp.asarray(np.array([1 + 3 * 2 ** -8], np.float32))
    with cp._strict.track() as t2:
        r = backend.round_bfloat16(x)
    assert isinstance(r, cp.ndarray) and t2.syncs == 0 and float(r[0]) == 1 + 2 ** -6
