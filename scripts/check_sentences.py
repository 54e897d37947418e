"""Check the bundled model's fill-mask sentence lists: each intended word is one piece of the vocabulary
(so a top-5 hit is well defined) and no sentence occurs in the training corpus (case- and space-folded).

    python3 scripts/check_sentences.py [--corpus data/corpus.txt] [--tokenizer minialbert-default]
"""
import argparse
import json
import re
import sys
from pathlib import Path

from minialbert.tokenization import load_tokenizer

LISTS = Path(__file__).resolve().parent.parent / "weights" / "sentences"


def fold(s):
    return re.sub(r"\s+", " ", s.lower()).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/corpus.txt")
    ap.add_argument("--tokenizer", default="minialbert-default", help="the official 30k vocabulary (bundled)")
    args = ap.parse_args()
    tok = load_tokenizer(args.tokenizer)
    text = fold(Path(args.corpus).read_text(encoding="utf-8"))
    bad = 0
    for f in sorted(LISTS.glob("*.json")):
        for sent, word in json.loads(f.read_text())["sentences"]:
            pieces = tok.tokenize(word)
            if len(pieces) != 1 or pieces[0] not in ("\u2581" + word, word):
                print(f"{f.name}: {word!r} is not one piece: {pieces}")
                bad += 1
            filled = fold(sent.replace("[MASK]", word))
            if filled in text:
                print(f"{f.name}: {sent!r} filled with {word!r} occurs in {args.corpus}")
                bad += 1
    print("ok" if not bad else f"{bad} problem(s)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
