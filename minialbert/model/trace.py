"""Activation traces for porters: every intermediate of a forward pass (and,
after backward(), the gradient with respect to it) under a stable name.

Run ``model(..., trace=True)``; ``model.trace`` then maps names to arrays, and
after ``model.backward(...)`` ``model.trace_grads`` maps the same names to
d(loss)/d(activation). ``save_trace`` writes both to one .npz with keys
``act/<name>`` and ``grad/<name>`` (plus ``input/<name>`` and
``upstream/<name>`` when given).

Names (k counts applied ALBERT layers, 0 .. L * inner_group_num - 1, the same
indexing as HF's ``attentions`` output; hidden_states[k + 1] == layer.k.ffn.y):

    embeddings.word            (B, T, E)   word-embedding lookup
    embeddings.sum             (B, T, E)   word + position + token type
    embeddings.out             (B, T, E)   after LayerNorm and dropout
    encoder.mapped             (B, T, H)   after the E -> H projection (= hidden_states[0])
    layer.k.attention.q|k|v    (B, NH, T, HS)
    layer.k.attention.scores   (B, NH, T, T)  q k^T / sqrt(HS) + mask bias
    layer.k.attention.probs    (B, NH, T, T)  softmax of the scores
    layer.k.attention.context  (B, T, H)   probs @ v, heads side by side
    layer.k.attention.y        (B, T, H)   LayerNorm(x + dense(context))
    layer.k.ffn.pre_act        (B, T, I)   ffn(x)
    layer.k.ffn.act            (B, T, I)   activation(ffn(x))
    layer.k.ffn.y              (B, T, H)   LayerNorm(x + ffn_output(...)), the layer's output
    last_hidden_state          (B, T, H)
    pooler_output              (B, H)      models with a pooler
    mlm.transform              (B, T, E)   MLM head after dense, activation, LayerNorm
    logits | prediction_logits | sop_logits | start_logits | end_logits   head outputs

Gradients exist for the names the backward pass reaches (q/k/v have none:
their gradients are fused into one (B, T, 3H) buffer).
"""
from __future__ import annotations

import io

from .. import backend
from ..io import atomic_write
from ..ops import attention_scores, linear_forward
from .params import ffn_view


def backbone_trace(cache, P, p: str) -> dict:
    """The backbone's named activations, read off its forward caches (BackboneCache). The two that no
    cache keeps are recomputed exactly as the forward computed them: the attention scores (only their
    softmax is needed by the backward) and the FFN's pre-activation."""
    emb, enc = cache.embeddings, cache.encoder
    tr = {"embeddings.word": emb.words, "embeddings.sum": emb.sum, "embeddings.out": emb.out,
          "encoder.mapped": emb.hidden}
    for k, lc in enumerate(enc.layers):
        a, f = lc.attention, lc.ffn
        tr.update({f"layer.{k}.attention.q": a.q, f"layer.{k}.attention.k": a.k, f"layer.{k}.attention.v": a.v,
                   f"layer.{k}.attention.scores": attention_scores(a), f"layer.{k}.attention.probs": a.probs,
                   f"layer.{k}.attention.context": a.out[0], f"layer.{k}.attention.y": lc.attention_y})
        fp = ffn_view(P, lc.ffn_prefix)
        tr.update({f"layer.{k}.ffn.pre_act": linear_forward(f.ffn[0], fp["w1"], fp["b1"])[0],
                   f"layer.{k}.ffn.act": f.ffn_output[0], f"layer.{k}.ffn.y": lc.y})
    tr["last_hidden_state"] = enc.layers[-1].y if enc.layers else enc.hidden
    if cache.pooler is not None:
        tr["pooler_output"] = cache.pooler.tanh      # tanh's cache is its output
    return tr


def save_trace(model, path, inputs=None, upstream=None):
    if model.trace is None:
        raise RuntimeError("no trace: run the model with trace=True first")
    arrays = {f"act/{k}": backend.to_numpy(v) for k, v in model.trace.items()}
    for k, v in (model.trace_grads or {}).items():
        if v is not None:
            arrays[f"grad/{k}"] = backend.to_numpy(v)
    for prefix, d in (("input", inputs), ("upstream", upstream)):
        for k, v in (d or {}).items():
            if v is not None:
                arrays[f"{prefix}/{k}"] = backend.to_numpy(v)
    buf = io.BytesIO()
    backend.numpy.savez(buf, **arrays)
    atomic_write(path, [buf.getvalue()])
    return sorted(arrays)
