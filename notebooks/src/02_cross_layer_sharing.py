# %% [markdown]
# # 02 · Cross-layer parameter sharing
#
# ALBERT keeps one transformer layer (or a few) and runs it again and again, so depth no longer costs
# parameters. This notebook shows which stored layer each of the L layer positions runs (groups and
# `inner_group_num`), what sharing only the attention or only the feed-forward half costs (paper Table 4),
# that one set of weights really is applied L times and collects L gradients, and then repeats the paper's
# Figure 1 measurement (how far each layer moves its input) on the bundled model.
# Paper: Lan et al. (2019), §3.1 "Cross-layer parameter sharing", Table 4 and Figure 1.
#
# Dimension letters: B batch, T sequence, V vocabulary, E embedding width, H hidden width, I FFN width,
# NH heads, L layers, G groups.
#
# **What you will learn**
#
# - HF's group rule: which stored layer each of the L layer positions runs, including uneven groups;
# - what sharing the attention half, the feed-forward half or both costs in parameters (Table 4), and in
#   accuracy on a miniature;
# - that sharing saves parameters, not compute (timed; the paper's Table 2 speeds);
# - that one shared layer is applied L times, and collects L gradients into one buffer;
# - how far each layer moves its input, the paper's Figure 1 measurement.
#
# **Model**: sections 1-3 and 5-6 build small models in the notebook; section 4 runs the bundled
# `minialbert-default` (E = 128 < H = 256, one post-LN layer applied 6 times, trained on English; its
# shape is printed there).
#
# Two exercises at the end: write the group rule, and predict a model's parameter count for any
# `share_type`. The check against Hugging Face's grouped model (every output and gradient) is in the
# appendix, [08 · How we know these numbers are right](08_appendix_parity.ipynb), section 2.

# %%
import re
import time
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

import warnings
warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm.auto in a kernel without ipywidgets
import minialbert as ma
from minialbert import hub, parity
from minialbert.model import backbone_specs, sublayer_prefixes

import nbhelpers                                  # notebooks/nbhelpers.py: the long drawing code
from exercises import check, ex02, solutions_02 as solutions

T0 = time.time()
np.random.seed(0)
REPO = Path.cwd().resolve().parent                                     # notebooks/ runs inside the repository
parity.use_fixtures(REPO / "tests" / "fixtures" / "hf")                # the HF reference outputs
BUNDLED = hub.default_model_path()                                     # package data: minialbert/bundled/
PUBLISHED = REPO / "tests" / "fixtures" / "shared" / "reference" / "published.md"   # vendored from shared/

# %% [markdown]
# ## 1. Which stored layer does layer i run?
#
# The config has `num_hidden_layers` L (how many layer positions the input passes through) and
# `num_hidden_groups` G (how many distinct parameter sets are stored). Layer position i runs group
# `int(i / (L / G))`, Hugging Face's rule, which `AlbertConfig.group_of_layer` implements. When G divides
# L every group gets L/G consecutive positions; when it does not (L/G = 2.4 or 2.5 below) the groups are
# uneven, and the rule (not a rounding of your own) decides which ones get the extra position.
# ALBERT's released models all use G = 1: one group, every position.

# %%
choices = [(12, 1), (12, 2), (12, 3), (12, 5), (12, 12), (5, 2), (7, 3)]
Lmax = max(L for L, _ in choices)
grid = np.full((len(choices), Lmax), np.nan)
for r, (L, G) in enumerate(choices):
    cfg = ma.AlbertConfig(num_hidden_layers=L, num_hidden_groups=G, hidden_size=8, num_attention_heads=1)
    groups = [cfg.group_of_layer(i) for i in range(L)]
    assert groups == [int(i / (L / G)) for i in range(L)] and sorted(set(groups)) == list(range(G))
    grid[r, :L] = groups
    sizes = np.bincount(groups)
    print(f"L={L:>2d} G={G:>2d} L/G={L / G:<5.3g} group of each layer: {' '.join(map(str, groups)):<24s}"
          f" positions per group: {sizes.tolist()}")

fig = nbhelpers.plot_group_grid(choices, grid)
plt.show()

# %% [markdown]
# A group can itself hold several different layers: `inner_group_num` of them, run one after the other
# each time the group is visited. So the input passes through L · inner_group_num layer applications,
# and G · inner_group_num distinct layers are stored. The HF fixture that the appendix (notebook 08)
# checks tensor by tensor has L = 5, G = 2, inner_group_num = 2:

# %%
cfg_g = ma.AlbertConfig.from_pretrained(parity.fixtures_dir() / "mlm_groups")
apps = [(i, j) for i in range(cfg_g.num_hidden_layers) for j in range(cfg_g.inner_group_num)]
for k, (i, j) in enumerate(apps):
    pa, _ = sublayer_prefixes(cfg_g, i, j, "albert.")
    print(f"application {k}: position i={i}, inner layer j={j} -> {pa[len('albert.encoder.'):-len('attention.')]}")
stored = {sublayer_prefixes(cfg_g, i, j, "")[0] for i, j in apps}
print(f"{len(apps)} layer applications, {len(stored)} distinct stored layers")
assert len(apps) == 10 and len(stored) == 4

# %% [markdown]
# ## 2. What to share: `share_type` and Table 4
#
# The paper compares sharing everything (ALBERT's default), only the attention block, only the FFN
# block, or nothing. minialbert has these as `share_type` (`all` / `attention` / `ffn` / `none`, from the
# albert_pytorch port): an unshared half of layer i is stored under group index i, so the names stay
# Hugging Face's. Per layer, attention holds 4 H×H matrices (Q, K, V, output) and the FFN holds H×I +
# I×H, which with I = 4H is twice as much: that is why sharing the FFN saves more than sharing attention.
#
# Table 4 gives the ALBERT-base shape (H = 768, L = 12, NH = 12, I = 3072, V = 30,000) at E = 768 and
# E = 128. The figures are read from `tests/fixtures/shared/reference/published.md` when it is on disk, otherwise the
# restated ones below are used (source: the paper's Table 4, as copied into that file).

# %%
TABLE_4 = {768: {"all": 31, "attention": 83, "ffn": 57, "none": 108},     # millions, paper Table 4
           128: {"all": 12, "attention": 64, "ffn": 38, "none": 89}}
if PUBLISHED.is_file():
    parsed = {}
    for line in PUBLISHED.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*E=(\d+)\s*\|\s*(\d+)M\s*\|\s*(\d+)M\s*\|\s*(\d+)M\s*\|\s*(\d+)M\s*\|", line)
        if m:   # columns: all-shared | shared-attention | shared-FFN | not-shared
            parsed[int(m[1])] = dict(zip(("all", "attention", "ffn", "none"), map(int, m.groups()[1:])))
    assert parsed == TABLE_4, parsed
    print("Table 4 figures parsed from", PUBLISHED.name, "and equal to the restated ones")
else:
    print("published.md not on disk: using the restated Table 4 figures")

# %% [markdown]
# `ma.count_parameters(config)` counts Hugging Face's structure: the E→H projection always, and a pooler.
# The paper's convention (checked entry by entry, as in tests/test_param_counts.py) counts the projection
# only when E ≠ H and the pooler only in the shared columns. Under that convention every entry must round
# to the paper's millions; the library's default count is shown next to it, with the number of distinct
# encoder weight arrays each variant stores.

# %%
base = ma.preset("albert-base-v2")
H, L = base.hidden_size, base.num_hidden_layers
print(f"{'E':>4s} {'share_type':<10s} {'arrays':>6s} {'library default':>16s} {'paper convention':>17s} {'paper':>6s}")
for E in (768, 128):
    for share in ("all", "attention", "ffn", "none"):
        cfg = base.replace(embedding_size=E, share_type=share)
        arrays = sum("albert_layer_groups" in n for n, _, _ in backbone_specs(cfg, "", True))
        lib = ma.count_parameters(cfg)
        conv = ma.count_parameters(cfg, add_pooler=share != "none", mapping=E != H)
        paper_m = TABLE_4[E][share]
        flag = "" if round(lib / 1e6) == paper_m else "   <- default rounds elsewhere"
        print(f"{E:>4d} {share:<10s} {arrays:>6d} {lib / 1e6:>15.3f}M {conv / 1e6:>16.3f}M {paper_m:>5d}M{flag}")
        assert round(conv / 1e6) == paper_m
        assert lib - conv == (H * H + H) * (share == "none") + (E * H + H) * (E == H)
        assert arrays == {"all": 16, "attention": 10 + 6 * L, "ffn": 6 + 10 * L, "none": 16 * L}[share]
print("all 8 Table 4 entries reproduced under the paper's convention")

# %% [markdown]
# Where the shapes pin the convention down: E = 768 all-shared is 31.7M with the H×H projection and
# 31.1M without, so only "no projection at E = H" gives 31; the not-shared 108M needs both the projection
# and the pooler left out (109.1M with the pooler). For shared-FFN at E = 768 the pooler does not decide
# the rounding (57.1M with, 56.5M without); the rule above is the one that fits every entry at once.
#
# ## 3. One set of weights, applied L times
#
# (Notebook 01 draws this next to BERT: the right-hand stack of its block diagram.)
#
# A tiny float64 model with L = 12 and G = 1 stores 16 encoder arrays (one layer) and applies them 12
# times: the trace records 12 layer applications, and `hidden_states` has L + 1 entries.

# %%
cfg_t = ma.AlbertConfig(vocab_size=60, embedding_size=8, hidden_size=16, num_attention_heads=2,
                        intermediate_size=32, num_hidden_layers=12, max_position_embeddings=16)
shared = ma.AlbertModel(cfg_t, seed=0, dtype="float64")
rng = np.random.default_rng(0)
ids = rng.integers(5, 60, size=(2, 6))                                      # (B, T)
out = shared(ids, output_hidden_states=True, trace=True)
enc_arrays = [n for n in shared.params if "albert_layer_groups" in n]
applied = sorted({int(k.split(".")[1]) for k in shared.trace if k.startswith("layer.")})
read = {sublayer_prefixes(cfg_t, i, 0, "")[0] for i in range(cfg_t.num_hidden_layers)}
print(f"distinct encoder arrays: {len(enc_arrays)}; layer applications in the trace: {len(applied)}; "
      f"hidden_states: {len(out['hidden_states'])} x {out['hidden_states'][0].shape}  (B, T, H)")
print("attention weights read by layers 0..11:", read)
assert len(enc_arrays) == 16 and applied == list(range(12)) and len(out["hidden_states"]) == 13 and len(read) == 1

# %% [markdown]
# **The gradient of a shared weight is the sum over the layers that used it.** The backward pass walks the
# 12 applications in reverse and each one *adds* (`+=`) its contribution into the same buffer. To see
# that this is the right gradient, copy the shared layer into an unshared model (`share_type="none"`,
# 12 separate copies): its forward pass is identical, and the sum of its 12 per-layer gradients must equal
# the shared model's gradient. A finite-difference check on a few entries (float64, random upstream
# gradient; error ||analytic - numeric|| / max of the two norms, as tests/test_gradcheck.py) confirms
# the shared gradient itself.

# %%
unshared = ma.AlbertModel(cfg_t.replace(share_type="none"), seed=1, dtype="float64")
for n in unshared.params:
    unshared.params[n] = shared.params[re.sub(r"albert_layer_groups\.\d+\.", "albert_layer_groups.0.", n)].copy()
up = rng.normal(size=out["last_hidden_state"].shape)                        # (B, T, H) upstream gradient
out_u = unshared(ids)
assert np.abs(out_u["last_hidden_state"] - out["last_hidden_state"]).max() < 1e-14
shared.zero_grad(); shared(ids); shared.backward(last_hidden_state=up)
unshared.zero_grad(); unshared(ids); unshared.backward(last_hidden_state=up)
gs, gu = shared.grads(), unshared.grads()
worst = 0.0
for n in enc_arrays:
    per_layer = [gu[n.replace("albert_layer_groups.0.", f"albert_layer_groups.{i}.")] for i in range(12)]
    worst = max(worst, np.abs(sum(per_layer) - gs[n]).max())
print(f"max |shared grad - sum of the 12 unshared grads| over all 16 arrays: {worst:.1e} (tol 1e-12)")
assert worst < 1e-12


def f(model):   # the scalar whose gradient backward(last_hidden_state=up) computes
    return float((model(ids)["last_hidden_state"] * up).sum())


h, errs = 1e-5, {}
for n in ("encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight",
          "encoder.albert_layer_groups.0.albert_layers.0.ffn.weight",
          "encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.bias"):
    p = shared.params[n]
    picks = [tuple(rng.integers(0, s) for s in p.shape) for _ in range(4)]
    num = []
    for idx in picks:                                      # central differences, one entry at a time
        old = p[idx]
        p[idx] = old + h; fp = f(shared)
        p[idx] = old - h; fm = f(shared)
        p[idx] = old
        num.append((fp - fm) / (2 * h))
    ana = np.array([gs[n][idx] for idx in picks])
    errs[n] = np.linalg.norm(ana - num) / max(np.linalg.norm(ana), np.linalg.norm(num))
for n, e in errs.items():
    print(f"finite differences, 4 entries of {n.split('layers.0.')[1]:<30s} relative error {e:.1e} (tol 1e-6)")
assert max(errs.values()) < 1e-6

# %% [markdown]
# ## 4. The paper's Figure 1: how far does each layer move its input?
#
# For every layer the paper measures, between the layer's input and output vectors of each token, the L2
# distance and the cosine similarity (plotted as an angle), averaged over tokens. Its finding for BERT-large
# vs ALBERT-large: ALBERT's values change much more smoothly from layer to layer, and they do not go to
# zero, i.e. the repeated layer does not settle at a fixed point.
#
# Here: the bundled model (trained, post-LN, one shared layer applied 6 times) on 64 held-out sentences;
# for contrast, randomly initialised models of the same shape, shared and not shared (`share_type="none"`);
# and released albert-base-v2 when it is on disk.

# %%
tok = ma.AlbertTokenizer.from_pretrained(BUNDLED)
lines = [l for l in (BUNDLED / "heldout-pydocs.txt").read_text(encoding="utf-8").splitlines() if len(l.split()) >= 8][:64]
enc = tok(lines, padding=True, truncation=True, max_length=64, return_tensors="np")    # (B, T)
print(f"{len(lines)} held-out sentences, padded to T = {enc['input_ids'].shape[1]}, "
      f"{int(enc['attention_mask'].sum())} real tokens")


def transitions(model, enc):
    """Per layer application k: mean over real tokens of ||h_k+1 - h_k||, cos(h_k, h_k+1), angle."""
    o = model(enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"],
              output_hidden_states=True)
    keep = enc["attention_mask"].astype(bool)                                 # (B, T)
    hs = [np.asarray(h, dtype=np.float64)[keep] for h in o["hidden_states"]]  # each (N, H)
    rows = []
    for a, b in zip(hs[:-1], hs[1:]):
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        rows.append((np.linalg.norm(b - a, axis=1).mean(), cos.mean(),
                     np.degrees(np.arccos(np.clip(cos, -1, 1))).mean()))
    return np.array(rows)                                                     # (L, 3)


trained = ma.AlbertModel.from_pretrained(BUNDLED)
cfg_b = trained.config
print(f"bundled model: E={cfg_b.embedding_size} H={cfg_b.hidden_size} L={cfg_b.num_hidden_layers} "
      f"G={cfg_b.num_hidden_groups} share_type={cfg_b.share_type} ln_type={cfg_b.ln_type}")
results = {
    "bundled model, trained, shared": transitions(trained, enc),
    "random init, shared": transitions(ma.AlbertModel(cfg_b, seed=0), enc),
    "random init, not shared": transitions(ma.AlbertModel(cfg_b.replace(share_type="none"), seed=0), enc),
}
for name in ("albert-base-v2",):
    path = parity.released_on_disk(name)
    if path is None:
        print(f"{name}: SKIPPED, not on disk (nothing is downloaded here); the paper's own curves are for "
              "BERT-large and ALBERT-large")
    else:
        results[f"{name} (released)"] = transitions(ma.AlbertModel.from_pretrained(path), enc)
        print(f"{name}: measured from {path}")

print(f"\n{'model':<32s} {'layer':>5s} {'L2':>7s} {'cosine':>7s} {'angle':>7s}")
for name, r in results.items():
    for k, (l2, cs, ang) in enumerate(r):
        print(f"{name if k == 0 else '':<32s} {k:>5d} {l2:>7.3f} {cs:>7.4f} {ang:>6.2f}°")

# %%
fig = nbhelpers.plot_layer_transitions(results)     # the L2 panel has a log scale
plt.show()

# %% [markdown]
# Because the block is shared, nothing stops us running the bundled model's one layer more often than it
# was trained for: the same weights, unrolled to 24 applications (ALBERT-large's depth). Applications
# beyond the trained depth (6) were never seen in training, so this is a probe of the shared map itself:
# do its steps shrink towards a fixed point, oscillate, or keep moving the vectors?

# %%
unrolled = ma.AlbertModel.from_pretrained(BUNDLED, num_hidden_layers=24)
assert all(np.array_equal(unrolled.params[n], trained.params[n]) for n in trained.params)   # same weights
r24 = transitions(unrolled, enc)
r24_rand = transitions(ma.AlbertModel(cfg_b.replace(num_hidden_layers=24), seed=0), enc)
assert np.allclose(r24[:cfg_b.num_hidden_layers], results["bundled model, trained, shared"], atol=1e-5)

fig = nbhelpers.plot_unrolled_steps({"bundled shared layer, unrolled": r24, "random shared layer": r24_rand},
                                     trained_depth=cfg_b.num_hidden_layers)
plt.show()
tr = results["bundled model, trained, shared"]                                 # (L, 3): L2, cosine, angle
print("trained, per application:  L2 " + " ".join(f"{v:.2f}" for v in tr[:, 0])
      + " | angle " + " ".join(f"{v:.1f}" for v in tr[:, 2]))
print("unrolled to 24, every 4th:  L2 " + " ".join(f"{v:.2f}" for v in r24[::4, 0])
      + " | angle " + " ".join(f"{v:.1f}" for v in r24[::4, 2]))
rand_angles = np.concatenate([results["random init, shared"][:, 2], results["random init, not shared"][:, 2]])

# the facts the text below states
assert np.all(np.diff(tr[:, 2]) < 0) and np.all(np.diff(tr[1:, 0]) < 0)        # steps shrink with depth
assert rand_angles.max() / rand_angles.min() < 1.5                             # random: ~constant steps
assert tr[:, 2].min() > rand_angles.max()                                      # trained steps are larger
assert np.all(np.diff(r24[1:, 0]) < 0)                                         # unrolled: no oscillation
assert r24[-1, 2] > 1.0 and 0.05 < r24[-1, 0] / r24[1, 0] < 0.5                # ...and not yet at rest

# %% [markdown]
# **What the measurement says** (each sentence is asserted in the cell above).
#
# * The trained shared layer turns every token's vector a lot at its first application (~29°) and less at
#   every later one (~10° at the sixth), and its L2 steps shrink in the same way after the first: a smooth,
#   monotone curve, with no layer undoing what the previous one did. That is the shape the paper reports
#   for ALBERT-large in Figure 1, against BERT-large's jumpier curves. (Layer 0's L2 step stands apart for a
#   reason unrelated to sharing: its input is the E→H projection, which is not normalised, while every
#   later input is the output of a post-LN LayerNorm, all of about the same length.)
# * The random models, shared or not, take small, nearly constant steps (within a factor 1.5 of each
#   other, all smaller than the trained layer's smallest): with weights of std 0.02 each residual branch
#   is a nudge, and six independent random layers look statistically like one random layer used six
#   times. So the smooth decrease is *learnt*; sharing changes nothing until training shapes the layer.
# * What this cannot show: the paper's claim compares two *trained* models of the same size, and we have no
#   trained unshared one, so this is the ALBERT side of Figure 1 only (released albert-base-v2 is added to
#   the table when it is on disk).
# * Unrolled to 24 applications, four times its trained depth, the shared layer keeps moving the vectors
#   by ever smaller steps (no oscillation; about 3° and a ninth of the second application's L2 by the 24th):
#   it behaves like a slowly contracting map. The paper's remark that ALBERT's steps "do not converge to 0"
#   is about a model trained at depth 24; this one, trained at 6 and pushed past it, has not reached a
#   fixed point at 24 either, but it is heading towards one.

# %% [markdown]
# ## 5. Sharing saves parameters, not compute
#
# A shared layer is stored once but still run L times, so a forward and backward pass does the same
# arithmetic whether the L layers share their weights or not. The paper's Table 2 reports training speed
# relative to BERT-large (TPU throughput): BERT-base 4.7×, BERT-large 1.0×, ALBERT-base 5.6×, ALBERT-large
# 1.7×, ALBERT-xlarge 0.6×, ALBERT-xxlarge 0.3× — ALBERT-xxlarge, with 70 % of BERT-large's parameters, is
# about three times *slower*. Below, the matrix-multiply work per token of each shape (forward, the
# L·(4H² + 2HI) of the layers plus the E→H projection; attention's T-dependent part left out) is set beside
# those speeds. Then we time one forward + backward pass of two models that differ only in `share_type`.

# %%
TABLE_2_SPEEDUP = {"BERT base": 4.7, "BERT large": 1.0, "ALBERT base": 5.6, "ALBERT large": 1.7,
                   "ALBERT xlarge": 0.6, "ALBERT xxlarge": 0.3}            # paper Table 2, relative to BERT-large
SHAPES = {"BERT base": (12, 768, 768), "BERT large": (24, 1024, 1024), "ALBERT base": (12, 768, 128),
          "ALBERT large": (24, 1024, 128), "ALBERT xlarge": (24, 2048, 128), "ALBERT xxlarge": (12, 4096, 128)}


def macs_per_token(L, H, E, I=None):
    """Multiply-adds per token of the forward pass through the projection and the L layer applications."""
    I = 4 * H if I is None else I
    return (E * H if E != H else 0) + L * (4 * H * H + 2 * H * I)


work = {k: macs_per_token(*v) for k, v in SHAPES.items()}
print(f"{'model':<15s} {'MACs/token':>11s} {'vs BERT-large':>14s} {'Table 2 speed':>14s}")
for k in SHAPES:
    print(f"{k:<15s} {work[k] / 1e6:>10.1f}M {work[k] / work['BERT large']:>13.2f}x {TABLE_2_SPEEDUP[k]:>13.1f}x")
albert = [k for k in SHAPES if k.startswith("ALBERT")]
# Among the ALBERT models (all-shared, E = 128) speed falls exactly as the work per token rises ...
assert sorted(albert, key=work.get) == sorted(albert, key=TABLE_2_SPEEDUP.get, reverse=True)
# ... and at equal work per token the shared model is the faster one: fewer parameters to move around.
assert abs(work["ALBERT large"] / work["BERT large"] - 1) < 0.01 and TABLE_2_SPEEDUP["ALBERT large"] > TABLE_2_SPEEDUP["BERT large"]

# %%
# A small vocabulary (2,000) so that the layers, not the word table, hold most of the parameters.
cfg_s = ma.AlbertConfig(vocab_size=2000, embedding_size=128, hidden_size=256, num_attention_heads=4,
                        intermediate_size=1024, num_hidden_layers=6, max_position_embeddings=64,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
x_ids = np.random.default_rng(0).integers(5, 2000, size=(8, 64))               # (B, T)
timed = {}
for share in ("all", "none"):
    m = ma.AlbertModel(cfg_s.replace(share_type=share), seed=0)
    up_s = np.random.default_rng(1).normal(size=(8, 64, 256)).astype(np.float32)  # (B, T, H)
    runs = []
    for _ in range(5):                               # the fastest of 5: the least disturbed by other work
        t = time.perf_counter()
        m.zero_grad(); m(x_ids); m.backward(last_hidden_state=up_s)
        runs.append(time.perf_counter() - t)
    timed[share] = (m.num_parameters(), min(runs))
for share, (n, s) in timed.items():
    print(f"share_type={share!r:<7s} {n / 1e6:5.2f}M parameters, forward + backward {1e3 * s:6.1f} ms")
ratio = timed["none"][1] / timed["all"][1]
print(f"parameters: {timed['none'][0] / timed['all'][0]:.1f}x more without sharing; time: {ratio:.2f}x")
# Same arithmetic, so the ratio sits near 1; the bound is wide because the CI machine has 2 busy cores.
assert 0.5 < ratio < 2.0 and timed["none"][0] > 3 * timed["all"][0]

# %% [markdown]
# The unshared model holds several times the parameters and takes about the same time: what sharing buys
# is memory and communication (every stored weight is read and, in training, updated and synchronised),
# not arithmetic. That is why Table 2's speeds follow the work per token among the ALBERT models, while
# ALBERT-large still trains 1.7× faster than BERT-large at the same work: on 64 TPUs, fewer parameters mean
# less to synchronise each step.
#
# ## 6. What sharing costs in accuracy (Table 4's other half)
#
# Table 4 also reports accuracy: at E = 768, all-shared ALBERT-base averages 79.8 on the downstream tasks
# against 82.3 unshared; sharing the attention alone costs little (81.7), sharing the feed-forward block
# costs most (79.6 — most of the all-shared loss). We can only try a miniature on a CPU: four tiny models
# (E = 32, H = 64, L = 4, NH = 2, I = 256) that differ only in `share_type`, each trained 300 steps of 32
# sequences on held-out text of the bundled model, with the vocabulary cut to its 1,000 most frequent pieces
# (the rest [UNK]) so that the output layer is cheap, then compared by their MLM loss on text they did not
# see, and against the *unigram baseline*: the loss of predicting every masked piece by its frequency alone.

# %%
heldout_files = sorted(BUNDLED.glob("heldout*.txt"))
text_lines = [l for f in heldout_files for l in f.read_text(encoding="utf-8").splitlines() if l.strip()]
stream = np.concatenate([tok.encode(l, add_special_tokens=False) for l in text_lines])
K = 1000                                                     # the miniature's vocabulary
pieces_, counts_ = np.unique(stream, return_counts=True)
keep = pieces_[np.argsort(-counts_, kind="stable")][:K - 5]
remap = np.full(tok.vocab_size, tok.unk_token_id)
remap[:5] = np.arange(5)                                     # <pad> <unk> [CLS] [SEP] [MASK] keep their ids
remap[keep] = np.arange(5, 5 + len(keep))
stream = remap[stream]
cut = int(0.85 * len(stream))
train_s, eval_s = stream[:cut], stream[cut:]
print(f"{len(text_lines)} lines from {[f.name for f in heldout_files]}: {len(stream):,} pieces, "
      f"{100 * (stream == tok.unk_token_id).mean():.1f}% outside the {K} kept; {len(train_s):,} to train on")
TB, TT, NPRED = 32, 32, 5


def mlm_batch(s, rng):
    """(B, T) windows of the stream with NPRED positions each replaced by [MASK]; labels -100 elsewhere."""
    start = rng.integers(0, len(s) - TT + 2, TB)
    x = np.stack([np.concatenate([[tok.cls_token_id], s[a:a + TT - 2], [tok.sep_token_id]]) for a in start])
    labels = np.full_like(x, -100)
    for b in range(TB):
        pos = rng.choice(np.arange(1, TT - 1), NPRED, replace=False)
        labels[b, pos], x[b, pos] = x[b, pos], tok.mask_token_id
    return x, labels


def train_mini(share, steps=300, lr=3e-3):
    cfg = ma.AlbertConfig(vocab_size=K, embedding_size=32, hidden_size=64, num_hidden_layers=4,
                          num_attention_heads=2, intermediate_size=256, max_position_embeddings=TT,
                          share_type=share, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    m = ma.AlbertForMaskedLM(cfg, seed=0)
    opt = ma.AdamW(m.params, lr=lr)
    rng = np.random.default_rng(0)                       # the same batches for every variant
    t = time.perf_counter()
    for i in range(steps):
        x, labels = mlm_batch(train_s, rng)
        m.zero_grad(); m(x, labels=labels); m.backward()
        opt.step(m.grads(), lr=lr * min(1.0, (i + 1) / 30) * (1 - i / steps))   # warmup, linear decay
    secs = time.perf_counter() - t
    erng = np.random.default_rng(123)                    # the same held-out batches for every variant
    losses = []
    for _ in range(24):
        x, labels = mlm_batch(eval_s, erng)
        losses.append(float(m(x, labels=labels)["loss"]))
    return m.num_parameters(), float(np.mean(losses)), secs


mini = {share: train_mini(share) for share in ("all", "attention", "ffn", "none")}
freq = np.bincount(train_s, minlength=K) + 1.0
maskable = (eval_s != tok.cls_token_id) & (eval_s != tok.sep_token_id)     # [UNK] is a target like any piece
unigram = float(-np.log(freq / freq.sum())[eval_s[maskable]].mean())      # every piece predicted by its frequency
for share, (n, loss_, secs) in mini.items():
    print(f"share_type={share!r:<12s} {n:>8,d} parameters  held-out MLM loss {loss_:.3f}  ({secs:.1f} s)")
print(f"unigram baseline (frequencies of the training part): {unigram:.3f}")
held_losses = [v[1] for v in mini.values()]
spread = max(held_losses) - min(held_losses)
# 24 held-out batches of 160 masked pieces: the mean's standard error is about 0.02 nat, hence the bound.
assert all(abs(l - unigram) < 0.05 for l in held_losses)      # every variant sits on the unigram plateau
assert spread < 0.02, spread                                  # ... and so the four are indistinguishable

fig, ax = plt.subplots(figsize=(6.5, 3.8))
for share, (n, loss_, _) in mini.items():
    ax.scatter(n / 1e3, loss_, s=40)
    ax.annotate(share, (n / 1e3, loss_), xytext=(5, 4), textcoords="offset points")
ax.axhline(unigram, ls="--", color="grey", label=f"unigram baseline {unigram:.3f}")
ax.set(title="Miniature Table 4: held-out MLM loss against parameters", xlabel="parameters (thousands)",
       ylabel="held-out MLM loss (nats)")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The miniature gives a null result, and it is instructive: after 300 steps all four models sit on the
# unigram plateau (within 0.05 nat of the frequency baseline, asserted), where the layers are not used at
# all yet, so it cannot matter whether they share weights: the unshared model's extra parameters buy
# nothing, and (as section 5 predicts) each variant took about the same time. Getting off that plateau
# takes thousands of steps even for small models ([06](06_pretraining.ipynb) shows the bundled model's run),
# and the paper's differences (a few points of downstream accuracy, the FFN-shared model losing most)
# come from full-size models trained 125,000 steps, where the layers' capacity is what limits accuracy.
# Measuring that ordering needs a GPU-sized budget; the parameter side of the trade (section 2) is what a
# CPU can check exactly. ALBERT's bet is that the accuracy cost is small next to the parameter saving,
# and it spends the saving on a wider H (xxlarge).

# %% [markdown]
# ## 7. Exercises
#
# As in notebook 01: write the function, change the `answer = ...` line to it and run the checker
# (`exercises/README.md`). The committed notebook grades the reference solutions from
# `exercises/solutions_02.py`; do not read that file before you try.
#
# ### Exercise 1: the group rule
#
# Write `group_of_layer(i, L, G)`: the group that layer position i (0-based) runs, for L positions and
# G groups (section 1; without calling `AlbertConfig.group_of_layer`). The checker tries even and uneven
# splits, among them L = 7, G = 3 and L = 24, G = 7, where rounding L / G first goes wrong.

# %%
def my_group_of_layer(i, L, G):
    raise NotImplementedError


answer = solutions.group_of_layer                 # replace with: answer = my_group_of_layer

# %%
check.grade(ex02.group_of_layer, answer)

# %% [markdown]
# ### Exercise 2: predict the parameter count
#
# Write `albert_parameters(V, E, H, I, L, share_type)`: the backbone's parameter count as
# `ma.count_parameters` gives it (HF's structure: the E→H projection and the pooler included; 512
# positions, 2 token types, one group, one inner layer) for `share_type` "all", "attention", "ffn" or
# "none". Start from the shapes of one layer's two halves (section 2): which half is stored once, which
# L times? The checker compares with the library for albert-base's shapes with E = 256 (the "ffn" row is
# the "predict share_type='ffn' at E = 256"), albert-large's and a tiny model's.

# %%
def my_albert_parameters(V, E, H, I, L, share_type):
    raise NotImplementedError


answer = solutions.albert_parameters              # replace with: answer = my_albert_parameters

# %%
check.grade(ex02.albert_parameters, answer)

# %% [markdown]
# ## Summary
#
# - Layer position i runs group `int(i / (L / G))`; ALBERT's released models have G = 1, so every position
#   runs the same layer.
# - Sharing the whole layer stores it once instead of L times; sharing only the attention half keeps the
#   larger feed-forward half per layer, which is why attention-only sharing saves less (Table 4).
# - A shared layer is still applied L times: the same computation as an unshared model of the same shape
#   (timed: about the same time for several times the parameters), and its gradient is the sum of L
#   contributions, one per application. Table 2's speeds follow the work per token, not the parameters:
#   ALBERT-xxlarge has fewer parameters than BERT-large and trains three times slower.
# - A CPU-sized miniature of Table 4 ends on the unigram plateau for all four sharing choices: nothing to
#   compare yet. The paper's accuracy costs (FFN sharing costing most) need full-size models trained long.
# - Figure 1's measurement on the bundled model: its trained shared layer moves each token less at every
#   application, smoothly (the paper's ALBERT curve), where random layers take small constant steps; run
#   past its trained depth it keeps contracting without oscillating. The BERT side needs a trained
#   unshared model of the same size, which this notebook does not have.
#
# Next: [03 · Attention](03_attention.ipynb).

# %%
print(f"notebook ran in {time.time() - T0:.1f} s")
