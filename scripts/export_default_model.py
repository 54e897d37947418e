"""Export a pretraining run's checkpoint as the bundled default model.

    python3 scripts/export_default_model.py runs/default minialbert/bundled/minialbert-default

Writes config.json + model.safetensors (float16 storage: half the size; loading
widens to float32), spiece.model (the official ALBERT 30k vocabulary, copied from
../shared/albert-vocab), tokenizer_config.json, the held-out text used for the
reported accuracy (heldout.txt), the loss curve (loss.png) and metrics.json.
"""
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minialbert.model import AlbertForPreTraining  # noqa: E402
from minialbert.pipeline import pipeline  # noqa: E402
from minialbert.tokenization import AlbertTokenizer  # noqa: E402


def main(run, dst):
    run, dst = Path(run), Path(dst)
    ck = run / "checkpoint"
    model = AlbertForPreTraining.from_pretrained(ck)
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dst, dtype="float16")
    spm = ROOT.parent / "shared" / "albert-vocab" / "spiece.model"
    AlbertTokenizer.from_pretrained(spm).save_pretrained(dst)
    state = json.loads((ck / "trainer_state.json").read_text())
    metrics = {"steps": state["step"], "final_train_loss": state["history"][-1]["loss"], "evals": state["evals"],
               "train_config": state["train_config"]}
    # fill-mask on the fixed domain sentences (domain_sentences.json of the bundled model)
    domain = json.loads((ROOT / "minialbert" / "bundled" / "minialbert-default" / "domain_sentences.json").read_text())
    fill = pipeline("fill-mask", model=str(dst))
    metrics["domain"] = [{"text": d["text"], "answer": d["answer"],
                          "top5": [p["token_str"] for p in fill(d["text"], top_k=5)]} for d in domain]
    metrics["domain_top5_hits"] = sum(d["answer"] in [t.strip().lower() for t in d["top5"]] for d in metrics["domain"])
    (dst / "metrics.json").write_text(json.dumps(metrics, indent=1))
    if (run / "loss.png").exists():
        shutil.copy(run / "loss.png", dst / "loss.png")
    held = Path(state["train_config"].get("eval_corpus") or "")
    if held.exists():
        shutil.copy(held, dst / "heldout.txt")
    print(f"exported step {state['step']} to {dst}: " + ", ".join(p.name for p in sorted(dst.iterdir())))


if __name__ == "__main__":
    main(*sys.argv[1:3])
