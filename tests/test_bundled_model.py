"""The bundled default model (weights/minialbert-default), trained by minialbert itself
(scripts/train_default_model.sh). Its held-out MLM accuracy must reach the figure
stated in weights/minialbert-default/metrics.json (which weights/README.md quotes)
minus a margin, and fill-mask must put the right word in the top 5 on sentences
of its domain (the Python documentation)."""
import json

import numpy as np
import pytest

import minialbert as ma
from minialbert.hub import BUNDLED_DIR, DEFAULT_MODEL_NAME
from minialbert.pretraining import PretrainingBatches, PretrainingDataConfig
from minialbert.pretraining.trainer import evaluate

DIR = BUNDLED_DIR / DEFAULT_MODEL_NAME
pytestmark = pytest.mark.skipif(not (DIR / "model.safetensors").exists(), reason=f"no bundled model in {DIR}")


def test_held_out_mlm_accuracy_matches_the_readme():
    metrics = json.loads((DIR / "metrics.json").read_text())
    stated = metrics["evals"][-1]["mlm_accuracy"]
    tc = metrics["train_config"]
    model = ma.AlbertForPreTraining.from_pretrained(DIR)
    model.mlm_labelled_only = True
    tok = ma.AlbertTokenizer.from_pretrained(DIR)
    dcfg = PretrainingDataConfig(max_seq_length=tc["max_seq_length"], max_predictions_per_seq=tc["max_predictions_per_seq"])
    # the same held-out batches as the trainer's evaluation (same seed, same count)
    batches = PretrainingBatches(DIR / "heldout.txt", tok, dcfg, tc["batch_size"], seed=12345)
    r = evaluate(model, batches, tc["eval_batches"])
    # float16 storage of the weights moves accuracy by well under a point
    assert r["mlm_accuracy"] >= stated - 0.02, (r, stated)


DOMAIN = [
    ("The [MASK] statement is used to define a function.", "def"),
    ("A list is a mutable [MASK] of items.", "sequence"),
    ("This function returns [MASK] if the object is callable.", "true"),
    ("The module provides functions for working with regular [MASK].", "expressions"),
    ("Raises a [MASK] if the key is not found.", "keyerror"),
]


@pytest.mark.parametrize("text,word", DOMAIN)
def test_fill_mask_on_domain_sentences(text, word):
    fill = ma.pipeline("fill-mask")     # no model given: the bundled default
    top = [p["token_str"].strip().lower() for p in fill(text, top_k=5)]
    assert word in top, (text, top)
