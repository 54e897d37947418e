"""Measure what mixed precision costs against float32 and float64, on the CPU (README, "Mixed precision").

    python3 scripts/measure_mixed_precision.py            # a markdown table; ~1 minute on one core

1. The committed Hugging Face fixtures (tests/fixtures/hf: 12 small checkpoints, HF's float64 outputs and
   parameter gradients): each case run in float32, float16 and bfloat16 (emulated), compared with the
   float64 reference and with minialbert's own float32 run. Outputs: max |difference| over every output
   (logits, hidden states, attentions); loss: relative difference; gradients: the relative L2 error of the
   whole gradient (every parameter's, concatenated), and the worst parameter's max|g - g_ref| / max|g_ref|
   (the parity test's measure: + a floor of 1e-3 x the model's largest gradient), leaving out the
   parameters whose gradient is zero in exact arithmetic (reference below 1e-12 x the largest: the
   attention key bias, as softmax ignores a constant added to every score; the QA and multiple-choice
   heads' biases, as softmax minus one-hot sums to zero), where any rounding is an infinite relative error.
2. A short pretraining trajectory (tests/test_pretraining.py's tiny config, dropout on, AdamW, 40 steps):
   float16 with dynamic loss scaling and bfloat16 against float32, step by step.
tests/test_mixed_precision.py asserts these figures with stated tolerances.
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from minialbert import backend  # noqa: E402
from minialbert.parity import hf_cases, hf_output, run_hf_case, use_fixtures  # noqa: E402

LOW = ("float32", "float16", "bfloat16")


def _errors(model, out, ref_out, ref_grads, ref_loss, zero):
    """(outputs max|d|, loss relative d, gradient relative L2 d, worst parameter's normalised d) of a run
    against reference values."""
    o = max(float(np.max(np.abs(np.asarray(backend.to_numpy(hf_output(out, k)), np.float64) - r)))
            for k, r in ref_out.items())
    loss = (abs(float(out["loss"]) - ref_loss) / abs(ref_loss)) if ref_loss is not None else float("nan")
    got = {n: np.asarray(backend.to_numpy(model.grads()[n]), np.float64) for n in ref_grads}
    rel2 = (sum(float(np.sum((got[n] - r) ** 2)) for n, r in ref_grads.items())
            / sum(float(np.sum(r ** 2)) for r in ref_grads.values())) ** 0.5
    top = max(float(np.max(np.abs(r))) for r in ref_grads.values())
    worst = max(float(np.max(np.abs(got[n] - r))) / (float(np.max(np.abs(r))) + 1e-3 * top)
                for n, r in ref_grads.items() if n not in zero)
    return o, loss, rel2, worst


def hf_parity(cases=None, dtypes=LOW):
    """{case: {dtype: {"f64": (out, loss, grad L2, grad worst), "f32": (the same against float32)}}}."""
    use_fixtures(ROOT / "tests" / "fixtures" / "hf")
    res = {}
    for case in cases or hf_cases():
        m32, o32, meta, ref = run_hf_case(case, "float32")
        ref_out = {k: v for k, v in ref.items() if k.startswith("out.") and k != "out.loss"}
        ref_grads = {n: ref["grad." + n] for n in m32.grads()}
        ref_loss = float(ref["out.loss"]) if "out.loss" in ref else None
        top = max(float(np.max(np.abs(r))) for r in ref_grads.values())
        zero = {n for n, r in ref_grads.items() if float(np.max(np.abs(r))) <= 1e-12 * top}   # 0 exactly
        f32_out = {k: np.asarray(hf_output(o32, k), np.float64) for k in ref_out}
        f32_grads = {n: np.asarray(g, np.float64) for n, g in m32.grads().items()}
        f32_loss = float(o32["loss"]) if ref_loss is not None else None
        res[case] = {}
        for dt in dtypes:
            m, o = (m32, o32) if dt == "float32" else run_hf_case(case, dt)[:2]
            res[case][dt] = {"f64": _errors(m, o, ref_out, ref_grads, ref_loss, zero),
                             "f32": _errors(m, o, f32_out, f32_grads, f32_loss, zero)}
    return res


def trajectory(tmp, dtypes=LOW, steps=40):
    """{dtype: (history, model)} of the same tiny pretraining run in each dtype."""
    from test_pretraining import CFG, tc
    from minialbert.training.pretrain import pretrain
    runs = {}
    for dt in dtypes:
        model, history, _ = pretrain(CFG, tc(Path(tmp), dt, dtype=dt, steps=steps, lr=1e-2), progress=False)
        runs[dt] = (history, model)
    return runs


def trajectory_diffs(runs):
    """{dtype: (max |loss - float32's| over the steps, final loss, relative weight difference, skipped)}."""
    h32, m32 = runs["float32"]
    out = {}
    for dt, (h, m) in runs.items():
        dl = max(abs(a["loss"] - b["loss"]) for a, b in zip(h, h32))
        num = sum(float(np.sum((np.asarray(m.params[k], np.float64) - np.asarray(m32.params[k], np.float64)) ** 2))
                  for k in m.params)
        den = sum(float(np.sum(np.asarray(m32.params[k], np.float64) ** 2)) for k in m.params)
        out[dt] = (dl, h[-1]["loss"], (num / den) ** 0.5, sum(bool(x.get("skipped")) for x in h))
    return out


def main():
    res = hf_parity()
    print("HF fixtures (12 cases), worst case over the cases\n")
    print("| dtype | against | outputs: max abs diff | loss: rel. diff | gradient: rel. L2 diff "
          "| gradient: worst parameter |")
    print("| --- | --- | --- | --- | --- | --- |")
    for dt in LOW:
        for against in ("f64", "f32"):
            if dt == "float32" and against == "f32":
                continue
            w = [max(np.nan_to_num(r[dt][against][i]) for r in res.values()) for i in range(4)]
            print(f"| {dt} | {'HF float64' if against == 'f64' else 'minialbert float32'} | "
                  + " | ".join(f"{x:.2e}" for x in w) + " |")
    print("\nper case (float16 / bfloat16 vs float64: outputs, loss, gradient L2, worst parameter)")
    for case, r in res.items():
        print(f"  {case:20s} " + "  ".join(f"{dt}: " + " ".join(f"{x:.1e}" for x in r[dt]["f64"])
                                            for dt in ("float16", "bfloat16")))
    with tempfile.TemporaryDirectory() as tmp:
        d = trajectory_diffs(trajectory(tmp))
    print("\nPretraining, 40 steps (tiny config, dropout 0.1, AdamW lr 1e-2)\n")
    print("| dtype | max abs loss diff vs float32 | final loss | relative weight diff vs float32 | skipped steps |")
    print("| --- | --- | --- | --- | --- |")
    for dt, (dl, fl, rw, sk) in d.items():
        print(f"| {dt} | {dl:.2e} | {fl:.4f} | {rw:.2e} | {sk} |")


if __name__ == "__main__":
    main()
