import json
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HF_FIXTURES = ROOT / "tests" / "fixtures" / "hf"
HF_CASES = sorted(p.name for p in HF_FIXTURES.iterdir() if (p / "reference.npz").exists())
LABEL_KEYS = ("labels", "sentence_order_label", "start_positions", "end_positions")


def shared_dir() -> Path:
    return Path(os.environ.get("MINIALBERT_SHARED", ROOT.parent / "shared"))


def load_case(case):
    d = HF_FIXTURES / case
    meta = json.loads((d / "meta.json").read_text())
    ref = dict(np.load(d / "reference.npz"))
    return d, meta, ref


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
