"""The bundled default model (minialbert/bundled/minialbert-default), pretrained by minialbert itself
(scripts/train_default_model.sh, exported by scripts/export_default_model.py). Every figure that
weights/README.md states about it is re-measured here:

- it is the paper's shape (post-LN, factorised E < H, one shared group) and Hugging Face transformers
  runs it as minialbert does (tests/fixtures/bundled_hf, written by scripts/make_bundled_hf_fixture.py);
- its held-out MLM and SOP accuracy per corpus source equal metrics.json, and beats the previous bundled
  model's 0.273 on held-out Python documentation (issue 12's floor);
- through the default pipeline (no model named), the fill-mask hits on weights/sentences/ (written
  before training) equal metrics.json; issue 12's fill-mask floors (half of the everyday sentences,
  60 % of the Python-documentation ones) are held each as a strict xfail while not met, which fails
  the day a retrained model meets them, so that this file is updated with it;
- with no --model, the CLI names the model on stderr (one line), and --quiet silences it.
"""
import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minialbert as ma
from minialbert import backend
from minialbert.hub import BUNDLED_DIR, DEFAULT_MODEL_NAME  # package data
from minialbert.training.pretrain import evaluate_saved, load_for_eval

ROOT = Path(__file__).resolve().parents[1]
DIR = BUNDLED_DIR / DEFAULT_MODEL_NAME
SENTENCES = ROOT / "weights" / "sentences"
HF = ROOT / "tests" / "fixtures" / "bundled_hf"
pytestmark = pytest.mark.skipif(not (DIR / "model.safetensors").exists(), reason=f"no bundled model in {DIR}")


def metrics():
    return json.loads((DIR / "metrics.json").read_text())


def test_the_papers_shape():
    c = ma.AlbertConfig.from_json_file(DIR / "config.json")
    assert c.ln_type == "postln" and c.share_type == "all" and c.num_hidden_groups == 1
    assert c.embedding_size < c.hidden_size and c.num_hidden_layers >= 6
    assert c.vocab_size == 30000 and c.hidden_act == "gelu_new"
    assert (DIR / "model.safetensors").stat().st_size < 40e6          # "a few tens of MB of float16 at most"
    # the recipe's config is the bundled one (scripts/train_default_model.sh trains configs/minialbert-default.json)
    recipe = ma.AlbertConfig.from_json_file(ROOT / "configs" / "minialbert-default.json")
    # (the exported file also carries HF's "architectures" / "model_type", kept in `extra`)
    assert {k: v for k, v in vars(recipe).items() if k != "extra"} == {k: v for k, v in vars(c).items() if k != "extra"}


def test_transformers_runs_it_as_minialbert_does():
    meta = json.loads((HF / "meta.json").read_text())
    sha = hashlib.sha256((DIR / "model.safetensors").read_bytes()).hexdigest()
    assert meta["model_sha256"] == sha, "stale fixture: rerun scripts/make_bundled_hf_fixture.py (fixture venv)"
    ref = np.load(HF / "outputs.npz")
    model = ma.AlbertForPreTraining.from_pretrained(DIR).eval()       # float32, as HF ran it
    tok = ma.AlbertTokenizer.from_pretrained(DIR)
    for i, case in enumerate(meta["cases"]):
        ids = tok(case["text"])["input_ids"]
        assert ids == case["input_ids"]                               # the same tokenizer
        out = model(np.array([ids]), output_hidden_states=True)
        hidden = backend.to_numpy(out["hidden_states"][-1][0])
        logits = backend.to_numpy(out["prediction_logits"][0, case["mask_position"]])
        # float32 both sides, the same sums in another order: post-LN keeps the hidden state O(1)
        # (rounding ~1e-6 per layer, 6 layers), logits are O(10) sums over E = 128 products
        np.testing.assert_allclose(hidden, ref[f"hidden_{i}"], rtol=0, atol=1e-4)
        np.testing.assert_allclose(logits, ref[f"mask_logits_{i}"], rtol=0, atol=5e-4)
        assert tok.convert_ids_to_tokens(np.argsort(-logits, kind="stable")[:5].tolist()) == case["top5"]


@pytest.mark.parametrize("source", ["pydocs", "wordnet", "handbook"])
def test_held_out_mlm_accuracy_equals_metrics(source):
    m = metrics()
    tc = m["train_config"]
    # the exporter's measurement: the trainer's held-out seed, the same count of batches
    r = evaluate_saved(DIR, DIR / f"heldout-{source}.txt", tc, m["eval_batches"])
    stated = m["heldout"][source]["mlm_accuracy"]
    # the same weights and batches: equal but for BLAS summation order flipping a near-tied argmax
    # (a few of ~10k predictions)
    assert abs(r["mlm_accuracy"] - stated) <= 1e-3, (r, stated)
    # SOP: one decision per pair, eval_batches x batch_size pairs; allow three near-ties to flip
    pairs = m["eval_batches"] * tc["batch_size"]
    assert abs(r["sop_accuracy"] - m["heldout"][source]["sop_accuracy"]) <= 3 / pairs, r
    assert r["sop_accuracy"] > 0.55                      # above a coin flip by more than 3 standard errors
    assert r["mlm_accuracy"] > 0.2                       # far above the commonest-piece baseline (~0.04)
    if source == "pydocs":
        # issue 12's floor: the previous bundled model's 0.273 on its own held-out Python documentation
        # (the same 20 held-out pages); 0.01 of margin for the float16 storage and summation order
        assert r["mlm_accuracy"] > 0.273 + 0.01


def test_copying_probe_counts_what_the_exporter_counts():
    """scripts/probe_copying.py (weights/README.md quotes it) splits the held-out predictions by whether
    the answer stands elsewhere in the sequence: its overall accuracy must be the exporter's, and the
    README's reading of it must hold: the model guesses a word of the sequence more often than the
    answer is one."""
    spec = importlib.util.spec_from_file_location("probe_copying", ROOT / "scripts" / "probe_copying.py")
    probe_copying = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe_copying)
    tc = metrics()["train_config"]
    model, tok = load_for_eval(DIR)
    model.eval()
    text = DIR / "heldout-wordnet.txt"
    r = probe_copying.probe(model, tok, text, tc, n_batches=4)
    ref = evaluate_saved(DIR, text, tc, 4)
    # the same 4 batches (~1,000 predictions) through the same weights: equal up to a tie or two
    assert abs(r["accuracy"] - ref["mlm_accuracy"]) <= 2 / r["masked"], (r, ref)
    assert r["accuracy_copyable"] > r["accuracy_other"] + 0.2
    assert r["first_guess_in_sequence"] > r["copyable_share"] + 0.05


def _hits(fill):
    out = {}
    for f in sorted(SENTENCES.glob("*.json")):
        rows = json.loads(f.read_text())["sentences"]
        tops = [[p["token_str"].strip().lower() for p in fill(text, top_k=5)] for text, _ in rows]
        out[f.stem] = (sum(w in t for (_, w), t in zip(rows, tops)), len(rows), tops)
    return out


def test_fill_mask_hits_equal_metrics():
    """Through the path a user takes: the pipeline with no model named (the bundled one)."""
    stated = metrics()["fill_mask"]
    got = _hits(ma.pipeline("fill-mask"))
    assert set(got) == {"everyday", "pydocs"}
    for name, (hits, _, tops) in got.items():
        assert hits == stated[name]["hits"], name
        assert tops == [r["top5"] for r in stated[name]["sentences"]], name
    # better than the model it replaced (0 of 30 everyday, 13 of 30 Python docs, measured 2026-12-05)
    assert got["everyday"][0] > 0 and got["pydocs"][0] >= 13


# Issue 12's floors, one test a list: the intended word in the top 5 for at least half of the everyday
# sentences and 60 % of the Python-documentation ones. The recorded counts are what
# test_fill_mask_hits_equal_metrics re-measures through the pipeline. A floor not met is a strict xfail,
# which fails the day a retrained model meets it, so that this file is updated with it.
FLOORS = {"everyday": 0.5, "pydocs": 0.6}
NOT_MET = {"everyday", "pydocs"}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="not met yet (weights/README.md)")) if n in NOT_MET
    else n for n in FLOORS])
def test_fill_mask_floors_of_issue_12(name):
    stated = metrics()["fill_mask"][name]
    assert stated["total"] == 30
    assert stated["hits"] >= FLOORS[name] * stated["total"], f"{name}: {stated['hits']} of {stated['total']}"


def test_cli_names_the_bundled_model_on_stderr_unless_quiet():
    cmd = [sys.executable, "-m", "minialbert", "fill-mask", "Paris is the capital of [MASK]."]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    note = r.stderr.strip().splitlines()
    assert len(note) == 1 and DEFAULT_MODEL_NAME in note[0] and "--model albert-base-v2" in note[0], r.stderr
    assert (DIR / "about.txt").read_text().strip() in note[0]
    q = subprocess.run(cmd + ["--quiet"], capture_output=True, text=True)
    assert q.returncode == 0 and q.stderr == "" and q.stdout == r.stdout
    # a model named explicitly gets no note
    e = subprocess.run(cmd + ["--model", str(DIR)], capture_output=True, text=True)
    assert e.returncode == 0 and e.stderr == ""
