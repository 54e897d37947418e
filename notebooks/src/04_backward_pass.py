# %% [markdown]
# # 04 · The backward pass, by hand
#
# minialbert has no autograd: every op has a hand-written backward. This notebook writes out the
# chain rule for the three non-trivial pieces of an ALBERT layer (layer norm, softmax inside
# attention, the tanh GELU), puts each next to the library's code, and checks it against finite
# differences. Then it shows why a weight shared by all layers simply *adds up* the gradients of
# its uses, and ends with a tensor-by-tensor comparison against Hugging Face's gradients.
#
# Paper: ALBERT (Lan et al., 2019, arXiv:1909.11942) §3.1, cross-layer parameter sharing (and the
# GELU nonlinearity the architecture inherits from BERT).
#
# Dimension letters: B batch, T sequence, V vocab, E embedding, H hidden, I FFN, NH heads,
# HS head size, L layers, G groups.

# %%
import dataclasses
import inspect
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minialbert as ma
from minialbert import ops, parity
from minialbert.model.params import ffn_view
from minialbert.ops import activations

parity.use_fixtures(Path.cwd().resolve().parent / "tests" / "fixtures" / "hf")   # notebooks/ is in the repository

T0 = time.time()
np.set_printoptions(precision=4, suppress=True, linewidth=110)
rng = np.random.default_rng(0)
print("minialbert", ma.__version__)

# %% [markdown]
# ## 1. The pattern: `y, cache = op_forward(...)`, `dx = op_backward(dy, cache, dw, ...)`
#
# As in cs231n's assignments and Karpathy's llm.c, each forward returns its output and a `cache` of
# whatever the backward will need; the backward takes the upstream gradient `dy = ∂loss/∂y`, returns
# `dx = ∂loss/∂x`, and **adds** (`+=`) the parameter gradients into buffers it is handed. Adding
# rather than assigning is what makes weight sharing work (section 5): call the backward once per use
# and the buffer holds the sum.

# %%
D = 6
x = rng.normal(size=(3, 4, D))                 # (B, T, D) any leading shape
w, b = 1.0 + 0.3 * rng.normal(size=D), 0.3 * rng.normal(size=D)
dy = rng.normal(size=x.shape)                  # a random upstream gradient

y, cache = ops.layernorm_forward(x, w, b, 1e-12)
dw, db = np.zeros_like(w), np.zeros_like(b)    # gradient buffers, zeroed once
dx = ops.layernorm_backward(dy, cache, dw, db)
dw_once = dw.copy()
ops.layernorm_backward(dy, cache, dw, db)      # a second use of the same weight...
assert np.allclose(dw, 2 * dw_once)            # ...adds a second contribution
print("cache holds:", [a.shape if hasattr(a, "shape") else a for a in cache], "(xhat, rstd, w)")
print("after two backward calls the buffer holds twice one call's gradient: OK")

# %% [markdown]
# ## 2. Finite differences, and why the upstream gradient must be random
#
# To test a backward we compare it with central differences of a scalar function of the op's
# output, in float64: `f(x) = Σ op(x) ⊙ R`, whose gradient is exactly what the backward computes with
# upstream `dy = R`. Perturbing one entry by ±h gives `(f(x+h) − f(x−h)) / 2h`, with truncation error
# ~h² and rounding error ~1e-16/h; h = 1e-5 puts both near 1e-10. The error measure is
# `‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖)`; we require ≤ 1e-6.
#
# `R` must be **random**. With `R = 1`, `f = Σ op(x)`, and for two of our ops that sum does not depend
# on `x` at all: softmax rows always sum to 1, and a layer norm with `w = 1` (its initial value)
# outputs rows whose sum is always `Σ b`. Both gradients are then exactly 0, and a wrong backward that
# also returns ~0 would pass.

# %%
from minialbert.gradcheck import H_STEP, numeric_grad, rel_error   # the same helpers the test suite uses

print(inspect.getsource(numeric_grad))
RTOL = 1e-6
ERRORS = {}          # check name -> relative error, for the figure at the end


def check(name, analytic, f, a):
    err = rel_error(analytic, numeric_grad(f, a))
    ERRORS[name] = err
    print(f"{'OK ' if err <= RTOL else 'BAD'} rel. error {err:.1e}  {name}")
    return err

# %% [markdown]
# ## 3. Layer norm
#
# Over the last axis (size D) of each row:
#
# $$\mu = \tfrac1D\textstyle\sum_i x_i,\quad \sigma^2 = \tfrac1D\sum_i (x_i-\mu)^2,\quad
# r = (\sigma^2+\epsilon)^{-1/2},\quad \hat x = (x-\mu)\,r,\quad y = w\odot\hat x + b$$
#
# The parameter gradients sum over every row (every token of every sentence):
# $\partial L/\partial w = \sum_{\text{rows}} dy\odot\hat x$, $\partial L/\partial b = \sum_{\text{rows}} dy$.
# For the input, write $g = dy\odot w$ (the gradient reaching $\hat x$). Since
# $\partial\hat x_j/\partial x_i = r\,(\delta_{ij} - \tfrac1D - \tfrac1D\hat x_i\hat x_j)$,
#
# $$dx = r\,\Big(g - \operatorname{mean}(g) - \hat x\,\operatorname{mean}(g\odot\hat x)\Big)$$
#
# The two subtracted terms are the paths through μ and through σ: moving every $x_i$ together, or
# scaling them all, leaves $\hat x$ unchanged, so those directions must get no gradient.

# %%
print(inspect.getsource(ops.layernorm_backward))

# %%
x = rng.normal(size=(2, 3, D))                             # (B, T, D)
w, b = 1.0 + 0.3 * rng.normal(size=D), 0.3 * rng.normal(size=D)
R = rng.normal(size=x.shape)                               # random upstream gradient
f = lambda: float((ops.layernorm_forward(x, w, b, 1e-12)[0] * R).sum())
y, cache = ops.layernorm_forward(x, w, b, 1e-12)
dw, db = np.zeros_like(w), np.zeros_like(b)
dx = ops.layernorm_backward(R, cache, dw, db)
for name, ana, a in (("layernorm dx", dx, x), ("layernorm dw", dw, w), ("layernorm db", db, b)):
    assert check(name, ana, f, a) <= RTOL

# %% [markdown]
# ### The all-ones trap, numerically
#
# Take the layer norm as a model starts (`w = 1`, `b = 0`) and a deliberately **wrong** backward that
# forgets the σ path (drops the $\hat x\,\operatorname{mean}(g\odot\hat x)$ term). With all-ones
# upstream, the true gradient, the finite differences and the wrong backward are all ~0, so the bug
# passes. A random upstream exposes it at once.

# %%
def layernorm_backward_wrong(dy, cache):
    xhat, rstd, w_ = cache
    g = dy * w_
    return rstd * (g - g.mean(-1, keepdims=True))           # forgot: - xhat * mean(g * xhat)


w1, b0 = np.ones(D), np.zeros(D)
_, c1 = ops.layernorm_forward(x, w1, b0, 1e-12)
print(f"{'upstream':>9} | {'|dx| library':>12} {'|dx| numeric':>12} {'|dx| wrong':>11} | {'|wrong - numeric|':>17}")
for label, U in (("all-ones", np.ones_like(x)), ("random", R)):
    fU = lambda: float((ops.layernorm_forward(x, w1, b0, 1e-12)[0] * U).sum())
    d_lib = ops.layernorm_backward(U, c1, np.zeros(D), np.zeros(D))
    d_num = numeric_grad(fU, x)
    d_bad = layernorm_backward_wrong(U, c1)
    print(f"{label:>9} | {np.linalg.norm(d_lib):12.1e} {np.linalg.norm(d_num):12.1e} {np.linalg.norm(d_bad):11.1e}"
          f" | {np.linalg.norm(d_bad - d_num):17.1e}")
    if label == "all-ones":
        ones_lib, ones_num, ones_bad = (np.linalg.norm(v) for v in (d_lib, d_num, d_bad))
    else:
        ERRORS["layernorm dx, WRONG backward"] = rel_error(d_bad, d_num)
assert ones_lib < 1e-12 and ones_num < 1e-9 and ones_bad < 1e-12     # all ~0: the check cannot tell
assert ERRORS["layernorm dx, WRONG backward"] > 1e-2                  # random upstream: the bug shows
print("all-ones upstream: LN's input gradient is ~0 (the wrong backward passes); random upstream catches it")

# %% [markdown]
# ## 4. Softmax and the attention op
#
# For one row, $p = \operatorname{softmax}(s)$, $p_j = e^{s_j}/\sum_k e^{s_k}$, the Jacobian is
# $\partial p_j/\partial s_i = p_j(\delta_{ij} - p_i)$, i.e. $J = \operatorname{diag}(p) - p\,p^\top$. Applied to
# an upstream gradient $dp$ it never needs to be formed:
#
# $$ds = J^\top dp = p\odot\big(dp - \textstyle\sum_j dp_j\,p_j\big)$$
#
# so the cache is just $p$ itself. Inside attention the chain is
# $S = QK^\top/\sqrt{HS} + M \to P = \operatorname{softmax}(S) \to C = PV$, hence
# $dV = P^\top dC$, $dP = dC\,V^\top$, $dS = \operatorname{softmax\_backward}(dP)$ (the mask $M$ is a constant and
# gets nothing), $dQ = dS\,K/\sqrt{HS}$, $dK = dS^\top Q/\sqrt{HS}$, and the three land side by side in one
# (B, T, 3H) buffer for the fused QKV weight.

# %%
print(inspect.getsource(ops.softmax_backward))

# %%
s = rng.normal(size=(2, 3, 5))                              # (.., T) scores
R = rng.normal(size=s.shape)
f = lambda: float((ops.softmax_forward(s)[0] * R).sum())
p_, c_ = ops.softmax_forward(s)
assert check("softmax dx", ops.softmax_backward(R, c_), f, s) <= RTOL
ones_sm = np.linalg.norm(ops.softmax_backward(np.ones_like(s), c_))
print(f"(with all-ones upstream the softmax input gradient is {ones_sm:.0e}: rows always sum to 1)")

# %% [markdown]
# Now the whole attention op (fused QKV, mask, softmax, output dense, residual, layer norm), on a
# padded batch, every input and parameter checked. One gradient is exactly zero in exact arithmetic:
# the key bias. Adding a constant vector to every key adds the same number to every score in a row,
# and softmax ignores that. There we only check that both gradients are ~0.

# %%
B, T, H, NH = 2, 4, 8, 2
x = rng.normal(size=(B, T, H))                                              # (B, T, H)
p = {"wqkv": 0.5 * rng.normal(size=(3 * H, H)), "bqkv": 0.1 * rng.normal(size=3 * H),
     "wo": 0.5 * rng.normal(size=(H, H)), "bo": 0.1 * rng.normal(size=H),
     "ln_w": 1.0 + 0.1 * rng.normal(size=H), "ln_b": 0.1 * rng.normal(size=H)}
mask_bias = ops.attention_mask_bias(np.array([[1, 1, 1, 1], [1, 1, 0, 0]]), np.float64)   # (B, 1, 1, T)
R = rng.normal(size=(B, T, H))
f = lambda: float((ops.attention_forward(x, p, mask_bias, NH, 1e-12)[0] * R).sum())
y, cache = ops.attention_forward(x, p, mask_bias, NH, 1e-12)
g = {k: np.zeros_like(v) for k, v in p.items()}                            # gradient buffers
dx = ops.attention_backward(R, cache, g)
assert check("attention dx", dx, f, x) <= RTOL
for k in ("wqkv", "wo", "bo", "ln_w", "ln_b"):
    assert check(f"attention d{k}", g[k], f, p[k]) <= RTOL
num_b = numeric_grad(f, p["bqkv"])
q_and_v = np.r_[0:H, 2 * H:3 * H]
ERRORS["attention dbqkv (q, v parts)"] = err = rel_error(g["bqkv"][q_and_v], num_b[q_and_v])
print(f"{'OK ' if err <= RTOL else 'BAD'} rel. error {err:.1e}  attention dbqkv (q, v parts)")
assert err <= RTOL
kb_ana, kb_num = np.abs(g["bqkv"][H:2 * H]).max(), np.abs(num_b[H:2 * H]).max()
print(f"key bias: max|analytic| {kb_ana:.0e}, max|numeric| {kb_num:.0e} (zero in exact arithmetic)")
assert kb_ana < 1e-12 and kb_num < 1e-8

# %% [markdown]
# ## 5. GELU, tanh form (`gelu_new`)
#
# ALBERT's feed-forward uses the tanh approximation of GELU (HF calls it `gelu_new`):
#
# $$y = \tfrac12\,x\,(1+t),\qquad t=\tanh u,\qquad u = c\,(x + a x^3),\quad c=\sqrt{2/\pi},\ a = 0.044715$$
#
# $$\frac{dy}{dx} = \tfrac12(1+t) + \tfrac12\,x\,(1-t^2)\,c\,(1+3a x^2)$$
#
# using $\tanh' = 1-\tanh^2$. The forward caches $x$ and $t$, so the backward needs no second `tanh`.

# %%
print(inspect.getsource(activations.gelu_new_backward))

# %%
z = 2.0 * rng.normal(size=(3, 7))                           # (.., I) pre-activations
R = rng.normal(size=z.shape)
f = lambda: float((ops.activation_forward(z, "gelu_new")[0] * R).sum())
_, cz = ops.activation_forward(z, "gelu_new")
assert check("gelu_new dx", ops.activation_backward(R, cz, "gelu_new"), f, z) <= RTOL

xs = np.linspace(-4, 4, 401)
ys, cs = activations.gelu_new_forward(xs.copy())
dys = activations.gelu_new_backward(np.ones_like(xs), cs)      # elementwise op: dy = 1 gives dy/dx itself
xs_fd = np.linspace(-3.8, 3.8, 20)
fd = (activations.gelu_new_forward(xs_fd + H_STEP)[0] - activations.gelu_new_forward(xs_fd - H_STEP)[0]) / (2 * H_STEP)
fig, ax = plt.subplots(figsize=(7.5, 4.2))
ax.plot(xs, ys, label="gelu_new(x)")
ax.plot(xs, dys, label="d/dx, gelu_new_backward")
ax.plot(xs_fd, fd, "k.", ms=7, label="d/dx, central differences")
ax.axhline(0, color="gray", lw=0.6)
ax.set_xlabel("pre-activation x")
ax.set_ylabel("y  or  dy/dx  (dimensionless)")
x_min = xs[np.argmin(ys)]                                   # where GELU is smallest, dy/dx changes sign
ax.axvline(x_min, color="gray", ls=":", lw=1)
ax.set_title(f"The tanh GELU and its derivative: dy/dx < 0 left of x = {x_min:.2f}, GELU's minimum")
ax.legend()
fig.tight_layout()
fig.savefig("/tmp/nb04_fig1_gelu.png", dpi=110)
plt.show()

# %% [markdown]
# For an elementwise op, `dy = 1` *does* give the full derivative (its Jacobian is diagonal); the
# all-ones trap concerns ops that mix the entries of a row, such as layer norm and softmax.
#
# ## 6. A shared layer's gradient is the sum over its uses
#
# With all-shared parameters (G = 1) one attention block and one FFN block run L times. The forward
# pass keeps **one cache per application** (`EncoderCache.layers`, made by `encoder_forward` in
# `minialbert/model/backbone.py`), and `encoder_backward` walks them in reverse, calling `attention_backward` / `feedforward_backward`
# on each with the *same* gradient buffers. Because the ops add, the buffer ends as
#
# $$\frac{\partial L}{\partial W} = \sum_{k=0}^{L-1} \frac{\partial L}{\partial W}\Big|_{\text{application }k}$$
#
# We check this on a small all-shared model (L = 4, G = 1) with a padded batch and an MLM loss.

# %%
cfg = ma.AlbertConfig(vocab_size=60, embedding_size=16, hidden_size=32, num_hidden_layers=4,
                      num_hidden_groups=1, num_attention_heads=4, intermediate_size=48,
                      max_position_embeddings=32, initializer_range=0.2)
model = ma.AlbertForMaskedLM(cfg, seed=0, dtype="float64")
Bm, Tm = 2, 9
ids = rng.integers(5, cfg.vocab_size, size=(Bm, Tm))            # (B, T)
am = np.ones((Bm, Tm), dtype=np.int64)
am[1, 6:] = 0                                                   # sentence 1: 3 pad positions
ids[1, 6:] = cfg.pad_token_id
labels = np.full((Bm, Tm), -100)
labels[0, [2, 5]] = ids[0, [2, 5]]
labels[1, [1, 4]] = ids[1, [1, 4]]
out = model(ids, am, labels=labels, trace=True)                 # trace: named activations + their grads
model.backward()
grads, tg = model.grads(), model.trace_grads
print(model)
print(f"loss {float(out.loss):.4f}")

# The per-application caches the forward pass kept: a LayerCache (layer i, inner layer j, attention
# prefix, ffn prefix, attention cache, ffn cache, ...) for each of the L applications; `packed` holds the
# fused QKV weights.
packed, layer_caches = model.backbone_cache.encoder.packed, model.backbone_cache.encoder.layers
print(f"{len(layer_caches)} applications of {len(packed)} shared attention block(s)")

# %% [markdown]
# Now we redo the backward one application at a time, each into **fresh** zero buffers. The upstream
# gradient of application k is read from the trace (`layer.k.ffn.y` is the gradient reaching layer k's
# output, `layer.k.attention.y` the one reaching its attention output).

# %%
Hm = cfg.hidden_size
per_app = []                                          # one {HF name: gradient} per application
for lc in layer_caches:
    k, pa, pf = lc.layer * cfg.inner_group_num + lc.inner, lc.attn_prefix, lc.ffn_prefix
    fp = ffn_view(model.params, pf)                   # the FFN block's parameters under the op's keys
    gf = {n: np.zeros_like(v) for n, v in fp.items()}
    ga = {n: np.zeros_like(v) for n, v in packed[pa].items()}
    d_att_out = ops.feedforward_backward(tg[f"layer.{k}.ffn.y"], lc.ffn, gf)          # (B, T, H)
    assert np.array_equal(d_att_out, tg[f"layer.{k}.attention.y"])
    d_in = ops.attention_backward(tg[f"layer.{k}.attention.y"], lc.attention, ga)   # (B, T, H)
    below = tg[f"layer.{k - 1}.ffn.y"] if k > 0 else tg["encoder.mapped"]
    assert np.array_equal(d_in, below)               # and it is what flows into the layer below
    d = {pa + "query.weight": ga["wqkv"][:Hm], pa + "key.weight": ga["wqkv"][Hm:2 * Hm],
         pa + "value.weight": ga["wqkv"][2 * Hm:], pa + "query.bias": ga["bqkv"][:Hm],
         pa + "value.bias": ga["bqkv"][2 * Hm:], pa + "dense.weight": ga["wo"], pa + "dense.bias": ga["bo"],
         pa + "LayerNorm.weight": ga["ln_w"], pa + "LayerNorm.bias": ga["ln_b"],
         pf + "ffn.weight": gf["w1"], pf + "ffn.bias": gf["b1"], pf + "ffn_output.weight": gf["w2"],
         pf + "ffn_output.bias": gf["b2"], pf + "full_layer_layer_norm.weight": gf["ln_w"],
         pf + "full_layer_layer_norm.bias": gf["ln_b"]}
    per_app.append(d)

print(f"{'shared tensor (albert_layers.0.)':34s} {'max|sum_k contribution_k - model grad|':>40}")
for name in per_app[0]:
    err = np.abs(sum(d[name] for d in per_app) - grads[name]).max()
    print(f"{name.split('albert_layers.0.')[1]:34s} {err:40.1e}")
    assert err < 1e-12
print("OK: every shared weight's gradient == the sum of its", len(per_app), "per-application contributions")

# %% [markdown]
# An independent check that does not touch the caches: **untie** the weights. A model with G = L
# groups has its own copy of the layer per application; give every copy the shared values and the
# forward pass is the same function, but now each copy receives exactly one application's gradient.
# Their sum must be the shared gradient, and each copy must equal the contribution computed above.

# %%
cfg_u = dataclasses.replace(cfg, num_hidden_groups=cfg.num_hidden_layers)       # G = L: nothing shared
untied = ma.AlbertForMaskedLM(cfg_u, seed=1, dtype="float64")
shared_prefix = "albert.encoder.albert_layer_groups.0."
for n in untied.params:
    src = n
    if n.startswith("albert.encoder.albert_layer_groups."):
        src = shared_prefix + n.split(".", 4)[4]            # group g's copy <- the shared tensor
    untied.params[n] = model.params[src].copy()
out_u = untied(ids, am, labels=labels)
untied.backward()
assert abs(float(out_u.loss) - float(out.loss)) < 1e-12
gu = untied.grads()
for name in per_app[0]:
    rest = name[len(shared_prefix):]
    copies = [gu[f"albert.encoder.albert_layer_groups.{k}.{rest}"] for k in range(cfg.num_hidden_layers)]
    assert np.abs(sum(copies) - grads[name]).max() < 1e-12
    assert all(np.abs(c - d[name]).max() < 1e-12 for c, d in zip(copies, per_app))
print("OK: untied copies receive exactly the per-application contributions; they sum to the shared gradient")

# %% [markdown]
# And the model-level gradient itself against finite differences of the loss, on a few random
# entries of shared tensors (each entry needs two forward passes of the whole model). The word
# embedding is shared too, in another way: the MLM decoder reuses it (tied weights), so its gradient
# is the sum of the lookup's and the decoder's contributions.

# %%
def loss_fn():
    return float(model(ids, am, labels=labels)["loss"])


for name in ("albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight",
             "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight",
             "albert.embeddings.word_embeddings.weight"):
    P, gP = model.params[name], grads[name]
    flat = P.reshape(-1)
    idx = rng.choice(flat.size, size=12, replace=False)
    num = numeric_grad(loss_fn, P, idx)
    short = "model d(loss)/d " + name.split("layers.0.")[-1].replace("albert.embeddings.", "")
    ERRORS[short + " (12 entries)"] = err = rel_error(gP.reshape(-1)[idx], num)
    print(f"{'OK ' if err <= RTOL else 'BAD'} rel. error {err:.1e}  {short} (12 random entries)")
    assert err <= RTOL

# %% [markdown]
# ### Pictures: who contributes, and how precise the checks are
#
# Left: the size of each application's contribution, relative to the size of the summed gradient.
# Contributions point in different directions, so they partly cancel: their norms add up to more
# than the norm of the sum (the triangle inequality). Right: every finite-difference check of this
# notebook on a log axis, with the 1e-6 bound; the deliberately wrong layer-norm backward in red.

# %%
show = ["attention.query.weight", "attention.value.weight", "attention.dense.weight",
        "attention.LayerNorm.weight", "ffn.weight", "ffn_output.weight"]
full = {s_: next(n for n in per_app[0] if n.endswith("albert_layers.0." + s_)) for s_ in show}
Lm = len(per_app)
fig, axes = plt.subplots(1, 2, figsize=(15, 5.2), gridspec_kw={"width_ratios": [1.15, 1]})
ax = axes[0]
width = 0.8 / Lm
for k in range(Lm):
    rel = [np.linalg.norm(per_app[k][full[s_]]) / np.linalg.norm(grads[full[s_]]) for s_ in show]
    ax.bar(np.arange(len(show)) + (k - (Lm - 1) / 2) * width, rel, width, label=f"application k = {k} (layer {k})")
sum_norms = [sum(np.linalg.norm(d[full[s_]]) for d in per_app) / np.linalg.norm(grads[full[s_]]) for s_ in show]
ax.plot(np.arange(len(show)), sum_norms, "k_", ms=28, mew=2, label="sum of the contribution norms")
ax.axhline(1.0, color="gray", ls="--", lw=1, label="norm of the summed gradient (= 1)")
ax.set_xticks(np.arange(len(show)), [s_.replace("attention.", "attn.") for s_ in show], rotation=20)
ax.set_ylabel("‖contribution of application k‖ / ‖total gradient‖")
ax.set_title(f"All-shared model (L = {Lm}, G = 1): gradient of each use of a shared weight")
ax.set_ylim(0, 1.25 * max(sum_norms) + 0.3)
ax.legend(fontsize=8, ncol=2, loc="upper center")

ax = axes[1]
names = list(ERRORS)
vals = np.array([ERRORS[n] for n in names])
colors = ["tab:red" if "WRONG" in n else "tab:blue" for n in names]
ax.barh(np.arange(len(names)), vals, color=colors)
ax.set_xscale("log")
ax.axvline(RTOL, color="k", ls="--", lw=1, label=f"bound {RTOL:.0e}")
ax.set_yticks(np.arange(len(names)), names, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("relative error ‖analytic − numeric‖ / max norm (log scale)")
ax.set_title("Finite-difference checks (float64, h = 1e-5, random upstream)")
ax.legend(loc="lower right")
fig.tight_layout()
fig.savefig("/tmp/nb04_fig2_shared_and_fd.png", dpi=110)
plt.show()

# %% [markdown]
# ## 7. Parity with Hugging Face transformers: every gradient
#
# **Released weights.** When `albert-base-v2` / `albert-large-v2` are on disk, the model card's
# fill-mask table is reproduced. This notebook never downloads anything, so on a machine without
# them the check is skipped and says so.

# %%
card_reproduced_by = parity.model_card_check()   # None: skipped (no released weights here)

# %% [markdown]
# **The committed HF fixture** (always). `tests/fixtures/hf/pretraining` holds a small
# `AlbertForPreTraining` checkpoint, a padded batch with MLM and sentence-order labels, and what
# HF's PyTorch autograd computed in float64: the outputs and the gradient of the loss for *every*
# parameter. `parity.hf_case_maxdiffs` runs our forward and hand-written backward on it and returns
# max |minialbert − HF| per tensor, printed llm.c-style. Tolerance: **1e-12** absolute in float64
# (the same maths in a different order; only rounding, ~1e-16 relative, separates the two; the
# largest reference gradient is below 1); in float32 **1e-4**.

# %%
TOL64, TOL32 = 1e-12, 1e-4
_, meta, ref = parity.load_hf_case("pretraining")
print(f"fixture: {meta['description']} | input {meta['input_shape']} | HF transformers "
      f"{meta['transformers_version']}, torch {meta['torch_version']}")
diffs = parity.hf_case_maxdiffs("pretraining", "float64")
n_bad = 0
for key, d in diffs.items():
    ok = d <= TOL64
    n_bad += not ok
    print(f"{'OK' if ok else 'NOT OK'} maxdiff {d:.2e}  {key}")
n_grads = sum(k.startswith("grad.") for k in diffs)
assert n_bad == 0 and n_grads == len(meta["param_names"])
print(f"OK: {len(diffs) - n_grads} outputs and all {n_grads} parameter gradients within {TOL64:.0e} of HF (float64)")
d32 = parity.hf_case_maxdiffs("pretraining", "float32")
print(f"float32: largest output diff {max(v for k, v in d32.items() if k.startswith('out.')):.1e}, "
      f"largest gradient diff {max(v for k, v in d32.items() if k.startswith('grad.')):.1e}")
assert max(d32.values()) <= TOL32
print(f"OK: float32 within {TOL32:.0e}")

# %%
print(f"notebook ran in {time.time() - T0:.1f} s")
