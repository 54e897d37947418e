"""Crash-safe training checkpoints: a kill at any instant loses nothing already saved.

    OUT/checkpoints/step-00001234/   one complete checkpoint per save: model.safetensors, optimizer.npz,
                                     trainer_state.json
    OUT/LATEST                       the name of the newest complete one ("step-00001234")

A save writes everything into ``checkpoints/.partial-step-N`` (each file fsynced), renames that directory
to ``checkpoints/step-N`` (a directory appears complete or not at all), then replaces ``LATEST``
atomically, then removes older checkpoints. Whatever instant a crash hits, the newest complete
checkpoint is either the one ``LATEST`` names or a newer fully renamed one; ``latest_checkpoint`` finds
it (and also reads the single ``OUT/checkpoint/`` directory written before this layout).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import zipfile
import zlib
from pathlib import Path
from typing import Optional

import numpy.lib.format as npformat

from .. import backend
from ..io import WriteError, atomic_write, check_state_shapes, load_state_dict_into, read_safetensors, save_pretrained

np = backend.numpy

KEEP = 2                      # complete checkpoints kept (the newest and the one before it)
_STEP_DIR = re.compile(r"^step-(\d{8})$")


def _fsync_dir(path: Path) -> None:
    """Make a rename or creation inside `path` durable (POSIX: fsync the directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_complete(d: Path) -> bool:
    return (d / "trainer_state.json").is_file() and (d / "model.safetensors").is_file() \
        and (d / "optimizer.npz").is_file()


def _state_step(d: Path) -> Optional[int]:
    try:
        return int(json.loads((d / "trainer_state.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def latest_checkpoint(out) -> Optional[Path]:
    """The newest complete checkpoint directory of run OUT, or None."""
    out = Path(out)
    found = []
    ck = out / "checkpoints"
    if ck.is_dir():
        for d in ck.iterdir():
            m = _STEP_DIR.match(d.name)
            if m and d.is_dir() and _is_complete(d):
                found.append((int(m.group(1)), d))
    # The layout before versioned directories (one OUT/checkpoint/, swapped through .tmp and .old).
    for name in ("checkpoint", "checkpoint.old", "checkpoint.tmp"):
        d = out / name
        if d.is_dir() and _is_complete(d):
            step = _state_step(d)
            if step is not None:
                found.append((step, d))
    return max(found, key=lambda t: t[0])[1] if found else None


def corpus_fingerprint(path) -> dict:
    """Size and a hash of the first and last MiB: tells a different corpus from the same one rebuilt."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if size > 1 << 20:
            f.seek(max(1 << 20, size - (1 << 20)))
            h.update(f.read())
    return {"size": size, "sha256_ends": h.hexdigest()}


def save_checkpoint(out, model, opt, batches, state: dict, tokenizer=None) -> Path:
    """Write checkpoint `state["step"]` of run OUT (model, optimiser moments, data position, history,
    and the tokenizer's files, so that a checkpoint directory works on its own with fill-mask)."""
    out = Path(out)
    ck = out / "checkpoints"
    ck.mkdir(parents=True, exist_ok=True)
    name = f"step-{int(state['step']):08d}"
    tmp, final = ck / f".partial-{name}", ck / name
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        save_pretrained(model, tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        o = opt.state_dict()
        arrays = {f"m/{k}": backend.to_numpy(v) for k, v in o["m"].items()}
        arrays.update({f"v/{k}": backend.to_numpy(v) for k, v in o["v"].items()})
        arrays.update({f"master/{k}": backend.to_numpy(v) for k, v in o.get("master", {}).items()})   # float16/bf16
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write(tmp / "optimizer.npz", [buf.getvalue()])
        meta = {k: v for k, v in o.items() if k not in ("m", "v", "master")}
        state = dict(state, optimizer=meta, data=batches.state_dict())
        atomic_write(tmp / "trainer_state.json", [json.dumps(state, indent=1, default=float).encode()])   # last
    except OSError as e:        # a full disk: free what this save wrote, say what is kept
        shutil.rmtree(tmp, ignore_errors=True)
        prev = latest_checkpoint(out)
        note = (f"; checkpoint {name} not saved, the last complete one, {prev}, is kept" if prev is not None
                else f"; checkpoint {name} not saved")
        raise WriteError(getattr(e, "filename", None) or tmp, e.errno, e.strerror or str(e), note) from None
    _fsync_dir(tmp)
    if final.exists():               # left by a run that crashed before updating LATEST: same step, redo it
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(ck)
    atomic_write(out / "LATEST", [(name + "\n").encode()])
    _fsync_dir(out)
    _prune(out, final)
    return final


def _prune(out: Path, newest: Path) -> None:
    ck = out / "checkpoints"
    steps = sorted((int(m.group(1)), d) for d in ck.iterdir() if (m := _STEP_DIR.match(d.name)))
    for _, d in steps[:-KEEP]:
        if d != newest:
            shutil.rmtree(d, ignore_errors=True)
    for d in ck.glob(".partial-*"):
        shutil.rmtree(d, ignore_errors=True)
    for name in ("checkpoint", "checkpoint.old", "checkpoint.tmp"):   # the old layout, now superseded
        shutil.rmtree(out / name, ignore_errors=True)


def remove_checkpoints(out) -> None:
    """Delete run OUT's checkpoints (pretrain --overwrite): the pointer first, so no state is half-gone."""
    out = Path(out)
    try:
        (out / "LATEST").unlink()
    except FileNotFoundError:
        pass
    for name in ("checkpoints", "checkpoint", "checkpoint.old", "checkpoint.tmp"):
        shutil.rmtree(out / name, ignore_errors=True)


MAX_STATE_BYTES = 256 << 20     # trainer_state.json: the loss history of millions of steps


def _kind(v) -> str:
    return "null" if v is None else type(v).__name__


def read_state(ck: Path) -> dict:
    """trainer_state.json of checkpoint `ck` (step, history, configs), checked field by field before any
    tensor is loaded: a field of the wrong type is one error naming the file and the field."""
    path = ck / "trainer_state.json"
    try:
        if not path.is_file():
            raise ValueError("not a regular file" if path.exists() else "no such file")
        if path.stat().st_size > MAX_STATE_BYTES:
            raise ValueError(f"{path.stat().st_size:,} bytes is not a trainer state")
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: unreadable trainer state ({e})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a JSON object, found {_kind(state)}")

    def need(field, ok, what, where=state, inside=""):
        if field not in where:
            raise ValueError(f"{path}: no field '{inside}{field}'")
        if not ok(where[field]):
            raise ValueError(f"{path}: field '{inside}{field}' is {_kind(where[field])} {str(where[field])[:40]!r}, "
                             f"expected {what}")

    is_int = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0   # noqa: E731
    need("step", is_int, "an integer >= 0")
    need("history", lambda v: isinstance(v, list) and all(
        isinstance(h, dict) and is_int(h.get("step")) and isinstance(h.get("loss"), (int, float)) for h in v),
        "a list of {step, loss, ...} objects")
    need("evals", lambda v: isinstance(v, list) and all(isinstance(e, dict) and is_int(e.get("step")) for e in v),
         "a list of {step, ...} objects")
    need("optimizer", lambda v: isinstance(v, dict), "an object (the optimiser's step and hyper-parameters)")
    need("data", lambda v: isinstance(v, dict), "an object (the corpus stream's position)")
    for field in ("train_config", "model_config", "corpus_fingerprint"):
        if field in state:
            need(field, lambda v: isinstance(v, dict), "an object")
    o = state["optimizer"]
    need("optimizer", lambda v: isinstance(v, str), "the optimiser's name", where=o, inside="optimizer.")
    need("step", is_int, "an integer >= 0", where=o, inside="optimizer.")
    need("hyperparams", lambda v: isinstance(v, dict), "an object", where=o, inside="optimizer.")
    return state


def _read_moments(path: Path, params) -> dict:
    """{"m": {name: array}, "v": {name: array}} from optimizer.npz, every member's header (dtype, shape)
    checked against the model's parameters before its data is read; and "master" (float32 master weights,
    saved by a float16 / bfloat16 run) when the file holds them, for every parameter."""
    expected = {f"{kind}/{name}": tuple(p.shape) for kind in ("m", "v") for name, p in params.items()}
    out = {"m": {}, "v": {}}
    if not path.is_file():
        raise ValueError(f"{path}: " + ("not a regular file" if path.exists() else "no such file"))
    try:
        with zipfile.ZipFile(path) as zf:
            members = {(n[:-4] if n.endswith(".npy") else n): n for n in zf.namelist()}
            if any(n.startswith("master/") for n in members):      # mixed precision: all of them or none
                expected.update({f"master/{name}": tuple(p.shape) for name, p in params.items()})
                out["master"] = {}
            extra = sorted(set(members) - set(expected))
            missing = sorted(set(expected) - set(members))
            if missing or extra:
                raise ValueError(f"no moment {missing[0]!r} for a parameter of the model" if missing
                                 else f"moment {extra[0]!r} is for no parameter of the model")
            for key, shape in expected.items():
                with zf.open(members[key]) as f:
                    version = npformat.read_magic(f)
                    if version not in ((1, 0), (2, 0)):
                        raise ValueError(f"{key!r}: unsupported .npy format version {version}")
                    read_header = {(1, 0): npformat.read_array_header_1_0, (2, 0): npformat.read_array_header_2_0}
                    got, _fortran, dtype = read_header[version](f)
                    if dtype.kind != "f" or tuple(got) != shape:
                        raise ValueError(f"{key!r} is {dtype} {tuple(got)}, the model's parameter is float {shape}")
                with zf.open(members[key]) as f:
                    a = npformat.read_array(f, allow_pickle=False)
                if not np.isfinite(a).all():
                    raise ValueError(f"{'master weight' if key.startswith('master/') else 'moment'} of "
                                     f"{key.split('/', 1)[1]!r} holds NaN or infinite values")
                kind, name = key.split("/", 1)
                out[kind][name] = a
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, KeyError, zlib.error) as e:
        raise ValueError(f"{path}: {e if isinstance(e, ValueError) else f'unreadable ({e})'}") from None
    return out


def load_checkpoint(ck: Path, model, opt, batches) -> dict:
    """Restore model, optimiser and data position from checkpoint directory `ck`; returns its state.
    Every file is checked before it is used (names, shapes and types against the model): a damaged
    file is one error naming it and the field or tensor."""
    source = str(ck / "model.safetensors")
    load_state_dict_into(model, read_safetensors(
        ck / "model.safetensors", check=lambda shapes: check_state_shapes(model, shapes, strict=True, source=source)),
        strict=True, source=str(ck))
    for name, p in model.params.items():
        if not bool(backend.numpy.isfinite(backend.to_numpy(p)).all()):
            raise ValueError(f"{ck / 'model.safetensors'}: tensor {name!r} holds NaN or infinite values")
    state = read_state(ck)
    o = dict(state["optimizer"], **_read_moments(ck / "optimizer.npz", model.params))
    try:
        opt.load_state_dict(o)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"{ck / 'trainer_state.json'}: field 'optimizer' does not fit this run's optimiser "
                         f"({type(e).__name__}: {e})") from None
    try:
        batches.load_state_dict(state["data"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, OSError) as e:
        raise ValueError(f"{ck / 'trainer_state.json'}: field 'data' (the corpus position) is damaged or not "
                         f"for this corpus ({type(e).__name__}: {e})") from None
    return state
