"""The memory model: how many bytes the forward pass keeps for the backward, tensor by tensor.

A forward pass keeps, besides the parameters, one cache per *application* of a layer (a shared layer run
L times keeps L caches), the embeddings' cache and the head's. This module writes those caches down as
formulas in the dimension letters of config.py (B, T, V, E, H, I, NH; s = bytes of the dtype) -- what
docs/memory.md tabulates -- and tests/test_memory.py checks them byte for byte against the strict CuPy
stand-in's pool accounting. Use it to size a micro-batch before a run:

    from minialbert.model.memory import cache_bytes
    cache_bytes(preset("albert-xxlarge-v2"), 8, 512, head="pretraining")["total"] / 2**30   # GiB

What is modelled: the 'albert' embedding layout (not albert_zh), post-LN and pre-LN, every share_type
and activation, dropout (training with p > 0: a 1-byte boolean mask per dropped tensor), a head mask,
and the heads AlbertModel (with its pooler), AlbertForMaskedLM and AlbertForPreTraining, with the full
(B, T, V) logits or, mlm_rows=N, the head run at N labelled positions only (mlm_labelled_only). Integer
inputs and labels are int64 on the device (8 bytes).
"""
from __future__ import annotations

from typing import Dict, Optional

from ..config import AlbertConfig

# (B, T, I) buffers one FFN keeps per application, by activation: its cache (input and/or what it
# computed) plus its output, which the second linear keeps. tanh keeps its output only; linear's output
# is its input.
_ACT_BUFFERS = {"gelu_new": 3, "gelu_pytorch_tanh": 3, "gelu_fast": 3, "gelu": 3, "silu": 3, "swish": 3,
                "relu": 2, "tanh": 1, "linear": 1}
# (N, E) buffers the MLM transform's activation cache keeps (its output goes into a LayerNorm, which keeps
# its own normalised copy, not its input): gelu_new keeps (x, tanh(...)), relu x, tanh its output.
_ACT_CACHE = {"gelu_new": 2, "gelu_pytorch_tanh": 2, "gelu_fast": 2, "gelu": 2, "silu": 2, "swish": 2,
              "relu": 1, "tanh": 1, "linear": 0}
_INT = 8     # int64 ids and labels on the device


def _itemsize(dtype) -> int:
    """'float32' (or 'float16', 'float64'), a numpy dtype, or a byte count -> bytes per element."""
    if isinstance(dtype, int):
        return dtype
    size = getattr(dtype, "itemsize", None)
    return size if isinstance(size, int) else {"float16": 2, "float32": 4, "float64": 8}[str(dtype)]


def layer_bytes(cfg: AlbertConfig, B: int, T: int, dtype="float32", training=False,
                head_mask=False) -> Dict[str, int]:
    """The cache of ONE application of an ALBERT layer (attention block + FFN block), by tensor.

    post-LN, no dropout, no head mask, s = itemsize:
        attention.qkv      3 s B T H     the fused projection's output; q, k, v are views of it
        attention.probs    s B NH T T    softmax(q k^T / sqrt(HS) + mask)
        attention.context  s B T H       probs @ v, heads side by side (the output dense's input)
        attention.ln       s B T (H + 1) the LayerNorm's normalised input and 1/std
        attention.y        s B T H       the block's output (the FFN's input)
        ffn.act            a s B T I     a = 3 for gelu_new (pre-activation, tanh(.), activation output)
        ffn.ln             s B T (H + 1)
        ffn.y              s B T H       the layer's output (the next application's input)
    = s (8 B T H + a B T I + B NH T^2 + 2 B T)
    training with dropout p > 0 adds the dropped-out probabilities (s B NH T T) and boolean masks
    (B NH T T + 2 B T H bytes); a head mask without attention dropout adds the masked probabilities
    (s B NH T T). pre-LN keeps each block's LayerNorm output too (2 s B T H more).
    The layer's input (the previous application's output) is not counted again."""
    s = _itemsize(dtype)
    H, I, NH = cfg.hidden_size, cfg.intermediate_size, cfg.num_attention_heads
    BT = B * T
    BNTT = B * NH * T * T
    attn_drop = training and cfg.attention_probs_dropout_prob > 0
    hid_drop = training and cfg.hidden_dropout_prob > 0
    pre = cfg.ln_type == "preln"
    d = {
        "attention.qkv": 3 * s * BT * H,
        "attention.probs": s * BNTT,
        "attention.probs_dropped": s * BNTT if (attn_drop or head_mask) else 0,
        "attention.probs_mask": BNTT if attn_drop else 0,
        "attention.context": s * BT * H,
        "attention.out_mask": BT * H if hid_drop else 0,
        "attention.ln": s * BT * (H + 1),
        "attention.ln_out": s * BT * H if pre else 0,           # pre-LN: LN(x), the projection's input
        "attention.y": s * BT * H,
        "ffn.act": _ACT_BUFFERS[cfg.hidden_act] * s * BT * I,
        "ffn.out_mask": BT * H if hid_drop else 0,
        "ffn.ln": s * BT * (H + 1),
        "ffn.ln_out": s * BT * H if pre else 0,
        "ffn.y": s * BT * H,
    }
    return d


def applications(cfg: AlbertConfig) -> int:
    """How many layer applications a forward pass makes (and keeps a cache for): L x inner_group_num."""
    return cfg.num_hidden_layers * cfg.inner_group_num


def attention_blocks(cfg: AlbertConfig) -> int:
    """How many distinct attention blocks the encoder runs (each gets a fused (3H, H) Q/K/V weight per pass)."""
    per_group = cfg.num_hidden_groups if cfg.share_type in ("all", "attention") else cfg.num_hidden_layers
    return min(per_group, cfg.num_hidden_layers) * cfg.inner_group_num


def cache_bytes(cfg: AlbertConfig, B: int, T: int, dtype="float32", training=False, head: Optional[str] = "mlm",
                mlm_rows: Optional[int] = None, head_mask=False) -> Dict[str, int]:
    """Everything a forward pass keeps beyond the parameters (its cache and its outputs), by tensor, and
    "total". The outputs (logits, loss, pooled) are counted once, where the cache shares them.

    head: None (AlbertModel with its pooler), "mlm" (AlbertForMaskedLM) or "pretraining" (MLM + SOP).
    mlm_rows: the MLM head runs at this many labelled positions (mlm_labelled_only) instead of all B*T;
    The heads assume labels were given (the loss's cache is counted). token_type_ids are kept whether
    passed or not (zeros when absent); an attention_mask only feeds the (B, 1, 1, T) bias."""
    if cfg.embedding_layout != "albert":
        raise NotImplementedError("the memory model covers the 'albert' embedding layout only")
    s = _itemsize(dtype)
    E, H, V = cfg.embedding_size, cfg.hidden_size, cfg.vocab_size
    BT = B * T
    hid_drop = training and cfg.hidden_dropout_prob > 0
    d: Dict[str, int] = {
        # embeddings: the ids (kept for the scatter of the backward), the looked-up word vectors, their
        # sum with position and token type, the LayerNorm's normalised copy and 1/std, the dropped-out (or
        # LayerNorm) output, the E -> H projection (the encoder's input)
        "embeddings.ids": 2 * _INT * BT,                         # input_ids and token_type_ids
        "embeddings.words": s * BT * E,
        "embeddings.sum": s * BT * E,
        "embeddings.ln": s * BT * (E + 1),
        "embeddings.out": s * BT * E,
        "embeddings.mask": BT * E if hid_drop else 0,
        "embeddings.hidden": s * BT * H,
        # the encoder's shared part: the padding bias and the fused Q/K/V weights of each attention block
        "encoder.mask_bias": s * BT,
        "encoder.packed_qkv": attention_blocks(cfg) * s * 3 * H * (H + 1),
    }
    layer = layer_bytes(cfg, B, T, dtype, training, head_mask)
    n = applications(cfg)
    for k, v in layer.items():
        d["layers." + k] = n * v
    if head_mask:
        d["encoder.head_mask"] = s * n * cfg.num_attention_heads
    if head is None or head == "pretraining":
        cdrop = training and (cfg.classifier_dropout_prob or 0.0) > 0
        d["pooler.out"] = s * B * H                               # tanh(W h[CLS] + b), its own cache
        if head == "pretraining":
            d["sop.dropped"] = (s * B * H + B * H) if cdrop else 0
            d["sop.logits"] = s * B * 2
            d["sop.loss"] = _ce_bytes(s, B)
    if head in ("mlm", "pretraining"):
        N = BT if mlm_rows is None else mlm_rows
        if mlm_rows is not None:
            d["mlm.rows"] = _INT * N + s * N * H                  # the labelled positions and h at them
        d["mlm.transform"] = (_ACT_CACHE[cfg.hidden_act] + 2) * s * N * E + s * N   # act cache, LN, its output
        d["mlm.logits"] = s * N * V
        d["mlm.loss"] = _ce_bytes(s, N)
        d["loss"] = s                                             # the 0-d loss (MLM + SOP for pretraining)
    d["total"] = sum(d.values())
    return d


def step_peaks(cfg: AlbertConfig, B: int, T: int, dtype="float32", training=False, head: Optional[str] = "mlm",
               mlm_rows: Optional[int] = None, head_mask=False, outputs_held=False,
               ce_chunk_elements: int = 1 << 23) -> Dict[str, int]:
    """Estimated peaks of one training step, in bytes beyond the parameters (forward) and beyond the
    parameters and their gradients (backward). An estimate, not an exact count like cache_bytes: it
    adds to the cache the largest temporaries of the phase where the peak occurs (docs/memory.md):

    forward   the cache, plus the cross-entropy's row chunk (its shifted logits, ce_chunk_elements at
              most), or the last attention block's scores while its FFN and the head are not yet
              allocated, whichever is larger;
    backward  the whole cache plus the MLM head's (N, V) logit gradient and its decoder weight-gradient
              product, or, once the head's cache is freed, the rest of the cache plus the fused Q/K/V
              gradient buffers and the larger of the attention backward's (B, NH, T, T) temporaries
              (3, 4 with attention dropout: the probabilities' gradient before and after dropout, the
              softmax backward's product and its correction) and the FFN backward's (B, T, I) ones (3:
              the activation's input gradient and two factors of its derivative) or weight-gradient
              products (I x H).
    outputs_held: the caller keeps the forward's outputs (the logits) through the backward."""
    s = _itemsize(dtype)
    E, H, I, V, NH = cfg.embedding_size, cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_attention_heads
    BT, BNTT = B * T, B * NH * T * T
    c = cache_bytes(cfg, B, T, dtype, training, head, mlm_rows, head_mask)
    layer = layer_bytes(cfg, B, T, dtype, training, head_mask)
    C = c["total"]
    attn_drop = training and cfg.attention_probs_dropout_prob > 0
    head_part = sum(v for k, v in c.items() if k.startswith(("mlm.", "sop.", "pooler.")) or k == "loss")
    ffn_part = sum(v for k, v in layer.items() if k.startswith("ffn."))
    N = (BT if mlm_rows is None else mlm_rows) if head in ("mlm", "pretraining") else 0
    rows = min(N, max(1, ce_chunk_elements // V)) if N else 0
    hid_drop = training and cfg.hidden_dropout_prob > 0
    pooler = head in (None, "pretraining")
    fwd = max(C + s * rows * V,                                          # the head's last chunk
              C - head_part - ffn_part + s * BNTT + 2 * s * BT * H)       # the last attention block
    logits = s * N * V
    bwd_head = C + logits + s * V * E if N else 0
    # once the head's backward is done its cache goes (the logits too, unless the caller holds them); the
    # pooler's stays with the backbone's cache, and the gradient reaching the encoder (and the pooler's
    # copy of it) is held by the callers until the encoder's backward returns
    released = head_part - (logits if outputs_held else 0) - (c.get("pooler.out", 0))
    held = s * BT * H * (2 if pooler else 1)
    attn_t = s * ((4 if attn_drop else 3) * BNTT + (8 if hid_drop else 7) * BT * H + B * NH * T)
    ffn_t = s * max(3 * BT * I + (3 if hid_drop else 2) * BT * H, I * H + 2 * BT * I)
    packed_grads = attention_blocks(cfg) * s * 3 * H * (H + 1)
    bwd_layer = C - released + held + packed_grads + max(attn_t, ffn_t)
    return {"cache": C, "forward": fwd, "backward": max(bwd_head, bwd_layer)}


def _ce_bytes(s: int, N: int) -> int:
    """The cross-entropy's cache besides the logits: per row the max and the log-sum-exp (s each), the
    labels with ignored ones zeroed (int64) and the counted-row mask (bool); the count (0-d int64)."""
    return 2 * s * N + _INT * N + N + _INT


def param_bytes(model) -> int:
    """Bytes of a model's parameters (its gradients take as many once backward() has run)."""
    return sum(int(p.nbytes) for p in model.params.values())
