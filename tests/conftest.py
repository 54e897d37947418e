import json
import os
from pathlib import Path

import numpy as np
import pytest

from minialbert.parity import LABEL_KEYS, hf_cases, load_hf_case  # noqa: F401 (re-exported for tests)

ROOT = Path(__file__).resolve().parents[1]
HF_FIXTURES = ROOT / "tests" / "fixtures" / "hf"
HF_CASES = hf_cases()


def shared_dir() -> Path:
    return Path(os.environ.get("MINIALBERT_SHARED", ROOT.parent / "shared"))


load_case = load_hf_case


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
