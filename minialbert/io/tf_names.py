"""Google's (google-research/albert) and brightmart's (albert_zh) TF variable names -> Hugging Face's
state-dict names, with dense kernels transposed to HF's (out, in) layout; optimiser slots skipped.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from .. import backend
from .errors import CheckpointError
from .tf_bundle import normalize_prefix, list_tf_checkpoint, read_tf_checkpoint

np = backend.numpy

# ----------------------------------------------------------------------------- Google/albert_zh -> HF names

# Optimizer and mixed-precision bookkeeping: never model weights.
_OPTIMIZER_PARTS = {"adam_m", "adam_v", "lamb_m", "lamb_v", "Adam", "Adam_1", "Momentum", "Adagrad",
                    "RMSProp", "RMSProp_1", "ExponentialMovingAverage"}
_BOOKKEEPING = {"global_step", "beta1_power", "beta2_power", "bad_steps", "good_steps", "loss_scale",
                "current_loss_scale", "loss_scale_normal_steps", "_CHECKPOINTABLE_OBJECT_GRAPH"}


def _strip(name: str) -> str:
    return name[len("module/"):] if name.startswith("module/") else name


def is_optimizer_variable(name: str) -> bool:
    """True for optimizer slots (``.../adam_m``, ``.../lamb_v``, ``.../Adam_1``...),
    ``global_step`` and loss-scaling counters: what google_to_hf skips."""
    parts = _strip(name).split("/")
    if any(p in _OPTIMIZER_PARTS for p in parts):
        return True
    return parts[-1] in _BOOKKEEPING or any("loss_scale" in p for p in parts)


_NORM = {"gamma": "weight", "beta": "bias"}
_DENSE = {"kernel": "weight", "bias": "bias"}

_GOOGLE_LAYER = {  # sub-path under inner_group_{j}/ -> HF module under albert_layers.{j}.
    "attention_1/self/query": "attention.query",
    "attention_1/self/key": "attention.key",
    "attention_1/self/value": "attention.value",
    "attention_1/output/dense": "attention.dense",
    "LayerNorm": "attention.LayerNorm",
    "ffn_1/intermediate/dense": "ffn",
    "ffn_1/intermediate/output/dense": "ffn_output",
    "LayerNorm_1": "full_layer_layer_norm",
}
_ZH_LAYER = {  # sub-path under bert/encoder/layer_shared/ -> HF module under albert_layers.0.
    "attention/self/query": "attention.query",
    "attention/self/key": "attention.key",
    "attention/self/value": "attention.value",
    "attention/output/dense": "attention.dense",
    "attention/output/LayerNorm": "attention.LayerNorm",
    "intermediate/dense": "ffn",
    "output/dense": "ffn_output",
    "output/LayerNorm": "full_layer_layer_norm",
}
_COMMON_MODULES = {  # TF module path -> HF module (dense kernels transposed)
    "bert/embeddings/LayerNorm": "albert.embeddings.LayerNorm",
    "bert/pooler/dense": "albert.pooler",
    "cls/predictions/transform/dense": "predictions.dense",
    "cls/predictions/transform/LayerNorm": "predictions.LayerNorm",
}
_COMMON_TENSORS = {  # TF name -> HF name, stored as is
    "bert/embeddings/word_embeddings": "albert.embeddings.word_embeddings.weight",
    "bert/embeddings/position_embeddings": "albert.embeddings.position_embeddings.weight",
    "bert/embeddings/token_type_embeddings": "albert.embeddings.token_type_embeddings.weight",
    "cls/predictions/output_bias": "predictions.bias",
    "cls/seq_relationship/output_weights": "sop_classifier.classifier.weight",  # (2, H): already (out, in)
    "cls/seq_relationship/output_bias": "sop_classifier.classifier.bias",
    "output_weights": "classifier.weight",  # run_classifier.py: (K, H), already (out, in)
    "output_bias": "classifier.bias",
}
_GROUP_RE = re.compile(r"^bert/encoder/transformer/group_(\d+)/inner_group_(\d+)/(.+)/(kernel|bias|gamma|beta)$")
_ZH_RE = re.compile(r"^bert/encoder/layer_shared/(.+)/(kernel|bias|gamma|beta)$")
_LEAF_RE = re.compile(r"^(.+)/(kernel|bias|gamma|beta)$")


def detect_layout(tf_vars) -> str:
    """'google' (bert/encoder/transformer/group_*) or 'albert_zh' (brightmart's
    bert/encoder/layer_shared + bert/embeddings/word_embeddings_2). Accepts a
    dict or any iterable of names; a ``module/`` prefix is ignored."""
    names = [_strip(n) for n in tf_vars if not is_optimizer_variable(n)]
    if any(n.startswith("bert/encoder/layer_shared/") or n == "bert/embeddings/word_embeddings_2" for n in names):
        return "albert_zh"
    if any(n.startswith("bert/encoder/transformer/group_") for n in names):
        return "google"
    if any(re.match(r"^bert/encoder/layer_\d+/", n) for n in names):
        raise CheckpointError("this checkpoint has BERT-style unshared layers (bert/encoder/layer_N/...), "
                              "not an ALBERT layout this loader knows (google or albert_zh)")
    raise CheckpointError("cannot tell the checkpoint layout: no bert/encoder/transformer/group_* (Google ALBERT) "
                          "or bert/encoder/layer_shared/* (albert_zh) variables")


def _route(tf_name: str, layout: str):
    """Where a (non-optimizer) TF variable goes, decided from its name alone:
    ("tensor", HF name, None, None) stored as is, ("we2", HF name, None, None) transposed (albert_zh),
    ("leaf", HF module, leaf, heads) a dense/LayerNorm leaf; unrecognised names raise CheckpointError."""
    n = _strip(tf_name)
    if n in _COMMON_TENSORS:
        return "tensor", _COMMON_TENSORS[n], None, None
    if layout == "albert_zh" and n == "bert/embeddings/word_embeddings_2":
        return "we2", "albert.embeddings.word_embeddings_2.weight", None, None
    if layout == "google":
        m = _GROUP_RE.match(n)
        if m and m.group(3) in _GOOGLE_LAYER:
            g, j, sub, leaf = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
            heads = 0 if sub.startswith("attention_1/self/") else 1
            return "leaf", f"albert.encoder.albert_layer_groups.{g}.albert_layers.{j}.{_GOOGLE_LAYER[sub]}", leaf, heads
    else:
        m = _ZH_RE.match(n)
        if m and m.group(1) in _ZH_LAYER:
            heads = 0 if m.group(1).startswith("attention/self/") else 1
            return "leaf", f"albert.encoder.albert_layer_groups.0.albert_layers.0.{_ZH_LAYER[m.group(1)]}", \
                m.group(2), heads
    m = _LEAF_RE.match(n)
    modules = dict(_COMMON_MODULES)
    if layout == "google":
        modules["bert/encoder/embedding_hidden_mapping_in"] = "albert.encoder.embedding_hidden_mapping_in"
    if m and m.group(1) in modules:
        return "leaf", modules[m.group(1)], m.group(2), None
    return None


def _leaf_shape(hf_module: str, leaf: str, tf_name: str, shape, heads: Optional[int] = None):
    """(HF name, HF shape) of a dense/LayerNorm leaf of TF shape `shape`: what _dense_leaf makes of it."""
    shape = tuple(shape)
    if (leaf in _NORM) != hf_module.endswith(("LayerNorm", "layer_norm")):
        raise CheckpointError(f"unrecognised variable {tf_name!r}: a {leaf!r} where a "
                              f"{'LayerNorm' if leaf not in _NORM else 'dense layer'} has none")
    if leaf in _NORM:
        return f"{hf_module}.{_NORM[leaf]}", shape
    if leaf == "bias":
        return f"{hf_module}.bias", ((shape[0] * shape[1],) if len(shape) == 2 else shape)
    if len(shape) == 3:
        shape = (shape[0], shape[1] * shape[2]) if heads == 0 else (shape[0] * shape[1], shape[2])
    if len(shape) != 2:
        raise CheckpointError(f"variable {tf_name!r}: expected a 2-D kernel, got shape {shape}")
    return f"{hf_module}.weight", shape[::-1]


def tf_hf_shapes(infos, config=None, layout: Optional[str] = None) -> Dict[str, Tuple[tuple, Optional[str]]]:
    """{HF name: (shape, TF name)} that google_to_hf would produce from a checkpoint's index
    ({TF name: TFTensorInfo}), without reading a tensor: what a model checks against its config
    before the bytes are read. String tensors and optimizer slots are left out (never read); the
    identity embedding_hidden_mapping_in google_to_hf adds is listed with TF name None."""
    names = [n for n, i in infos.items() if not is_optimizer_variable(n) and i.dtype != "string"]
    layout = layout or detect_layout(names)
    out: Dict[str, Tuple[tuple, Optional[str]]] = {}
    for tf_name in names:
        shape = tuple(infos[tf_name].shape)
        r = _route(tf_name, layout)
        if r is None:
            raise CheckpointError(f"unrecognised variable {tf_name!r} in a {layout} ALBERT checkpoint "
                                  f"(shape {shape}); is it an ALBERT checkpoint of this layout?")
        kind, target, leaf, heads = r
        if kind == "tensor":
            hf, hshape = target, shape
        elif kind == "we2":
            if len(shape) != 2:
                raise CheckpointError(f"variable {tf_name!r}: expected (E, H), got shape {shape}")
            hf, hshape = target, shape[::-1]
        else:
            hf, hshape = _leaf_shape(target, leaf, tf_name, shape, heads)
        if hf in out:
            raise CheckpointError(f"variables {out[hf][1]!r} and {tf_name!r} both map to {hf!r}")
        out[hf] = (hshape, tf_name)
    if layout == "google" and "albert.encoder.embedding_hidden_mapping_in.weight" not in out:
        we = out.get("albert.embeddings.word_embeddings.weight", (None,))[0]
        q = out.get("albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight", (None,))[0]
        if config is not None:
            E, H = int(config.embedding_size), int(config.hidden_size)
        elif we is not None and q is not None and len(we) == 2 and len(q) == 2:
            E, H = we[1], q[1]
        else:
            return out
        if E != H:
            raise CheckpointError(f"the checkpoint has no bert/encoder/embedding_hidden_mapping_in, which Google's "
                                  f"code only omits when embedding_size == hidden_size, but the config has "
                                  f"embedding_size={E}, hidden_size={H}")
        out["albert.encoder.embedding_hidden_mapping_in.weight"] = ((H, E), None)
        out["albert.encoder.embedding_hidden_mapping_in.bias"] = ((H,), None)
    return out


def _dense_leaf(hf_module: str, leaf: str, tf_name: str, a, heads: Optional[int] = None):
    """(HF name, array) for a dense kernel/bias or LayerNorm gamma/beta leaf."""
    if (leaf in _NORM) != hf_module.endswith(("LayerNorm", "layer_norm")):
        raise CheckpointError(f"unrecognised variable {tf_name!r}: a {leaf!r} where a "
                              f"{'LayerNorm' if leaf not in _NORM else 'dense layer'} has none")
    if leaf in _NORM:
        return f"{hf_module}.{_NORM[leaf]}", a
    if leaf == "bias":
        return f"{hf_module}.bias", a.reshape(-1) if a.ndim == 2 else a
    # kernel: TF stores (in, out); HF wants (out, in). Some exports keep the
    # attention kernels 3-D ((H, NH, HS) for q/k/v, (NH, HS, H) for the output).
    if a.ndim == 3:
        a = a.reshape(a.shape[0], -1) if heads == 0 else a.reshape(-1, a.shape[-1])
    if a.ndim != 2:
        raise CheckpointError(f"variable {tf_name!r}: expected a 2-D kernel, got shape {tuple(a.shape)}")
    return f"{hf_module}.weight", np.ascontiguousarray(a.T)


def google_to_hf(tf_vars: Dict[str, "np.ndarray"], config=None, layout: Optional[str] = None,
                 ) -> Tuple[Dict[str, "np.ndarray"], List[str]]:
    """Rename a TF ALBERT checkpoint's variables to minialbert/HF names.

    Returns ``(state, skipped)``: ``state`` maps HF names to arrays in HF's
    (out, in) layout (TF ``kernel``s are (in, out) and get transposed;
    ``output_weights`` are already (out, in)); ``skipped`` lists the variables
    left out on purpose (optimizer slots such as ``adam_m``/``lamb_v``,
    ``global_step``, loss-scale counters). A leading ``module/`` (TF-Hub
    exports) is stripped first. Any other variable that is not recognised
    raises CheckpointError naming it.

    layout: 'google' or 'albert_zh'; detected with :func:`detect_layout` if None.

    Google's modeling.py only creates ``bert/encoder/embedding_hidden_mapping_in``
    when embedding_size != hidden_size. When it is absent and E == H, this adds
    ``albert.encoder.embedding_hidden_mapping_in`` = identity (H, E) and a zero
    bias, so the HF-structured model (which always projects) computes exactly
    what Google's does. E and H come from `config` (embedding_size,
    hidden_size) or, without one, from the tensors' shapes.

    albert_zh (brightmart's non-"_google" releases) factorises the word
    embeddings as word_embeddings (V, E) @ word_embeddings_2 (E, H) and has no
    embedding_hidden_mapping_in; word_embeddings_2 becomes
    ``albert.embeddings.word_embeddings_2.weight`` (H, E), and the single shared
    layer ``...albert_layer_groups.0.albert_layers.0.*``.
    """
    layout = layout or detect_layout(tf_vars)
    if layout not in ("google", "albert_zh"):
        raise ValueError(f"layout {layout!r}; expected 'google' or 'albert_zh'")
    state: Dict[str, "np.ndarray"] = {}
    source: Dict[str, str] = {}
    skipped: List[str] = []

    def put(hf_name, a, tf_name):
        if hf_name in state:
            raise CheckpointError(f"variables {source[hf_name]!r} and {tf_name!r} both map to {hf_name!r}")
        state[hf_name] = np.asarray(a)
        source[hf_name] = tf_name

    for tf_name, a in tf_vars.items():
        if is_optimizer_variable(tf_name):
            skipped.append(tf_name)
            continue
        a = np.asarray(a)
        r = _route(tf_name, layout)
        if r is None:
            raise CheckpointError(f"unrecognised variable {tf_name!r} in a {layout} ALBERT checkpoint "
                                  f"(shape {tuple(a.shape)}); is it an ALBERT checkpoint of this layout?")
        kind, target, leaf, heads = r
        if kind == "tensor":
            put(target, a, tf_name)
        elif kind == "we2":
            if a.ndim != 2:
                raise CheckpointError(f"variable {tf_name!r}: expected (E, H), got shape {tuple(a.shape)}")
            put(target, np.ascontiguousarray(a.T), tf_name)
        else:
            put(*_dense_leaf(target, leaf, tf_name, a, heads), tf_name)

    if layout == "google" and "albert.encoder.embedding_hidden_mapping_in.weight" not in state:
        _add_identity_mapping(state, config)
    return state, skipped


def _add_identity_mapping(state, config):
    we = state.get("albert.embeddings.word_embeddings.weight")
    q = state.get("albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight")
    if config is not None:
        E, H = int(config.embedding_size), int(config.hidden_size)
    elif we is not None and q is not None:
        E, H = we.shape[1], q.shape[1]
    else:
        return  # nothing to size it from: leave the loader to report what is missing
    if E != H:
        raise CheckpointError(f"the checkpoint has no bert/encoder/embedding_hidden_mapping_in, which Google's "
                              f"code only omits when embedding_size == hidden_size, but the config has "
                              f"embedding_size={E}, hidden_size={H}")
    dtype = we.dtype if we is not None and we.dtype.kind == "f" else np.float32
    state["albert.encoder.embedding_hidden_mapping_in.weight"] = np.eye(H, E, dtype=dtype)
    state["albert.encoder.embedding_hidden_mapping_in.bias"] = np.zeros(H, dtype=dtype)


def load_tf_state(path, config=None, layout: Optional[str] = None, verify: bool = True, check=None):
    """find + read + rename in one call: ``(state, skipped, prefix)`` from a
    checkpoint directory or prefix. Optimizer slots are listed in `skipped`
    but never read from disk. ``check`` (optional; a model's check_state_shapes) sees the HF names and
    shapes the index declares (tf_hf_shapes) and returns the HF names to read: a shape the config does
    not imply fails before any tensor byte is read, and tensors the model does not use stay on disk."""
    prefix = normalize_prefix(path)
    infos = list_tf_checkpoint(prefix)
    layout = layout or detect_layout(list(infos))
    wanted = lambda n: not is_optimizer_variable(n)  # noqa: E731
    if check is not None:
        shapes = tf_hf_shapes(infos, config, layout)
        keep = check({hf: shape for hf, (shape, _) in shapes.items()})
        tf_keep = {shapes[hf][1] for hf in keep if hf in shapes and shapes[hf][1] is not None}
        wanted = tf_keep.__contains__
    tf_vars = read_tf_checkpoint(prefix, names=wanted, verify=verify)
    state, skipped = google_to_hf(tf_vars, config, layout)
    skipped = sorted(set(skipped) | {n for n in infos if is_optimizer_variable(n)})
    return state, skipped, prefix
