# %% [markdown]
# # 03 · Attention, by hand and in the library
#
# Every ALBERT layer starts with multi-head scaled dot-product self-attention. This notebook
# computes one head with plain NumPy, step by step, then checks that `minialbert.ops.attention_forward`
# (which fuses Q, K and V into one matrix) gives the same numbers. We then look at the
# attention maps of the bundled model, and at what the padding mask does and what breaks without it.
#
# Paper: ALBERT (Lan et al., 2019, arXiv:1909.11942) §3.1 keeps the Transformer encoder of BERT
# unchanged (the attention is that of Vaswani et al., 2017, §3.2); with cross-layer sharing
# (also §3.1) one set of attention weights serves every layer.
#
# Dimension letters: B batch, T sequence, H hidden, NH heads, HS = H / NH head size, L layers, G groups.
#
# **What you will learn**
#
# - scaled dot-product attention for one head, step by step, and the same numbers from the fused op;
# - how (B, T, H) is split into heads (B, NH, T, HS) and merged back;
# - what attention maps look like, and what the padding mask does (and what breaks without it);
# - that one shared layer still has heads with distinct jobs (previous token, next token, broad).
#
# **Model**: sections 1-2 use small random matrices; sections 3-4 run the bundled `minialbert-default`
# (E = 128 < H = 256, NH = 4 heads of HS = 64, one post-LN layer applied 6 times, trained on English;
# printed in section 3).
#
# Two exercises at the end: write attention for all heads with the padding mask, then measure the
# entropy of the maps and watch what removing the 1/√HS scaling does to it. The comparison of every
# attention map with Hugging Face's is in the appendix,
# [08 · How we know these numbers are right](08_appendix_parity.ipynb), section 3.

# %%
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minialbert as ma
from minialbert import ops, parity

import nbhelpers                                  # notebooks/nbhelpers.py: the long drawing code
from exercises import check, ex03, solutions_03 as solutions

T0 = time.time()
np.set_printoptions(precision=4, suppress=True, linewidth=110)
REPO = Path.cwd().resolve().parent                                     # notebooks/ runs inside the repository
parity.use_fixtures(REPO / "tests" / "fixtures" / "hf")                # the HF reference outputs
MODEL_DIR = ma.hub.default_model_path()                                # package data: minialbert/bundled/
print("minialbert", ma.__version__, "| model:", MODEL_DIR.name)

# %% [markdown]
# ## 1. A tiny attention layer with random weights
#
# Small enough to print: B = 2 sentences of T = 5 tokens, H = 8, NH = 2 heads of HS = 4.
# The weights follow Hugging Face's layout, **(out, in)**, so a projection is `x @ W.T + b`.
# The second sentence has only 3 real tokens; its last two positions are padding
# (`attention_mask` 0). We work in float64 so that "agree" can mean ~1e-12.

# %%
rng = np.random.default_rng(0)
B, T, H, NH = 2, 5, 8, 2
HS = H // NH
EPS = 1e-12
x = rng.normal(size=(B, T, H))                                          # (B, T, H) layer input
Wq, Wk, Wv, Wo = (rng.normal(scale=0.6, size=(H, H)) for _ in range(4))  # each (H, H), (out, in)
bq, bk, bv, bo = (rng.normal(scale=0.1, size=H) for _ in range(4))       # each (H,)
ln_w, ln_b = 1.0 + 0.1 * rng.normal(size=H), 0.1 * rng.normal(size=H)    # (H,)
attention_mask = np.array([[1, 1, 1, 1, 1],
                           [1, 1, 1, 0, 0]])                             # (B, T): 1 real, 0 padding
print("x", x.shape, "| Wq", Wq.shape, "| mask\n", attention_mask)

# %% [markdown]
# ### One head, step by step
#
# Head `h` owns columns `h*HS … (h+1)*HS-1` of each projection. For that head:
#
# $$Q = x W_q^\top + b_q,\quad K = x W_k^\top + b_k,\quad V = x W_v^\top + b_v \qquad (B, T, HS)$$
#
# $$S = \frac{Q K^\top}{\sqrt{HS}} + M,\qquad P = \mathrm{softmax}_{\text{keys}}(S),\qquad C = P V$$
#
# `S[b, t, s]` says how well query token `t` matches key token `s`. `M` is the additive padding
# mask: 0 for a real key, the most negative float64 for a padded one, so after the softmax a padded
# key gets probability exactly 0. Dividing by √HS keeps the scores from growing with the head size,
# which would push the softmax towards one-hot (and its gradient towards zero).

# %%
h = 0
cols = slice(h * HS, (h + 1) * HS)
Q = x @ Wq[cols].T + bq[cols]                                   # (B, T, HS)
K = x @ Wk[cols].T + bk[cols]                                   # (B, T, HS)
V = x @ Wv[cols].T + bv[cols]                                   # (B, T, HS)
S = Q @ K.transpose(0, 2, 1) / np.sqrt(HS)                       # (B, T, T): [b, query t, key s]
M = np.where(attention_mask == 1, 0.0, np.finfo(np.float64).min)[:, None, :]   # (B, 1, T)
S_masked = S + M                                                 # padded keys -> about -1.8e308
P = np.exp(S_masked - S_masked.max(axis=-1, keepdims=True))      # (B, T, T), shifted for stability
P /= P.sum(axis=-1, keepdims=True)                               # rows sum to 1
C = P @ V                                                        # (B, T, HS) this head's context

print("attention probabilities of head 0 for sentence 1 (rows: queries, columns: keys):")
print(P[1])
print("rows sum to 1:", np.allclose(P.sum(-1), 1.0), "| padded key columns are exactly 0:", (P[1][:, 3:] == 0).all())

# %% [markdown]
# The padded *rows* (queries 3 and 4 of sentence 1) are still computed: a padded token attends to
# the real ones. Nobody reads those outputs, and no real token reads *them* (their columns are 0),
# so they do no harm.
#
# ### All heads, output projection, residual and layer norm
#
# Each head produces its own (B, T, HS) context; the heads are placed side by side into (B, T, H),
# projected by the output dense layer, added to the input (residual) and layer-normalised
# (post-LN, as BERT and ALBERT):  `y = LayerNorm(x + C Wₒᵀ + bₒ)`.

# %%
def one_head(h):
    c = slice(h * HS, (h + 1) * HS)
    q, k, v = (x @ W[c].T + b[c] for W, b in ((Wq, bq), (Wk, bk), (Wv, bv)))   # (B, T, HS) each
    s = q @ k.transpose(0, 2, 1) / np.sqrt(HS) + M                               # (B, T, T)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return p, p @ v                                                              # (B, T, T), (B, T, HS)


heads = [one_head(h) for h in range(NH)]
ctx_hand = np.concatenate([c for _, c in heads], axis=-1)       # (B, T, H)  heads side by side
probs_hand = np.stack([p for p, _ in heads], axis=1)            # (B, NH, T, T)
z = x + (ctx_hand @ Wo.T + bo)                                   # (B, T, H)  residual
mu = z.mean(-1, keepdims=True)
var = ((z - mu) ** 2).mean(-1, keepdims=True)                    # biased variance, as PyTorch
y_hand = (z - mu) / np.sqrt(var + EPS) * ln_w + ln_b             # (B, T, H)
print("y by hand:", y_hand.shape)

# %% [markdown]
# ### The library's op
#
# `attention_forward` takes one **fused** projection: Q, K and V weights stacked into a (3H, H)
# matrix `wqkv`, so a single matmul produces all three (one big GEMM is faster than three small ones).
# In a model with cross-layer sharing this packed matrix is built once per forward pass and reused
# by all L layers (`encoder_forward` in `minialbert/model/backbone.py`). The additive mask comes from
# `attention_mask_bias`, with shape (B, 1, 1, T) so it broadcasts over heads and queries.

# %%
p = {"wqkv": np.concatenate([Wq, Wk, Wv]),            # (3H, H)
     "bqkv": np.concatenate([bq, bk, bv]),            # (3H,)
     "wo": Wo, "bo": bo, "ln_w": ln_w, "ln_b": ln_b}
mask_bias = ops.attention_mask_bias(attention_mask, np.float64)           # (B, 1, 1, T)
assert np.array_equal(mask_bias[:, 0], M)                                # same additive mask as ours
y_lib, cache = ops.attention_forward(x, p, mask_bias, NH, EPS)              # (B, T, H), AttentionCache
trace = {"probs": cache.probs, "context": cache.out[0]}                     # what the porter's trace reads

err_y = np.abs(y_lib - y_hand).max()
err_p = np.abs(trace["probs"] - probs_hand).max()
err_c = np.abs(trace["context"] - ctx_hand).max()
print(f"max |library - by hand|: y {err_y:.1e}, probs {err_p:.1e}, context {err_c:.1e}")
assert err_y < 1e-12 and err_p < 1e-12 and err_c < 1e-12
assert np.all(trace["probs"][1, :, :, 3:] == 0.0)        # padded keys: exactly zero, every head
print("OK: attention_forward == the step-by-step computation (float64, tolerance 1e-12)")

# %% [markdown]
# ### What the cache holds
#
# The forward pass returns `(y, cache)`; `attention_backward(dy, cache, g)` later needs exactly
# these arrays (notebook 04 is about that side). The cache is a NamedTuple, `AttentionCache`, whose
# fields say what each entry is:

# %%
names = list(type(cache)._fields)
what = {"ln_type": "'postln' (ALBERT) or 'preln'", "ln_in": "pre-LN only (None here)",
        "qkv": "(x, wqkv) for the fused linear backward", "q": "per-head queries, a view",
        "k": "per-head keys, a view", "v": "per-head values, a view",
        "mask_bias": "additive padding bias (B, 1, 1, T)",
        "probs": "softmax output P (its backward needs only P)", "probs_dropout": "dropout mask on P (None: eval)",
        "probs_d": "P after dropout, for dV = P^T dC", "out": "(context, wo) for the output dense",
        "out_dropout": "dropout mask on the output (None)", "ln_out": "(xhat, rstd, ln_w) of the post-LN",
        "head_size": "head size HS", "head_mask": "(NH,) per-head factor on P, or None (no head_mask)"}


def shapes(a):
    if isinstance(a, np.ndarray):
        return str(a.shape)
    if isinstance(a, tuple):
        return "(" + ", ".join(shapes(e) for e in a) + ")"
    return repr(a)


assert len(cache) == len(names)
for n, a in zip(names, cache):
    print(f"  {n:13s} {shapes(a):38s} {what[n]}")
print("the scores S are not kept: the softmax backward needs only P; P (B, NH, T, T) is the largest entry")

# %% [markdown]
# ## 2. Multi-head reshaping: (B, T, H) → (B, NH, T, HS) and back
#
# The fused projection gives (B, T, 3H) whose last axis is laid out as [Q | K | V], each of them
# [head 0 | head 1 | …], each head HS wide. One `reshape` names those three sub-axes and one
# `transpose` moves "which of q/k/v" to the front and the heads before the tokens, so every head
# becomes an independent (T, HS) matrix and the scores of all heads are one batched matmul.
# Both are views: no data is copied.

# %%
qkv = x.reshape(-1, H) @ p["wqkv"].T + p["bqkv"]        # (B*T, 3H)
qkv = qkv.reshape(B, T, 3 * H)                          # (B, T, 3H)   [Q | K | V]
qkv5 = qkv.reshape(B, T, 3, NH, HS)                     # (B, T, 3, NH, HS)
qkvh = qkv5.transpose(2, 0, 3, 1, 4)                    # (3, B, NH, T, HS)
q, k, v = qkvh                                          # each (B, NH, T, HS)
print("q", q.shape, "| a view of the fused output:", np.shares_memory(q, qkv))
assert np.allclose(q[:, 0], Q, atol=1e-12) and np.allclose(k[:, 0], K, atol=1e-12)   # head 0 == by hand
assert np.allclose(q, cache.q, atol=1e-12)                                           # == the op's cache

scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(HS)      # (B, NH, T, T) every head at once
ctx_heads = trace["context"].reshape(B, T, NH, HS).transpose(0, 2, 1, 3)   # back to (B, NH, T, HS)
ctx_back = ctx_heads.transpose(0, 2, 1, 3).reshape(B, T, H)               # (B, T, H) heads side by side
assert np.allclose(ctx_heads[:, 0], C, atol=1e-12) and np.array_equal(ctx_back, trace["context"])
print("OK: head 0 of the reshaped tensors is the head computed by hand")

# %%
# Where each column of the fused (B, T, 3H) output goes.
fig = nbhelpers.plot_qkv_layout(H, NH, HS)
plt.show()

# %% [markdown]
# ## 3. Attention maps of the bundled model
#
# `minialbert/bundled/minialbert-default` is a small ALBERT of the paper's shape (E < H, one shared post-LN
# layer applied L times) that minialbert pretrained on English: WordNet's glosses, the Python documentation,
# the Debian handbook (its size and training are printed below from its files).
# `output_attentions=True` returns one (B, NH, T, T) probability tensor per applied layer.

# %%
cfg = json.loads((MODEL_DIR / "config.json").read_text())
metrics = json.loads((MODEL_DIR / "metrics.json").read_text())
last_eval = metrics["evals"][-1] if metrics.get("evals") else {}
tok = ma.load_tokenizer(MODEL_DIR)
model = ma.AlbertForMaskedLM.from_pretrained(MODEL_DIR, dtype="float64")
c = model.config
L, NHm = c.num_hidden_layers, c.num_attention_heads
print(model)
print(f"trained {metrics.get('steps')} steps; last eval: MLM accuracy {last_eval.get('mlm_accuracy', float('nan')):.3f}")

sentence = "The import statement is used to load a module from a package."
enc = tok(sentence, return_tensors="np")
tokens = [t.replace("\u2581", "") or "\u2581" for t in tok.convert_ids_to_tokens(enc["input_ids"][0])]
out = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"], output_attentions=True)
att = np.stack(out.attentions)[:, 0]                     # (L, NH, T, T) for our one sentence
print("tokens:", tokens)
print("attentions:", len(out.attentions), "tensors of", out.attentions[0].shape, "-> stacked", att.shape)
assert np.allclose(att.sum(-1), 1.0)


# %%
layer = L - 1
fig = nbhelpers.attention_heatmaps(att[layer], [f"layer {layer}, head {hh}" for hh in range(NHm)], tokens,
                                   suptitle=f"All {NHm} heads of the last layer ({layer}) for one sentence; "
                                            "each row sums to 1")
plt.show()

sharing = "the same weights in every layer" if c.num_hidden_groups == 1 else "groups of shared weights"
fig = nbhelpers.attention_heatmaps(att[:, 0], [f"layer {ll}, head 0" for ll in range(L)], tokens,
                                   suptitle=f"Head 0 across the {L} layers (G = {c.num_hidden_groups}: {sharing})")
plt.show()

# %% [markdown]
# With G = 1 every layer runs the *same* W_q, W_k, W_v, yet the maps differ from layer to layer:
# the input hidden states change, so the same weights ask different questions. A few numbers
# per head summarise where the probability mass goes (computed now, from whatever model is bundled):

# %%
Tn = len(tokens)
special = [i for i, t in enumerate(tokens) if t in ("[CLS]", "[SEP]")]
print(f"{'layer':>5} {'head':>4} | {'to [CLS]/[SEP]':>14} {'to itself':>9} {'to previous':>11} {'to next':>7} | {'entropy (nats)':>14}")
for ll in range(L):
    for hh in range(NHm):
        A = att[ll, hh]
        ent = -(A * np.log(np.clip(A, 1e-300, None))).sum(-1).mean()
        print(f"{ll:>5} {hh:>4} | {A[:, special].sum(-1).mean():14.3f} {np.trace(A) / Tn:9.3f} "
              f"{np.diag(A, -1).sum() / (Tn - 1):11.3f} {np.diag(A, 1).sum() / (Tn - 1):7.3f} | {ent:14.3f}")
print(f"(uniform attention over {Tn} tokens would have entropy {np.log(Tn):.3f})")

# %% [markdown]
# One sentence is a small sample. The same summary over 64 held-out sentences (32 WordNet glosses, 32
# paragraphs of the Python documentation; padding excluded), per layer application and head, with a
# figure of the two positional shares:

# %%
held = []
for source in ("wordnet", "pydocs"):
    rows = (MODEL_DIR / f"heldout-{source}.txt").read_text(encoding="utf-8").splitlines()
    held += [l for l in rows if 8 <= len(l.split()) <= 40][:32]
henc = tok(held, padding=True, truncation=True, max_length=64, return_tensors="np")          # (64, T)
hout = model(henc["input_ids"], henc["attention_mask"], henc["token_type_ids"], output_attentions=True)
lengths = henc["attention_mask"].sum(1)                                                      # (64,)
prev_share, next_share, entropy = (np.zeros((L, NHm)) for _ in range(3))                     # (L, NH) each
for ll, A in enumerate(hout.attentions):                                                     # A: (64, NH, T, T)
    for hh in range(NHm):
        per = []
        for b, t in enumerate(lengths):
            a = A[b, hh, :t, :t]                                                             # real rows and columns
            per.append((np.diag(a, -1).mean(), np.diag(a, 1).mean(),
                        -(a * np.log(np.clip(a, 1e-300, None))).sum(-1).mean()))
        prev_share[ll, hh], next_share[ll, hh], entropy[ll, hh] = np.mean(per, axis=0)
prev_head, next_head = int(prev_share.max(0).argmax()), int(next_share.max(0).argmax())
print(f"{len(held)} sentences, mean length {lengths.mean():.1f} (a uniform head gives the previous token ~{1 / lengths.mean():.2f})")
print(f"previous-token share of head {prev_head} by application: " + " ".join(f"{v:.2f}" for v in prev_share[:, prev_head]))
print(f"next-token share of head {next_head} by application:     " + " ".join(f"{v:.2f}" for v in next_share[:, next_head]))
print("mean attention entropy by application (nats):  " + " ".join(f"{v:.2f}" for v in entropy.mean(1))
      + f"   (uniform: {np.log(lengths).mean():.2f})")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for ax, share, what in ((axes[0], prev_share, "previous token"), (axes[1], next_share, "next token")):
    for hh in range(NHm):
        ax.plot(range(L), share[:, hh], "o-", label=f"head {hh}")
    ax.axhline(1 / lengths.mean(), color="0.5", ls=":", label="uniform attention")
    ax.set(title=f"Attention to the {what}", xlabel="layer application (same weights)", xticks=range(L))
    ax.grid(alpha=0.3)
axes[0].set_ylabel("mean probability")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# the facts the text below states
assert prev_head != next_head
assert prev_share[:, prev_head].max() > 0.3 and next_share[:, next_head].max() > 0.3     # ~8x uniform
assert np.all(next_share.argmax(1) == next_head)                 # the next-token head at every application
for share, hh in ((prev_share, prev_head), (next_share, next_head)):
    assert share[-1, hh] < share[:, hh].max() / 2                 # faded by the last application
assert entropy.mean(1)[-1] > entropy.mean(1).min() + 0.5          # and attention spreads out...
assert entropy.mean(1)[-1] > 0.8 * np.log(lengths).mean()         # ...to near uniform's entropy
assert prev_share[:, prev_head].argmax() <= 2 and next_share[:, next_head].argmax() <= 2   # sharpest early

# %% [markdown]
# How to read it: with one set of weights for every layer, the heads still have distinct jobs. One head
# looks at the next token and another at the previous one, several times more than a uniform head would
# (asserted above: the peak share is above 0.3, where uniform attention gives ~0.04); the next-token head
# is the most next-looking head at every application. These positional heads are sharpest early (by the
# third application at the latest) and fade with depth, and attention as a whole spreads out: by the last
# application the mean entropy is above 80 % of uniform attention's. The weights are the same each time,
# so what changes is the input: once the first applications have mixed each token's neighbours into it,
# the same query and key maps no longer single out a neighbour, and the later applications gather from
# the whole sentence.
# (Clark et al., 2019, "What does BERT look at?", describe previous-token and next-token heads and heads
# that attend broadly in unshared BERT; here one shared layer plays all of these parts.)

# %% [markdown]
# ## 4. The padding mask
#
# Batches hold sentences of different lengths, so short ones are padded on the right. The mask must
# make padding invisible: a sentence's outputs at its real positions must not depend on what it
# is batched with. We run a sentence with a `[MASK]` alone, then padded next to a longer sentence.

# %%
short = "The [MASK] statement is used to import a module."
long_ = "If the file does not exist, an exception is raised and the program stops with a traceback."
alone = tok(short, return_tensors="np")                              # (1, n)
batch = tok([short, long_], padding=True, return_tensors="np")       # (2, T), row 0 padded
n = alone["input_ids"].shape[1]
Tb = batch["input_ids"].shape[1]
mask_pos = int(np.flatnonzero(alone["input_ids"][0] == tok.mask_token_id)[0])
print(f"alone: {n} tokens; in the batch: padded to T = {Tb} ({Tb - n} pad positions)")
print("attention_mask row 0:", batch["attention_mask"][0])

kw = dict(output_attentions=True, output_hidden_states=True)
o_alone = model(alone["input_ids"], alone["attention_mask"], alone["token_type_ids"], **kw)
o_mask = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], **kw)
o_nomask = model(batch["input_ids"], None, batch["token_type_ids"], **kw)     # mask forgotten: all ones


def real_diff(o):
    """max |o - alone| over the real positions of the short sentence, per hidden state, and for logits."""
    hs = [float(np.abs(a[0] - b[0, :n]).max()) for a, b in zip(o_alone.hidden_states, o.hidden_states)]
    return hs, float(np.abs(o_alone.logits[0] - o.logits[0, :n]).max())


hs_mask, lg_mask = real_diff(o_mask)
hs_nomask, lg_nomask = real_diff(o_nomask)
pad_att = [float(np.abs(a[0, :, :, n:]).max()) for a in o_mask.attentions]
print(f"with the mask   : max |logits(padded batch) - logits(alone)| at real positions = {lg_mask:.1e}")
print(f"with the mask   : largest attention probability on a pad column, any layer/head  = {max(pad_att)}")
print(f"without the mask: max |logits(padded batch) - logits(alone)| at real positions = {lg_nomask:.2f}")
assert lg_mask < 1e-12 and max(hs_mask) < 1e-12      # the same outputs, up to float64 rounding
assert all(np.all(a[0, :, :, n:] == 0.0) for a in o_mask.attentions)   # exactly zero, every layer/head
assert lg_nomask > 1e-3                                # without the mask the padding leaks in
print("OK: padding is invisible with the mask (real positions within 1e-12, pad columns exactly 0)")

# %% [markdown]
# Why "within 1e-12" and not bit-identical: the padded batch makes matrices of a different shape,
# and BLAS sums their products in a different order, so the last bits can differ. The masked
# probabilities themselves are exactly 0, because `exp(-1.8e308 - max)` underflows to 0.0.
#
# Without the mask, each real token spends part of its attention on the pad tokens (which have
# position embeddings and so are not zero vectors), and the error compounds layer by layer:

# %%
def top5(o):
    lg = o.logits[0, mask_pos]
    pr = np.exp(lg - lg.max())
    pr /= pr.sum()
    return [(tok.convert_ids_to_tokens(int(t)).replace("\u2581", "") or "\u2581", float(pr[t]))
            for t in np.argsort(-lg)[:5]]


print(f"top-5 predictions for [MASK] in {short!r}")
for name, o in (("alone", o_alone), ("padded, mask", o_mask), ("padded, no mask", o_nomask)):
    print(f"  {name:16s}", "  ".join(f"{t}:{s:.3f}" for t, s in top5(o)))
def probs_at_real(o):
    lg = o.logits[0, :n]                                  # (n, V)
    e = np.exp(lg - lg.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


pa, pn = probs_at_real(o_alone), probs_at_real(o_nomask)
changed = int((pa.argmax(-1) != pn.argmax(-1)).sum())
tv = 0.5 * np.abs(pa - pn).sum(-1)                        # total-variation distance per position
print(f"without the mask: the top-1 prediction changes at {changed} of {n} real positions; "
      f"total-variation distance between the predicted distributions: mean {tv.mean():.3f}, max {tv.max():.3f}")
leak = [float(a[0, :, :n, n:].sum(-1).mean()) for a in o_nomask.attentions]
print("mean attention mass the real tokens put on pad keys without the mask, per layer:", np.round(leak, 3))

# %%
pad_labels = [t.replace("\u2581", "") or "\u2581" for t in tok.convert_ids_to_tokens(batch["input_ids"][0])]
show = int(np.argmax(leak))                            # the layer where the leak is largest
fig = nbhelpers.plot_padding_leak(o_mask.attentions[show][0, 0], o_nomask.attentions[show][0, 0], pad_labels, n,
                                  hs_mask, hs_nomask, layer=show, bound=1e-12,
                                  suptitle=f"The short sentence padded to T = {Tb}: solid red line separates real keys "
                                           "(left) from pad keys,\ndotted line real queries (above) from pad queries")
plt.show()

# %% [markdown]
# ## 5. Exercises
#
# Write the function, change the `answer = ...` line to it and run the checker (`exercises/README.md`).
# The committed notebook grades the reference solutions from `exercises/solutions_03.py`; do not read
# that file before you try.
#
# ### Exercise 1: attention for every head, with the padding mask
#
# Write `attention(q, k, v, attention_mask) -> (probs, context)` with NumPy only: q, k, v are
# (B, NH, T, HS), `attention_mask` (B, T) holds 1 for a real piece and 0 for padding; `probs` is
# (B, NH, T, T), one softmax over the keys per query, with weight exactly 0 on a padded key; `context`
# is (B, NH, T, HS). The checker compares with the library's trace of a freshly initialised model on a
# padded batch.

# %%
def my_attention(q, k, v, attention_mask):
    raise NotImplementedError


answer = solutions.attention                     # replace with: answer = my_attention

# %%
check.grade(ex03.attention, answer)

# %% [markdown]
# ### Exercise 2: attention entropy, and why the scores are divided by √HS
#
# Write `attention_entropy(probs)`: the entropy −Σ p log p (natural log, in nats) of each query's
# distribution over the keys, (..., T) → (...). A padded key has p = 0 exactly and must contribute 0,
# not nan. A uniform distribution over n keys has entropy log n; a one-hot one has 0.

# %%
def my_attention_entropy(probs):
    raise NotImplementedError


answer = solutions.attention_entropy             # replace with: answer = my_attention_entropy

# %%
check.grade(ex03.attention_entropy, answer)

# %% [markdown]
# Now use it. If the components of q and k have unit variance, a dot product over HS of them has
# variance HS: at HS = 64 the raw scores spread over about ±8 standard units and the softmax puts almost
# everything on one key. Dividing by √HS brings the variance back to 1. Below, random unit-variance q and
# k (no trained model), the entropy of every query's map with and without the scaling, for a few head
# sizes; the dashed line is log T, the entropy of attending evenly. Try your `attention` with the
# `/ np.sqrt(HS)` removed: it gives the lower curve.

# %%
rng = np.random.default_rng(3)
Tq = 16
sizes = [4, 16, 64, 256]
ent = {"scaled by 1/√HS": [], "unscaled": []}
for HS in sizes:
    q = rng.normal(size=(4, 2, Tq, HS))
    k = rng.normal(size=(4, 2, Tq, HS))
    v = rng.normal(size=(4, 2, Tq, HS))
    mask = np.ones((4, Tq), dtype=np.int64)
    p_scaled, _ = solutions.attention(q, k, v, mask)
    p_raw, _ = solutions.attention(q * np.sqrt(HS), k, v, mask)              # undo the scaling
    ent["scaled by 1/√HS"].append(answer(p_scaled).mean())
    ent["unscaled"].append(answer(p_raw).mean())
for name, vals in ent.items():
    print(f"{name:<16s} mean entropy (nats): " + "  ".join(f"HS={h}: {e:.2f}" for h, e in zip(sizes, vals)))
scaled, raw = np.array(ent["scaled by 1/√HS"]), np.array(ent["unscaled"])
assert np.all(raw < scaled) and np.all(np.diff(raw) < 0)        # unscaled maps sharpen as HS grows
assert np.ptp(scaled) < 0.2 and raw[-1] < 0.25 * scaled[-1]     # scaled ones stay put; at HS=256 near one-hot

fig = nbhelpers.plot_entropy_vs_head_size(sizes, ent, Tq)
plt.show()

# %% [markdown]
# The scaled maps have the same entropy at every head size (a bit below log T: random scores of unit
# variance already prefer some keys); the unscaled ones lose entropy as HS grows, and at HS = 256 a
# query puts most of its weight on one key. A saturated softmax also has a vanishing gradient (its Jacobian
# diag(p) − p pᵀ is nearly zero when p is one-hot), which is the paper's (Vaswani et al., §3.2.1)
# reason for the scaling.
#
# ## Summary
#
# - One head: scores = q kᵀ / √HS, an additive mask that sends padded keys to probability 0, a softmax
#   over the keys, then a weighted sum of v; the library fuses Q, K, V into one (3H, H) matrix and gets
#   the same numbers.
# - Heads are a reshape: (B, T, H) → (B, NH, T, HS) and back; nothing is mixed across heads until the
#   output projection.
# - The padding mask gives padded keys probability exactly 0, so the real positions' outputs do not
#   depend on how much padding a batch has.
# - Without the 1/√HS scaling, the softmax saturates as HS grows (entropy → 0).
# - In the bundled model the one shared layer has a previous-token head and a next-token head, sharpest in
#   the early applications; later applications of the same weights attend almost uniformly.
#
# Next: [04 · The backward pass](04_backward_pass.ipynb).

# %%
print(f"notebook ran in {time.time() - T0:.1f} s")
