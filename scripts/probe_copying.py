"""How much of a model's held-out MLM accuracy is copying a word that is already in the sequence?

    python3 scripts/probe_copying.py [MODEL_DIR]      (default: the bundled model)

For each held-out source the bundled model ships (heldout-SOURCE.txt), batched and masked as the run
that trained it (the same held-out seed as its metrics.json), every masked position is sorted by whether
its answer also stands unmasked elsewhere in the same sequence ("copyable"). Prints, per source: the
share of answers that are copyable, the accuracy on each kind, and the share of the model's first guesses
that are a word of the sequence; then the same split for answers of at least 4 letters (mostly content
words, where copying is not just guessing "the" again). Last, the rank of the intended word of every
sentence of the fill-mask lists (weights/sentences/*.json): how far each list is from its floor.
weights/README.md quotes it (issue 12: why the everyday list misses).
"""
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minialbert import backend  # noqa: E402
from minialbert.hub import default_model_path  # noqa: E402
from minialbert.training.masking import IGNORE_INDEX  # noqa: E402
from minialbert.training.pretrain import heldout_batches, load_for_eval  # noqa: E402

SOURCES = ("pydocs", "wordnet", "handbook")
N_BATCHES = 32          # as metrics.json: ~10k masked positions a source


def probe(model, tok, text, tc, n_batches=N_BATCHES):
    """model, tok: load_for_eval's; the batches are evaluate_saved's (heldout_batches)."""
    special = {tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id}
    n = {"copyable": 0, "other": 0, "long copyable": 0, "long other": 0}
    ok = dict.fromkeys(n, 0)
    guess_in_seq = 0
    for batch in itertools.islice(heldout_batches(text, tok, tc), n_batches):
        out = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],   # labels: logits
                    labels=batch["labels"], sentence_order_label=batch["sentence_order_label"])  # at them only
        labels = batch["labels"]                                          # (B, T)
        rows, cols = np.nonzero(labels != IGNORE_INDEX)                   # row-major, as the logits
        pred = backend.to_numpy(out["prediction_logits"].argmax(-1)).reshape(-1)
        assert pred.size == rows.size
        seen_in = {r: set(batch["input_ids"][r][labels[r] == IGNORE_INDEX].tolist()) - special
                   for r in set(rows.tolist())}                           # each sequence's unmasked pieces
        for r, y, p in zip(rows.tolist(), labels[rows, cols], pred):
            seen = seen_in[r]
            kind = "copyable" if y in seen else "other"
            n[kind] += 1
            ok[kind] += int(p == y)
            if len(tok.convert_ids_to_tokens(int(y)).lstrip("\u2581")) >= 4:   # longer pieces: mostly
                n["long " + kind] += 1                                          # content words, not "the"
                ok["long " + kind] += int(p == y)
            guess_in_seq += int(p in seen)
    total = n["copyable"] + n["other"]
    return {"masked": total,
            "copyable_share": n["copyable"] / total,
            "accuracy_copyable": ok["copyable"] / max(1, n["copyable"]),
            "accuracy_other": ok["other"] / max(1, n["other"]),
            "accuracy": (ok["copyable"] + ok["other"]) / total,
            "first_guess_in_sequence": guess_in_seq / total,
            "long_copyable_share": n["long copyable"] / max(1, n["long copyable"] + n["long other"]),
            "long_accuracy_copyable": ok["long copyable"] / max(1, n["long copyable"]),
            "long_accuracy_other": ok["long other"] / max(1, n["long other"])}


def list_ranks(model, tok, sentences):
    """The rank (1 = first) of each sentence's intended word among the MLM logits at its [MASK] (no labels
    passed: the head runs at every position)."""
    ranks = []
    for text, word in sentences:
        ids = tok(text)["input_ids"]
        at = ids.index(tok.mask_token_id)
        logits = backend.to_numpy(model(np.array([ids]))["prediction_logits"][0, at])   # (V,)
        ranks.append(int((logits > logits[tok.convert_tokens_to_ids("\u2581" + word)]).sum()) + 1)
    return ranks


def main():
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_path()
    tc = json.loads((model_dir / "metrics.json").read_text())["train_config"]
    model, tok = load_for_eval(model_dir)
    model.eval()
    print("source    masked  copyable  acc(copyable)  acc(other)  acc  first guess in the sequence"
          "  | answers of >= 4 letters: copyable  acc(copyable)  acc(other)")
    for src in SOURCES:
        r = probe(model, tok, model_dir / f"heldout-{src}.txt", tc)
        print(f"{src:9} {r['masked']:6}  {r['copyable_share']:8.3f}  {r['accuracy_copyable']:13.3f}"
              f"  {r['accuracy_other']:10.3f}  {r['accuracy']:.3f}  {r['first_guess_in_sequence']:27.3f}"
              f"  | {r['long_copyable_share']:31.3f}  {r['long_accuracy_copyable']:13.3f}  {r['long_accuracy_other']:10.3f}")
    for f in sorted((ROOT / "weights" / "sentences").glob("*.json")):
        ranks = sorted(list_ranks(model, tok, json.loads(f.read_text())["sentences"]))
        print(f"{f.stem}: rank of the intended word, sorted: {ranks} (median {np.median(ranks):g})")


if __name__ == "__main__":
    main()
