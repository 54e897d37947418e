"""Checkpoint I/O: HF-format directories (config.json + model.safetensors).

The safetensors format is small enough to read by hand, which lets us give a
clear error for a corrupt or truncated file, and read bfloat16 (which numpy
lacks) by widening it to float32:

    8 bytes   little-endian u64 N: length of the JSON header
    N bytes   JSON {name: {"dtype": "F32", "shape": [...], "data_offsets": [a, b]}, "__metadata__": {...}}
    rest      the raw little-endian tensor bytes; a tensor's bytes are rest[a:b]

Every load checks the tensor names and shapes against the model's config and
names the first missing, unexpected or mis-shaped tensor.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Dict

from . import backend

np = backend.numpy  # host-side I/O: checkpoints are read into host memory first

_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
              "I8": "i1", "U8": "u1", "BOOL": "?", "BF16": "<u2"}
_ST_NAMES = {np.dtype(v).str: k for k, v in _ST_DTYPES.items() if k != "BF16"}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: the message says which file or tensor, and why."""


# ----------------------------------------------------------------------------- safetensors


def read_safetensors(path) -> Dict[str, "np.ndarray"]:
    """{name: numpy array} from a .safetensors file (bf16 widened to float32)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path}: not a safetensors file (only {size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8 or n > 100_000_000:
                raise CheckpointError(f"{path}: corrupt safetensors header (claims {n} header bytes, "
                                      f"file has {size})")
            try:
                header = json.loads(f.read(n))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise CheckpointError(f"{path}: corrupt safetensors header ({e})") from None
            data = f.read()
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dt, shape, (a, b) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: corrupt header entry for tensor {name!r}") from None
        if dt not in _ST_DTYPES:
            raise CheckpointError(f"{path}: tensor {name!r} has unsupported dtype {dt}")
        count = 1
        for d in shape:
            count *= d
        if b > len(data) or b - a != count * np.dtype(_ST_DTYPES[dt]).itemsize:
            raise CheckpointError(f"{path}: file is truncated or corrupt (tensor {name!r} needs bytes "
                                  f"{a}..{b}, data section has {len(data)})")
        arr = np.frombuffer(data, dtype=_ST_DTYPES[dt], count=count, offset=a).reshape(shape)
        if dt == "BF16":  # bfloat16 is the top half of a float32
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr
    return out


def write_safetensors(tensors: Dict[str, "np.ndarray"], path, metadata=None):
    """Write a .safetensors file atomically (temp file in the same folder, then rename),
    so an interrupted write never leaves a half-written checkpoint behind."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(backend.to_numpy(tensors[name]))
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        key = _ST_NAMES.get(a.dtype.str) or _ST_NAMES.get(np.dtype(a.dtype).newbyteorder("<").str)
        if key is None:
            raise TypeError(f"cannot store tensor {name!r} of dtype {a.dtype} in safetensors")
        b = a.tobytes()
        header[name] = {"dtype": key, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = dict(metadata or {"format": "np"})
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    hbytes += b" " * (-len(hbytes) % 8)  # pad so the data section is 8-byte aligned
    atomic_write(path, [struct.pack("<Q", len(hbytes)), hbytes, *blobs])


def atomic_write(path, chunks):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the mode a plain open() would (0666 less the umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ----------------------------------------------------------------------------- state dicts

# Tensors a checkpoint may hold that a model of another class legitimately ignores
# (HF does the same): heads of other classes, and HF's non-persistent buffer.
_IGNORABLE_PREFIXES = ("predictions.", "sop_classifier.", "classifier.", "qa_outputs.", "pooler.", "albert.pooler.")
_IGNORABLE_NAMES = ("position_ids",)


def _is_backbone(name: str, prefix: str) -> bool:
    return name.startswith(prefix) and not name[len(prefix):].startswith("pooler.")


def load_state_dict_into(model, state: Dict[str, object], strict: bool = True, source: str = "state dict"):
    """Copy ``state`` (HF names, numpy/cupy arrays) into ``model``.

    Checks, before copying anything: every backbone tensor present; every
    tensor's shape equal to what the config implies. Head tensors missing from
    ``state`` are left as initialised (a new head for fine-tuning, as HF) with a
    warning unless strict; tensors belonging to other heads are ignored.
    """
    prefix = model.base_prefix
    state = dict(state)
    # Prefix fix-ups: a bare AlbertModel checkpoint into a model with a head, and back.
    has_prefixed = any(k.startswith("albert.") for k in state)
    if prefix == "albert." and not has_prefixed:
        state = {("albert." + k if k.split(".")[0] in ("embeddings", "encoder", "pooler") else k): v
                 for k, v in state.items()}
    elif prefix == "" and has_prefixed:
        state = {k[len("albert."):]: v for k, v in state.items() if k.startswith("albert.")}

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
        if n in state and tuple(state[n].shape) != tuple(shape):
            raise CheckpointError(f"{source}: tensor {n!r} has shape {tuple(state[n].shape)}, "
                                  f"the config implies {tuple(shape)}")
    for alias, target in aliases.items():
        if alias in state and target in state and tuple(state[alias].shape) != tuple(state[target].shape):
            raise CheckpointError(f"{source}: tied tensor {alias!r} has shape {tuple(state[alias].shape)}, "
                                  f"but {target!r} has {tuple(state[target].shape)}")
    if missing and not strict:
        warnings.warn(f"{type(model).__name__}: newly initialised (not in {source}): " + ", ".join(missing),
                      stacklevel=3)
    for n in expected:
        if n in state:
            a = backend.numpy.asarray(backend.to_numpy(state[n]))
            model.params[n] = backend.to_device(a.astype(model.dtype), model.device)
    model.zero_grad()
    model._cache = None


# ----------------------------------------------------------------------------- directories

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


def read_checkpoint(path):
    """(config, {HF name: numpy array}, source file) from an HF or Google checkpoint directory."""
    from .config import AlbertConfig
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise CheckpointError(f"{path}: expected a checkpoint directory")
    fmt = detect_format(path)
    if fmt == "hf":
        config = AlbertConfig.from_json_file(path / "config.json")
        if (path / "model.safetensors").exists():
            wfile = path / "model.safetensors"
            state = read_safetensors(wfile)
        else:
            from .torch_pickle import read_torch_bin
            wfile = path / "pytorch_model.bin"
            state = read_torch_bin(wfile)
        return config, state, wfile
    from .tf_checkpoint import detect_layout, find_tf_checkpoint, list_tf_checkpoint, load_tf_state
    config = AlbertConfig.from_json_file(_google_config_file(path))
    prefix = find_tf_checkpoint(path)
    layout = detect_layout(list(list_tf_checkpoint(prefix)))          # 'google' | 'albert_zh'
    config = config.replace(embedding_layout="albert_zh" if layout == "albert_zh" else "albert")
    state, _skipped, prefix = load_tf_state(prefix, config)   # optimiser slots are never read
    if "classifier.weight" in state:  # a fine-tuned classifier: its width is the number of labels
        config = config.replace(num_labels=int(state["classifier.weight"].shape[0]))
    return config, state, Path(str(prefix) + ".index")


def guess_model_class(config, state):
    from .heads import MODEL_CLASSES
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


def load_pretrained(cls, path, dtype="float32", device="cpu", **config_overrides):
    from .hub import resolve
    path = resolve(path)
    config, state, source = read_checkpoint(path)
    if config_overrides:
        config = config.replace(**config_overrides)
    model = cls(config, seed=0, dtype=dtype, device=device)
    load_state_dict_into(model, state, strict=False, source=str(source))
    return model


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


def convert(src, dst, model_class=None):
    """Any supported checkpoint -> an HF-format safetensors directory (plus the tokenizer files)."""
    import shutil
    from .heads import MODEL_CLASSES
    from .hub import resolve
    src = resolve(src)
    config, state, source = read_checkpoint(src)
    if model_class is not None and model_class not in MODEL_CLASSES:
        raise CheckpointError(f"unknown model class {model_class!r}; one of {sorted(MODEL_CLASSES)}")
    cls = MODEL_CLASSES[model_class] if model_class else guess_model_class(config, state)
    model = cls(config, seed=0, dtype="float32")
    load_state_dict_into(model, state, strict=False, source=str(source))
    save_pretrained(model, dst)
    for name in ("spiece.model", "30k-clean.model", "vocab.txt", "tokenizer_config.json"):
        if (src / name).exists():
            shutil.copyfile(src / name, Path(dst) / ("spiece.model" if name == "30k-clean.model" else name))
    return Path(dst)
