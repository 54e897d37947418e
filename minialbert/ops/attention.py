"""Multi-head scaled dot-product self-attention with its residual and layer norm
(HF's AlbertAttention; Vaswani et al. 2017 §3.2, used unchanged by ALBERT).

Q, K and V come from one fused (3H, H) projection: one large matmul instead of
three, and the packed weight is built once per forward pass and reused by every
layer that shares it.
"""
from typing import Any, NamedTuple

from ..backend import array_module, mm, store, upcast
from .dropout import dropout_backward, dropout_forward
from .layernorm import layernorm_backward, layernorm_forward
from .linear import linear_backward, linear_forward
from .softmax import softmax_backward, softmax_forward


def attention_mask_bias(attention_mask, dtype):
    """(B, T) of 1 (attend) / 0 (padding) -> additive bias (B, 1, 1, T).

    0 where attended and the dtype's most negative value where padded, as HF
    does: after the softmax a padded key gets probability exactly 0.
    """
    xp = array_module(attention_mask)
    m = attention_mask.astype(dtype)
    return ((1.0 - m) * xp.finfo(dtype).min)[:, None, None, :]


class AttentionCache(NamedTuple):
    """What attention_forward saves for attention_backward (and what the porter's trace reads)."""
    ln_type: str
    ln_in: Any          # layernorm cache of the input (preln), else None
    qkv: Any            # linear cache of the fused Q/K/V projection (its input, the weight)
    q: Any              # (B, NH, T, HS)
    k: Any              # (B, NH, T, HS)
    v: Any              # (B, NH, T, HS)
    mask_bias: Any      # (B, 1, 1, T) additive padding bias
    probs: Any          # (B, NH, T, T) softmax of the scores (the softmax's cache)
    probs_dropout: Any  # dropout mask on the probabilities (None when not training)
    probs_d: Any        # (B, NH, T, T) probabilities after dropout (and head mask), what multiplies v
    out: Any            # linear cache of the output projection; out[0] is the context (B, T, H)
    out_dropout: Any    # dropout mask on the projected output
    ln_out: Any         # layernorm cache of the residual sum (postln), else None
    head_size: int      # HS
    head_mask: Any = None  # (NH,) the per-head factor the probabilities were multiplied by, or None


def attention_scores(cache):
    """q k^T / sqrt(HS) + mask bias (B, NH, T, T), recomputed from a cache exactly as the forward
    computed it (the forward does not keep it: only its softmax is needed by the backward)."""
    scores = mm(cache.q, cache.k.transpose(0, 1, 3, 2))
    scores *= cache.head_size ** -0.5
    scores += cache.mask_bias
    return scores


def attention_forward(x, p, mask_bias, num_heads, eps, ln_type="postln",
                      attn_dropout=0.0, hidden_dropout=0.0, rng=None, training=False, head_mask=None):
    """x (B, T, H) -> y (B, T, H).

    p: 'wqkv' (3H, H), 'bqkv' (3H,), 'wo' (H, H), 'bo' (H,), 'ln_w', 'ln_b' (H,).
    postln (ALBERT/BERT): y = LN(x + Dropout(Attn(x)))
    preln  (albert_pytorch option): y = x + Dropout(Attn(LN(x)))
    head_mask: optional (NH,) factors; head h's probabilities (after dropout) are multiplied by
    head_mask[h], as HF's head_mask does (0 silences a head; any float is allowed).
    """
    B, T, H = x.shape
    NH = num_heads
    HS = H // NH
    h, ln_in_cache = (layernorm_forward(x, p["ln_w"], p["ln_b"], eps) if ln_type == "preln" else (x, None))
    qkv, qkv_cache = linear_forward(h, p["wqkv"], p["bqkv"])             # (B, T, 3H)
    qkv = qkv.reshape(B, T, 3, NH, HS).transpose(2, 0, 3, 1, 4)          # (3, B, NH, T, HS), a view
    q, k, v = qkv[0], qkv[1], qkv[2]                                    # each (B, NH, T, HS)
    # mixed precision: the scores are float32 (mm accumulates in float32 and returns float32 for float16
    # q, k), the softmax runs in float32, the probabilities are stored in x's precision
    scores = mm(q, k.transpose(0, 1, 3, 2))                              # (B, NH, T, T)
    scores *= HS ** -0.5                                                 # 1/sqrt(HS), as HF
    scores += mask_bias
    probs, sm_cache = softmax_forward(scores, x.dtype)                   # (B, NH, T, T)
    probs_d, drop_p_cache = dropout_forward(probs, attn_dropout, rng, training)
    if head_mask is not None:                                            # HF: after dropout, per head
        probs_d = store(probs_d * head_mask.reshape(1, NH, 1, 1), x.dtype)  # (B, NH, T, T), a new array
    ctx = store(mm(probs_d, v), x.dtype)                                 # (B, NH, T, HS)
    ctx = ctx.transpose(0, 2, 1, 3).reshape(B, T, H)                     # heads side by side
    out, o_cache = linear_forward(ctx, p["wo"], p["bo"])                 # (B, T, H)
    out, drop_o_cache = dropout_forward(out, hidden_dropout, rng, training)
    out += x                                                              # residual
    if ln_type == "postln":
        y, ln_out_cache = layernorm_forward(out, p["ln_w"], p["ln_b"], eps)
    else:
        y, ln_out_cache = out, None
    return y, AttentionCache(ln_type, ln_in_cache, qkv_cache, q, k, v, mask_bias, sm_cache, drop_p_cache, probs_d,
                             o_cache, drop_o_cache, ln_out_cache, HS, head_mask)


def attention_backward(dy, cache: AttentionCache, g, trace=None, dhead_mask=None):
    """dy (B, T, H) -> dx. Adds into g['wqkv'], g['bqkv'], g['wo'], g['bo'], g['ln_w'], g['ln_b'].
    trace: optional dict that receives the gradients of the block's inner activations (probs, scores,
    context), which exist only inside this function; the porter's trace reads them.
    dhead_mask: optional (NH,) buffer; when the forward had a head mask, the gradient with respect to
    it is added there (head-importance scores, Michel et al. 2019)."""
    c = cache
    ln_type, q, k, v, probs_d, HS = c.ln_type, c.q, c.k, c.v, c.probs_d, c.head_size
    xp = array_module(dy)
    B, T, H = dy.shape
    NH = H // HS
    if ln_type == "postln":
        dout = layernorm_backward(dy, c.ln_out, g["ln_w"], g["ln_b"])
    else:
        dout = dy
    dx = dout.copy()                                                     # residual branch
    dout = dropout_backward(dout, c.out_dropout)
    dctx = linear_backward(dout, c.out, g["wo"], g["bo"])              # (B, T, H)
    dctx = dctx.reshape(B, T, NH, HS).transpose(0, 2, 1, 3)              # (B, NH, T, HS)
    dprobs_d = mm(dctx, v.transpose(0, 1, 3, 2))                         # (B, NH, T, T)
    dqkv = xp.empty((B, T, 3, NH, HS), dtype=dy.dtype)
    dqkv_h = dqkv.transpose(2, 0, 3, 1, 4)                               # (3, B, NH, T, HS) view
    dqkv_t = dqkv.transpose(2, 0, 3, 4, 1)                               # (3, B, NH, HS, T) view
    # dv = probs_d^T dctx and dk = dscores^T q are computed transposed (dv^T = dctx^T probs_d, dk^T =
    # q^T dscores), so the (B, NH, T, T) operands enter the matmul as stored. CuPy's batched matmul copies
    # any operand that is not C-contiguous: probs_d^T or dscores^T would be a B*NH*T*T copy (512 MiB at
    # xxlarge, 8 x 512); this way only (B, NH, T, HS)-sized operands are made contiguous. (NumPy hands both
    # orientations to the same BLAS call: the numbers are the same.)
    dqkv_t[2] = mm(dctx.transpose(0, 1, 3, 2), probs_d)                 # dv^T (B, NH, HS, T)
    if c.head_mask is not None:
        if dhead_mask is not None:   # d/dm_h: sum over (B, T, T) of dprobs_d * the dropped-out probabilities
            dhead_mask += (dprobs_d * upcast(dropout_backward(c.probs, c.probs_dropout))).sum(axis=(0, 2, 3))
        dprobs_d = dprobs_d * c.head_mask.reshape(1, NH, 1, 1)
    dprobs = dropout_backward(dprobs_d, c.probs_dropout)
    dscores = softmax_backward(dprobs, c.probs)                          # mask bias is constant
    if trace is not None:
        trace.update(probs=dprobs, scores=dscores.copy(), context=dctx.transpose(0, 2, 1, 3).reshape(B, T, H))
    dscores *= HS ** -0.5
    dqkv_h[0] = mm(dscores, k)                                            # dq (B, NH, T, HS)
    dqkv_t[1] = mm(q.transpose(0, 1, 3, 2), dscores)                      # dk^T (B, NH, HS, T)
    dqkv = store(dqkv, dy.dtype)                                          # bfloat16: rounded (else itself)
    dh = linear_backward(dqkv.reshape(B, T, 3 * H), c.qkv, g["wqkv"], g["bqkv"])
    if ln_type == "preln":
        dh = layernorm_backward(dh, c.ln_in, g["ln_w"], g["ln_b"])
    dx += dh
    return dx
