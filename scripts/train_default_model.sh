#!/usr/bin/env bash
# Reproduce the bundled default model (minialbert/bundled/minialbert-default) from scratch.
#
# The committed run was trained across sessions: it was stopped and resumed (bit-exact) with a new
# --steps three times, and --steps sets the learning-rate schedule, so its schedule is piecewise. The
# four phases below replay exactly that schedule (checked against the lr the run recorded at every step):
#   steps      1-8,000   scheduled for 24,000 steps
#   steps  8,001-16,500  scheduled for 21,000
#   steps 16,501-23,500  scheduled for 23,500 (decayed to 0)
#   steps 23,501-50,000  scheduled for 50,000 (lr back up to 1.07e-3, then decayed to 0)
# Same machine and thread count: the same floats; elsewhere BLAS may round differently.
#
# Needs: apt-get install python3.11-doc (the corpus), ../shared/albert-vocab/spiece.model,
# ~3.3 hours on a 2-core CPU with nothing else running (pass --device cuda on a GPU; extra arguments go
# to every pretrain phase). Interrupted? Rerun the phase it was in with --resume added.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -s data/pydocs.txt ] && [ -s data/pydocs-heldout.txt ] || python3 scripts/make_corpus.py --out data/pydocs.txt
pretrain() {
    python3 -m minialbert pretrain --corpus data/pydocs.txt --eval-corpus data/pydocs-heldout.txt \
        --config configs/minialbert-default.json --out runs/default --batch-size 32 --seq-len 64 \
        --max-predictions 10 --optimizer adamw --lr 2e-3 --warmup 500 --eval-every 1000 --eval-batches 16 \
        --save-every 500 --tokenizer ../shared/albert-vocab/spiece.model --seed 0 "$@"
}
pretrain --steps 24000 --stop-at 8000 "$@"
pretrain --steps 21000 --stop-at 16500 --resume "$@"
pretrain --steps 23500 --resume "$@"
pretrain --steps 50000 --resume "$@"
# export: scripts/export_default_model.py as of commit 19fc532 (the exporter now writes the successor's
# per-source metrics, scripts/train_english_model.sh)
git show 19fc532:scripts/export_default_model.py > /tmp/export_default_model_19fc532.py
python3 /tmp/export_default_model_19fc532.py runs/default minialbert/bundled/minialbert-default
