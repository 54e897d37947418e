#!/usr/bin/env bash
# Reproduce the bundled default model (weights/minialbert-default) from scratch.
# Needs: apt-get install python3.11-doc (the corpus), ../shared/albert-vocab/spiece.model,
# ~95 minutes on a 2-core CPU with nothing else running (pass --device cuda to the pretrain step on a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/make_corpus.py --out data/pydocs.txt
python3 -m minialbert pretrain --corpus data/pydocs.txt --eval-corpus data/pydocs-heldout.txt \
    --config configs/minialbert-default.json --out runs/default --steps 24000 --batch-size 32 --seq-len 64 \
    --max-predictions 10 --optimizer adamw --lr 2e-3 --warmup 500 --eval-every 1000 --eval-batches 16 \
    --save-every 500 --tokenizer ../shared/albert-vocab/spiece.model --seed 0 "$@"
python3 scripts/export_default_model.py runs/default weights/minialbert-default
