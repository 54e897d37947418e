#!/usr/bin/env bash
# The bundled model's successor (issue 12): a post-LN, factorised (E = 128 < H = 256), all-shared 6-layer
# ALBERT pretrained on English (scripts/make_corpus.py: WordNet glosses, the Python docs, the Debian
# handbook). Exported to weights/wip/minialbert-english until it meets the bundled model's bar.
#
#   bash scripts/train_english_model.sh [RUN_DIR] [extra pretrain arguments, e.g. --device cuda]
#
# Needs: apt-get install wordnet-base python3.11-doc debian-handbook; ~0.7 s a step on a 2-core CPU alone.
# The run is split across sessions, each one phase below (a machine's run directory does not outlive its
# session, so a phase starts from the exported weights with --init-from: a fresh LAMB state and warmup).
# Within a session, rerunning the same command continues bit for bit (--resume).
#   phase 1 (2026-12-05): from scratch; steps 1-3,250 scheduled for 9,000, then scheduled for 40,000
#                         (--resume with a larger --steps), stopped at step 9,000 and exported (weights/README.md)
#   phase 2 (2026-12-05, later): the run directory had survived, so --resume of the same 40k schedule,
#                         steps 9,001-21,750 (~1.7 steps/s alone), exported again (weights/README.md)
# Each later phase: --init-from weights/wip/minialbert-english, its own --steps and --warmup 300.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/english}
shift || true
[ -s data/corpus.txt ] && [ -s data/corpus-heldout-pydocs.txt ] || python3 scripts/make_corpus.py --out data/corpus.txt
START=(--config configs/minialbert-english.json)
if [ -e "$RUN/LATEST" ]; then
    START=(--config configs/minialbert-english.json --resume)
elif [ -s weights/wip/minialbert-english/model.safetensors ]; then
    START=(--init-from weights/wip/minialbert-english)
fi
python3 -m minialbert pretrain --corpus data/corpus.txt --eval-corpus data/corpus-heldout.txt \
    --out "$RUN" --steps ${STEPS:-40000} "${START[@]}" \
    --batch-size 32 --seq-len 64 --max-predictions 10 --optimizer lamb --lr 2e-3 --warmup 300 \
    --eval-every 500 --eval-batches 8 --save-every 250 --seed 0 "$@"
python3 scripts/export_default_model.py "$RUN" weights/wip/minialbert-english --heldout data/corpus-heldout \
    --about "a 4.7 M-parameter ALBERT (post-LN, E = 128 < H = 256, 6 layers sharing one) that minialbert pretrained on English: WordNet glosses, the Python docs, the Debian handbook"
