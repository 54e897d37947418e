import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

# the fixture helpers live in minialbert.parity (the notebooks use them too); re-exported for the tests
from minialbert import parity
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
