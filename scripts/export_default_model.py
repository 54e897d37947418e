"""Export a pretraining run's newest checkpoint as the bundled default model, and measure it.

    python3 scripts/export_default_model.py RUN DST [--heldout data/corpus-heldout] --about "..."

(DST: minialbert/bundled/minialbert-default for the bundled model; scripts/train_default_model.sh)

Writes into DST (fresh: the old files are replaced, nothing stale is kept):
  config.json + model.safetensors   float16 storage (half the size; loading widens to float32)
  spiece.model, tokenizer_config.json   the official ALBERT 30k vocabulary the run was trained with
  heldout-SOURCE.txt                the held-out text of each corpus source the accuracy is measured on
  metrics.json                      step, train config, held-out MLM/SOP accuracy per source (measured
                                    here on the exported float16 weights), the fill-mask top 5 of every
                                    sentence in weights/sentences/*.json and the hit counts
  train_loss.json                   the training loss at every step (for notebook 06's reading of the curve)
  loss.png, about.txt               the loss curve; the one-line description fill-mask prints on stderr
Every figure in metrics.json is re-measured by tests/test_bundled_model.py.
"""
import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minialbert.hub import default_model_path  # noqa: E402
from minialbert.model import AlbertForMaskedLM, AlbertForPreTraining  # noqa: E402
from minialbert.pipeline import pipeline  # noqa: E402
from minialbert.tokenization import AlbertTokenizer  # noqa: E402
from minialbert.training.checkpoints import latest_checkpoint, read_state  # noqa: E402
from minialbert.training.pretrain import evaluate_saved  # noqa: E402

SENTENCES = ROOT / "weights" / "sentences"
SOURCES = ("pydocs", "wordnet", "handbook")
EVAL_BATCHES = 32      # 32 x 32 sequences x <= 10 predictions: ~10k masked tokens per source


def fill_mask_hits(model_dir):
    """Top 5 of the pipeline on every sentence list; a hit = the intended word among them."""
    fill = pipeline("fill-mask", model=AlbertForMaskedLM.from_pretrained(model_dir),
                    tokenizer=AlbertTokenizer.from_pretrained(model_dir))
    out = {}
    for f in sorted(SENTENCES.glob("*.json")):
        rows = []
        for text, word in json.loads(f.read_text())["sentences"]:
            top5 = [p["token_str"].strip().lower() for p in fill(text, top_k=5)]
            rows.append({"text": text, "answer": word, "top5": top5, "hit": word in top5})
        out[f.stem] = {"hits": sum(r["hit"] for r in rows), "total": len(rows), "sentences": rows}
    return out


def _relative(path):
    """A path under the repository as repository-relative, any other as its last two parts."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(Path(*p.parts[-2:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("dst")
    ap.add_argument("--heldout", default="data/corpus-heldout", help="stem of the per-source held-out files")
    ap.add_argument("--about", required=True, help="one line: what the model is (fill-mask prints it)")
    args = ap.parse_args()
    run, dst = Path(args.run), Path(args.dst)
    ck = latest_checkpoint(run)
    if ck is None:
        sys.exit(f"{run}: no complete checkpoint")
    state = read_state(ck)
    tc = state["train_config"]
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=dst.parent))
    AlbertForPreTraining.from_pretrained(ck).save_pretrained(tmp, dtype="float16")
    # the run's tokenizer (saved beside each checkpoint), else the official vocabulary the runs default to
    AlbertTokenizer.from_pretrained(ck if (ck / "spiece.model").exists() else default_model_path()).save_pretrained(tmp)
    # paths of this machine's run are not the package's business: keep them relative to the repository
    tc = {k: (_relative(v) if k in ("corpus", "eval_corpus", "out", "init_from", "tokenizer") and v else v)
          for k, v in tc.items()}
    stream = state.get("data", {}).get("stream", {})
    size = state.get("corpus_fingerprint", {}).get("size")
    metrics = {"checkpoint": ck.name, "steps": state["step"], "final_train_loss": state["history"][-1]["loss"],
               "evals": state["evals"], "train_config": tc, "eval_batches": EVAL_BATCHES, "heldout": {}}
    if stream and size:
        # passes over the training corpus so far: whole epochs plus the part of this one already read
        metrics["corpus_passes"] = stream["epoch"] + stream["read_offset"] / size
    for src in SOURCES:
        text = Path(f"{args.heldout}-{src}.txt")
        shutil.copy(text, tmp / f"heldout-{src}.txt")
        metrics["heldout"][src] = evaluate_saved(tmp, tmp / f"heldout-{src}.txt", tc, EVAL_BATCHES)
        print(src, metrics["heldout"][src], flush=True)
    metrics["fill_mask"] = fill_mask_hits(tmp)
    for name, r in metrics["fill_mask"].items():
        print(f"{name}: {r['hits']}/{r['total']} in the top 5")
    (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    (tmp / "about.txt").write_text(args.about.strip() + "\n")
    hist = state["history"]
    assert [h["step"] for h in hist] == list(range(1, len(hist) + 1)), "history must hold every step"
    (tmp / "train_loss.json").write_text(json.dumps({"first_step": 1, "loss": [round(h["loss"], 3) for h in hist]},
                                                    separators=(",", ":")) + "\n")
    if (run / "loss.png").exists():
        shutil.copy(run / "loss.png", tmp / "loss.png")
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)
    dst.chmod(0o755)                                  # mkdtemp made it private
    print(f"exported {ck} (step {state['step']}) to {dst}: " + ", ".join(p.name for p in sorted(dst.iterdir())))


if __name__ == "__main__":
    main()
