#!/usr/bin/env bash
# Reproduce the bundled default model (weights/minialbert-default) from scratch; weights/README.md says how
# the committed run went (it was interrupted and resumed with changed --steps, so this straight run is close
# to it, not bit-identical).
# Needs: apt-get install python3.11-doc (the corpus), ../shared/albert-vocab/spiece.model,
# ~95 minutes on a 2-core CPU with nothing else running (pass --device cuda to the pretrain step on a GPU;
# extra arguments, e.g. --steps 50000, go to the pretrain step).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/make_corpus.py --out data/pydocs.txt
python3 -m minialbert pretrain --corpus data/pydocs.txt --eval-corpus data/pydocs-heldout.txt \
    --config configs/minialbert-default.json --out runs/default --steps 23500 --batch-size 32 --seq-len 64 \
    --max-predictions 10 --optimizer adamw --lr 2e-3 --warmup 500 --eval-every 1000 --eval-batches 16 \
    --save-every 500 --tokenizer ../shared/albert-vocab/spiece.model --seed 0 "$@"
python3 scripts/export_default_model.py runs/default weights/minialbert-default
