"""The successor of the bundled model, in training (weights/wip/minialbert-english): a post-LN,
factorised, all-shared ALBERT that minialbert pretrains on English (scripts/train_english_model.sh,
exported by scripts/export_default_model.py; continued across sessions with `pretrain --init-from`).
Every figure weights/README.md states about it is re-measured here:

- it is the paper's shape (post-LN, factorised E < H, one shared group) and Hugging Face transformers
  runs it as minialbert does (tests/fixtures/english_wip_hf, written by scripts/make_bundled_hf_fixture.py);
- its held-out MLM accuracy per corpus source equals its metrics.json;
- the fill-mask hit counts on weights/sentences/ (written before training) equal metrics.json. The
  issue's floors (half the everyday sentences, 60 % of the Python-documentation ones, held-out accuracy
  above 0.273 on Python documentation) are asserted on the bundled model once this one replaces it.
"""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import minialbert as ma
from minialbert import backend
from minialbert.training.pretrain import evaluate_saved

ROOT = Path(__file__).resolve().parents[1]
DIR = ROOT / "weights" / "wip" / "minialbert-english"
SENTENCES = ROOT / "weights" / "sentences"
HF = ROOT / "tests" / "fixtures" / "english_wip_hf"


def metrics():
    return json.loads((DIR / "metrics.json").read_text())


def test_the_papers_shape():
    c = ma.AlbertConfig.from_json_file(DIR / "config.json")
    assert c.ln_type == "postln" and c.share_type == "all" and c.num_hidden_groups == 1
    assert c.embedding_size < c.hidden_size and c.num_hidden_layers >= 6
    assert c.vocab_size == 30000 and c.hidden_act == "gelu_new"
    assert (DIR / "model.safetensors").stat().st_size < 40e6          # "a few tens of MB of float16 at most"


def test_transformers_runs_it_as_minialbert_does():
    meta = json.loads((HF / "meta.json").read_text())
    sha = hashlib.sha256((DIR / "model.safetensors").read_bytes()).hexdigest()
    assert meta["model_sha256"] == sha, ("stale fixture: rerun scripts/make_bundled_hf_fixture.py "
                                         "--model weights/wip/minialbert-english --out tests/fixtures/english_wip_hf")
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
    assert r["mlm_accuracy"] > 0.15                      # far above the commonest-piece baseline (~0.04)


def test_fill_mask_hits_equal_metrics():
    """The counts weights/README.md quotes, through the fill-mask pipeline on this model."""
    fill = ma.pipeline("fill-mask", model=str(DIR))
    stated = metrics()["fill_mask"]
    for f in sorted(SENTENCES.glob("*.json")):
        rows = json.loads(f.read_text())["sentences"]
        tops = [[p["token_str"].strip().lower() for p in fill(text, top_k=5)] for text, _ in rows]
        assert sum(w in t for (_, w), t in zip(rows, tops)) == stated[f.stem]["hits"], f.stem
        assert tops == [r["top5"] for r in stated[f.stem]["sentences"]], f.stem
