"""Multi-head scaled dot-product self-attention with its residual and layer norm
(HF's AlbertAttention; Vaswani et al. 2017 §3.2, used unchanged by ALBERT).

Q, K and V come from one fused (3H, H) projection: one large matmul instead of
three, and the packed weight is built once per forward pass and reused by every
layer that shares it.
"""
from ..backend import array_module
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


def attention_forward(x, p, mask_bias, num_heads, eps, ln_type="postln",
                      attn_dropout=0.0, hidden_dropout=0.0, rng=None, training=False, trace=None):
    """x (B, T, H) -> y (B, T, H).

    p: 'wqkv' (3H, H), 'bqkv' (3H,), 'wo' (H, H), 'bo' (H,), 'ln_w', 'ln_b' (H,).
    postln (ALBERT/BERT): y = LN(x + Dropout(Attn(x)))
    preln  (albert_pytorch option): y = x + Dropout(Attn(LN(x)))
    trace: optional dict that receives named intermediate activations.
    """
    B, T, H = x.shape
    NH = num_heads
    HS = H // NH
    h, ln_in_cache = (layernorm_forward(x, p["ln_w"], p["ln_b"], eps) if ln_type == "preln" else (x, None))
    qkv, qkv_cache = linear_forward(h, p["wqkv"], p["bqkv"])             # (B, T, 3H)
    qkv = qkv.reshape(B, T, 3, NH, HS).transpose(2, 0, 3, 1, 4)          # (3, B, NH, T, HS), a view
    q, k, v = qkv[0], qkv[1], qkv[2]                                    # each (B, NH, T, HS)
    scores = q @ k.transpose(0, 1, 3, 2)                                 # (B, NH, T, T)
    scores *= HS ** -0.5                                                 # 1/sqrt(HS), as HF
    scores += mask_bias
    probs, sm_cache = softmax_forward(scores)                            # (B, NH, T, T)
    probs_d, drop_p_cache = dropout_forward(probs, attn_dropout, rng, training)
    ctx = probs_d @ v                                                    # (B, NH, T, HS)
    ctx = ctx.transpose(0, 2, 1, 3).reshape(B, T, H)                     # heads side by side
    out, o_cache = linear_forward(ctx, p["wo"], p["bo"])                 # (B, T, H)
    out, drop_o_cache = dropout_forward(out, hidden_dropout, rng, training)
    out += x                                                              # residual
    if ln_type == "postln":
        y, ln_out_cache = layernorm_forward(out, p["ln_w"], p["ln_b"], eps)
    else:
        y, ln_out_cache = out, None
    if trace is not None:
        trace.update(q=q, k=k, v=v, scores=scores, probs=probs, context=ctx, y=y)
    cache = (ln_type, ln_in_cache, qkv_cache, q, k, v, sm_cache, drop_p_cache, probs_d,
             o_cache, drop_o_cache, ln_out_cache, HS)
    return y, cache


def attention_backward(dy, cache, p, g, trace=None):
    """dy (B, T, H) -> dx. Adds into g['wqkv'], g['bqkv'], g['wo'], g['bo'], g['ln_w'], g['ln_b']."""
    (ln_type, ln_in_cache, qkv_cache, q, k, v, sm_cache, drop_p_cache, probs_d,
     o_cache, drop_o_cache, ln_out_cache, HS) = cache
    xp = array_module(dy)
    B, T, H = dy.shape
    NH = H // HS
    if ln_type == "postln":
        dout = layernorm_backward(dy, ln_out_cache, g["ln_w"], g["ln_b"])
    else:
        dout = dy
    dx = dout.copy()                                                     # residual branch
    dout = dropout_backward(dout, drop_o_cache)
    dctx = linear_backward(dout, o_cache, g["wo"], g["bo"])              # (B, T, H)
    dctx = dctx.reshape(B, T, NH, HS).transpose(0, 2, 1, 3)              # (B, NH, T, HS)
    dprobs_d = dctx @ v.transpose(0, 1, 3, 2)                             # (B, NH, T, T)
    dqkv = xp.empty((B, T, 3, NH, HS), dtype=dy.dtype)
    dqkv_h = dqkv.transpose(2, 0, 3, 1, 4)                               # (3, B, NH, T, HS) view
    dqkv_h[2] = probs_d.transpose(0, 1, 3, 2) @ dctx                     # dv
    dprobs = dropout_backward(dprobs_d, drop_p_cache)
    dscores = softmax_backward(dprobs, sm_cache)                          # mask bias is constant
    if trace is not None:
        trace.update(probs=dprobs, scores=dscores.copy(), context=dctx.transpose(0, 2, 1, 3).reshape(B, T, H))
    dscores *= HS ** -0.5
    dqkv_h[0] = dscores @ k                                               # dq
    dqkv_h[1] = dscores.transpose(0, 1, 3, 2) @ q                         # dk
    dh = linear_backward(dqkv.reshape(B, T, 3 * H), qkv_cache, g["wqkv"], g["bqkv"])
    if ln_type == "preln":
        dh = layernorm_backward(dh, ln_in_cache, g["ln_w"], g["ln_b"])
    dx += dh
    return dx
