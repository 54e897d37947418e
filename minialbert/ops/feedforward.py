"""The position-wise feed-forward block of an ALBERT layer, with its residual
and layer norm (HF names: ffn, ffn_output, full_layer_layer_norm).

postln: y = LN(x + Dropout(W2 act(W1 x)))      preln: y = x + Dropout(W2 act(W1 LN(x)))
(Google's ALBERT applies the dropout; HF's port drops it, which only matters
when training with hidden_dropout_prob > 0.)
"""
from typing import Any, NamedTuple

from .activations import activation_backward, activation_forward
from .dropout import dropout_backward, dropout_forward
from .layernorm import layernorm_backward, layernorm_forward
from .linear import linear_backward, linear_forward


class FeedForwardCache(NamedTuple):
    """What feedforward_forward saves for feedforward_backward (and what the porter's trace reads)."""
    ln_type: str
    act: str            # the activation's name
    ln_in: Any          # layernorm cache of the input (preln), else None
    ffn: Any            # linear cache of W1; ffn[0] is its input (B, T, H)
    activation: Any     # the activation's cache (its contents depend on the activation)
    ffn_output: Any     # linear cache of W2; ffn_output[0] is the activation's output (B, T, I)
    dropout: Any        # dropout mask on the output (None when not training)
    ln_out: Any         # layernorm cache of the residual sum (postln), else None


def feedforward_forward(x, p, act, eps, ln_type="postln", hidden_dropout=0.0, rng=None, training=False):
    """x (B, T, H) -> y (B, T, H). p: 'w1' (I, H), 'b1' (I,), 'w2' (H, I), 'b2' (H,), 'ln_w', 'ln_b'."""
    h, ln_in_cache = (layernorm_forward(x, p["ln_w"], p["ln_b"], eps) if ln_type == "preln" else (x, None))
    a, c1 = linear_forward(h, p["w1"], p["b1"])                           # (B, T, I)
    z, c_act = activation_forward(a, act)                                 # (B, T, I)
    out, c2 = linear_forward(z, p["w2"], p["b2"])                         # (B, T, H)
    out, c_drop = dropout_forward(out, hidden_dropout, rng, training)
    out += x                                                               # residual
    if ln_type == "postln":
        y, ln_out_cache = layernorm_forward(out, p["ln_w"], p["ln_b"], eps)
    else:
        y, ln_out_cache = out, None
    return y, FeedForwardCache(ln_type, act, ln_in_cache, c1, c_act, c2, c_drop, ln_out_cache)


def feedforward_backward(dy, cache: FeedForwardCache, g, trace=None):
    """dy (B, T, H) -> dx. Adds into g['w1'], g['b1'], g['w2'], g['b2'], g['ln_w'], g['ln_b'].
    trace: optional dict that receives the gradients of the inner activations (pre_act, act)."""
    ln_type, act, ln_in_cache, c1, c_act, c2, c_drop, ln_out_cache = cache
    dout = layernorm_backward(dy, ln_out_cache, g["ln_w"], g["ln_b"]) if ln_type == "postln" else dy
    dx = dout.copy()                                                       # residual branch
    dout = dropout_backward(dout, c_drop)
    dz = linear_backward(dout, c2, g["w2"], g["b2"])
    da = activation_backward(dz, c_act, act)
    if trace is not None:
        trace.update(act=dz, pre_act=da)
    dh = linear_backward(da, c1, g["w1"], g["b1"])
    if ln_type == "preln":
        dh = layernorm_backward(dh, ln_in_cache, g["ln_w"], g["ln_b"])
    dx += dh
    return dx
