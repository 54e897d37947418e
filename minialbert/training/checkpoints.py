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
from pathlib import Path
from typing import Optional

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
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write(tmp / "optimizer.npz", [buf.getvalue()])
        meta = {k: v for k, v in o.items() if k not in ("m", "v")}
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


def read_state(ck: Path) -> dict:
    """trainer_state.json of checkpoint `ck` (step, history, configs), to check before loading tensors."""
    try:
        state = json.loads((ck / "trainer_state.json").read_text())
        int(state["step"])
        return state
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{ck / 'trainer_state.json'}: unreadable trainer state ({e})") from None


def load_checkpoint(ck: Path, model, opt, batches) -> dict:
    """Restore model, optimiser and data position from checkpoint directory `ck`; returns its state."""
    load_state_dict_into(model, read_safetensors(ck / "model.safetensors"), strict=True, source=str(ck))
    for name, p in model.params.items():
        if not bool(backend.numpy.isfinite(backend.to_numpy(p)).all()):
            raise ValueError(f"{ck / 'model.safetensors'}: tensor {name!r} holds NaN or infinite values")
    state = read_state(ck)
    try:
        z = np.load(ck / "optimizer.npz")
        o = dict(state["optimizer"])
        o["m"] = {k[2:]: z[k] for k in z.files if k.startswith("m/")}
        o["v"] = {k[2:]: z[k] for k in z.files if k.startswith("v/")}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{ck}: unreadable trainer state or optimiser moments ({e})") from None
    for k, a in list(o["m"].items()) + list(o["v"].items()):
        if not np.isfinite(a).all():
            raise ValueError(f"{ck / 'optimizer.npz'}: moment of {k!r} holds NaN or infinite values")
    opt.load_state_dict(o)
    batches.load_state_dict(state["data"])
    return state
