"""Choosing a model class for a checkpoint, and converting any supported checkpoint to HF's format.

Above the model and the I/O layers: it knows every model class (MODEL_CLASSES) and every reader.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

from .hub import resolve
from .io import CheckpointError, load_pretrained, save_pretrained
from .model import MODEL_CLASSES
from .tokenization import load_tokenizer


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


def _read_model(path, model_class=None, dtype="float32", device="cpu"):
    """The checkpoint at `path` as a model of class `model_class` (default: guess_model_class), its
    declared shapes checked against the config before any tensor byte is read."""
    if model_class is not None and model_class not in MODEL_CLASSES:
        raise CheckpointError(f"unknown model class {model_class!r}; one of {sorted(MODEL_CLASSES)}")
    pick = (lambda config, shapes: MODEL_CLASSES[model_class]) if model_class else guess_model_class
    return load_pretrained(None, path, dtype=dtype, device=device, pick=pick)


def load_model(name_or_path, dtype="float32", device="cpu"):
    """A checkpoint as the model class it was saved from (guess_model_class), reading its files once."""
    return _read_model(resolve(name_or_path), dtype=dtype, device=device)


TOKENIZER_FILES = {"spiece.model": "spiece.model", "30k-clean.model": "spiece.model", "vocab.txt": "vocab.txt",
                   "tokenizer_config.json": "tokenizer_config.json"}
MAX_TOKENIZER_FILE = 256 << 20        # SentencePiece models and vocabularies are a few MiB at most


def _tokenizer_files(src: Path):
    """{output name: the regular file to copy} for the tokenizer files in `src`. A symlink may point
    only inside `src` (or, for a Hugging Face cache snapshot, into that repository's blobs/): a
    `spiece.model` linked to any other file would copy that file's bytes into the output."""
    root = src.resolve()
    allowed = [root]
    if root.parent.name == "snapshots":                   # HF cache: snapshots/REV/f -> ../../blobs/HASH
        allowed.append(root.parent.parent / "blobs")
    found = {}
    for name, out_name in TOKENIZER_FILES.items():
        p = src / name
        if not (p.exists() or p.is_symlink()):
            continue
        target = p.resolve()
        if p.is_symlink() and not any(target == a or a in target.parents for a in allowed):
            raise CheckpointError(f"{p}: a symlink to {target}, outside {src}; refusing to copy it "
                                  "(put the file itself in the checkpoint directory)")
        if not target.is_file():
            raise CheckpointError(f"{p}: not a regular file")
        if target.stat().st_size > MAX_TOKENIZER_FILE:
            raise CheckpointError(f"{p}: {target.stat().st_size:,} bytes is not a tokenizer file")
        found.setdefault(out_name, target)
    return found


def _check_destination(src: Path, dst: Path, overwrite: bool) -> None:
    s, d = src.resolve(), dst.resolve()
    if d == s:
        raise CheckpointError(f"convert {src} {dst}: the destination is the source directory; "
                              "give a new output directory")
    if d in s.parents:
        raise CheckpointError(f"convert {src} {dst}: the destination holds the source; "
                              "give a new output directory")
    if dst.exists() or dst.is_symlink():
        if not dst.is_dir() or dst.is_symlink():
            raise CheckpointError(f"{dst}: exists and is not a directory; give a new output directory")
        if any(dst.iterdir()) and not overwrite:
            raise CheckpointError(f"{dst}: already exists and is not empty; pass --overwrite to replace it "
                                  "(convert writes a fresh directory)")


def convert(src, dst, model_class=None, overwrite=False):
    """Any supported checkpoint -> an HF-format safetensors directory, with the tokenizer files beside
    the model so that the output works on its own (fill-mask --model DST).

    DST is written fresh and atomically: everything is built in a temporary directory beside it,
    checked (the tokenizer loads), then renamed into place; an existing non-empty DST is replaced only
    with overwrite=True, and nothing of it survives (no stale tokenizer files)."""
    src, dst = resolve(src), Path(dst)
    _check_destination(src, dst, overwrite)
    model = _read_model(src, model_class)
    tokenizer_files = _tokenizer_files(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent))
    try:
        save_pretrained(model, tmp)
        for out_name, f in tokenizer_files.items():
            shutil.copyfile(f, tmp / out_name)
        if tokenizer_files:
            load_tokenizer(tmp)              # the output must work on its own
        os.chmod(tmp, 0o777 & ~_umask())     # mkdtemp makes it 0700; a plain mkdir would not
        _replace_directory(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not tokenizer_files:
        warnings.warn(f"{src} has no tokenizer files ({', '.join(TOKENIZER_FILES)}): "
                      f"use {dst} with --tokenizer", stacklevel=2)
    return dst


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_directory(tmp: Path, dst: Path) -> None:
    """Rename the complete directory `tmp` to `dst` (a missing or empty `dst` is replaced in one
    rename; a non-empty one is moved aside first and removed once the new one is in place)."""
    try:
        os.rename(tmp, dst)
        return
    except OSError:
        if not dst.is_dir():
            raise
    old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".old", dir=dst.parent))
    os.rename(dst, old / "d")
    os.rename(tmp, dst)
    shutil.rmtree(old, ignore_errors=True)
