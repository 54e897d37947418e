"""Choosing a model class for a checkpoint, and converting any supported checkpoint to HF's format.

Above the model and the I/O layers: it knows every model class (MODEL_CLASSES) and every reader.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .hub import resolve
from .io import CheckpointError, load_state_dict_into, read_checkpoint, save_pretrained
from .model import MODEL_CLASSES


def guess_model_class(config, state):
    """The class a checkpoint was saved from: its config's `architectures`, else the head tensors present."""
    for arch in (config.extra.get("architectures") or []):
        if arch in MODEL_CLASSES:
            return MODEL_CLASSES[arch]
    keys = set(state)
    if "sop_classifier.classifier.weight" in keys:
        return MODEL_CLASSES["AlbertForPreTraining"]
    if "classifier.weight" in keys:
        return MODEL_CLASSES["AlbertForSequenceClassification"]
    if "predictions.bias" in keys:
        return MODEL_CLASSES["AlbertForMaskedLM"]
    return MODEL_CLASSES["AlbertModel"]


def load_model(name_or_path, dtype="float32", device="cpu"):
    """A checkpoint as the model class it was saved from (guess_model_class), reading its files once."""
    path = resolve(name_or_path)
    config, state, source = read_checkpoint(path)
    model = guess_model_class(config, state)(config, seed=0, dtype=dtype, device=device)
    load_state_dict_into(model, state, strict=False, source=str(source))
    return model


TOKENIZER_FILES = {"spiece.model": "spiece.model", "30k-clean.model": "spiece.model", "vocab.txt": "vocab.txt",
                   "tokenizer_config.json": "tokenizer_config.json"}


def convert(src, dst, model_class=None):
    """Any supported checkpoint -> an HF-format safetensors directory (plus the tokenizer files)."""
    src = resolve(src)
    config, state, source = read_checkpoint(src)
    if model_class is not None and model_class not in MODEL_CLASSES:
        raise CheckpointError(f"unknown model class {model_class!r}; one of {sorted(MODEL_CLASSES)}")
    cls = MODEL_CLASSES[model_class] if model_class else guess_model_class(config, state)
    model = cls(config, seed=0, dtype="float32")
    load_state_dict_into(model, state, strict=False, source=str(source))
    save_pretrained(model, dst)
    for name, out_name in TOKENIZER_FILES.items():
        if (src / name).exists():
            shutil.copyfile(src / name, Path(dst) / out_name)
    return Path(dst)
