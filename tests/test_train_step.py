"""Ten whole training steps against PyTorch, in the spirit of llm.c's test_gpt2.

Fixture: scripts/make_train_step_fixture.py (transformers + torch, run once in a
separate venv, never a test dependency) built a small grouped ALBERT
(AlbertForPreTraining: V 64, E 8, H 16, 4 layers over 2 groups of 2 inner
layers, 2 heads, I 32, gelu_new, no dropout), trained it in float64 for ten steps
of torch.optim.AdamW (lr 1e-2, betas (0.9, 0.999), eps 1e-6, weight decay 0.01
on every tensor except LayerNorm weights and biases, bias correction on, no
clipping, constant lr) on one padded batch with MLM and sentence-order labels,
and saved the weights before and after, the loss and gradient norm of every
step, and the loss of the final weights.

Here minialbert's forward, hand-written backward and AdamW replay those ten
steps from the same initial weights. A wrong gradient anywhere, a wrong tie, a
wrong optimiser convention (bias correction, decay set, eps placement) shows up
in the losses or the final weights.

Tolerances (float64). Both sides do the same arithmetic in a different order,
so they differ by rounding: ~1e-16 relative per operation, grown by the depth
of the network and by ten steps of training feeding each step's rounding into
the next. Adam divides by sqrt(v): elements whose gradient is tiny compared to
eps are multiplied by lr/eps = 1e4, but for those the update itself is tiny, so
the absolute error stays ~1e-13 there.
- losses, grad norms, final loss: 1e-10 relative.
- final weights: per tensor, max|w - w_ref| <= 1e-10 * max|w_ref|.
- except the 4 attention key biases: their gradient is 0 in exact arithmetic
  (softmax ignores a constant added to every score of a row), so both sides move
  them by rounding noise alone, amplified by Adam's lr/eps = 1e4 (~5e-13 in both
  runs). Comparing noise with noise says nothing, and its bound (10 steps x lr x
  noise/eps) is not far below 1e-10, so instead each side must have moved them by
  < 1e-10 absolute.
Measured (torch 2.13, transformers 5.24, numpy 2.4): losses <= 2e-15 relative,
gradient norms <= 3e-14, final weights <= 8e-14 relative (key biases 2.7e-12,
moved ~5e-13 absolute): at least three orders of magnitude under the bounds. A
real difference is far larger: lr 1% higher moves the weights ~1e-2 relative,
decaying every tensor or dropping Adam's bias correction does too
(test_test_can_fail asserts each misses by > 1e4 times the tolerance).
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import minialbert as ma

try:  # top level first, so the test survives modules moving inside the package
    AdamW = ma.AdamW
except AttributeError:
    from minialbert.optim import AdamW

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "train_step"
RTOL_LOSS = 1e-10
RTOL_WEIGHT = 1e-10


def load_fixture():
    meta = json.loads((FIXTURE / "train_step.json").read_text())
    initial = load_file(str(FIXTURE / "weights_initial.safetensors"))
    final = load_file(str(FIXTURE / "weights_final.safetensors"))
    batch = load_file(str(FIXTURE / "batch.safetensors"))
    return meta, initial, final, batch


def train(meta, initial, batch, lr_factor=1.0, **adamw_changes):
    """Replay the fixture's run; returns (model, optimiser, losses, grad norms, final loss).
    lr_factor and adamw_changes (AdamW keyword arguments) are for test_test_can_fail."""
    config = ma.AlbertConfig.from_dict(meta["config"])
    model = ma.AlbertForPreTraining(config, dtype="float64")
    model.load_state_dict({k: v.copy() for k, v in initial.items()})
    model.train()
    o = meta["optimizer"]
    assert o["bias_correction"] and o["max_grad_norm"] is None and o["lr_schedule"] == "constant"
    lr = o["lr"] * lr_factor
    # After load_state_dict: the optimiser updates the arrays that model.params holds.
    kwargs = dict(lr=lr, betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"],
                  exclude_from_weight_decay=o["exclude_from_weight_decay"], bias_correction=True)
    kwargs.update(adamw_changes)
    opt = AdamW(model.params, **kwargs)
    losses, norms = [], []
    for _ in range(meta["steps"]):
        model.zero_grad()
        out = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                    labels=batch["labels"], sentence_order_label=batch["sentence_order_label"])
        model.backward()
        grads = model.grads()
        losses.append(float(out["loss"]))
        norms.append(float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))))
        opt.step(grads, lr=lr)
    final_loss = float(model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                             labels=batch["labels"], sentence_order_label=batch["sentence_order_label"])["loss"])
    return model, opt, losses, norms, final_loss


def is_key_bias(name):
    return name.endswith("attention.key.bias")


def weight_errors(model, ref):
    """{name: max|w - w_ref| / max|w_ref|} over the fixture's (unique) parameters."""
    assert set(model.params) == set(ref), (sorted(set(model.params) ^ set(ref)))
    return {n: float(np.max(np.abs(np.asarray(model.params[n]) - r))) / float(np.max(np.abs(r)))
            for n, r in ref.items()}


def rel(a, b):
    return abs(a - b) / abs(b)


@pytest.fixture(scope="module")
def fixture():
    return load_fixture()


@pytest.fixture(scope="module")
def run(fixture):
    meta, initial, final, batch = fixture
    return train(meta, initial, batch)


def test_same_setup_as_fixture(fixture, run):
    meta, initial, final, batch = fixture
    model, opt, *_ = run
    # the fixture holds each tensor once; ties as in HF
    assert set(initial) == set(final) == set(model.params)
    sd = model.state_dict()
    for alias, target in meta["tied_weights"].items():
        assert sd[alias] is sd[target]
    # torch's two param groups were split by the rule minialbert's AdamW applies
    decayed = {n for n in model.params if opt.uses_weight_decay(n)}
    assert decayed == set(meta["decayed_params"])
    assert set(model.params) - decayed == set(meta["undecayed_params"])
    assert all(re.search("LayerNorm|layer_norm|bias", n) for n in meta["undecayed_params"])
    # padding present, labels partial: the masked paths are exercised
    assert batch["attention_mask"].min() == 0 and (batch["labels"] == -100).any()


def test_ten_adamw_steps_match_torch(fixture, run):
    meta, initial, final, batch = fixture
    model, opt, losses, norms, final_loss = run
    assert opt.step_count == meta["steps"] == len(meta["losses"]) == 10
    report = []
    for k, (got, ref, g, gref) in enumerate(zip(losses, meta["losses"], norms, meta["grad_norms"]), 1):
        report.append(f"step {k:2d} loss {got:.15f} (torch {ref:.15f}, rel {rel(got, ref):.1e}) "
                      f"|g| rel {rel(g, gref):.1e}")
    errs = weight_errors(model, final)
    worst = max((n for n in errs if not is_key_bias(n)), key=errs.get)
    print("\n" + "\n".join(report))
    print(f"final loss rel {rel(final_loss, meta['final_loss']):.1e}; "
          f"max loss rel {max(rel(a, b) for a, b in zip(losses, meta['losses'])):.1e}; "
          f"max grad-norm rel {max(rel(a, b) for a, b in zip(norms, meta['grad_norms'])):.1e}; "
          f"worst weight rel {errs[worst]:.1e} ({worst}); "
          f"key biases rel {max(e for n, e in errs.items() if is_key_bias(n)):.1e}")
    for k, (got, ref) in enumerate(zip(losses, meta["losses"]), 1):
        assert rel(got, ref) <= RTOL_LOSS, f"step {k}: loss {got!r} vs torch {ref!r}"
    for k, (got, ref) in enumerate(zip(norms, meta["grad_norms"]), 1):
        assert rel(got, ref) <= RTOL_LOSS, f"step {k}: gradient norm {got!r} vs torch {ref!r}"
    assert rel(final_loss, meta["final_loss"]) <= RTOL_LOSS
    bad = {n: e for n, e in errs.items() if e > RTOL_WEIGHT and not is_key_bias(n)}
    assert not bad, f"final weights differ from torch's (relative max error): {bad}"
    # and training did something: the loss fell and every tensor moved, except the
    # attention key biases, whose gradient is 0 in exact arithmetic (softmax ignores
    # a constant added to every score of a row), so only rounding noise moves them.
    assert meta["final_loss"] < 0.7 * meta["losses"][0]
    moved = weight_errors(model, initial)
    key_bias = {n for n in moved if is_key_bias(n)}
    assert len(key_bias) == 4  # 2 groups x 2 inner layers
    assert all(moved[n] > 1e-3 for n in moved if n not in key_bias), sorted(moved.items(), key=lambda kv: kv[1])[:5]
    for n in key_bias:
        for side, w in (("minialbert", model.params[n]), ("torch", final[n])):
            assert np.max(np.abs(np.asarray(w) - initial[n])) < 1e-10, f"{side} moved {n}"


@pytest.mark.parametrize("change", ["lr x 1.01", "decay every tensor", "no bias correction"])
def test_test_can_fail(fixture, change):
    """The same loop with lr 1% higher, or with torch's AdamW conventions changed
    (weight decay on LayerNorm weights and biases too, as one torch param group
    would do; no bias correction, as Google's AdamWeightDecayOptimizer) must miss
    the fixture by far more than the tolerance: the comparison above is
    sensitive, not vacuous."""
    meta, initial, final, batch = fixture
    kwargs = {"lr x 1.01": dict(lr_factor=1.01),
              "decay every tensor": dict(exclude_from_weight_decay=()),
              "no bias correction": dict(bias_correction=False)}[change]
    model, opt, losses, norms, final_loss = train(meta, initial, batch, **kwargs)
    errs = weight_errors(model, final)
    print(f"\n{change}: worst weight rel {max(errs.values()):.1e}, "
          f"final loss rel {rel(final_loss, meta['final_loss']):.1e}")
    assert losses[0] == pytest.approx(meta["losses"][0], rel=RTOL_LOSS)  # same start
    assert max(errs.values()) > 1e4 * RTOL_WEIGHT
    assert rel(final_loss, meta["final_loss"]) > 1e4 * RTOL_LOSS
