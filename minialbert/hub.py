"""Finding a model by name or path, and downloading the released checkpoints.

Resolution order for ``resolve(name_or_path)``:
    1. an existing path (a checkpoint directory);
    2. ``$MINIALBERT_WEIGHTS/<name>``, then the models shipped inside the package (package data,
       ``minialbert/bundled/<name>``: the bundled default model);
    3. a released name (``albert-base-v2``, ``albert/albert-base-v2``, ...), or any Hub repo id
       ``owner/name`` (``textattack/albert-base-v2-SST-2``): the Hugging Face cache, downloading
       into it first when online.
Offline with nothing cached is one clear message saying what to fetch and where
to put it; an unknown plain name is answered with the closest known names.
"""
from __future__ import annotations

import difflib
import os
import re
from importlib import resources
from pathlib import Path
from typing import Optional

from .config import PRESET_NAMES

# Package data: found wherever the package is installed (pip install ., a wheel, -e).
BUNDLED_DIR = Path(str(resources.files("minialbert") / "bundled"))
DEFAULT_MODEL_NAME = "minialbert-default"
DOWNLOAD_FILES = ["config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"]
RELEASED = {n: f"albert/{n}" for n in PRESET_NAMES}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")   # what a repo may hold (one is fetched)
# a Hugging Face Hub repo id: owner/name, each of letters, digits, '-', '_', '.'
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ModelNotFound(FileNotFoundError):
    pass


def _short(name: str) -> str:
    return name.split("/", 1)[1] if name.startswith("albert/") else name


def weights_dirs():
    dirs = []
    env = os.environ.get("MINIALBERT_WEIGHTS")
    if env:
        dirs.append(Path(env))
    dirs.append(BUNDLED_DIR)
    return dirs


def default_model_path() -> Path:
    """The bundled default model (package data: minialbert/bundled/minialbert-default), trained by
    minialbert itself."""
    p = BUNDLED_DIR / DEFAULT_MODEL_NAME
    if not (p / "config.json").exists():
        raise ModelNotFound(f"no bundled default model at {p} yet; pass --model PATH_OR_NAME")
    return p


def default_model_summary() -> str:
    """One line on what the bundled model is (its about.txt), for the note printed when it is used."""
    f = BUNDLED_DIR / DEFAULT_MODEL_NAME / "about.txt"
    return f.read_text(encoding="utf-8").strip() if f.is_file() else "a small ALBERT pretrained by minialbert"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or \
        os.environ.get("MINIALBERT_OFFLINE", "0").lower() in ("1", "true", "yes")


def known_names():
    """The plain names resolve() knows: the released ALBERTs and the models in the package
    (minialbert-default) and in $MINIALBERT_WEIGHTS."""
    names = set(RELEASED)
    for d in weights_dirs():
        if d.is_dir():
            names.update(c.name for c in d.iterdir() if (c / "config.json").exists())
    return sorted(names)


def is_repo_id(name: str) -> bool:
    """owner/name, as the Hugging Face Hub spells a repository (and not a relative path such as ./x/y)."""
    return bool(REPO_ID.match(name)) and ".." not in name


def resolve(name_or_path, download: bool = True) -> Path:
    p = Path(str(name_or_path)).expanduser()
    if p.exists():
        return p
    raw = str(name_or_path)
    name = _short(raw)
    if "/" in name or os.sep in name or raw.startswith((".", "~")):
        if not is_repo_id(name):
            raise ModelNotFound(f"{raw}: no such file or directory")
        # a Hub repo id owner/name: $MINIALBERT_WEIGHTS/owner/name, the HF cache, then the Hub
        for d in weights_dirs():
            if (d / name).exists():
                return d / name
    else:
        for d in weights_dirs():
            if (d / name).exists():
                return d / name
        if name not in RELEASED:
            known = known_names()
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ModelNotFound(f"{name_or_path!r} is neither a path nor a known model name; {hint}known names: "
                                + ", ".join(known) + " (or any Hugging Face Hub repo id, owner/name)")
    cached = _from_hf_cache(name, local_only=True)
    if cached is not None:
        return cached
    if download and not offline():
        return download_model(name)
    note = f" (nor is there a directory {raw} here)" if "/" in name else ""
    raise ModelNotFound(_not_available_message(name) + note)


def _repo(name: str) -> str:
    """The Hub repo id of a released name or of a repo id."""
    return RELEASED.get(name, name)


def _not_available_message(name: str) -> str:
    where = " or ".join(str(d / name) for d in weights_dirs())
    return (f"{name} is not on this machine and it is offline: run `minialbert download {name}` where the "
            f"internet is reachable (it fills the Hugging Face cache), or put its files "
            f"({', '.join(DOWNLOAD_FILES[:3])}) in {where}")


def _from_hf_cache(name: str, local_only: bool) -> Optional[Path]:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        path = Path(snapshot_download(_repo(name), allow_patterns=DOWNLOAD_FILES + ["pytorch_model.bin"],
                                      local_files_only=local_only))
    except Exception:  # not cached (LocalEntryNotFoundError), or no network
        return None
    has_weights = any((path / w).exists() for w in WEIGHT_FILES)
    return path if (path / "config.json").exists() and has_weights else None


def _download_patterns(repo_id: str):
    """config, tokenizer and one weights file: model.safetensors when the repo has it (the released
    ALBERTs do), else pytorch_model.bin (older fine-tuned repos such as textattack's)."""
    if repo_id in RELEASED.values():
        return DOWNLOAD_FILES
    try:
        from huggingface_hub import list_repo_files
        files = set(list_repo_files(repo_id))
        weights = [next((w for w in WEIGHT_FILES if w in files), WEIGHT_FILES[0])]
    except Exception:   # listing failed: let the download say why, asking for either file
        weights = list(WEIGHT_FILES)
    return [f for f in DOWNLOAD_FILES if f != "model.safetensors"] + weights


def download_model(name: str) -> Path:
    """Download a released checkpoint, or any Hub repo's (owner/name), into the Hugging Face cache
    (with a progress bar)."""
    name = _short(name)
    if name not in RELEASED and not is_repo_id(name):
        raise ModelNotFound(f"unknown model name {name!r}; known: " + ", ".join(sorted(RELEASED))
                            + " (or any Hugging Face Hub repo id, owner/name)")
    if offline():
        raise ModelNotFound(_not_available_message(name))
    try:
        from huggingface_hub import snapshot_download
        path = Path(snapshot_download(_repo(name), allow_patterns=_download_patterns(_repo(name))))
    except Exception as e:
        raise ModelNotFound(f"could not download {name} from the Hugging Face Hub ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else 'no details'}). To use it offline, "
                            + _not_available_message(name).split(": ", 1)[1]) from None
    return path
