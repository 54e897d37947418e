import os
from pathlib import Path

import numpy as np
import pytest

# the fixture helpers live in minialbert.parity (the notebooks use them too); re-exported for the tests
from minialbert import parity
from minialbert.parity import LABEL_KEYS, hf_cases, load_hf_case  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
HF_FIXTURES = parity.use_fixtures(ROOT / "tests" / "fixtures" / "hf")   # in the repository, not the package
HF_CASES = hf_cases()


def shared_dir() -> Path:
    return Path(os.environ.get("MINIALBERT_SHARED", ROOT.parent / "shared"))


load_case = load_hf_case


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
