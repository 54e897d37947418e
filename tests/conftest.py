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
