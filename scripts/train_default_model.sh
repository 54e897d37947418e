#!/usr/bin/env bash
# Reproduce the bundled default model (weights/minialbert-default) from scratch: the recipe recorded in
# weights/minialbert-default/metrics.json ("train_config").
# Needs: apt-get install python3.11-doc (the corpus), ../shared/albert-vocab/spiece.model,
# about an hour on a 2-core CPU with nothing else running (pass --device cuda to the pretrain step on a GPU;
# extra arguments, e.g. --steps 20000, go to the pretrain step).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/make_corpus.py --out data/pydocs.txt
python3 -m minialbert pretrain --corpus data/pydocs.txt --eval-corpus data/pydocs-heldout.txt \
    --config configs/minialbert-default.json --out runs/default --steps 2500 --batch-size 64 --seq-len 64 \
    --max-predictions 10 --optimizer adamw --lr 2e-3 --warmup 250 --eval-every 500 --eval-batches 16 \
    --save-every 250 --tokenizer ../shared/albert-vocab/spiece.model --seed 0 "$@"
python3 scripts/export_default_model.py runs/default weights/minialbert-default
