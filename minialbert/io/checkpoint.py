"""Checkpoint directories: HF's (config.json + model.safetensors | pytorch_model.bin) and Google's
(albert_config.json + a TF checkpoint), read into (config, {HF name: numpy array}); writing HF's.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import backend
from ..config import AlbertConfig
from .errors import CheckpointError, atomic_write
from .safetensors_file import read_safetensors, write_safetensors
from .state_dict import check_state_shapes, load_state_dict_into
from .tf_bundle import find_tf_checkpoint, list_tf_checkpoint
from .tf_names import detect_layout, load_tf_state
from .torch_bin import read_torch_bin

HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _google_config_file(path: Path):
    for pattern in ("albert_config.json", "albert_config*.json", "bert_config.json"):
        found = sorted(path.glob(pattern))
        if found:
            return found[0]
    return None


def detect_format(path: Path) -> str:
    """'hf' (config.json + model.safetensors | pytorch_model.bin) or 'google'
    (albert_config.json + a TF checkpoint), decided by the files present."""
    if (path / "config.json").exists() and any((path / n).exists() for n in HF_WEIGHT_FILES):
        return "hf"
    if _google_config_file(path) is not None and (any(path.glob("*.index")) or (path / "checkpoint").exists()):
        return "google"
    if (path / "config.json").exists():
        raise CheckpointError(f"{path}: has config.json but no model.safetensors or pytorch_model.bin")
    if _google_config_file(path) is not None:
        raise CheckpointError(f"{path}: has {_google_config_file(path).name} but no TF checkpoint (*.index)")
    raise CheckpointError(f"{path}: not a checkpoint directory (no config.json or albert_config.json)")


def read_checkpoint(path, check=None):
    """(config, {HF name: numpy array}, source file) from an HF or Google checkpoint directory.

    ``check(config, {HF name: shape}, source)`` (optional) sees the tensor names and shapes the file's
    header or index declares, before any tensor byte is read, and returns the names to read (see
    state_dict.check_state_shapes): a 10 GB file that declares a shape the config does not imply fails
    at once, and tensors the model does not use are never read."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise CheckpointError(f"{path}: expected a checkpoint directory")
    fmt = detect_format(path)
    if fmt == "hf":
        config = AlbertConfig.from_json_file(path / "config.json")
        wfile = path / ("model.safetensors" if (path / "model.safetensors").exists() else "pytorch_model.bin")
        bound = None if check is None else (lambda shapes: check(config, shapes, wfile))
        if wfile.name == "model.safetensors":
            state = read_safetensors(wfile, check=bound)
        else:
            state = read_torch_bin(wfile, check=bound)
        return config, state, wfile
    config = AlbertConfig.from_json_file(_google_config_file(path))
    prefix = find_tf_checkpoint(path)
    infos = list_tf_checkpoint(prefix)
    layout = detect_layout(list(infos))          # 'google' | 'albert_zh'
    config = config.replace(embedding_layout="albert_zh" if layout == "albert_zh" else "albert")
    head = next((infos[n] for n in ("output_weights", "module/output_weights") if n in infos), None)
    if head is not None and len(head.shape) == 2:
        # a fine-tuned classifier (run_classifier.py): its width is the number of labels
        config = config.replace(num_labels=int(head.shape[0]))
    index = Path(str(prefix) + ".index")
    bound = None if check is None else (lambda shapes: check(config, shapes, index))
    state, _skipped, prefix = load_tf_state(prefix, config, layout, check=bound)   # optimiser slots never read
    return config, state, index


def load_pretrained(cls, path, dtype="float32", device="cpu", *, pick=None, **config_overrides):
    """cls.from_pretrained: a model of class `cls` with the weights of the checkpoint at `path`
    (an existing directory; names are resolved by the caller, see hub.resolve). The checkpoint's
    declared shapes are checked against the config before any tensor is read. pick(config, shapes),
    when given, chooses the class from what the checkpoint declares (auto.load_model)."""
    made = {}

    def check(config, shapes, source):
        if config_overrides:
            config = config.replace(**config_overrides)
        model_cls = pick(config, shapes) if pick is not None else cls
        made["model"] = model_cls(config, seed=0, dtype=dtype, device=device, init=False)   # no arrays yet
        return check_state_shapes(made["model"], shapes, strict=False, source=str(source))

    _config, state, source = read_checkpoint(path, check=check)
    model = made["model"]
    load_state_dict_into(model, state, strict=False, source=str(source))
    return model.init_missing()


def save_pretrained(model, path, dtype=None):
    """config.json + model.safetensors; dtype='float16' halves the file (loading widens it again)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = model.config.to_dict()
    cfg["architectures"] = [type(model).__name__]
    atomic_write(path / "config.json", [(json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode()])
    # Tied aliases are not stored (HF's safetensors files omit them too).
    cast = (lambda a: backend.to_numpy(a).astype(backend.resolve_dtype(dtype))) if dtype else backend.to_numpy
    write_safetensors({k: cast(v) for k, v in model.params.items()}, path / "model.safetensors",
                      metadata={"format": "pt"})
