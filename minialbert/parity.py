"""Parity checks shared by the tests and the notebooks.

Two references, in order of preference:
1. Released checkpoints, when they are on disk (never downloaded from here): the fill-mask
   table printed on the albert-large-v2 model card (../shared/reference/published.md).
2. The committed fixtures in the repository's tests/fixtures/hf/, written by scripts/make_fixtures.py
   with Hugging Face transformers (float64 outputs and every parameter gradient). They are not part
   of the installed package: the tests and the notebooks say where they are with use_fixtures(DIR).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional

import numpy

from . import hub
from .backend import to_numpy
from .model import MODEL_CLASSES
from .pipeline import pipeline

_FIXTURES: Optional[Path] = None
LABEL_KEYS = ("labels", "sentence_order_label", "start_positions", "end_positions")

# albert-large-v2 model card (the base-v2 card prints the same table): text -> [(token id, score)]
MODEL_CARD_FILL_MASK = {
    "Hello I'm a [MASK] model.": [(12807, 0.05816134437918663), (23089, 0.03748830780386925),
                                  (1061, 0.033725276589393616), (8014, 0.017313428223133087),
                                  (29104, 0.014405295252799988)],
    "The man worked as a [MASK].": [(28744, 0.029577180743217468), (29477, 0.028865724802017212),
                                    (29024, 0.02581118606030941), (21238, 0.01849772222340107),
                                    (3672, 0.01820771023631096)],
    "The woman worked as a [MASK].": [(25331, 0.04604868218302727), (29477, 0.028220869600772858),
                                      (23386, 0.0261906236410141), (28744, 0.024797942489385605),
                                      (13678, 0.024124596267938614)],
}
# The card's scores are float32 torch; 2e-5 absolute covers float32 reduction order.
MODEL_CARD_ATOL = 2e-5


def released_on_disk(name: str) -> Optional[Path]:
    """Where a released checkpoint is on disk ($MINIALBERT_WEIGHTS, weights/, HF cache), or None.
    Never downloads."""
    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        return hub.resolve(name, download=False)
    except FileNotFoundError:
        return None
    finally:
        if old is None:
            del os.environ["HF_HUB_OFFLINE"]
        else:
            os.environ["HF_HUB_OFFLINE"] = old


def check_model_card(path) -> tuple[bool, List[dict]]:
    """Run the model card's three fill-mask sentences; (all match, one row per prediction)."""
    fill = pipeline("fill-mask", model=str(path))
    ok, rows = True, []
    for text, expected in MODEL_CARD_FILL_MASK.items():
        got = fill(text, top_k=len(expected))
        for g, (tok, score) in zip(got, expected):
            match = g["token"] == tok and abs(g["score"] - score) <= MODEL_CARD_ATOL
            ok &= match
            rows.append({"text": text, "token": g["token"], "token_str": g["token_str"], "score": g["score"],
                         "card_token": tok, "card_score": score, "match": match})
    return ok, rows


def use_fixtures(directory) -> Path:
    """Say where the HF fixtures are (the repository's tests/fixtures/hf); returns the directory."""
    global _FIXTURES
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: no HF fixture directory here (it is tests/fixtures/hf in the repository)")
    _FIXTURES = d
    return d


def fixtures_dir() -> Path:
    if _FIXTURES is None:
        raise RuntimeError("the HF fixtures live in the repository, not the package: call "
                           "minialbert.parity.use_fixtures('tests/fixtures/hf') first")
    return _FIXTURES


def hf_cases() -> List[str]:
    return sorted(p.name for p in fixtures_dir().iterdir() if (p / "reference.npz").exists())


def load_hf_case(case: str):
    """(directory, meta, reference arrays) of one committed HF fixture."""
    d = fixtures_dir() / case
    meta = json.loads((d / "meta.json").read_text())
    ref = dict(numpy.load(d / "reference.npz"))
    return d, meta, ref


def run_hf_case(case: str, dtype: str = "float64"):
    """Load an HF fixture checkpoint, run it on the fixture's inputs (labels included) and run the
    backward pass (with HF's upstream gradient where the model has no loss).
    Returns (model, outputs, meta, reference)."""
    d, meta, ref = load_hf_case(case)
    model = MODEL_CLASSES[meta["model_class"]].from_pretrained(d, dtype=dtype)
    labels = {k: ref[k] for k in LABEL_KEYS if k in ref}
    out = model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"],
                output_hidden_states=True, output_attentions=True, **labels)
    if "loss" in out:
        model.backward()
    else:
        model.backward(**{k[len("upstream."):]: ref[k] for k in ref if k.startswith("upstream.")})
    return model, out, meta, ref


def hf_output(out, key: str):
    """The output a reference key ("out.logits", "out.hidden_states.3", ...) names."""
    f = key[len("out."):]
    if f.startswith(("hidden_states.", "attentions.")):
        name, i = f.split(".")
        return out[name][int(i)]
    return out[f]


def hf_case_maxdiffs(case: str, dtype: str = "float64") -> Dict[str, float]:
    """max|minialbert - HF| for every output and every parameter gradient of one fixture."""
    model, out, meta, ref = run_hf_case(case, dtype)
    diffs = {}
    for k in ref:
        if k.startswith("out."):
            diffs[k] = float(numpy.max(numpy.abs(numpy.asarray(to_numpy(hf_output(out, k)), dtype=numpy.float64) - ref[k])))
    for n, g in model.grads().items():
        diffs["grad." + n] = float(numpy.max(numpy.abs(numpy.asarray(to_numpy(g), dtype=numpy.float64) - ref["grad." + n])))
    return diffs


def model_card_check(names=("albert-base-v2", "albert-large-v2")) -> Optional[str]:
    """The model card's fill-mask table on every released checkpoint on disk, saying what ran.

    Returns the name of a checkpoint that reproduces the table, or None when none is on disk
    (the check is skipped, and says so). Raises AssertionError when checkpoints are on disk and
    none reproduces it: the base-v2 and large-v2 cards print the same table without saying which
    checkpoint produced it, so one of them reproducing it is the bar."""
    found = {n: p for n in names if (p := released_on_disk(n)) is not None}
    if not found:
        print(f"released-weights check SKIPPED: {', '.join(names)} not on disk ($MINIALBERT_WEIGHTS, "
              "the HF cache) and nothing is downloaded; the committed HF fixtures are the reference")
        return None
    reproduced = None
    for name, path in found.items():
        ok, rows = check_model_card(path)
        print(f"released-weights check RAN for {name} ({path}): model card table "
              f"{'reproduced' if ok else 'NOT reproduced'} (tokens exact, scores within {MODEL_CARD_ATOL})")
        for r in rows:
            print(f"  {'OK ' if r['match'] else 'BAD'} {r['text']:<30} {r['token_str']:<14} {r['score']:.5f} "
                  f"(card {r['card_token']} {r['card_score']:.5f})")
        reproduced = reproduced or (name if ok else None)
    assert reproduced, f"none of {list(found)} reproduces the model card's fill-mask table"
    return reproduced
