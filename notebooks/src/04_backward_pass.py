# %% [markdown]
# # 04 · The backward pass, by hand
#
# minialbert has no autograd: every op has a hand-written backward. This notebook derives each
# backward an ALBERT needs, puts it next to the library's code, and checks it twice: against the
# library's own op and against finite differences with a random upstream gradient.
#
# **What you will learn**
#
# - the library's pattern: `forward -> (out, cache)`, `backward(dout, cache, buffers) -> dx`, and why
#   the backward *adds* into gradient buffers;
# - how to check a gradient with finite differences, and why the upstream gradient must be random;
# - the backwards of a linear layer, layer norm, softmax (and attention), the tanh GELU, and
#   cross-entropy with an ignore index;
# - one rule behind four places where gradients **add up**: the residual split, the embedding
#   lookup (and the `dtable[ids] += dout` bug that loses repeated ids), a layer shared across depth
#   (ALBERT's cross-layer sharing), and the word-embedding table tied to the MLM decoder;
# - that the whole hand-written backward matches Hugging Face's autograd, tensor by tensor.
#
# It ends with four **exercises** (write `layernorm_backward`, `softmax_backward`, the cross-entropy
# backward; fix the scatter-add bug), each graded by a checker cell.
#
# Paper: ALBERT (Lan et al., 2019, arXiv:1909.11942) §3.1, cross-layer parameter sharing (and the
# GELU nonlinearity and tied input/output embeddings the architecture inherits from BERT).
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

from exercises import check, ex04, solutions_04 as solutions   # notebooks/exercises: section 13

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
# rather than assigning is what makes weight sharing work (section 9): call the backward once per use
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


def fd_check(name, analytic, f, a):
    err = rel_error(analytic, numeric_grad(f, a))
    ERRORS[name] = err
    print(f"{'OK ' if err <= RTOL else 'BAD'} rel. error {err:.1e}  {name}")
    return err

# %% [markdown]
# ## 3. Linear: $y = xW^\top + b$
#
# The library keeps HF's layout: $W$ is (out, in). The leading axes (B, T) are flattened into
# N = B·T rows, so $X$ is (N, in) and $Y = XW^\top + b$ is (N, out), $Y_{nj} = \sum_i X_{ni}W_{ji} + b_j$.
# Differentiating one entry at a time and collecting the terms:
#
# $$dX = dY\,W \quad (N, \text{in}),\qquad dW = dY^\top X \quad (\text{out}, \text{in}),\qquad db = \textstyle\sum_n dY_n \quad (\text{out})$$
#
# The shapes alone nearly give the answer: $dW$ must have $W$'s shape, and $dY^\top X$ is the only
# product of $dY$ and $X$ that has it. What the formula *means*: the same $W$ is applied at every
# token, so $dW$ is a sum of one outer product $dY_n X_n^\top$ per token, and $db$ a sum of one $dY_n$
# per token. A weight used at N positions collects N contributions, which is the rule of section 8
# at work inside a single op.
#
# The linear cache is `(x, w)`:

# %%
print(inspect.getsource(ops.linear_backward))

# %%
Bl, Tl, n_in, n_out = 2, 3, 5, 4
x = rng.normal(size=(Bl, Tl, n_in))                       # (B, T, in)
W, b = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
R = rng.normal(size=(Bl, Tl, n_out))                       # random upstream gradient dY
y, cache = ops.linear_forward(x, W, b)
dW, db = np.zeros_like(W), np.zeros_like(b)
dx = ops.linear_backward(R, cache, dW, db)

X2, R2 = x.reshape(-1, n_in), R.reshape(-1, n_out)        # (N, in), (N, out)
dx_hand, dW_hand, db_hand = (R2 @ W).reshape(x.shape), R2.T @ X2, R2.sum(axis=0)
dW_per_token = sum(np.outer(R2[n], X2[n]) for n in range(len(X2)))   # one outer product per token
for name, ours, lib in (("dx", dx_hand, dx), ("dW", dW_hand, dW), ("db", db_hand, db), ("dW as a sum over tokens", dW_per_token, dW)):
    assert np.abs(ours - lib).max() < 1e-13, name
print("by hand == ops.linear_backward for dx, dW, db; dW == the sum of the", len(X2), "per-token outer products")
f = lambda: float((ops.linear_forward(x, W, b)[0] * R).sum())
for name, ana, a in (("linear dx", dx, x), ("linear dW", dW, W), ("linear db", db, b)):
    assert fd_check(name, ana, f, a) <= RTOL

# %% [markdown]
# ## 4. Layer norm
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
    assert fd_check(name, ana, f, a) <= RTOL

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
# ## 5. Softmax and the attention op
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
assert fd_check("softmax dx", ops.softmax_backward(R, c_), f, s) <= RTOL
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
assert fd_check("attention dx", dx, f, x) <= RTOL
for k in ("wqkv", "wo", "bo", "ln_w", "ln_b"):
    assert fd_check(f"attention d{k}", g[k], f, p[k]) <= RTOL
num_b = numeric_grad(f, p["bqkv"])
q_and_v = np.r_[0:H, 2 * H:3 * H]
ERRORS["attention dbqkv (q, v parts)"] = err = rel_error(g["bqkv"][q_and_v], num_b[q_and_v])
print(f"{'OK ' if err <= RTOL else 'BAD'} rel. error {err:.1e}  attention dbqkv (q, v parts)")
assert err <= RTOL
kb_ana, kb_num = np.abs(g["bqkv"][H:2 * H]).max(), np.abs(num_b[H:2 * H]).max()
print(f"key bias: max|analytic| {kb_ana:.0e}, max|numeric| {kb_num:.0e} (zero in exact arithmetic)")
assert kb_ana < 1e-12 and kb_num < 1e-8

# %% [markdown]
# ## 6. GELU, tanh form (`gelu_new`)
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
assert fd_check("gelu_new dx", ops.activation_backward(R, cz, "gelu_new"), f, z) <= RTOL

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
# ## 7. Cross-entropy with an ignore index
#
# The MLM loss is a cross-entropy over the V pieces, counted only where a token was masked: the labels
# hold the original id there and `IGNORE_INDEX = -100` everywhere else (unmasked tokens, padding).
# With logits $z_i$ (one row of V per position) and $n$ counted rows, HF's (and PyTorch's) mean is
#
# $$L = \frac1n\sum_{i\ \text{counted}} \Big(\log\textstyle\sum_k e^{z_{ik}} - z_{i,y_i}\Big),\qquad
# \frac{\partial L}{\partial z_{ik}} = \begin{cases}\big(\operatorname{softmax}(z_i)_k - [k = y_i]\big)/n & i\ \text{counted}\\ 0 & i\ \text{ignored}\end{cases}$$
#
# The derivative of the log-sum-exp is the softmax, and $-z_{i,y_i}$ contributes $-1$ at the label.
# The loss is a scalar, so the "random upstream gradient" is a random scale $c$ of it (a scaled loss
# is what gradient accumulation backpropagates): the backward takes `dloss = c` and multiplies.
# The library's backward rebuilds the softmax from what the forward kept (we treat its cache as opaque):

# %%
print(inspect.getsource(ops.cross_entropy_backward))

# %%
IGN = ops.IGNORE_INDEX
labels = np.array([2, IGN, 0, 4, IGN, 1])                    # rows 1 and 4: not masked, not counted
logits = 2.0 * rng.normal(size=(len(labels), 5))             # (N, K)
c_up = float(rng.uniform(0.5, 2.0))                          # random upstream: d(c * loss) / d logits
loss, ce_cache = ops.cross_entropy_forward(logits, labels)
dlogits = ops.cross_entropy_backward(c_up, ce_cache)

counted = labels != IGN
n_counted, rows = int(counted.sum()), np.flatnonzero(counted)
p_soft = np.exp(logits - logits.max(-1, keepdims=True))
p_soft /= p_soft.sum(-1, keepdims=True)
onehot = np.zeros_like(logits)
onehot[rows, labels[rows]] = 1.0
d_hand = c_up * (p_soft - onehot) * counted[:, None] / n_counted
assert np.abs(d_hand - dlogits).max() < 1e-15
f = lambda: c_up * float(ops.cross_entropy_forward(logits, labels)[0])
assert fd_check("cross-entropy dlogits", dlogits, f, logits) <= RTOL

at_label = dlogits[rows, labels[rows]]
elsewhere = dlogits[rows].copy()
elsewhere[np.arange(n_counted), labels[rows]] = np.nan
assert np.all(dlogits[~counted] == 0)                        # ignored rows: exactly nothing
assert np.abs(dlogits.sum(axis=-1)).max() < 1e-15            # every row sums to 0
assert np.all(at_label < 0) and np.nanmin(elsewhere) > 0     # label pushed up, every other logit down
assert (n_counted, len(labels)) == (4, 6)                    # the n/N = 4/6 of the text below
print(f"N = {len(labels)} rows, n = {n_counted} counted, upstream c = {c_up:.3f}, loss {float(loss):.4f}")
print(f"row 0 (label {labels[0]}): softmax          {p_soft[0]}")
print(f"            c/n·(softmax − onehot) {dlogits[0]}")
print(f"row 1 (ignored): gradient        {dlogits[1] + 0.0}")                  # + 0.0: shows -0 as 0

# %% [markdown]
# What the numbers say. An ignored row gets exactly zero, so the unmasked ~85 % of tokens teach the
# MLM head nothing directly. In a counted row the label's logit gets $-c(1-p_y)/n$ (gradient descent
# raises it) and every other logit gets $+c\,p_k/n$ (lowered in proportion to the probability the
# model wrongly gave it); the row sums to zero, as the softmax is unchanged by adding a constant to
# every logit. The divisor is the number of counted rows n, not all N rows: dividing by N would scale
# every gradient by n/N (here 4/6) and tie the step size to how much padding and how many unmasked
# tokens a batch happens to have.
#
# ## 8. One value, several uses: the gradients add
#
# The multivariable chain rule: if a value $x$ feeds two computations $u = f(x)$ and $v = g(x)$, then
#
# $$\frac{\partial L}{\partial x} = \Big(\frac{\partial u}{\partial x}\Big)^{\!\top}\frac{\partial L}{\partial u}
# + \Big(\frac{\partial v}{\partial x}\Big)^{\!\top}\frac{\partial L}{\partial v}$$
#
# one term per use, added. ALBERT has this in four places: the residual connection (an activation
# feeds the block and skips it), the embedding lookup (a row of the table is used once per occurrence
# of its id), the shared layer (one set of weights used L times, section 9) and the tied word
# embeddings (the table is used by the lookup and by the MLM decoder, section 10).
#
# ### 8.1 The residual split
#
# The feed-forward block computes $y = \operatorname{LN}(x + F(x))$ with $F(x) = W_2\,\operatorname{gelu}(W_1x + b_1) + b_2$.
# Let $s$ be the gradient that reaches the sum $x + F(x)$ (the layer norm's backward). Then $x$ gets
# $s$ straight through the identity branch, plus $F$'s backward of $s$:
# $dx = s + J_F^\top s$. In `feedforward_backward` that is `dx = dout.copy()` (the identity branch)
# and, after the backward through $W_2$, the GELU and $W_1$, `dx += dh`. We rebuild it from the
# block's cache (`FeedForwardCache`: `ln_out`, `ffn_output`, `activation`, `ffn`) with the ops of
# sections 3, 4 and 6.

# %%
Hr, Ir = 6, 10
x = rng.normal(size=(2, 3, Hr))                                     # (B, T, H)
pf_ = {"w1": 0.5 * rng.normal(size=(Ir, Hr)), "b1": 0.1 * rng.normal(size=Ir),
       "w2": 0.5 * rng.normal(size=(Hr, Ir)), "b2": 0.1 * rng.normal(size=Hr),
       "ln_w": 1.0 + 0.1 * rng.normal(size=Hr), "ln_b": 0.1 * rng.normal(size=Hr)}
R = rng.normal(size=x.shape)
y, fc = ops.feedforward_forward(x, pf_, "gelu_new", 1e-12)           # post-LN, no dropout at inference
gf_ = {k: np.zeros_like(v) for k, v in pf_.items()}
dx = ops.feedforward_backward(R, fc, gf_)

assert fc.dropout is None
sink = {k: np.zeros_like(v) for k, v in pf_.items()}                 # parameter gradients: not needed here
s_sum = ops.layernorm_backward(R, fc.ln_out, sink["ln_w"], sink["ln_b"])   # gradient reaching x + F(x)
identity_branch = s_sum
dz = ops.linear_backward(s_sum, fc.ffn_output, sink["w2"], sink["b2"])
da = ops.activation_backward(dz, fc.activation, "gelu_new")
through_F = ops.linear_backward(da, fc.ffn, sink["w1"], sink["b1"])
assert np.abs(identity_branch + through_F - dx).max() < 1e-14
f = lambda: float((ops.feedforward_forward(x, pf_, "gelu_new", 1e-12)[0] * R).sum())
assert fd_check("feed-forward block dx (residual)", dx, f, x) <= RTOL
num_dx = numeric_grad(f, x)
ERRORS["feed-forward dx, WRONG: no identity branch"] = err_noid = rel_error(through_F, num_dx)
ERRORS["feed-forward dx, WRONG: no branch through F"] = err_noF = rel_error(identity_branch, num_dx)
print(f"‖identity branch‖ = {np.linalg.norm(identity_branch):.3f}, ‖branch through F‖ = {np.linalg.norm(through_F):.3f}, "
      f"‖their sum‖ = {np.linalg.norm(dx):.3f}")
print(f"dropping either branch: rel. error {err_noid:.2f} (identity dropped), {err_noF:.2f} (F dropped)")
assert err_noid > 0.1 and err_noF > 0.1
assert 0.1 < np.linalg.norm(identity_branch) / np.linalg.norm(through_F) < 10       # the same order

# %% [markdown]
# Both branches carry a gradient of the same order, and dropping either one is a large error, which
# finite differences catch at once. The identity branch hands $s$ down unchanged whatever $W_1, W_2$
# are: however small $F$'s Jacobian gets, the layer below still receives $s$. That is why a stack of
# residual blocks (12 or 24 applications of one shared block in ALBERT) can be trained at all.
#
# ### 8.2 The embedding lookup: a scatter-add, and the `dtable[ids] += dout` bug
#
# `out = table[ids]` uses row r of the table once per occurrence of r in `ids`, so its backward adds
# `dout[i]` into `dtable[ids[i]]` for every position i: a **scatter-add**. The tempting one-liner
# `dtable[ids] += dout` is wrong when an id repeats. NumPy runs it as `dtable[ids] = dtable[ids] + dout`:
# it reads every selected row once, adds, and writes the results back one after the other, so for a
# repeated id the **last write wins** and the other occurrences' gradients are silently lost.
# `np.add.at(dtable, ids, dout)` is unbuffered and adds every occurrence. The library's
# `embedding_backward` computes the same sums without atomics (`segment_add`, so that the GPU's
# result is the same from run to run); its cache is `(ids, table.shape, ids_host)`.
#
# A concrete example: id 3 occurs three times, id 1 once.

# %%
ids_ex = np.array([3, 1, 3, 3])
dout_ex = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])    # (4 positions, D = 2)
V_ex = 5
buggy = np.zeros((V_ex, 2))
buggy[ids_ex] += dout_ex                                             # the bug
add_at = np.zeros((V_ex, 2))
np.add.at(add_at, ids_ex, dout_ex)                                   # unbuffered: every occurrence
library = np.zeros((V_ex, 2))
_, emb_cache = ops.embedding_forward(ids_ex, np.zeros((V_ex, 2)))
ops.embedding_backward(dout_ex, emb_cache, library)
print("row  dtable[ids] += dout   np.add.at     ops.embedding_backward")
for r in range(V_ex):
    print(f"{r:3d}  {str(buggy[r]):20s}  {str(add_at[r]):12s}  {library[r]}")
assert np.array_equal(buggy[3], dout_ex[3])                          # only the last occurrence of id 3 survives
assert np.array_equal(add_at[3], dout_ex[[0, 2, 3]].sum(axis=0))     # 1 + 3 + 4 = 8, 10 + 30 + 40 = 80
assert np.array_equal(library, add_at) and np.array_equal(buggy[1], add_at[1])

# %% [markdown]
# Row 3 should hold 1 + 3 + 4 = 8 and 10 + 30 + 40 = 80; the buggy line leaves (4, 40), the last
# occurrence alone. Row 1, whose id occurs once, is right either way, which is why the bug survives a
# test without repeated ids. In real text repeats are the rule ("the", ",", "." occur many times
# per batch), so the bug would drop most of the gradient of exactly the most frequent pieces.
# Against finite differences, on a (B, T) batch with repeats inside and across sentences:

# %%
V_e, D_e = 7, 3
ids_e = np.array([[3, 1, 3, 0, 3], [5, 1, 2, 2, 6]])                  # (B, T)
table = rng.normal(size=(V_e, D_e))
R = rng.normal(size=ids_e.shape + (D_e,))
_, emb_cache = ops.embedding_forward(ids_e, table)
dtable = np.zeros_like(table)
ops.embedding_backward(R, emb_cache, dtable)
f = lambda: float((ops.embedding_forward(ids_e, table)[0] * R).sum())
assert fd_check("embedding dtable (scatter-add)", dtable, f, table) <= RTOL
dtable_bug = np.zeros_like(table)
dtable_bug[ids_e] += R
ERRORS["embedding dtable, WRONG: dtable[ids] += dout"] = err_bug = rel_error(dtable_bug, numeric_grad(f, table))
lost = [r for r in range(V_e) if not np.allclose(dtable_bug[r], dtable[r])]
print(f"dtable[ids] += dout: rel. error {err_bug:.2f}; rows with a wrong gradient: {lost} "
      f"(ids occurring more than once: {sorted({int(i) for i in ids_e.ravel() if (ids_e == i).sum() > 1})})")
assert err_bug > 0.1
assert lost == sorted({int(i) for i in ids_e.ravel() if (ids_e == i).sum() > 1})

# %% [markdown]
# ## 9. A shared layer's gradient is the sum over its uses
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
grads, tr, tg = model.grads(), model.trace, model.trace_grads          # kept: later passes replace model.trace
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
# embedding is shared too, in another way (section 10).

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
# ## 10. The tied decoder: the word-embedding table gets two gradients
#
# The MLM head ends with a decoder $\text{logits} = n\,W^\top + b$, where $n$ (B, T, E) is the head's
# transform (dense, GELU, layer norm) and $W$ (V, E) is `albert.embeddings.word_embeddings.weight`,
# the input table itself (HF's `predictions.decoder.weight` is only an alias of it: the weights are
# tied). So $W$ is used twice, and by section 8 its gradient is the sum of
#
# - the **lookup** part: the gradient reaching the embedding sum word + position + token type (the
#   trace's `embeddings.sum`), scatter-added at the ids (section 8.2), except at the padding id, whose
#   row HF's lookup never updates (`padding_idx`);
# - the **decoder** part: a linear layer's weight gradient (section 3), $dW = d\text{logits}^\top n$, with
#   $n$ = the trace's `mlm.transform` and $d\text{logits}$ its gradient.
#
# We rebuild both from the traced pass of section 9 and compare their sum with the model's gradient.

# %%
WORD = "albert.embeddings.word_embeddings.weight"
Wt, Vm, pad = model.params[WORD], cfg.vocab_size, cfg.pad_token_id
logits_again, dec_cache = ops.linear_forward(tr["mlm.transform"], Wt, model.params["predictions.bias"])
assert np.abs(logits_again - tr["logits"]).max() < 1e-12             # the decoder is a linear op with W
dW_dec, db_dec = np.zeros_like(Wt), np.zeros(Vm)
ops.linear_backward(tg["logits"], dec_cache, dW_dec, db_dec)          # decoder use
dW_look = np.zeros_like(Wt)
_, look_cache = ops.embedding_forward(ids, Wt)
ops.embedding_backward(tg["embeddings.sum"] * (ids != pad)[..., None], look_cache, dW_look)   # lookup use
err_tied = np.abs(dW_dec + dW_look - grads[WORD]).max()
print(f"max |decoder part + lookup part − model gradient| = {err_tied:.1e}")
assert err_tied < 1e-12 and np.abs(db_dec - grads["predictions.bias"]).max() < 1e-12

look_norm, dec_norm = np.linalg.norm(dW_look, axis=1), np.linalg.norm(dW_dec, axis=1)   # per row (V,)
in_batch = np.unique(ids[am == 1])                                    # the ids looked up, padding excluded
assert pad not in in_batch and pad in ids
assert np.array_equal(np.flatnonzero(look_norm > 0), in_batch)        # lookup: only the rows in the batch
assert dec_norm.min() > 0                                             # decoder: every row of the table
print(f"lookup gradient: {len(in_batch)} of V = {Vm} rows (the ids in the batch, not the padding id {pad});"
      f" decoder gradient: all {int((dec_norm > 0).sum())} rows")

# finite differences of the loss at three kinds of row: never looked up, the padding row, in the batch
E_ = cfg.embedding_size
never = next(r for r in range(Vm) if r != pad and r not in in_batch)
kinds = {f"row {never} (not in the batch)": never, f"row {pad} (padding)": pad, f"row {in_batch[0]} (in the batch)": in_batch[0]}
idx = np.array([r * E_ + j for r in kinds.values() for j in rng.choice(E_, size=2, replace=False)])
num = numeric_grad(loss_fn, Wt, idx)
ERRORS["model d(loss)/d word_embeddings, 3 kinds of row"] = err = rel_error(grads[WORD].reshape(-1)[idx], num)
print(f"{'OK ' if err <= RTOL else 'BAD'} rel. error {err:.1e}  word embeddings, 2 entries in each of: {', '.join(kinds)}")
assert err <= RTOL

fig, ax = plt.subplots(figsize=(12, 4))
rows_v = np.arange(Vm)
ax.bar(rows_v - 0.2, dec_norm, 0.4, color="tab:gray", label="decoder part  ‖dlogitsᵀ n‖ per row")
ax.bar(rows_v + 0.2, look_norm, 0.4, color="tab:blue", label="lookup part  (scatter-add at the ids)")
ax.set_yscale("log")
top = max(dec_norm.max(), look_norm.max())
ax.set_ylim(0.3 * dec_norm.min(), 40 * top)
ax.annotate("padding id: looked up, but no\nlookup gradient (HF's padding_idx)", (pad, dec_norm[pad]),
            (pad + 2, 6 * top), arrowprops={"arrowstyle": "->"}, fontsize=9)
ax.set_xlabel("row of the word-embedding table (piece id)")
ax.set_ylabel("‖gradient of the row‖ (log scale)")
ax.set_title(f"Tied word embeddings: the decoder updates all {Vm} rows, the lookup only the {len(in_batch)} ids in the batch")
ax.legend(loc="upper right", ncol=2)
fig.tight_layout()
fig.savefig("/tmp/nb04_fig_tied.png", dpi=110)
plt.show()

# %% [markdown]
# The decoder part touches every row: at each masked position the softmax gives every piece some
# probability, so every wrong piece's output vector is pushed away from $n$. The lookup part touches
# only the pieces present in the batch. A piece absent from a batch is therefore still trained, through
# its role as an output class; with tying that is the same vector that will represent it as an input.
# Tying is also a parameter saving ALBERT keeps from BERT: one V×E table, not two.

# %% [markdown]
# ## 11. Pictures: who contributes, and how precise the checks are
#
# Left: the size of each application's contribution, relative to the size of the summed gradient.
# Contributions point in different directions, so they partly cancel: their norms add up to more
# than the norm of the sum (the triangle inequality). Right: every finite-difference check of this
# notebook on a log axis, with the 1e-6 bound; in red the deliberately wrong backwards (the layer
# norm without its σ path, a residual block with one branch dropped, the `dtable[ids] += dout` bug).

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
assert min(sum_norms) > 1.0                  # the contributions partly cancel (triangle inequality, strict)
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
wrong = np.array(["WRONG" in n for n in names])
assert vals[~wrong].max() <= RTOL and vals[wrong].min() > 1e4 * RTOL   # right ones far below, wrong far above
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
# ## 12. Parity with Hugging Face transformers: every gradient
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

# %% [markdown]
# ## 13. Exercises
#
# Four functions to write yourself, in the library's conventions. Each exercise has a cell for your
# function and a checker cell. The checker calls your function on fixed float64 inputs, compares each
# result with the library's op and with finite differences (random upstream gradient, gradient
# buffers that already hold a gradient), prints one line per comparison (exact? relative error,
# largest difference) and raises `ExerciseFailed` naming what is wrong, so a wrong answer turns the
# cell red.
#
# **How to work.** Write the function in the cell (replace the `raise NotImplementedError`), then
# change `answer = solutions....` to `answer = your_function` and run the checker cell. As committed,
# the notebook grades the reference solutions from `exercises/solutions_04.py`, so that it runs top to
# bottom; do not read that file before you try. `exercises/README.md` explains the machinery.
#
# ### Exercise 1: `layernorm_backward`
#
# Write `layernorm_backward(dy, cache, dw, db) -> dx` from the formula of section 4 without looking at
# the library's code: `cache = (xhat, rstd, w)` as `ops.layernorm_forward` keeps it, `dw` and `db`
# are buffers to **add** into, the input may have any number of leading axes.

# %%
def my_layernorm_backward(dy, cache, dw, db):
    xhat, rstd, w = cache
    # 1. add the parameter gradients into dw and db (sum over every row of every leading axis)
    # 2. g = dy * w, the gradient reaching xhat; then dx from section 4 (means over the last axis)
    raise NotImplementedError


answer = solutions.layernorm_backward          # replace with: answer = my_layernorm_backward

# %%
check.grade(ex04.layernorm_backward, answer)

# %% [markdown]
# ### Exercise 2: `softmax_backward`
#
# Write `softmax_backward(dy, y) -> dx` for a softmax over the last axis, given its output `y`
# (section 5). Hint: never build the K×K Jacobian; one sum over the last axis is enough. The checker
# also uses attention-shaped input (B, NH, T, T).

# %%
def my_softmax_backward(dy, y):
    raise NotImplementedError


answer = solutions.softmax_backward            # replace with: answer = my_softmax_backward

# %%
check.grade(ex04.softmax_backward, answer)

# %% [markdown]
# ### Exercise 3: cross-entropy with an ignore index
#
# Write `cross_entropy_backward(logits, labels, ignore_index=-100) -> dlogits`, the gradient of the
# mean loss over the counted rows (section 7), without calling `ops`. Things the checker will catch:
# an ignored row that is not exactly zero, dividing by all N rows, a flipped sign.

# %%
def my_cross_entropy_backward(logits, labels, ignore_index=-100):
    raise NotImplementedError


answer = solutions.cross_entropy_backward      # replace with: answer = my_cross_entropy_backward

# %%
check.grade(ex04.cross_entropy_backward, answer)

# %% [markdown]
# ### Exercise 4: fix the scatter-add
#
# `embedding_backward(dout, ids, dtable)` must add `dout[i]` into `dtable[ids[i]]` for every
# position, in place; `ids` is (B, T) or (T,), `dout` (..., D). Here is the buggy version of section
# 8.2 through the checker, to show what a failing grade looks like: `run` returns the report without
# raising; `grade` would raise.

# %%
def buggy_embedding_backward(dout, ids, dtable):
    dtable[ids] += dout


report = check.run(ex04.embedding_backward, buggy_embedding_backward)
print(report)
assert not report.passed and len(report.failures) == len(report.verdicts)   # every case has a repeated id

# %% [markdown]
# Now fix it: one line, or a loop if you prefer (a loop over sentences is not enough: repeats inside
# a sentence are still lost).

# %%
def my_embedding_backward(dout, ids, dtable):
    raise NotImplementedError


answer = solutions.embedding_backward          # replace with: answer = my_embedding_backward

# %%
check.grade(ex04.embedding_backward, answer)

# %% [markdown]
# ## Summary
#
# - Every op is a forward that returns `(out, cache)` and a backward that returns the input gradient
#   and **adds** into parameter-gradient buffers; a finite-difference check needs float64, a small
#   step and a **random** upstream gradient (all ones hides a wrong layer-norm or softmax backward).
# - Linear: $dX = dY\,W$, $dW = dY^\top X$, $db = \sum dY$; layer norm subtracts the paths through the
#   mean and the standard deviation; softmax needs only its output; the tanh GELU its input and tanh.
# - Cross-entropy: $(\operatorname{softmax} - \text{onehot})/n$ on the counted rows, exactly 0 on the
#   ignored ones, n the number of counted rows.
# - A value used several times gets the **sum** of its gradients: the residual split, the embedding
#   scatter-add (`np.add.at`, never `dtable[ids] += dout`), a layer shared across depth (ALBERT's
#   cross-layer sharing: one contribution per application) and the word-embedding table tied to the
#   decoder (lookup rows plus every row through the decoder).
# - All of it agrees with Hugging Face's autograd to 1e-12 in float64, every parameter gradient.
#
# Next: [05 · Fill-mask end to end](05_fill_mask.ipynb).

# %%
print(f"notebook ran in {time.time() - T0:.1f} s")
