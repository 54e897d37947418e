"""The backbone's parameters: their HF state-dict names and shapes, which layer runs which shared
block (the HF group rule, paper §3.1), and the one mapping from HF names to the ops' short keys.

Shapes use the letters defined in config.py (B, T, V, E, H, I, NH, HS, L, G).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..config import AlbertConfig



def sublayer_prefixes(cfg: AlbertConfig, i: int, j: int, prefix: str) -> Tuple[str, str]:
    """Parameter-name prefixes of the attention and FFN halves of inner layer j
    as run by layer i.

    HF's rule picks the group: int(i / (L / G)). With share_type 'all' (ALBERT,
    paper §3.1) both halves belong to that group. The albert_pytorch variants
    unshare one half or both; an unshared half of layer i is stored as if
    layer i had a group of its own (group index i), so names stay HF-shaped.
    """
    g = cfg.group_of_layer(i)
    g_attn = g if cfg.share_type in ("all", "attention") else i
    g_ffn = g if cfg.share_type in ("all", "ffn") else i
    base = prefix + "encoder.albert_layer_groups.{}.albert_layers.%d." % j
    return base.format(g_attn) + "attention.", base.format(g_ffn)


# The ops take short keys; these say which HF tensor each key is (the one place this is spelled out).
# Q, K and V are fused into one (3H, H) matrix 'wqkv' (see ops/attention.py).
QKV_NAMES = ("query", "key", "value")
ATTN_KEYS = {"wo": "dense.weight", "bo": "dense.bias", "ln_w": "LayerNorm.weight", "ln_b": "LayerNorm.bias"}
FFN_KEYS = {"w1": "ffn.weight", "b1": "ffn.bias", "w2": "ffn_output.weight", "b2": "ffn_output.bias",
            "ln_w": "full_layer_layer_norm.weight", "ln_b": "full_layer_layer_norm.bias"}
# HF's names of one inner layer's tensors, in HF's order (the attention half, then the FFN half).
ATTN_NAMES = tuple(f"{n}.{wb}" for n in QKV_NAMES for wb in ("weight", "bias")) + tuple(ATTN_KEYS.values())
FFN_NAMES = tuple(FFN_KEYS.values())


def backbone_specs(cfg: AlbertConfig, prefix: str, add_pooler: bool) -> List[Tuple[str, tuple, str]]:
    """(name, shape, init) for every parameter of the backbone.

    init: 'normal' (std initializer_range), 'zeros', 'ones', 'embedding'
    (normal with the padding row zeroed, as HF's padding_idx).
    """
    V, E, H, I = cfg.vocab_size, cfg.embedding_size, cfg.hidden_size, cfg.intermediate_size
    p = prefix
    zh = cfg.embedding_layout == "albert_zh"
    W = H if zh else E   # width of position/token-type embeddings and the embedding LayerNorm
    specs = [(p + "embeddings.word_embeddings.weight", (V, E), "embedding")]
    if cfg.zh_projection:
        specs.append((p + "embeddings.word_embeddings_2.weight", (H, E), "normal"))
    specs += [
        (p + "embeddings.position_embeddings.weight", (cfg.max_position_embeddings, W), "normal"),
        (p + "embeddings.token_type_embeddings.weight", (cfg.type_vocab_size, W), "normal"),
        (p + "embeddings.LayerNorm.weight", (W,), "ones"),
        (p + "embeddings.LayerNorm.bias", (W,), "zeros"),
    ]
    if not zh:  # the factorised projection E -> H (paper §3.1)
        specs += [(p + "encoder.embedding_hidden_mapping_in.weight", (H, E), "normal"),
                  (p + "encoder.embedding_hidden_mapping_in.bias", (H,), "zeros")]
    attn_shapes = [(H, H), (H,)] * 4 + [(H,), (H,)]
    ffn_shapes = [(I, H), (I,), (H, I), (H,), (H,), (H,)]
    seen = set()
    for i in range(cfg.num_hidden_layers):
        for j in range(cfg.inner_group_num):
            pa, pf = sublayer_prefixes(cfg, i, j, p)
            for pre, names, shapes in ((pa, ATTN_NAMES, attn_shapes), (pf, FFN_NAMES, ffn_shapes)):
                if pre + names[0] in seen:
                    continue  # a shared half: already listed by an earlier layer
                for n, s in zip(names, shapes):
                    init = "ones" if n.endswith("norm.weight") or n.endswith("LayerNorm.weight") else \
                        "zeros" if n.endswith("bias") else "normal"
                    specs.append((pre + n, s, init))
                    seen.add(pre + n)
    if add_pooler:
        specs += [(p + "pooler.weight", (H, H), "normal"), (p + "pooler.bias", (H,), "zeros")]
    return specs


def count_parameters(cfg: AlbertConfig, add_pooler: bool = True, mapping: Optional[bool] = None) -> int:
    """Number of backbone parameters, from shapes alone (no arrays are made).

    mapping: count the E->H projection. HF's model always has it; Google's code
    (and the paper's counts) only when E != H. Default: HF's structure.
    """
    n = 0
    for name, shape, _ in backbone_specs(cfg, "", add_pooler):
        if mapping is False and "embedding_hidden_mapping_in" in name:
            continue
        size = 1
        for d in shape:
            size *= d
        n += size
    return n


def attention_view(D: Dict[str, object], pa: str) -> Dict[str, object]:
    """The attention block at prefix `pa` of D (parameters or gradients) under the op's keys,
    without the fused Q/K/V (which the caller builds: a concatenation, or a fresh gradient buffer)."""
    return {k: D[pa + n] for k, n in ATTN_KEYS.items()}


def ffn_view(D: Dict[str, object], pf: str) -> Dict[str, object]:
    """The feed-forward block at prefix `pf` of D (parameters or gradients) under the op's keys."""
    return {k: D[pf + n] for k, n in FFN_KEYS.items()}
