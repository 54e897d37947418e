"""The base class every ALBERT model shares: parameters, gradients and caches (state), and the
dispatch from ``forward``/``backward`` to the backbone's pairs (backbone.py) and the head's.

Parameters live in one flat dict keyed by Hugging Face's state-dict names, in HF's (out, in)
layout; gradients live in a second dict with the same keys. The forward pass keeps one cache per
*application* of a layer (a shared layer runs L times, so it has L caches), and the backward pass
walks them in reverse, adding into the shared gradient buffers.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .. import backend
from ..config import AlbertConfig
from ..hub import resolve
from ..io import load_pretrained, load_state_dict_into, save_pretrained
from .backbone import (EmbeddingsCache, EncoderCache, PoolerCache, embeddings_backward, embeddings_forward,
                       encoder_backward, encoder_forward, pooler_backward, pooler_forward)
from ..outputs import ModelOutput
from .params import backbone_specs
from .trace import backbone_trace, save_trace


class BackboneCache(NamedTuple):
    """Everything the backbone's forward pass saved."""
    embeddings: EmbeddingsCache
    encoder: EncoderCache          # .layers: one LayerCache per applied layer
    pooler: Optional[PoolerCache]


class AlbertPreTrainedModel:
    """State (params, grads, caches) and the backbone's forward/backward."""

    base_prefix = "albert."   # where the backbone's names start in this class's state dict
    add_pooler = True

    def __init__(self, config: AlbertConfig, seed: Optional[int] = 0, dtype="float32", device="cpu",
                 init: bool = True):
        """init=False makes no arrays yet (from_pretrained checks the checkpoint's names and shapes
        first, copies its tensors, then initialises only what it lacks: init_missing)."""
        self.config = config
        self._seed = seed
        self.precision = backend.resolve_precision(dtype)   # 'float32', 'float64', 'float16' or 'bfloat16'
        self.dtype = backend.resolve_dtype(dtype)           # what arrays are stored in (bfloat16: float32)
        self.device = backend.normalize_device(device)     # 'cpu', 'cuda' or 'cuda:N' (the index kept)
        self.xp = backend.get_xp(self.device)
        backend.use_device(self.device)                     # cuda:N: N is current (the generator lives there)
        self.training = False
        self._rng = backend.device_rng(self.xp, seed)
        self._cache = None
        self._grads: Optional[Dict[str, object]] = None
        self.trace: Optional[Dict[str, object]] = None
        self.trace_grads: Optional[Dict[str, object]] = None
        self.params: Dict[str, object] = OrderedDict()
        if init:
            self.init_missing()

    def init_missing(self):
        """HF's initialisation for every parameter not yet in self.params (all of them for a new model):
        N(0, initializer_range) weights, zero biases, unit LayerNorm scales, a zero padding row. The
        random draws follow the spec order, so a parameter gets the same values whether or not the
        others were loaded; they are drawn in row chunks (at most 8 Mi numbers in float64 at a time)
        and stored in the target dtype."""
        rng = backend.host_rng(self._seed)
        np_ = backend.numpy
        for name, shape, init in self.param_specs():
            present = name in self.params
            if init in ("normal", "embedding"):
                rows = shape[0] if len(shape) > 1 else 1
                per_row = int(np_.prod(shape)) // max(rows, 1)
                step = max(1, (8 << 20) // max(per_row, 1))
                a = None if present else np_.empty(shape, dtype=self.dtype)
                flat = a.reshape(rows, -1) if a is not None else None
                for r in range(0, rows, step):
                    n = min(step, rows - r)
                    chunk = rng.normal(0.0, self.config.initializer_range, size=(n, per_row))
                    if flat is not None:
                        flat[r:r + n] = chunk
                if present:
                    continue
                if init == "embedding" and 0 <= self.config.pad_token_id < shape[0]:
                    a[self.config.pad_token_id] = 0.0
            elif present:
                continue
            elif init == "ones":
                a = np_.ones(shape, dtype=self.dtype)
            else:
                a = np_.zeros(shape, dtype=self.dtype)
            self.params[name] = backend.to_device(self._store(a), self.device)
        # the state dict's order: the specs' (loaded and new parameters interleave as the specs say), set
        # in place: whatever holds self.params (an optimiser built before) keeps seeing the model's dict
        for n, _, _ in self.param_specs():
            self.params.move_to_end(n)
        return self

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
        """Reseed the dropout generator (the same seed gives the same masks). On CUDA the model's one
        generator is re-seeded in place (backend.DeviceRNG), not rebuilt."""
        self._rng = backend.reseed(self._rng, self.xp, seed)
        return self

    def train(self, mode: bool = True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, device=None, dtype=None):
        """Move every parameter (and gradient) to 'cpu', 'cuda' or 'cuda:N' (also -1 / N as HF's pipeline
        takes them), and/or cast. In place: the same dicts hold the moved arrays."""
        device = backend.normalize_device(self.device if device is None else device)
        xp = backend.get_xp(device)
        backend.use_device(device)
        precision = backend.resolve_precision(dtype) if dtype is not None else self.precision
        dtype = backend.resolve_dtype(precision)
        grad_dtype = backend.numpy.float32 if precision in backend.LOW_PRECISIONS else dtype

        def move(a, to, rnd):
            a = backend.to_device(a, device).astype(to, copy=False)
            return backend.round_bfloat16(a) if rnd else a
        # In place: the same dict objects get the moved arrays, so whatever holds them (an optimizer
        # built before .to(), a pipeline) sees the new arrays rather than keeping the old ones.
        to_bf16 = precision == "bfloat16" and self.precision != "bfloat16"    # values to round once
        for store, to, rnd in ((self.params, dtype, to_bf16), (self._grads, grad_dtype, False)):
            if store is not None:
                for k in list(store):
                    store[k] = move(store[k], to, rnd)
        if device != self.device:
            # A generator on the new device, seeded from the model's seed (as if the model had been
            # built there): two identical models moved the same way draw the same dropout masks.
            self._rng = backend.device_rng(xp, self._seed)
        self.device, self.xp, self.dtype, self.precision = device, xp, dtype, precision
        self._cache = None
        return self

    def forget_cache(self):
        """Drop the last forward pass's activations (after new weights are loaded, they are stale)."""
        self._cache = None
        self._consumed = False

    @property
    def grad_dtype(self):
        """The gradient buffers' dtype: float32 for a float16 / bfloat16 model (gradients of a weight shared
        by L layers add up in float32), else the parameters' own."""
        return backend.numpy.dtype(backend.numpy.float32) if self.precision in backend.LOW_PRECISIONS else self.dtype

    def _store(self, a):
        """An array in the model's storage precision: bfloat16 rounds (backend.round_bfloat16); else a itself."""
        return backend.round_bfloat16(a) if self.precision == "bfloat16" else a

    def round_params_(self):
        """Round every parameter to the model's precision in place (a no-op except for bfloat16, whose
        float32 arrays are set to bfloat16 values): after writing float32 values into self.params."""
        if self.precision == "bfloat16":
            for k, v in self.params.items():
                v[...] = backend.round_bfloat16(v)
        return self

    def _ensure_grads(self):
        if self._grads is None:
            if self.grad_dtype != self.dtype:
                self._grads = OrderedDict((k, self.xp.zeros(v.shape, dtype=self.grad_dtype))
                                          for k, v in self.params.items())
            else:
                self._grads = OrderedDict((k, self.xp.zeros_like(v)) for k, v in self.params.items())
        return self._grads

    # -- input checks --------------------------------------------------------------
    # Integer inputs are checked on the host and copied to the device once (_upload): no device sync.
    def _host_ids(self, a, name, ndim=2):
        """An integer input as a host (numpy) int64 array; a device array is copied to the host once."""
        if a is None:
            return None
        np_ = backend.numpy
        a = np_.asarray(backend.to_numpy(a))
        if a.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
        if a.ndim == 1 and ndim == 2:
            a = a[None, :]
        if a.ndim != ndim:
            raise ValueError(f"{name} must have shape {'(batch, seq)' if ndim == 2 else '(batch, choices, seq)'}, "
                             f"got {tuple(a.shape)}")
        return a.astype(np_.int64, copy=False)

    def _upload(self, a):
        """A checked host array -> the model's device (numpy: the same array)."""
        return None if a is None else backend.to_device(a, self.device)

    def _as_embeds(self, a, ndim=2):
        """inputs_embeds -> (B, T, E) (or (B, C, T, E) for multiple choice) in the model's dtype, or None."""
        if a is None:
            return None
        a = backend.to_device(a, self.device)           # host data: one copy; a device array: none
        if a.dtype.kind != "f":
            raise TypeError(f"inputs_embeds must hold floats, got dtype {a.dtype}")
        E = self.params[self.base_prefix + "embeddings.word_embeddings.weight"].shape[1]
        if a.ndim == ndim:
            a = a[None]
        if a.ndim != ndim + 1 or a.shape[-1] != E:
            lead = "(batch, seq" if ndim == 2 else "(batch, choices, seq"
            raise ValueError(f"inputs_embeds must have shape {lead}, embedding_size={E}), got {tuple(a.shape)}")
        return self._store(a.astype(self.dtype, copy=False))

    def _as_head_mask(self, head_mask):
        """head_mask (NH,) or (L * inner_group_num, NH) -> (L * inner_group_num, NH) in the model's dtype,
        or None."""
        if head_mask is None:
            return None
        cfg, xp = self.config, self.xp
        n, NH = cfg.num_hidden_layers * cfg.inner_group_num, cfg.num_attention_heads
        a = backend.to_device(head_mask, self.device)   # host data: one copy; a device array: none
        if a.dtype.kind not in "biuf":
            raise TypeError(f"head_mask must hold numbers, got dtype {a.dtype}")
        if a.shape == (NH,):
            a = xp.broadcast_to(a, (n, NH))
        elif a.shape != (n, NH):
            raise ValueError(f"head_mask must have shape (num_attention_heads,) = ({NH},) or (applied layers, "
                             f"num_attention_heads) = ({n}, {NH}); got {a.shape}")
        return self._store(xp.ascontiguousarray(a, dtype=self.dtype))

    def _check_inputs(self, input_ids, attention_mask, token_type_ids, position_ids=None, shape=None):
        """shape: (B, T) when input_ids is None (inputs_embeds were given). The integer inputs are host
        arrays (_host_ids): their ranges are read without touching the device."""
        cfg = self.config
        B, T = input_ids.shape if input_ids is not None else shape
        if T > cfg.max_position_embeddings and position_ids is None:
            raise ValueError(f"input has {T} tokens but this model takes at most "
                             f"max_position_embeddings={cfg.max_position_embeddings}")
        if T == 0:
            raise ValueError("input_ids is empty" if input_ids is not None else "inputs_embeds is empty")
        if input_ids is not None:
            lo, hi = int(input_ids.min()), int(input_ids.max())
            if lo < 0 or hi >= cfg.vocab_size:
                raise ValueError(f"input_ids must lie in [0, {cfg.vocab_size}); found {lo if lo < 0 else hi}")
        for name, a in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if a is not None and a.shape != (B, T):
                raise ValueError(f"{name} has shape {tuple(a.shape)}, the input {(B, T)}")
        if position_ids is not None:
            if position_ids.shape not in ((B, T), (1, T)):
                raise ValueError(f"position_ids must have shape (batch, seq) = {(B, T)} or (1, seq) = {(1, T)}, "
                                 f"got {tuple(position_ids.shape)}")
            lo, hi = int(position_ids.min()), int(position_ids.max())
            if lo < 0 or hi >= cfg.max_position_embeddings:
                raise ValueError(f"position_ids must lie in [0, {cfg.max_position_embeddings}) "
                                 f"(max_position_embeddings); found {lo if lo < 0 else hi}")
        if token_type_ids is not None and token_type_ids.size:
            if int(token_type_ids.min()) < 0 or int(token_type_ids.max()) >= cfg.type_vocab_size:
                raise ValueError(f"token_type_ids must lie in [0, {cfg.type_vocab_size})")

    # -- the public forward/backward ----------------------------------------------
    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                 inputs_embeds=None, output_hidden_states=False, output_attentions=False, trace=False, **labels):
        return self.forward(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                            output_hidden_states=output_hidden_states, output_attentions=output_attentions,
                            trace=trace, **labels)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, output_hidden_states=False, output_attentions=False, trace=False, **labels):
        """The arguments of HF's ALBERT models, with HF's meaning:

        input_ids (B, T) ints, or inputs_embeds (B, T, E) floats used instead of the word lookup (exactly
        one of the two; multiple choice: (B, C, T) and (B, C, T, E)); attention_mask and token_type_ids
        (B, T); position_ids (B, T) or (1, T), the rows of the position table (default 0..T-1);
        head_mask (NH,) for every layer, or (L * inner_group_num, NH) with one row per applied layer
        k = i * inner_group_num + j (as the attentions output counts them): head h's attention
        probabilities (after dropout) are multiplied by head_mask[k, h], 0 silencing the head. (HF 4's
        ALBERT indexed the rows of a 2-D mask by group, so with shared layers its rows differ; a 1-D mask
        means the same in both. transformers 5 dropped head_mask.) After backward(),
        inputs_embeds_grad() and head_mask_grad() hold the gradients with respect to these inputs."""
        with backend.storage_rounding(self.precision):      # bfloat16: the ops round what they store
            return self._forward(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                                 output_hidden_states, output_attentions, trace, **labels)

    def _forward(self, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                 output_hidden_states, output_attentions, trace, **labels):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids or inputs_embeds")
        backend.use_device(self.device)      # cuda:N: make N current (cupy works on the current device)
        nd = self.input_ndim
        ids = self._host_ids(input_ids, "input_ids", nd)                          # host int64 arrays, checked
        emb = self._as_embeds(inputs_embeds, nd)                                   # on the device
        shape = tuple(ids.shape) if ids is not None else tuple(emb.shape[:-1])        # (B, T) or (B, C, T)
        am = self._host_ids(attention_mask, "attention_mask", nd)
        tt = self._host_ids(token_type_ids, "token_type_ids", nd)
        pnd = 3 if nd == 3 and position_ids is not None and len(backend.shape_of(position_ids)) == 3 else 2
        pos = self._host_ids(position_ids, "position_ids", pnd)
        hm = self._as_head_mask(head_mask)                                         # (L * inner, NH) or None
        ids2, am2, tt2, pos2, emb2 = ids, am, tt, pos, emb
        if nd == 3:  # multiple choice: fold the choices into the batch
            ids2 = ids.reshape(-1, ids.shape[-1]) if ids is not None else None
            emb2 = emb.reshape((-1,) + emb.shape[-2:]) if emb is not None else None
            am2 = am.reshape(-1, am.shape[-1]) if am is not None else None
            tt2 = tt.reshape(-1, tt.shape[-1]) if tt is not None else None
            pos2 = pos.reshape(-1, pos.shape[-1]) if pos is not None else None
        self._check_inputs(ids2, am2, tt2, pos2, (shape[0] * shape[1], shape[2]) if nd == 3 else shape)
        unknown = set(labels) - set(self.label_names)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected label argument(s) {sorted(unknown)}; "
                            f"it takes {list(self.label_names) or 'none'}")
        # the last pass's activations (and its trace) go before this pass makes its own: two caches never
        # coexist (docs/memory.md)
        self._cache = self.trace = self.trace_grads = None
        self._consumed = False
        # the gradients with respect to the inputs (inputs_embeds_grad(), head_mask_grad()) start afresh
        E = self.params[self.base_prefix + "embeddings.word_embeddings.weight"].shape[1]
        hm_shape = None if head_mask is None else backend.shape_of(head_mask)
        self._call_grads = {"inputs_embeds": None, "head_mask": None}
        self._call_shapes = {"inputs_embeds": shape + (E,), "head_mask": hm_shape}
        seq, pooled, bcache = self._backbone_forward(ids2, am2, tt2, pos2, hm, emb2)
        tr = backbone_trace(bcache, self.params, self.base_prefix) if trace else None
        out = ModelOutput()
        out, hcache = self._head_forward(out, seq, pooled, shape, labels, tr)
        if output_hidden_states:   # one per applied ALBERT layer, as HF (transformers 5)
            out["hidden_states"] = (bcache.encoder.hidden,) + tuple(lc.y for lc in bcache.encoder.layers)
        if output_attentions:      # with a head mask: the masked probabilities, as HF 4
            out["attentions"] = tuple(lc.attention.probs if lc.attention.head_mask is None else
                                      lc.attention.probs * lc.attention.head_mask.reshape(1, -1, 1, 1)
                                      for lc in bcache.encoder.layers)
        self._cache = (bcache, hcache, "loss" in out)
        self.trace = tr
        self.trace_grads = None
        return out

    def _backbone_forward(self, input_ids, attention_mask, token_type_ids, position_ids=None, head_mask=None,
                          inputs_embeds=None):
        """input_ids (B, T) (or inputs_embeds (B, T, E)) -> seq (B, T, H), pooled (B, H) or None, BackboneCache.
        The integer inputs are host arrays (forward checked them): copied to the device here, once, and
        their host copies kept for the embedding backward's index planning (no device->host copy)."""
        cfg, P, xp, p, np_ = self.config, self.params, self.xp, self.base_prefix, backend.numpy
        B, T = input_ids.shape if input_ids is not None else inputs_embeds.shape[:2]
        if attention_mask is None:
            attention_mask = xp.ones((B, T), dtype=xp.int64)
        if token_type_ids is None:
            token_type_ids = np_.zeros((B, T), dtype=np_.int64)
        host = {"input_ids": input_ids, "token_type_ids": token_type_ids, "position_ids": position_ids}
        host = {k: v for k, v in host.items() if v is not None and backend.device_of(v) == "cpu"}
        input_ids, attention_mask, token_type_ids, position_ids = (
            self._upload(a) for a in (input_ids, attention_mask, token_type_ids, position_ids))
        h, c_emb = embeddings_forward(P, p, cfg, input_ids, token_type_ids, self._rng, self.training,
                                      position_ids, inputs_embeds, host)                            # (B, T, H)
        seq, c_enc = encoder_forward(P, p, cfg, h, attention_mask, self._rng, self.training, head_mask)  # (B, T, H)
        pooled, c_pool = pooler_forward(P, p, seq) if self.add_pooler else (None, None)                 # (B, H)
        return seq, pooled, BackboneCache(c_emb, c_enc, c_pool)

    def _backbone_backward(self, dseq, dpooled, cache: BackboneCache, tgrads=None, dhead_mask=None,
                           release=False):
        """Gradients of the backbone, added into self._grads (and the head mask's into dhead_mask,
        (L * inner, NH), when given). Returns the gradient of the word vectors (B, T, E).
        release: free each layer application's activations as its backward consumes them."""
        G, p = self._ensure_grads(), self.base_prefix
        if dpooled is not None:
            dseq = pooler_backward(dpooled, cache.pooler, G, p, dseq)
        if tgrads is not None:
            tgrads["last_hidden_state"] = dseq
        dh = encoder_backward(dseq, cache.encoder, G, self.config, tgrads, dhead_mask, release=release)
        return embeddings_backward(dh, cache.embeddings, G, p, self.config, tgrads)

    @property
    def backbone_cache(self) -> Optional[BackboneCache]:
        """The BackboneCache of the last forward pass (what backward() will use), or None."""
        return None if self._cache is None else self._cache[0]

    def backward(self, retain_graph=None, loss_scale=1.0, **upstream):
        """Gradients of the last forward pass's loss (or, with no loss, of
        sum(output * upstream) for the upstream arrays given by output name),
        added into self.grads(). Call zero_grad() to start afresh.

        loss_scale: the gradients are those of loss_scale * loss (and of loss_scale * the upstream
        gradients): loss scaling for float16 training (Micikevicius et al., 2018, "Mixed Precision
        Training", arxiv.org/abs/1710.03740), which lifts small activation gradients out of float16's
        underflow range; divide the gradients by it before the update (optim.DynamicLossScaler does).

        The forward pass's activations are freed as the backward consumes them (the head's, then each
        layer application's, last first), as PyTorch frees its graph: a second backward() needs a new
        forward pass. retain_graph=True keeps them (for another backward() with other upstream
        gradients, or to read backbone_cache afterwards); a traced pass (trace=True) keeps them by
        default, since its trace holds most of those arrays anyway."""
        self._loss_scale = float(loss_scale)
        try:
            with backend.storage_rounding(self.precision):
                return self._backward(retain_graph, upstream)
        finally:
            self._loss_scale = 1.0

    _loss_scale = 1.0      # what the heads' loss backward starts from (backward's loss_scale while it runs)

    def _backward(self, retain_graph, upstream):
        if self._cache is None:
            if getattr(self, "_consumed", False):
                raise RuntimeError("backward() already ran for the last forward pass and freed its activations; "
                                   "run the forward pass again, or pass retain_graph=True to the first backward()")
            raise RuntimeError("backward() needs a forward pass first")
        backend.use_device(self.device)
        bcache, hcache, has_loss = self._cache
        if not has_loss and not upstream:
            raise RuntimeError("the last forward pass had no labels, so there is no loss to differentiate; "
                               "pass labels, or upstream gradients by output name")
        up = {k: self._store(backend.to_device(v, self.device).astype(self.dtype)) for k, v in upstream.items()}
        if self._loss_scale != 1.0:
            up = {k: self._store(v * self._loss_scale) for k, v in up.items()}
        tg = {} if self.trace is not None else None
        self._ensure_grads()
        dseq, dpooled = self._head_backward(hcache, up, tg)
        release = not (self.trace is not None if retain_graph is None else retain_graph)
        if release:    # from here on the cache is only ours: the head's part goes now, the layers one by one
            self._cache, hcache, self._consumed = None, None, True
        hm_layers = bcache.encoder.layers
        dhm = None
        if hm_layers and hm_layers[0].attention.head_mask is not None:
            dhm = self.xp.zeros((len(hm_layers), self.config.num_attention_heads), dtype=self.dtype)
        dwords = self._backbone_backward(dseq, dpooled, bcache, tg, dhm, release=release)
        shapes, cg = self._call_shapes, self._call_grads
        dwords = dwords.reshape(shapes["inputs_embeds"])
        cg["inputs_embeds"] = dwords if cg["inputs_embeds"] is None else cg["inputs_embeds"] + dwords
        if dhm is not None:
            dhm = dhm.reshape(shapes["head_mask"]) if len(shapes["head_mask"]) == 2 else dhm.sum(axis=0)
            cg["head_mask"] = dhm if cg["head_mask"] is None else cg["head_mask"] + dhm
        self.trace_grads = tg
        return self

    def inputs_embeds_grad(self):
        """The gradient, from backward(), with respect to the word vectors of the last forward pass:
        the inputs_embeds it was given, or the rows the word lookup produced from input_ids (before the
        padding row's gradient is dropped), (B, T, E) ((B, C, T, E) for multiple choice); summed over
        the backward() calls since that forward pass. Token saliency for a fill-mask prediction::

            out = model(ids); model.backward(logits=onehot_at_mask_and_token)
            saliency = np.linalg.norm(model.inputs_embeds_grad(), axis=-1)      # (B, T)
        """
        g = getattr(self, "_call_grads", {}).get("inputs_embeds")
        if g is None:
            raise RuntimeError("no input-embedding gradient yet: run a forward pass, then backward()")
        return g

    def head_mask_grad(self):
        """The gradient, from backward(), with respect to the head_mask of the last forward pass, in its
        shape ((NH,) or (L * inner_group_num, NH)): |grad| is the head-importance score of Michel et al.
        (2019), "Are sixteen heads really better than one?"; summed over the backward() calls since."""
        g = getattr(self, "_call_grads", {}).get("head_mask")
        if g is None:
            raise RuntimeError("no head-mask gradient: run a forward pass with head_mask=..., then backward()")
        return g

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
    def from_pretrained(cls, name_or_path, dtype="float32", device="cpu", **config_overrides):
        """A checkpoint directory, or a name hub.resolve knows (released ALBERTs, the bundled model)."""
        return load_pretrained(cls, resolve(name_or_path), dtype=dtype, device=device, **config_overrides)

    def save_pretrained(self, path, dtype=None):
        save_pretrained(self, path, dtype=dtype)

    def load_state_dict(self, state: Dict[str, object], strict: bool = True):
        load_state_dict_into(self, state, strict=strict)
        return self

    def save_trace(self, path):
        """Every named activation (and, after backward(), its gradient) to one .npz:
        keys 'act/<name>' and 'grad/<name>' (see docs in trace.py)."""
        save_trace(self, path)

    def __repr__(self):
        c = self.config
        return (f"{type(self).__name__}(L={c.num_hidden_layers}, G={c.num_hidden_groups}, "
                f"inner={c.inner_group_num}, E={c.embedding_size}, H={c.hidden_size}, "
                f"NH={c.num_attention_heads}, I={c.intermediate_size}, V={c.vocab_size}, "
                f"share={c.share_type}, ln={c.ln_type}, params={self.num_parameters():,}, "
                f"dtype={self.precision}, device={self.device})")


class AlbertModel(AlbertPreTrainedModel):
    """The bare backbone. Its own state dict has no 'albert.' prefix, as in HF."""
    base_prefix = ""

    def __init__(self, config, seed=0, dtype="float32", device="cpu", add_pooling_layer=True, init=True):
        self.add_pooler = add_pooling_layer
        super().__init__(config, seed=seed, dtype=dtype, device=device, init=init)
