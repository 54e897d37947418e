#!/usr/bin/env bash
# The bundled default model (minialbert/bundled/minialbert-default, issue 12): a post-LN, factorised
# (E = 128 < H = 256), all-shared 6-layer ALBERT pretrained on English (scripts/make_corpus.py: WordNet
# glosses, the Python docs, the Debian handbook), exported into the package.
#
#   bash scripts/train_default_model.sh [RUN_DIR] [extra pretrain arguments, e.g. --device cuda]
#
# Needs: apt-get install wordnet-base python3.11-doc debian-handbook; ~0.6 s a step on a 2-core CPU alone.
# One 40,000-step LAMB schedule (then 8,000 more steps, phase 4), run across sessions; rerunning the
# same command continues it bit for bit (--resume) while the run directory survives:
#   phase 1 (2026-12-05): from scratch; steps 1-3,250 scheduled for 9,000, then scheduled for 40,000
#                         (--resume with a larger --steps), stopped at step 9,000
#   phase 2 (2026-12-05, later): --resume, steps 9,001-21,750 (~1.7 steps/s alone); bundled from here on
#   phase 3 (2026-12-05, third and fourth sessions): --resume, steps 21,751-40,000, the schedule's end
#   phase 4 (2026-12-05, fourth and fifth sessions): STEPS=48000, --resume: a second linear decay from
#                         3.3e-4 to 0 over steps 40,001-48,000; bundled (weights/README.md)
# A machine's run directory may not outlive its session: then the next phase starts from the bundled
# weights with --init-from (a fresh LAMB state and warmup; give it its own --steps).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/english}
shift || true
BUNDLED=minialbert/bundled/minialbert-default
[ -s data/corpus.txt ] && [ -s data/corpus-heldout-pydocs.txt ] || python3 scripts/make_corpus.py --out data/corpus.txt
START=(--config configs/minialbert-default.json)
if [ -e "$RUN/LATEST" ]; then
    START=(--config configs/minialbert-default.json --resume)
elif [ -s "$BUNDLED/model.safetensors" ]; then
    START=(--init-from "$BUNDLED")
fi
python3 -m minialbert pretrain --corpus data/corpus.txt --eval-corpus data/corpus-heldout.txt \
    --out "$RUN" --steps ${STEPS:-40000} "${START[@]}" \
    --batch-size 32 --seq-len 64 --max-predictions 10 --optimizer lamb --lr 2e-3 --warmup 300 \
    --eval-every 500 --eval-batches 8 --save-every 250 --seed 0 "$@"
python3 scripts/export_default_model.py "$RUN" "$BUNDLED" --heldout data/corpus-heldout \
    --about "a 4.8 M-parameter ALBERT (post-LN, E = 128 < H = 256, 6 layers sharing one) that minialbert pretrained on English: WordNet glosses, the Python docs, the Debian handbook"
# then: the HF fixture (scripts/make_bundled_hf_fixture.py, in the fixture venv), the notebooks
# (scripts/build_notebooks.py) and tests/test_bundled_model.py
