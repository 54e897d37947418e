import contextlib
import hashlib
import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

# the fixture helpers live in minialbert.parity (the notebooks use them too); re-exported for the tests
from minialbert import backend, parity
from minialbert.hub import default_model_path
from minialbert.parity import LABEL_KEYS, hf_cases, load_hf_case  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
HF_FIXTURES = parity.use_fixtures(ROOT / "tests" / "fixtures" / "hf")   # in the repository, not the package
HF_CASES = hf_cases()


def shared_dir() -> Path:
    """What the tests need of the project's shared/ folder, vendored in tests/fixtures/shared (the
    vocabulary file is the bundled model's: the same bytes). MINIALBERT_SHARED points elsewhere."""
    return Path(os.environ.get("MINIALBERT_SHARED", ROOT / "tests" / "fixtures" / "shared"))


def vocab_file() -> Path:
    """The official ALBERT 30k SentencePiece model: shipped inside the package."""
    return default_model_path() / "spiece.model"


load_case = load_hf_case


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ----------------------------------------------------------------------------- the strict CuPy stand-in
# tests/cupy_strict/cupy: CuPy's rules on NumPy arithmetic, with counters (tests/cupy_strict/README.md).
# Only the tests that ask for it see it; the rest of the suite keeps seeing "no cupy".
STRICT_CUPY_DIR = ROOT / "tests" / "cupy_strict"


def _is_cupy_module(name):
    return name in ("cupy", "cupyx") or name.startswith(("cupy.", "cupyx."))


def is_strict_cupy(module) -> bool:
    return bool(getattr(module, "_STRICT_STANDIN", False))


@contextlib.contextmanager
def strict_cupy_installed():
    """Import the stand-in as `cupy`/`cupyx` and bind minialbert.backend to it (backend._cp,
    backend._cupyx_special); on exit, restore sys.path, sys.modules and the backend as they were."""
    saved = {k: v for k, v in sys.modules.items() if _is_cupy_module(k)}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(STRICT_CUPY_DIR))
    importlib.invalidate_caches()
    clear = getattr(backend.cuda_available, "cache_clear", None)   # in case cuda_available() caches
    try:
        cupy = importlib.import_module("cupy")
        special = importlib.import_module("cupyx.scipy.special")
        assert is_strict_cupy(cupy), f"`import cupy` found {cupy.__file__}, not the stand-in"
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(backend, "_cp", cupy)
            if hasattr(backend, "_cupyx_special"):
                mp.setattr(backend, "_cupyx_special", special)
            if clear:
                clear()
            # the once-per-process probe of the device runs here, not inside the test's counted blocks
            assert backend.cuda_available(), "minialbert's backend does not accept the strict CuPy stand-in"
            yield cupy
    finally:
        if clear:
            clear()
        sys.path.remove(str(STRICT_CUPY_DIR))
        for k in [k for k in sys.modules if _is_cupy_module(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


@pytest.fixture
def strict_cupy():
    """The strict CuPy stand-in as `cupy`, minialbert's backend bound to it, for one test."""
    with strict_cupy_installed() as cp:
        yield cp


# The package's own data (the bundled model) is read-only for the tests: a test that wrote into it
# would change what every later test and every user measures. Fingerprint it for the whole session.
def _package_data_fingerprint():
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(default_model_path().iterdir()) if p.is_file()}


def pytest_sessionstart(session):
    session.config._bundled_fingerprint = _package_data_fingerprint()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_bundled_fingerprint", None)
    if before is not None and _package_data_fingerprint() != before:
        changed = sorted(set(before.items()) ^ set(_package_data_fingerprint().items()))
        print(f"\nERROR: the test session changed the bundled model's files in {default_model_path()}: "
              f"{sorted({n for n, _ in changed})}")
        session.exitstatus = 1
