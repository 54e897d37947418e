"""The ALBERT backbone as three forward/backward pairs, in the style of the ops:

    embeddings_forward  ids (B, T) -> h (B, T, H)      word + position + token type, LayerNorm, dropout,
                                                        then the factorised E -> H projection (paper §3.1)
    encoder_forward     h (B, T, H) -> seq (B, T, H)   L applications of the shared layer(s) (paper §3.1)
    pooler_forward      seq (B, T, H) -> pooled (B, H) tanh(W seq[:, 0] + b)

Each ``*_forward`` reads parameters from ``P`` (HF names, with the model's name prefix ``p``) and
returns ``(out, cache)``; each ``*_backward`` takes the upstream gradient and that cache, **adds** into
the gradient buffers ``G`` (same names as ``P``) and returns the gradient of its input. The caches are
NamedTuples whose fields say what they hold; the porter's trace (trace.py) is read off them.

Shapes use the letters defined in config.py (B, T, V, E, H, I, NH, HS, L, G).
"""
from __future__ import annotations

from typing import Any, Dict, List, NamedTuple

from ..backend import array_module, upcast
from ..config import AlbertConfig
from ..ops import (AttentionCache, FeedForwardCache, activation_backward, activation_forward, attention_backward,
                   attention_forward, attention_mask_bias, dropout_backward, dropout_forward, embedding_backward,
                   embedding_forward, feedforward_backward, feedforward_forward, layernorm_backward, layernorm_forward, linear_backward, linear_forward)
from .params import QKV_NAMES, attention_view, ffn_view, sublayer_prefixes

# ----------------------------------------------------------------------------- embeddings


class EmbeddingsCache(NamedTuple):
    """What embeddings_forward saved."""
    word: Any             # the word lookup's cache (ids, table shape); None when inputs_embeds were given
    word_projection: Any  # albert_zh: linear cache of word_embeddings_2 (E -> H), else None
    token_type: Any       # the token-type lookup's cache
    words: Any            # (B, T, E) the looked-up word vectors (trace: embeddings.word)
    sum: Any              # (B, T, E) word + position + token type (trace: embeddings.sum)
    layernorm: Any        # the embedding LayerNorm's cache
    dropout: Any          # dropout mask (None when not training)
    out: Any              # (B, T, E) after LayerNorm and dropout (trace: embeddings.out)
    mapping: Any          # linear cache of the E -> H projection (None for albert_zh)
    hidden: Any           # (B, T, H) the encoder's input (trace: encoder.mapped)
    position: Any = None  # the position lookup's cache (position_ids, table shape); None: rows 0..T-1


def embeddings_forward(P, p: str, cfg: AlbertConfig, input_ids, token_type_ids, rng, training,
                       position_ids=None, inputs_embeds=None, host_ids=None):
    """input_ids, token_type_ids (B, T) -> h (B, T, H), EmbeddingsCache.

    The embeddings have width E; one (H, E) projection lifts them to the hidden size H: the factorised
    embedding of paper §3.1, V*E + E*H parameters instead of V*H. (albert_zh layout: the word vectors are
    projected E -> H first, and the rest has width H.)
    position_ids (B, T) or (1, T): the rows of the position table to add (default 0..T-1), as HF.
    inputs_embeds (B, T, E): used instead of the word lookup (input_ids is then None), as HF.
    host_ids: optional {"input_ids", "token_type_ids", "position_ids": host (numpy) copies of those
    inputs}, kept in the lookups' caches so that the backward plans its scatter without reading the
    device (see ops/embedding.py)."""
    host_ids = host_ids or {}
    if inputs_embeds is not None:
        T = inputs_embeds.shape[1]
        words, c_word = inputs_embeds, None                                                      # (B, T, E)
    else:
        T = input_ids.shape[1]
        words, c_word = embedding_forward(input_ids, P[p + "embeddings.word_embeddings.weight"],
                                          host_ids.get("input_ids"))                                # (B, T, E)
    c_w2 = None
    if cfg.zh_projection:
        words, c_w2 = linear_forward(words, P[p + "embeddings.word_embeddings_2.weight"])       # (B, T, H)
    tt, c_tt = embedding_forward(token_type_ids, P[p + "embeddings.token_type_embeddings.weight"],
                                 host_ids.get("token_type_ids"))
    if position_ids is None:
        pos, c_pos = P[p + "embeddings.position_embeddings.weight"][:T], None                   # (T, E)
    else:
        pos, c_pos = embedding_forward(position_ids, P[p + "embeddings.position_embeddings.weight"],
                                       host_ids.get("position_ids"))                                # (B|1, T, E)
    emb = words + tt
    emb += pos
    emb_ln, c_ln = layernorm_forward(emb, P[p + "embeddings.LayerNorm.weight"], P[p + "embeddings.LayerNorm.bias"],
                                     cfg.layer_norm_eps)
    out, c_drop = dropout_forward(emb_ln, cfg.hidden_dropout_prob, rng, training)
    if cfg.embedding_layout == "albert":
        h, c_map = linear_forward(out, P[p + "encoder.embedding_hidden_mapping_in.weight"],
                                  P[p + "encoder.embedding_hidden_mapping_in.bias"])               # (B, T, H)
    else:
        h, c_map = out, None
    return h, EmbeddingsCache(c_word, c_w2, c_tt, words, emb, c_ln, c_drop, out, c_map, h, c_pos)


def embeddings_backward(dh, cache: EmbeddingsCache, G, p: str, cfg: AlbertConfig, tgrads=None):
    """dh (B, T, H) -> dwords (B, T, E), the gradient of the word vectors (the looked-up rows, or the
    inputs_embeds that replaced them); adds into the embedding tables, LayerNorm and projection
    gradients."""
    c = cache
    if c.mapping is not None:
        demb = linear_backward(dh, c.mapping, G[p + "encoder.embedding_hidden_mapping_in.weight"],
                               G[p + "encoder.embedding_hidden_mapping_in.bias"])                 # (B, T, E)
    else:
        demb = dh
    if tgrads is not None:
        tgrads["embeddings.out"] = demb
    demb = dropout_backward(demb, c.dropout)
    demb = layernorm_backward(demb, c.layernorm, G[p + "embeddings.LayerNorm.weight"], G[p + "embeddings.LayerNorm.bias"])
    if tgrads is not None:
        tgrads["embeddings.sum"] = demb
    T = demb.shape[1]
    if c.position is None:
        G[p + "embeddings.position_embeddings.weight"][:T] += upcast(demb).sum(axis=0)   # float32 for float16
    else:   # position_ids (B, T), or (1, T) broadcast over the batch: sum the batch first
        dpos = demb if c.position[0].shape[0] == demb.shape[0] else demb.sum(axis=0, keepdims=True)
        embedding_backward(dpos, c.position, G[p + "embeddings.position_embeddings.weight"])
    embedding_backward(demb, c.token_type, G[p + "embeddings.token_type_embeddings.weight"])
    if c.word_projection is not None:
        demb = linear_backward(demb, c.word_projection, G[p + "embeddings.word_embeddings_2.weight"])
    dwords = demb                                                                               # (B, T, E)
    if c.word is None:     # inputs_embeds: no lookup table to update
        return dwords
    # HF's word embedding has padding_idx=pad_token_id: the lookup sends no gradient to the padding row
    # (the tied MLM decoder still does).
    ids = c.word[0]
    if 0 <= cfg.pad_token_id < cfg.vocab_size:
        demb = demb * (ids != cfg.pad_token_id)[..., None]
    embedding_backward(demb, c.word, G[p + "embeddings.word_embeddings.weight"])
    return dwords


# ----------------------------------------------------------------------------- encoder


class LayerCache(NamedTuple):
    """What one application of a (shared) ALBERT layer saved."""
    layer: int                 # i, the layer position 0..L-1
    inner: int                 # j, the inner layer of its group
    attn_prefix: str           # state-dict prefix of the attention block it ran
    ffn_prefix: str            # state-dict prefix of the feed-forward block it ran
    attention: AttentionCache
    attention_y: Any           # (B, T, H) the attention block's output, the FFN's input
    ffn: FeedForwardCache
    y: Any                     # (B, T, H) the layer's output


class EncoderCache(NamedTuple):
    """What encoder_forward saved: the fused Q/K/V weights (one per distinct attention block) and one
    LayerCache per layer application, in order."""
    hidden: Any                      # (B, T, H) the encoder's input
    packed: Dict[str, dict]          # attention prefix -> the attention op's parameter dict
    layers: List[LayerCache]


def _attention_params(P, pa):
    """The attention op's parameters, Q/K/V fused into one (3H, H) matrix: one large matmul instead of three,
    built once per forward pass per shared block (not once per layer that uses it)."""
    w = [P[pa + n + ".weight"] for n in QKV_NAMES]
    b = [P[pa + n + ".bias"] for n in QKV_NAMES]
    xp = array_module(w[0])
    return dict(attention_view(P, pa), wqkv=xp.concatenate(w), bqkv=xp.concatenate(b))


def encoder_forward(P, p: str, cfg: AlbertConfig, h, attention_mask, rng, training, head_mask=None):
    """h (B, T, H) -> seq (B, T, H), EncoderCache.

    Cross-layer parameter sharing (paper §3.1): layer i runs group int(i / (L / G)) (HF's rule), and the
    group's inner layers in turn; with G = 1 every layer runs the same weights.
    head_mask: optional (L * inner_group_num, NH), one row per applied layer k = i * inner + j (the
    indexing of the trace and of the attentions output): application k multiplies head h's attention
    probabilities by head_mask[k, h]."""
    mask_bias = attention_mask_bias(attention_mask, h.dtype)                                   # (B, 1, 1, T)
    packed: Dict[str, dict] = {}
    layers = []
    x = h
    for i in range(cfg.num_hidden_layers):
        for j in range(cfg.inner_group_num):
            pa, pf = sublayer_prefixes(cfg, i, j, p)
            if pa not in packed:
                packed[pa] = _attention_params(P, pa)
            hm = None if head_mask is None else head_mask[i * cfg.inner_group_num + j]           # (NH,)
            a, ca = attention_forward(x, packed[pa], mask_bias, cfg.num_attention_heads, cfg.layer_norm_eps,
                                      cfg.ln_type, cfg.attention_probs_dropout_prob, cfg.hidden_dropout_prob,
                                      rng, training, hm)
            y, cf = feedforward_forward(a, ffn_view(P, pf), cfg.hidden_act, cfg.layer_norm_eps, cfg.ln_type,
                                        cfg.hidden_dropout_prob, rng, training)
            layers.append(LayerCache(i, j, pa, pf, ca, a, cf, y))
            x = y
    return x, EncoderCache(h, packed, layers)


def encoder_backward(dseq, cache: EncoderCache, G, cfg: AlbertConfig, tgrads=None, dhead_mask=None,
                     release=False):
    """dseq (B, T, H) -> dh (B, T, H), the gradient of the encoder's input.
    dhead_mask: optional (L * inner_group_num, NH) buffer; the gradient of the head mask is added there.
    release: pop each LayerCache off cache.layers as its backward runs (and empty cache.packed at the
    end), so that a layer's activations are freed as soon as they are consumed: the memory held falls
    layer by layer instead of staying at the whole cache until the backward ends.

    The layer applications are walked in reverse. Every application of a shared block is handed the
    same gradient buffers, and each backward call *adds* its contribution into them: this += is the
    sum over layers that cross-layer sharing requires (dW = sum_i dW_i)."""
    xp = array_module(dseq)
    # Fused (3H, H) gradient buffers, one per distinct attention block; unpacked into HF's names below.
    # (in the gradient buffers' dtype: float32 for a float16 / bfloat16 model, whose weights are low precision)
    gpacked = {pa: dict(attention_view(G, pa), wqkv=xp.zeros(ap["wqkv"].shape, dtype=G[pa + "query.weight"].dtype),
                        bqkv=xp.zeros(ap["bqkv"].shape, dtype=G[pa + "query.bias"].dtype))
               for pa, ap in cache.packed.items()}
    dh = dseq
    order = (cache.layers.pop() for _ in range(len(cache.layers))) if release else reversed(cache.layers)
    for lc in order:
        k = lc.layer * cfg.inner_group_num + lc.inner
        tf = {} if tgrads is not None else None
        ta = {} if tgrads is not None else None
        if tgrads is not None:
            tgrads[f"layer.{k}.ffn.y"] = dh
        dh = feedforward_backward(dh, lc.ffn, ffn_view(G, lc.ffn_prefix), tf)
        if tgrads is not None:
            tgrads[f"layer.{k}.attention.y"] = dh
        dh = attention_backward(dh, lc.attention, gpacked[lc.attn_prefix], ta,
                                None if dhead_mask is None else dhead_mask[k])
        if tgrads is not None:
            tgrads.update({f"layer.{k}.ffn.{n}": a for n, a in tf.items()})
            tgrads.update({f"layer.{k}.attention.{n}": a for n, a in ta.items()})
        lc = None                  # with release, nothing holds this application's activations any more
    if release:
        cache.packed.clear()       # the fused Q/K/V weights built by the forward
    H = cfg.hidden_size
    for pa, gp in gpacked.items():
        for idx, n in enumerate(QKV_NAMES):
            G[pa + n + ".weight"] += gp["wqkv"][idx * H:(idx + 1) * H]
            G[pa + n + ".bias"] += gp["bqkv"][idx * H:(idx + 1) * H]
    if tgrads is not None:
        tgrads["encoder.mapped"] = dh
    return dh


# ----------------------------------------------------------------------------- pooler


class PoolerCache(NamedTuple):
    linear: Any   # linear cache (its input is seq[:, 0], the [CLS] vector)
    tanh: Any     # tanh's cache (its output)
    seq_shape: Any  # (B, T, H) of the input


def pooler_forward(P, p: str, seq):
    """seq (B, T, H) -> pooled (B, H) = tanh(W seq[:, 0] + b): the input of the sentence-level heads."""
    z, c_lin = linear_forward(seq[:, 0], P[p + "pooler.weight"], P[p + "pooler.bias"])
    pooled, c_tanh = activation_forward(z, "tanh")
    return pooled, PoolerCache(c_lin, c_tanh, seq.shape)


def pooler_backward(dpooled, cache: PoolerCache, G, p: str, dseq):
    """dpooled (B, H) -> the gradient of seq: dseq (B, T, H) with the [CLS] row's share added
    (a new array; dseq, which may be None, is not modified)."""
    dz = activation_backward(dpooled, cache.tanh, "tanh")
    dcls = linear_backward(dz, cache.linear, G[p + "pooler.weight"], G[p + "pooler.bias"])      # (B, H)
    dseq = array_module(dcls).zeros(cache.seq_shape, dtype=dcls.dtype) if dseq is None else dseq.copy()
    dseq[:, 0] += dcls
    return dseq
