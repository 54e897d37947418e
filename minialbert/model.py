"""The ALBERT backbone (embeddings, factorised projection, shared transformer,
pooler) and the base class every model shares.

Parameters live in one flat dict keyed by Hugging Face's state-dict names, in
HF's (out, in) layout; gradients live in a second dict with the same keys. The
forward pass keeps one cache per *application* of a layer (a shared layer runs
L times, so it has L caches), and the backward pass walks them in reverse,
adding into the shared gradient buffers.

Shapes use the letters defined in config.py (B, T, V, E, H, I, NH, HS, L, G).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from . import backend
from .config import AlbertConfig
from .ops import (attention_backward, attention_forward, attention_mask_bias, dropout_backward,
                  dropout_forward, embedding_backward, embedding_forward, feedforward_backward,
                  feedforward_forward, layernorm_backward, layernorm_forward, linear_backward,
                  linear_forward)
from .ops.activations import tanh_backward, tanh_forward
from .outputs import ModelOutput

# ----------------------------------------------------------------------------- names


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


ATTN_NAMES = ("query.weight", "query.bias", "key.weight", "key.bias", "value.weight", "value.bias",
              "dense.weight", "dense.bias", "LayerNorm.weight", "LayerNorm.bias")
FFN_NAMES = ("ffn.weight", "ffn.bias", "ffn_output.weight", "ffn_output.bias",
             "full_layer_layer_norm.weight", "full_layer_layer_norm.bias")


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


# ----------------------------------------------------------------------------- base class


class LayerCache(NamedTuple):
    """What one application of a (shared) ALBERT layer saved for its backward pass."""
    layer: int          # i, the layer position 0..L-1
    inner: int          # j, the inner layer of its group
    attn_prefix: str    # state-dict prefix of the attention block it ran
    ffn_prefix: str     # state-dict prefix of the feed-forward block it ran
    ffn_params: dict
    attention: Any      # attention_forward's cache
    ffn: Any            # feedforward_forward's cache


class BackboneCache(NamedTuple):
    """Everything the backbone's forward pass saved, one LayerCache per applied layer."""
    shape: Tuple[int, int]
    word: Any
    word2: Any
    token_type: Any
    emb_ln: Any
    emb_dropout: Any
    mapping: Any
    packed: Dict[str, dict]          # fused attention weights, one entry per distinct attention block
    layer_caches: List[LayerCache]
    pooler: Any


class AlbertPreTrainedModel:
    """State (params, grads, caches) and the backbone's forward/backward."""

    base_prefix = "albert."   # where the backbone's names start in this class's state dict
    add_pooler = True

    def __init__(self, config: AlbertConfig, seed: Optional[int] = 0, dtype="float32", device="cpu"):
        self.config = config
        self.dtype = backend.resolve_dtype(dtype)
        self.device = backend.normalize_device(device)
        self.xp = backend.get_xp(self.device)
        self.training = False
        self._rng = backend.device_rng(self.xp, seed)
        self._cache = None
        self._grads: Optional[Dict[str, object]] = None
        self.trace: Optional[Dict[str, object]] = None
        self.trace_grads: Optional[Dict[str, object]] = None
        self.params: Dict[str, object] = OrderedDict()
        rng = backend.host_rng(seed)
        for name, shape, init in self.param_specs():
            if init in ("normal", "embedding"):
                a = rng.normal(0.0, config.initializer_range, size=shape)
                if init == "embedding" and 0 <= config.pad_token_id < shape[0]:
                    a[config.pad_token_id] = 0.0
            elif init == "ones":
                a = backend.numpy.ones(shape)
            else:
                a = backend.numpy.zeros(shape)
            self.params[name] = self.xp.asarray(a.astype(self.dtype))

    # -- what each class declares -------------------------------------------------
    def head_specs(self) -> List[Tuple[str, tuple, str]]:
        return []

    def tied_aliases(self) -> Dict[str, str]:
        """HF state-dict names that are the same tensor as another parameter."""
        return {}

    def param_specs(self):
        return backbone_specs(self.config, self.base_prefix, self.add_pooler) + self.head_specs()

    # -- state ---------------------------------------------------------------------
    def state_dict(self) -> Dict[str, object]:
        """{HF name: array}, tied aliases included (the same array under both names)."""
        sd = OrderedDict(self.params)
        for alias, target in self.tied_aliases().items():
            sd[alias] = self.params[target]
        return sd

    def grads(self) -> Dict[str, object]:
        """{HF name: gradient} for every parameter (a tied weight once, holding the sum)."""
        if self._grads is None:
            raise RuntimeError("no gradients yet: run a forward pass with labels, then backward()")
        return self._grads

    def zero_grad(self):
        self._grads = None

    def num_parameters(self) -> int:
        return sum(int(p.size) for p in self.params.values())

    def manual_seed(self, seed: int):
        """Reseed the dropout generator (the same seed gives the same masks)."""
        self._rng = backend.device_rng(self.xp, seed)
        return self

    def train(self, mode: bool = True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, device=None, dtype=None):
        """Move every parameter (and gradient) to 'cpu' or 'cuda', and/or cast."""
        device = backend.normalize_device(device or self.device)
        xp = backend.get_xp(device)
        dtype = backend.resolve_dtype(dtype) if dtype is not None else self.dtype

        def move(a):
            return backend.to_device(a, device).astype(dtype, copy=False)
        self.params = OrderedDict((k, move(v)) for k, v in self.params.items())
        if self._grads is not None:
            self._grads = OrderedDict((k, move(v)) for k, v in self._grads.items())
        if device != self.device:
            self._rng = backend.device_rng(xp, int(backend.host_rng().integers(2**31)))
        self.device, self.xp, self.dtype = device, xp, dtype
        self._cache = None
        return self

    def _ensure_grads(self):
        if self._grads is None:
            self._grads = OrderedDict((k, self.xp.zeros_like(v)) for k, v in self.params.items())
        return self._grads

    # -- input checks --------------------------------------------------------------
    def _as_ids(self, a, name, ndim=2):
        if a is None:
            return None
        xp = self.xp
        a = backend.to_device(backend.numpy.asarray(backend.to_numpy(a)), self.device)
        if a.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
        if a.ndim == 1 and ndim == 2:
            a = a[None, :]
        if a.ndim != ndim:
            raise ValueError(f"{name} must have shape {'(batch, seq)' if ndim == 2 else '(batch, choices, seq)'}, "
                             f"got {tuple(a.shape)}")
        return a.astype(xp.int64, copy=False)

    def _check_inputs(self, input_ids, attention_mask, token_type_ids):
        cfg = self.config
        B, T = input_ids.shape
        if T > cfg.max_position_embeddings:
            raise ValueError(f"input has {T} tokens but this model takes at most "
                             f"max_position_embeddings={cfg.max_position_embeddings}")
        if T == 0:
            raise ValueError("input_ids is empty")
        lo, hi = int(input_ids.min()), int(input_ids.max())
        if lo < 0 or hi >= cfg.vocab_size:
            raise ValueError(f"input_ids must lie in [0, {cfg.vocab_size}); found {lo if lo < 0 else hi}")
        for name, a in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if a is not None and a.shape != input_ids.shape:
                raise ValueError(f"{name} has shape {tuple(a.shape)}, input_ids {tuple(input_ids.shape)}")
        if token_type_ids is not None and token_type_ids.size:
            if int(token_type_ids.min()) < 0 or int(token_type_ids.max()) >= cfg.type_vocab_size:
                raise ValueError(f"token_type_ids must lie in [0, {cfg.type_vocab_size})")

    # -- the backbone --------------------------------------------------------------
    def _sublayer(self, i, j, packed):
        """Parameter dicts for the two halves of inner layer j as run by layer i."""
        P = self.params
        pa, pf = sublayer_prefixes(self.config, i, j, self.base_prefix)
        if pa not in packed:
            # Fuse Q, K, V into one (3H, H) matrix, once per forward pass per
            # shared attention block (not once per layer that uses it).
            xp = self.xp
            packed[pa] = {
                "wqkv": xp.concatenate([P[pa + "query.weight"], P[pa + "key.weight"], P[pa + "value.weight"]]),
                "bqkv": xp.concatenate([P[pa + "query.bias"], P[pa + "key.bias"], P[pa + "value.bias"]]),
                "wo": P[pa + "dense.weight"], "bo": P[pa + "dense.bias"],
                "ln_w": P[pa + "LayerNorm.weight"], "ln_b": P[pa + "LayerNorm.bias"],
            }
        fp = {"w1": P[pf + "ffn.weight"], "b1": P[pf + "ffn.bias"],
              "w2": P[pf + "ffn_output.weight"], "b2": P[pf + "ffn_output.bias"],
              "ln_w": P[pf + "full_layer_layer_norm.weight"], "ln_b": P[pf + "full_layer_layer_norm.bias"]}
        return pa, packed[pa], pf, fp

    def _backbone_forward(self, input_ids, attention_mask, token_type_ids, output_hidden_states=False,
                          output_attentions=False, trace=None):
        """input_ids (B, T) -> sequence (B, T, H), pooled (B, H) or None, cache, extras."""
        cfg, P, xp, p = self.config, self.params, self.xp, self.base_prefix
        B, T = input_ids.shape
        if attention_mask is None:
            attention_mask = xp.ones((B, T), dtype=xp.int64)
        if token_type_ids is None:
            token_type_ids = xp.zeros((B, T), dtype=xp.int64)
        pdrop = cfg.hidden_dropout_prob
        train = self.training

        # Embeddings: word + position + token type, then LayerNorm and dropout, all of width E
        # (albert_zh layout: the word vectors are projected E -> H first, the rest is width H).
        word, c_word = embedding_forward(input_ids, P[p + "embeddings.word_embeddings.weight"])   # (B, T, E)
        c_w2 = None
        if cfg.zh_projection:
            word, c_w2 = linear_forward(word, P[p + "embeddings.word_embeddings_2.weight"])        # (B, T, H)
        tt, c_tt = embedding_forward(token_type_ids, P[p + "embeddings.token_type_embeddings.weight"])
        pos = P[p + "embeddings.position_embeddings.weight"][:T]                              # (T, E)
        emb = word + tt
        emb += pos
        emb_ln, c_eln = layernorm_forward(emb, P[p + "embeddings.LayerNorm.weight"],
                                          P[p + "embeddings.LayerNorm.bias"], cfg.layer_norm_eps)
        emb_out, c_edrop = dropout_forward(emb_ln, pdrop, self._rng, train)
        if cfg.embedding_layout == "albert":
            # Factorised embedding (paper §3.1): V x E lookup, then one E -> H projection.
            h, c_map = linear_forward(emb_out, P[p + "encoder.embedding_hidden_mapping_in.weight"],
                                      P[p + "encoder.embedding_hidden_mapping_in.bias"])        # (B, T, H)
        else:
            h, c_map = emb_out, None
        if trace is not None:
            trace.update({"embeddings.word": word, "embeddings.sum": emb, "embeddings.out": emb_out,
                          "encoder.mapped": h})

        mask_bias = attention_mask_bias(attention_mask, self.dtype)                            # (B, 1, 1, T)
        packed: Dict[str, dict] = {}
        layer_caches = []
        hidden_states = [h] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for i in range(cfg.num_hidden_layers):
            for j in range(cfg.inner_group_num):
                k = i * cfg.inner_group_num + j
                pa, ap, pf, fp = self._sublayer(i, j, packed)
                ta = {} if (trace is not None or output_attentions) else None
                tf = {} if trace is not None else None
                h, ca = attention_forward(h, ap, mask_bias, cfg.num_attention_heads, cfg.layer_norm_eps,
                                          cfg.ln_type, cfg.attention_probs_dropout_prob, pdrop,
                                          self._rng, train, ta)
                h, cf = feedforward_forward(h, fp, cfg.hidden_act, cfg.layer_norm_eps, cfg.ln_type,
                                            pdrop, self._rng, train, tf)
                layer_caches.append(LayerCache(i, j, pa, pf, fp, ca, cf))
                if output_attentions:
                    attentions.append(ta["probs"])
                if output_hidden_states:  # one per applied ALBERT layer, as HF (transformers 5)
                    hidden_states.append(h)
                if trace is not None:
                    trace.update({f"layer.{k}.attention.{n}": a for n, a in ta.items()})
                    trace.update({f"layer.{k}.ffn.{n}": a for n, a in tf.items()})
        seq = h
        pooled, c_pool = None, None
        if self.add_pooler:
            # Pooler: tanh(W h_[CLS] + b), the input of the sentence-level heads.
            z, c_plin = linear_forward(seq[:, 0], P[p + "pooler.weight"], P[p + "pooler.bias"])
            pooled, c_tanh = tanh_forward(z)
            c_pool = (c_plin, c_tanh)
        if trace is not None:
            trace["last_hidden_state"] = seq
            if pooled is not None:
                trace["pooler_output"] = pooled
        cache = BackboneCache(input_ids.shape, c_word, c_w2, c_tt, c_eln, c_edrop, c_map, packed, layer_caches, c_pool)
        return seq, pooled, cache, hidden_states, attentions

    def _backbone_backward(self, dseq, dpooled, cache, tgrads=None):
        """Gradients of the backbone, added into self._grads."""
        cfg, G, p = self.config, self._ensure_grads(), self.base_prefix
        xp = self.xp
        (B, T), c_word, c_w2, c_tt, c_eln, c_edrop, c_map, packed, layer_caches, c_pool = cache
        dh = dseq if dseq is not None else None
        if dpooled is not None:
            c_plin, c_tanh = c_pool
            dz = tanh_backward(dpooled, c_tanh)
            dcls = linear_backward(dz, c_plin, G[p + "pooler.weight"], G[p + "pooler.bias"])
            dh = xp.zeros((B, T, cfg.hidden_size), dtype=self.dtype) if dh is None else dh.copy()
            dh[:, 0] += dcls
        if tgrads is not None:
            tgrads["last_hidden_state"] = dh

        # Packed (3H, H) gradient buffers for each fused Q/K/V block.
        gpacked = {pa: {"wqkv": xp.zeros_like(ap["wqkv"]), "bqkv": xp.zeros_like(ap["bqkv"]),
                        "wo": G[pa + "dense.weight"], "bo": G[pa + "dense.bias"],
                        "ln_w": G[pa + "LayerNorm.weight"], "ln_b": G[pa + "LayerNorm.bias"]}
                   for pa, ap in packed.items()}
        # Walk the layer applications in reverse. A shared block's buffers in
        # gpacked[pa] / G[pf + ...] are the same arrays for every layer that ran
        # it, so each backward call below *adds* that layer's contribution:
        # this += is the sum over layers that cross-layer sharing requires.
        for i, j, pa, pf, fp, ca, cf in reversed(layer_caches):
            k = i * cfg.inner_group_num + j
            gf = {"w1": G[pf + "ffn.weight"], "b1": G[pf + "ffn.bias"],
                  "w2": G[pf + "ffn_output.weight"], "b2": G[pf + "ffn_output.bias"],
                  "ln_w": G[pf + "full_layer_layer_norm.weight"], "ln_b": G[pf + "full_layer_layer_norm.bias"]}
            tf = {} if tgrads is not None else None
            ta = {} if tgrads is not None else None
            if tgrads is not None:
                tgrads[f"layer.{k}.ffn.y"] = dh
            dh = feedforward_backward(dh, cf, fp, gf, tf)
            if tgrads is not None:
                tgrads[f"layer.{k}.attention.y"] = dh
            dh = attention_backward(dh, ca, packed[pa], gpacked[pa], ta)
            if tgrads is not None:
                tgrads.update({f"layer.{k}.ffn.{n}": a for n, a in tf.items()})
                tgrads.update({f"layer.{k}.attention.{n}": a for n, a in ta.items()})
        # Unpack the fused Q/K/V gradients into HF's three names.
        H = cfg.hidden_size
        for pa, gp in gpacked.items():
            for idx, n in enumerate(("query", "key", "value")):
                G[pa + n + ".weight"] += gp["wqkv"][idx * H:(idx + 1) * H]
                G[pa + n + ".bias"] += gp["bqkv"][idx * H:(idx + 1) * H]
        if tgrads is not None:
            tgrads["encoder.mapped"] = dh
        if c_map is not None:
            demb = linear_backward(dh, c_map, G[p + "encoder.embedding_hidden_mapping_in.weight"],
                                   G[p + "encoder.embedding_hidden_mapping_in.bias"])
        else:
            demb = dh
        if tgrads is not None:
            tgrads["embeddings.out"] = demb
        demb = dropout_backward(demb, c_edrop)
        demb = layernorm_backward(demb, c_eln, G[p + "embeddings.LayerNorm.weight"],
                                  G[p + "embeddings.LayerNorm.bias"])
        if tgrads is not None:
            tgrads["embeddings.sum"] = demb
        G[p + "embeddings.position_embeddings.weight"][:T] += demb.sum(axis=0)
        embedding_backward(demb, c_tt, G[p + "embeddings.token_type_embeddings.weight"])
        # HF's word embedding has padding_idx=pad_token_id: the lookup sends no
        # gradient to the padding row (the tied MLM decoder still does).
        if c_w2 is not None:
            demb = linear_backward(demb, c_w2, G[p + "embeddings.word_embeddings_2.weight"])
        ids = c_word[0]
        demb_words = demb * (ids != cfg.pad_token_id)[..., None] if 0 <= cfg.pad_token_id < cfg.vocab_size else demb
        embedding_backward(demb_words, c_word, G[p + "embeddings.word_embeddings.weight"])

    # -- the public forward/backward ----------------------------------------------
    def __call__(self, input_ids, attention_mask=None, token_type_ids=None, output_hidden_states=False,
                 output_attentions=False, trace=False, **labels):
        return self.forward(input_ids, attention_mask, token_type_ids, output_hidden_states=output_hidden_states,
                            output_attentions=output_attentions, trace=trace, **labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_hidden_states=False,
                output_attentions=False, trace=False, **labels):
        ids = self._as_ids(input_ids, "input_ids", self.input_ndim)
        am = self._as_ids(attention_mask, "attention_mask", self.input_ndim)
        tt = self._as_ids(token_type_ids, "token_type_ids", self.input_ndim)
        ids2, am2, tt2 = ids, am, tt
        if self.input_ndim == 3:  # multiple choice: fold the choices into the batch
            ids2 = ids.reshape(-1, ids.shape[-1])
            am2 = am.reshape(-1, am.shape[-1]) if am is not None else None
            tt2 = tt.reshape(-1, tt.shape[-1]) if tt is not None else None
        self._check_inputs(ids2, am2, tt2)
        unknown = set(labels) - set(self.label_names)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected label argument(s) {sorted(unknown)}; "
                            f"it takes {list(self.label_names) or 'none'}")
        tr = {} if trace else None
        seq, pooled, bcache, hs, att = self._backbone_forward(ids2, am2, tt2, output_hidden_states,
                                                              output_attentions, tr)
        out = ModelOutput()
        out, hcache = self._head_forward(out, seq, pooled, ids.shape, labels, tr)
        if output_hidden_states:
            out["hidden_states"] = tuple(hs)
        if output_attentions:
            out["attentions"] = tuple(att)
        self._cache = (bcache, hcache, "loss" in out)
        self.trace = tr
        self.trace_grads = None
        return out

    @property
    def backbone_cache(self) -> Optional[BackboneCache]:
        """The BackboneCache of the last forward pass (what backward() will use), or None."""
        return None if self._cache is None else self._cache[0]

    def backward(self, **upstream):
        """Gradients of the last forward pass's loss (or, with no loss, of
        sum(output * upstream) for the upstream arrays given by output name),
        added into self.grads(). Call zero_grad() to start afresh."""
        if self._cache is None:
            raise RuntimeError("backward() needs a forward pass first")
        bcache, hcache, has_loss = self._cache
        if not has_loss and not upstream:
            raise RuntimeError("the last forward pass had no labels, so there is no loss to differentiate; "
                               "pass labels, or upstream gradients by output name")
        up = {k: backend.to_device(backend.numpy.asarray(backend.to_numpy(v)), self.device).astype(self.dtype)
              for k, v in upstream.items()}
        tg = {} if self.trace is not None else None
        self._ensure_grads()
        dseq, dpooled = self._head_backward(hcache, up, tg)
        self._backbone_backward(dseq, dpooled, bcache, tg)
        self.trace_grads = tg
        return self

    # -- defaults for the backbone alone; heads override ---------------------------
    input_ndim = 2
    label_names: Tuple[str, ...] = ()

    def _head_forward(self, out, seq, pooled, shape, labels, trace):
        out["last_hidden_state"] = seq
        out["pooler_output"] = pooled
        return out, None

    def _head_backward(self, hcache, up, tgrads):
        unknown = set(up) - {"last_hidden_state", "pooler_output"}
        if unknown:
            raise TypeError(f"unknown upstream gradient(s) {sorted(unknown)}")
        return up.get("last_hidden_state"), up.get("pooler_output")

    # -- files -------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path, dtype="float32", device="cpu", **config_overrides):
        from .checkpoint import load_pretrained
        return load_pretrained(cls, path, dtype=dtype, device=device, **config_overrides)

    def save_pretrained(self, path, dtype=None):
        from .checkpoint import save_pretrained
        save_pretrained(self, path, dtype=dtype)

    def load_state_dict(self, state: Dict[str, object], strict: bool = True):
        from .checkpoint import load_state_dict_into
        load_state_dict_into(self, state, strict=strict)
        return self

    def save_trace(self, path):
        """Every named activation (and, after backward(), its gradient) to one .npz:
        keys 'act/<name>' and 'grad/<name>' (see docs in trace.py)."""
        from .trace import save_trace
        save_trace(self, path)

    def __repr__(self):
        c = self.config
        return (f"{type(self).__name__}(L={c.num_hidden_layers}, G={c.num_hidden_groups}, "
                f"inner={c.inner_group_num}, E={c.embedding_size}, H={c.hidden_size}, "
                f"NH={c.num_attention_heads}, I={c.intermediate_size}, V={c.vocab_size}, "
                f"share={c.share_type}, ln={c.ln_type}, params={self.num_parameters():,}, "
                f"dtype={self.dtype.name}, device={self.device})")


class AlbertModel(AlbertPreTrainedModel):
    """The bare backbone. Its own state dict has no 'albert.' prefix, as in HF."""
    base_prefix = ""

    def __init__(self, config, seed=0, dtype="float32", device="cpu", add_pooling_layer=True):
        self.add_pooler = add_pooling_layer
        super().__init__(config, seed=seed, dtype=dtype, device=device)
