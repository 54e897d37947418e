"""What Hugging Face transformers computes with a model minialbert pretrained: tests/fixtures/<name>_hf/.

A developer tool (torch and transformers are never a test or runtime dependency). In the fixture venv:

    /root/fixvenv/bin/python scripts/make_bundled_hf_fixture.py [--model DIR] [--out DIR]

(default: the bundled model, into tests/fixtures/bundled_hf). Loads the model with transformers' AlbertForPreTraining (all its heads) (safetensors, float16
storage widened to float32 as minialbert does) and its AlbertTokenizer, and records for a few sentences
with one [MASK]: the input ids HF's tokenizer gives, the last hidden state (T, H) and the logits at the
mask (V,), in float32. transformers must load the checkpoint with no missing or unexpected keys (that is
the proof the bundled model is an ALBERT HF can run: post-LN, factorised, shared). The sha256 of the
model file is recorded so the test can tell a stale fixture from a real mismatch.
"""
import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AlbertForPreTraining, AlbertTokenizer

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Paris is the capital of [MASK].",
         "The function returns a [MASK] of strings.",
         "She opened the [MASK] and walked into the garden."]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=ROOT / "minialbert" / "bundled" / "minialbert-default")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "bundled_hf")
    args = ap.parse_args()
    MODEL, OUT = args.model, args.out
    tok = AlbertTokenizer.from_pretrained(str(MODEL))   # spiece.model + tokenizer_config.json
    model, info = AlbertForPreTraining.from_pretrained(str(MODEL), output_loading_info=True,
                                                    torch_dtype=torch.float32, attn_implementation="eager")
    # every tensor of the checkpoint (MLM and sentence-order heads, pooler) must be one HF expects; the
    # decoder weight is tied to the word embeddings, so HF may count it as missing
    missing = [k for k in info.get("missing_keys", []) if not k.endswith("predictions.decoder.weight")]
    if missing or info.get("unexpected_keys") or info.get("mismatched_keys"):
        sys.exit(f"transformers does not load the bundled model cleanly: {info}")
    model.eval()
    OUT.mkdir(parents=True, exist_ok=True)
    cases = []
    arrays = {}
    for i, text in enumerate(TEXTS):
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            out = model(**enc, output_hidden_states=True)
        ids = enc["input_ids"][0].numpy()
        pos = int(np.flatnonzero(ids == tok.mask_token_id)[0])
        arrays[f"hidden_{i}"] = out.hidden_states[-1][0].numpy().astype(np.float32)     # (T, H)
        arrays[f"mask_logits_{i}"] = out.prediction_logits[0, pos].numpy().astype(np.float32)      # (V,)
        cases.append({"text": text, "input_ids": ids.tolist(), "mask_position": pos,
                      "top5": tok.convert_ids_to_tokens(out.prediction_logits[0, pos].topk(5).indices.tolist())})
    np.savez_compressed(OUT / "outputs.npz", **arrays)
    meta = {"model_sha256": hashlib.sha256((MODEL / "model.safetensors").read_bytes()).hexdigest(),
            "transformers": transformers.__version__, "torch": torch.__version__, "cases": cases}
    (OUT / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
