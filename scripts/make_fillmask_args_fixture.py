"""HF fill-mask pipeline arguments beyond top_k: tests/fixtures/hf/fillmask/arguments.json.

A developer tool (torch/transformers are never a test or runtime dependency). In the fixture venv, from
the repository root:

    /root/fixvenv/bin/python scripts/make_fillmask_args_fixture.py

Runs transformers' fill-mask pipeline on the committed fixture model (tests/fixtures/hf/fillmask: a small
random ALBERT with the real vocabulary) and the bundled spiece.model, with
  * targets=  words that are one piece, words whose bare form is a continuation piece (HF looks the
    string up in the vocabulary first), words that are several pieces (HF keeps the first piece), a
    string with no piece at all (HF ignores it), a single string, and more targets than top_k / fewer;
  * tokenizer_kwargs={"truncation": True, "max_length": N} on a text longer than N.
Records the outputs (score, token, token_str, sequence) as HF returns them.
"""
import json
import shutil
import tempfile
from pathlib import Path

import torch
import transformers
from transformers import AlbertForMaskedLM, AlbertTokenizer, pipeline

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "hf" / "fillmask"
SPM = ROOT / "minialbert" / "bundled" / "minialbert-default" / "spiece.model"

TARGET_CALLS = [
    {"text": "The capital of France is [MASK].", "targets": ["paris", "london", "the", "berlin"], "top_k": 5},
    {"text": "The capital of France is [MASK].", "targets": ["paris", "london", "the", "berlin"], "top_k": 2},
    {"text": "I like to eat [MASK] for breakfast.", "targets": "bread", "top_k": 5},
    {"text": "I like to eat [MASK] for breakfast.", "targets": ["unbelievably", "xylophone", "bread"], "top_k": 3},
    {"text": "It was [MASK] and [MASK].", "targets": ["cold", "wet", "dark"], "top_k": 2},
    {"text": "I like to eat [MASK] for breakfast.", "targets": ["bread", "\u2581bread", "s"], "top_k": 5},
]
TRUNC_CALLS = [
    {"text": "[MASK] " + "word " * 60 + "end.", "tokenizer_kwargs": {"truncation": True, "max_length": 20},
     "top_k": 3},
]


def main():
    tmp = Path(tempfile.mkdtemp())
    shutil.copy(SPM, tmp / "spiece.model")
    (tmp / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "AlbertTokenizer",
                                                           "do_lower_case": True, "keep_accents": False,
                                                           "remove_space": True}))
    tok = AlbertTokenizer.from_pretrained(str(tmp))
    model = AlbertForMaskedLM.from_pretrained(str(FIX), attn_implementation="eager").eval()
    fill = pipeline("fill-mask", model=model, tokenizer=tok)
    calls = []
    for c in TARGET_CALLS:
        out = fill(c["text"], targets=c["targets"], top_k=c["top_k"])
        calls.append(dict(c, output=out))
    for c in TRUNC_CALLS:
        out = fill(c["text"], tokenizer_kwargs=c["tokenizer_kwargs"], top_k=c["top_k"])
        calls.append(dict(c, output=out))
    meta = {"description": __doc__.strip().splitlines()[0], "transformers_version": transformers.__version__,
            "torch_version": torch.__version__, "calls": calls}
    (FIX / "arguments.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    for c in calls:
        print(c["text"][:40], c.get("targets"), [(o["token_str"], round(o["score"], 5)) for o in
                                                 (c["output"][0] if isinstance(c["output"][0], list) else c["output"])])
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
