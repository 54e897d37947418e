"""Copying a state dict ({HF name: array}) into a model, after checking every name and shape.

The model is duck-typed (anything with ``param_specs()``, ``tied_aliases()``, ``base_prefix``,
``params``, ``dtype``, ``device``), so this module sits below the model classes.
"""
from __future__ import annotations

import warnings
from typing import Dict

from .. import backend
from .errors import CheckpointError

# Tensors a checkpoint may hold that a model of another class legitimately ignores
# (HF does the same): heads of other classes, and HF's non-persistent buffer.
_IGNORABLE_PREFIXES = ("predictions.", "sop_classifier.", "classifier.", "qa_outputs.", "pooler.", "albert.pooler.")
_IGNORABLE_NAMES = ("position_ids",)


def _is_backbone(name: str, prefix: str) -> bool:
    return name.startswith(prefix) and not name[len(prefix):].startswith("pooler.")


def _renamed(prefix: str, names) -> Dict[str, str]:
    """{name the model uses: name in the checkpoint}, after the prefix fix-ups: a bare AlbertModel
    checkpoint into a model with a head, and back."""
    names = list(names)
    has_prefixed = any(k.startswith("albert.") for k in names)
    if prefix == "albert." and not has_prefixed:
        return {("albert." + k if k.split(".")[0] in ("embeddings", "encoder", "pooler") else k): k for k in names}
    if prefix == "" and has_prefixed:
        return {k[len("albert."):]: k for k in names if k.startswith("albert.")}
    return {k: k for k in names}


def _plan(model, shapes: Dict[str, tuple], strict: bool, source: str):
    """Check the names and shapes of a state dict against what `model`'s config implies, before any
    tensor is read or copied. Returns ({model name: checkpoint name}, missing model names)."""
    prefix = model.base_prefix
    renamed = _renamed(prefix, shapes)
    state = {k: tuple(shapes[v]) for k, v in renamed.items()}
    expected = {n: s for n, s, _ in model.param_specs()}
    aliases = model.tied_aliases()
    unexpected = []
    for k in state:
        if k in expected or k.endswith(_IGNORABLE_NAMES):
            continue
        if k in aliases:  # a tied copy (e.g. predictions.decoder.weight): checked below
            continue
        local = k[len(prefix):] if k.startswith(prefix) else k
        if local.startswith(_IGNORABLE_PREFIXES) or k.startswith(_IGNORABLE_PREFIXES):
            continue
        unexpected.append(k)
    if unexpected:
        raise CheckpointError(f"{source}: unexpected tensor {unexpected[0]!r} (and {len(unexpected) - 1} more) "
                              f"for {type(model).__name__} with this config; is the config right?")
    missing = [n for n in expected if n not in state]
    missing_backbone = [n for n in missing if _is_backbone(n, prefix) or (strict and not prefix == "")]
    if prefix == "":
        missing_backbone = [n for n in missing if strict or not n.startswith("pooler.")]
    if missing_backbone:
        raise CheckpointError(f"{source}: missing tensor {missing_backbone[0]!r}"
                              + (f" (and {len(missing_backbone) - 1} more)" if len(missing_backbone) > 1 else ""))
    for n, shape in expected.items():
        if n in state and state[n] != tuple(shape):
            raise CheckpointError(f"{source}: tensor {n!r} has shape {state[n]}, "
                                  f"the config implies {tuple(shape)}")
    for alias, target in aliases.items():
        if alias in state and target in state and state[alias] != state[target]:
            raise CheckpointError(f"{source}: tied tensor {alias!r} has shape {state[alias]}, "
                                  f"but {target!r} has {state[target]}")
    return {n: renamed[n] for n in expected if n in state}, missing


def check_state_shapes(model, shapes: Dict[str, tuple], strict: bool = True, source: str = "state dict") -> set:
    """Check a checkpoint's tensor names and shapes ({name: shape}, read from its header) against
    `model` (its config), before any tensor's bytes are read: a file that declares a tensor of another
    shape, or tensors the model has no use for, is refused without reading them. Returns the
    checkpoint names the model needs (readers read only those; other heads' tensors stay on disk)."""
    used, _ = _plan(model, shapes, strict, source)
    return set(used.values())


def load_state_dict_into(model, state: Dict[str, object], strict: bool = True, source: str = "state dict"):
    """Copy ``state`` (HF names, numpy/cupy arrays) into ``model``.

    Checks, before copying anything (check_state_shapes): every backbone tensor present; every
    tensor's shape equal to what the config implies. Head tensors missing from
    ``state`` are left as initialised (a new head for fine-tuning, as HF) with a
    warning unless strict; tensors belonging to other heads are ignored.
    """
    used, missing = _plan(model, {k: tuple(v.shape) for k, v in state.items()}, strict, source)
    if missing and not strict:
        warnings.warn(f"{type(model).__name__}: newly initialised (not in {source}): " + ", ".join(missing),
                      stacklevel=3)
    for n, k in used.items():
        a = backend.numpy.asarray(backend.to_numpy(state[k]))
        a = backend.to_device(a.astype(model.dtype), model.device)
        # a bfloat16 model (emulated: float32 arrays) holds bfloat16 values
        model.params[n] = backend.round_bfloat16(a) if getattr(model, "precision", None) == "bfloat16" else a
    model.zero_grad()
    model.forget_cache()
