"""Finding a model by name or path, and downloading the released checkpoints.

Resolution order for ``resolve(name_or_path)``:
    1. an existing path (a checkpoint directory);
    2. ``$MINIALBERT_WEIGHTS/<name>``, then the models shipped inside the package (package data,
       ``minialbert/bundled/<name>``: the bundled default model);
    3. a released name (``albert-base-v2``, ``albert/albert-base-v2``, ...): the
       Hugging Face cache, downloading into it first when online.
Offline with nothing cached is one clear message saying what to fetch and where
to put it.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Optional

from .config import PRESET_NAMES

# Package data: found wherever the package is installed (pip install ., a wheel, -e).
BUNDLED_DIR = Path(str(resources.files("minialbert") / "bundled"))
DEFAULT_MODEL_NAME = "minialbert-default"
DOWNLOAD_FILES = ["config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"]
RELEASED = {n: f"albert/{n}" for n in PRESET_NAMES}


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


def resolve(name_or_path, download: bool = True) -> Path:
    p = Path(str(name_or_path)).expanduser()
    if p.exists():
        return p
    raw = str(name_or_path)
    if os.sep in raw.replace("albert/", "", 1) or raw.startswith((".", "~")):
        raise ModelNotFound(f"{raw}: no such file or directory")
    name = _short(raw)
    for d in weights_dirs():
        if (d / name).exists():
            return d / name
    if name not in RELEASED:
        raise ModelNotFound(f"{name_or_path!r} is neither a path nor a known model name; known names: "
                            + ", ".join(sorted(RELEASED)))
    cached = _from_hf_cache(name, local_only=True)
    if cached is not None:
        return cached
    if download and not offline():
        return download_model(name)
    raise ModelNotFound(_not_available_message(name))


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
        path = Path(snapshot_download(RELEASED[name], allow_patterns=DOWNLOAD_FILES, local_files_only=local_only))
    except Exception:  # not cached (LocalEntryNotFoundError), or no network
        return None
    return path if (path / "config.json").exists() else None


def download_model(name: str) -> Path:
    """Download a released checkpoint into the Hugging Face cache (with a progress bar)."""
    name = _short(name)
    if name not in RELEASED:
        raise ModelNotFound(f"unknown model name {name!r}; known: " + ", ".join(sorted(RELEASED)))
    if offline():
        raise ModelNotFound(_not_available_message(name))
    try:
        from huggingface_hub import snapshot_download
        path = Path(snapshot_download(RELEASED[name], allow_patterns=DOWNLOAD_FILES))
    except Exception as e:
        raise ModelNotFound(f"could not download {name} from the Hugging Face Hub ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else 'no details'}). To use it offline, "
                            + _not_available_message(name).split(": ", 1)[1]) from None
    return path
