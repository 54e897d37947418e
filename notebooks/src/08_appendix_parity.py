# %% [markdown]
# # 08 · Appendix: how we know these numbers are right
#
# The other notebooks teach; this one proves. Every number they show comes from minialbert's NumPy code
# with hand-written backward passes, and here that code is compared with Hugging Face `transformers`,
# tensor by tensor: the checks that used to close notebooks 01, 02, 03 and 06, gathered in one place
# with every assertion they made. Notebooks 05 (fill-mask against HF's pipeline) and 07 (CPU against
# GPU) keep their parity checks, which are their point.
#
# **Where the references come from.** `scripts/make_fixtures.py` ran HF's ALBERT classes once, in a
# separate environment with torch, on small checkpoints, and saved their outputs and *every parameter
# gradient* in float64 under `tests/fixtures/hf/`; nothing here needs torch. The tolerances: in float64
# both sides do the same arithmetic in a different order, so only rounding (~1e-16 per operation)
# separates them, and 1e-12 (1e-10 for the whole pretraining model) is a bound with a wide margin; in
# float32 single-precision rounding through a few layers allows 1e-4.
#
# **What you will see:** (0) the released-weights check, when the weights are on disk; (1) the
# embeddings and the E→H projection (notebook 01); (2) a grouped model with inner layers, every tensor
# (notebook 02); (3) every attention map of padded batches (notebook 03); (4) the pretraining model that
# notebook 06 trains; then one figure of the worst difference of each check against its tolerance.

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minialbert import parity
from minialbert.ops import layernorm_forward, linear_forward

T0 = time.time()
REPO = Path.cwd().resolve().parent                                     # notebooks/ runs inside the repository
parity.use_fixtures(REPO / "tests" / "fixtures" / "hf")                # the HF reference outputs
worst = {}                                                             # check -> (worst difference, tolerance)

# %% [markdown]
# ## 0. Released weights
#
# When albert-base-v2 or albert-large-v2 is on disk, its fill-mask output must reproduce the model card's
# table (token ids identical, scores within `parity.MODEL_CARD_ATOL`). This notebook never downloads
# anything, so on a machine without them the check is skipped and says so.

# %%
card_reproduced_by = parity.model_card_check()   # None: skipped (no released weights here)

# %% [markdown]
# ## 1. Embeddings and the E→H projection (notebook 01)
#
# **Hugging Face fixture.** `tests/fixtures/hf/mlm` is a small ALBERT (E = 16 ≠ H = 32, 3 layers sharing
# one group) saved by `transformers` with its outputs and every gradient in float64. `hidden_states[0]`
# is exactly the output of the embedding block plus the E→H projection, so it checks notebook 01's
# topic in isolation; we also redo it by hand with the ops, and compare the gradients of the word table
# and the projection. Tolerances: 1e-12 in float64 (the same arithmetic in a different order only differs
# by rounding, ~1e-16 per operation); 1e-4 in float32 (single-precision rounding of sums over E and H).

# %%
model, out, meta, ref = parity.run_hf_case("mlm", "float64")
print("fixture:", meta["description"])
h0 = np.asarray(out["hidden_states"][0])                                        # (B, T, H)
d64 = np.abs(h0 - ref["out.hidden_states.0"]).max()

Pm, cm = model.params, model.config
ids, tti = ref["input_ids"], ref["token_type_ids"]
e, _ = layernorm_forward(Pm["albert.embeddings.word_embeddings.weight"][ids]
                         + Pm["albert.embeddings.token_type_embeddings.weight"][tti]
                         + Pm["albert.embeddings.position_embeddings.weight"][: ids.shape[1]],
                         Pm["albert.embeddings.LayerNorm.weight"], Pm["albert.embeddings.LayerNorm.bias"],
                         cm.layer_norm_eps)                                      # (B, T, E)
hh, _ = linear_forward(e, Pm["albert.encoder.embedding_hidden_mapping_in.weight"],
                       Pm["albert.encoder.embedding_hidden_mapping_in.bias"])     # (B, T, H)
dhand = np.abs(hh - ref["out.hidden_states.0"]).max()

_, out32, _, _ = parity.run_hf_case("mlm", "float32")
d32 = np.abs(np.asarray(out32["hidden_states"][0], dtype=np.float64) - ref["out.hidden_states.0"]).max()

diffs = parity.hf_case_maxdiffs("mlm", "float64")
g_names = ["grad.albert.embeddings.word_embeddings.weight", "grad.albert.embeddings.position_embeddings.weight",
           "grad.albert.encoder.embedding_hidden_mapping_in.weight",
           "grad.albert.encoder.embedding_hidden_mapping_in.bias"]
print(f"E x H mapping weight shape {Pm['albert.encoder.embedding_hidden_mapping_in.weight'].shape} (H, E)")
print(f"hidden_states[0] {h0.shape}: float64 maxdiff {d64:.1e} (tol 1e-12), by hand {dhand:.1e} (tol 1e-12), "
      f"float32 maxdiff {d32:.1e} (tol 1e-4)")
for g in g_names:
    print(f"  {g:<58s} maxdiff {diffs[g]:.1e}")
assert d64 < 1e-12 and dhand < 1e-12 and d32 < 1e-4
assert all(diffs[g] < 1e-12 for g in g_names)
print("HF fixture check RAN: embeddings + E->H projection and their gradients match transformers")

# %%
worst["01 embeddings, float64"] = (max(d64, dhand, *(diffs[g] for g in g_names)), 1e-12)
worst["01 embeddings, float32"] = (d32, 1e-4)

# %% [markdown]
# ## 2. Groups and inner layers (notebook 02)
#
# **Hugging Face fixture with groups.** `tests/fixtures/hf/mlm_groups` (L = 5, G = 2, 2 inner layers, so
# layer positions 0-2 run group 0 and 3-4 run group 1, as in notebook 02, section 1) was saved by `transformers` with
# its outputs and every parameter gradient in float64. A gradient of group 0 sums 3 positions × its
# inner layer, one of group 1 sums 2: if the grouping rule or the `+=` accumulation were wrong, these
# gradients would be the first to disagree. Tolerance 1e-12 in float64 (only the rounding of the same
# arithmetic differs); in float32, 1e-4. Below, a handful of tensors in the style of llm.c's
# `test_gpt2.c`, then every tensor at once.

# %%
diffs = parity.hf_case_maxdiffs("mlm_groups", "float64")
d, meta, ref = parity.load_hf_case("mlm_groups")
print("fixture:", meta["description"])
TOL64, TOL32 = 1e-12, 1e-4
g = "grad.albert.encoder.albert_layer_groups.{}.albert_layers.{}."
show = ["out.logits", "out.hidden_states.0", "out.hidden_states.5", "out.hidden_states.10", "out.loss",
        g.format(0, 0) + "attention.query.weight", g.format(0, 1) + "ffn.weight",
        g.format(1, 0) + "attention.dense.weight", g.format(1, 1) + "full_layer_layer_norm.weight",
        "grad.albert.embeddings.word_embeddings.weight"]
for k in show:
    print(f"{k:<87s} {'OK' if diffs[k] <= TOL64 else 'NOT OK'} maxdiff = {diffs[k]:.3e}")
bad = {k: v for k, v in diffs.items() if not v <= TOL64}
assert not bad, bad
diffs32 = parity.hf_case_maxdiffs("mlm_groups", "float32")
assert max(diffs32.values()) <= TOL32
print(f"ALL {len(diffs)} TENSORS OK (outputs and every parameter gradient): float64 max {max(diffs.values()):.1e} "
      f"<= {TOL64:g}; float32 max {max(diffs32.values()):.1e} <= {TOL32:g}")

# %%
worst["02 mlm_groups, float64"] = (max(diffs.values()), TOL64)
worst["02 mlm_groups, float32"] = (max(diffs32.values()), TOL32)

# %% [markdown]
# ## 3. Attention maps of padded batches (notebook 03)
#
# **Committed HF fixtures** (always). `scripts/make_fixtures.py` ran Hugging Face's `AlbertModel`
# family in float64 on small checkpoints with *padded* batches and stored every `attentions[N]`.
# We load each checkpoint, run it, and compare every layer's probabilities.
# Tolerances: float64 **1e-12** absolute (same arithmetic, different summation order, so only
# rounding ~1e-16 separates the two); float32 **1e-4** (single-precision rounding through a few
# layers, against the float64 reference).

# %%
TOL = {"float64": 1e-12, "float32": 1e-4}
for case in ("pretraining", "mlm_groups"):
    for dtype in ("float64", "float32"):
        m_, out_, meta, ref = parity.run_hf_case(case, dtype)
        keys = sorted((k for k in ref if k.startswith("out.attentions.")), key=lambda k: int(k.split(".")[-1]))
        diffs = [float(np.abs(np.asarray(parity.hf_output(out_, k), np.float64) - ref[k]).max()) for k in keys]
        print(f"HF fixture '{case}' ({meta['description'][:60]}...) {dtype}: {len(keys)} attention maps "
              f"of shape {ref[keys[0]].shape}")
        print("   " + "  ".join(f"{k[4:]}: {d:.1e}" for k, d in zip(keys, diffs)))
        assert max(diffs) <= TOL[dtype], (case, dtype, max(diffs))
        if dtype == "float64":   # padding: exactly zero in HF's reference and in ours
            pad = ref["attention_mask"] == 0                                  # (B, T)
            for k in keys:
                ours = np.asarray(parity.hf_output(out_, k))
                assert np.all(ours[np.broadcast_to(pad[:, None, None, :], ours.shape)] == 0)
                assert np.all(ref[k][np.broadcast_to(pad[:, None, None, :], ref[k].shape)] == 0)
        print(f"   OK {case} {dtype}: max |minialbert - HF| = {max(diffs):.1e} <= {TOL[dtype]:.0e}")
        worst[f"03 attention {case}, {dtype}"] = (max(diffs), TOL[dtype])
print("OK: all attention maps match HF's; pad columns are exactly 0 in both")

# %% [markdown]
# ## 4. The pretraining model (notebook 06)
#
# Notebook 06 trains `AlbertForPreTraining` (MLM + SOP heads) with its hand-written backward pass, after a
# one-line check of this fixture. In full: `tests/fixtures/hf/pretraining` (3 layers, MLM labels and SOP
# labels): the loss, the prediction and SOP logits, every hidden state and attention map, and **every
# parameter gradient**. In float64 both sides do the same arithmetic in a different order, so they must
# agree to 1e-10 (they do to ~1e-15).

# %%
diffs = parity.hf_case_maxdiffs("pretraining", "float64")
outs = {k: v for k, v in diffs.items() if k.startswith("out.")}
grads = {k: v for k, v in diffs.items() if k.startswith("grad.")}
assert max(diffs.values()) <= 1e-10, max(diffs, key=diffs.get)
print(f"CHECK RAN: HF fixture 'pretraining' in float64: {len(outs)} outputs max|Δ| {max(outs.values()):.1e}, "
      f"{len(grads)} parameter gradients max|Δ| {max(grads.values()):.1e} (tolerance 1e-10)")

worst["06 pretraining, float64"] = (max(diffs.values()), 1e-10)

# %% [markdown]
# ## 5. Every check at a glance
#
# The worst absolute difference of each check above (over every tensor it compared) next to the tolerance
# it was held to, on a log scale: float64 results sit near 1e-15, many orders of magnitude under their
# bounds; float32 ones between 1e-7 and 1e-5, under 1e-4.

# %%
names = list(worst)
vals = np.array([max(worst[n][0], 1e-18) for n in names])        # an exact 0 is drawn at 1e-18
tols = np.array([worst[n][1] for n in names])
assert np.all(vals <= tols)
fig, ax = plt.subplots(figsize=(9, 0.42 * len(names) + 1.4))
y = np.arange(len(names))[::-1]
ax.barh(y, vals, color=["#4e79a7" if "float64" in n else "#f28e2b" for n in names], label="worst |minialbert − HF|")
ax.scatter(tols, y, marker="|", s=300, color="black", label="tolerance", zorder=3)
ax.set_yticks(y, names)
ax.set_xscale("log")
ax.set_xlim(1e-18, 1e-2)
ax.set_xlabel("max absolute difference (log scale)")
ax.set_title("minialbert against Hugging Face transformers: every check of this appendix")
ax.legend(loc="lower right")
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# - The embeddings and the E→H projection, a grouped model's every output and gradient, every attention
#   map of padded batches, and the whole pretraining model agree with Hugging Face's autograd to float64
#   rounding, and within 1e-4 in float32.
# - The rest of the test suite goes further (`tests/test_parity_hf.py`: twelve fixtures, one per head
#   class and shape feature; `tests/test_train_step.py`: ten training steps against torch's AdamW).
#
# Back to the start: [01 · Tokenizer and factorised embeddings](01_tokenizer_and_embeddings.ipynb).

# %%
print(f"notebook ran in {time.time() - T0:.1f} s")
