#!/usr/bin/env bash
# The GPU check of issue 16, in one go: ten minutes on one CUDA 12 GPU machine (pip reachable, no other
# network), from the repository root:
#
#     bash benchmarks/gpu_verify.sh [OUTDIR]            # OUTDIR, else $OUT, else gpu-verify-<date>
#
# Stages, each bounded with `timeout` (the whole run stops starting stages after GPU_VERIFY_DEADLINE
# seconds, 450 by default, so it ends in under eight minutes); a failed stage does not stop the others:
#
#   install      pip install -e ".[gpu]"   (cupy-cuda12x[ctk]: CuPy + cuBLAS/cuRAND/NVRTC/runtime from PyPI)
#   smoke        cuda_available() with its reason, the device, a forward pass on cuda:0 against the CPU's,
#                fill-mask with the bundled model on the GPU against the CPU's top 5
#   cupy_tests   tests/test_cupy.py (the stand-in's and the real GPU's parametrisations; not the xxlarge one)
#   determinism  the same training step twice: equal loss and gradients, bit for bit
#   resume       `minialbert pretrain` 6 steps straight vs --stop-at 3 + --resume: same bytes, same history
#   bench        benchmarks/bench_gpu.py: albert-base-v2 and albert-xxlarge-v2, 8 x 512, vs PyTorch eager
#                when torch with CUDA is importable (it is not installed here)
#   xxlarge      albert-xxlarge-v2 forward + backward at 8 x 512: time, peak pool memory, finite gradients
#
# Everything lands in OUTDIR: <stage>.log, <stage>.json (what was measured), bench.json, cupy_tests.xml,
# env.txt, and summary.json (every stage: passed / failed / timeout / skipped / not run, its seconds, log
# and result).
# Exit status 0 when every stage that ran passed, 1 otherwise (the failed ones are named at the end).
#
# Environment:
#   GPU_VERIFY_SKIP_INSTALL=1  skip the install stage (cupy already there)
#   GPU_VERIFY_TINY=1          tiny model sizes everywhere (seconds; checks the plumbing, not the GPU)
#   GPU_VERIFY_DRY_RUN=1       the CPU dry run, as CI does (tests/test_gpu_verify.py): tiny sizes, no install,
#                              `cupy` is the strict stand-in (tests/cupy_strict, CuPy's rules on NumPy)
#   GPU_VERIFY_DEADLINE=450    seconds after which no further stage starts (each stage's timeout is cut to
#                              fit; a stage left out is "not run" and counts as failed)
#   GPU_VERIFY_DEVICE=cuda     the device of smoke, determinism, resume and xxlarge (cuda:N: another GPU)
#   GPU_VERIFY_KEEP=1          keep the pretraining runs of the resume stage (deleted when they matched)
#   PYTHON=python3             the interpreter (a venv's python, say)
set -u
cd "$(dirname "$0")/.." || exit 2

PY=${PYTHON:-python3}
DIR=${1:-${OUT:-gpu-verify-$(date +%Y%m%d-%H%M%S)}}
mkdir -p "$DIR" || exit 2
DIR=$(cd "$DIR" && pwd)
DRY=${GPU_VERIFY_DRY_RUN:-0}
DEADLINE=${GPU_VERIFY_DEADLINE:-450}
if [ "$DRY" = 1 ]; then
    export GPU_VERIFY_TINY=1 GPU_VERIFY_SKIP_INSTALL=1
    export PYTHONPATH="$PWD/tests/cupy_strict${PYTHONPATH:+:$PYTHONPATH}"
fi
TINY=${GPU_VERIFY_TINY:-0}
export GPU_VERIFY_TINY=$TINY PYTHONUNBUFFERED=1
: > "$DIR/stages.tsv"
START=$SECONDS
"$PY" - "$DIR" "$DRY" "$TINY" <<'EOF' || true
import datetime, json, platform, sys
out, dry, tiny = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
json.dump({"script": "benchmarks/gpu_verify.sh", "started": datetime.datetime.now().isoformat(timespec="seconds"),
           "out": out, "dry_run": dry, "tiny": tiny, "host": platform.node(), "python": sys.version.split()[0]},
          open(f"{out}/run.json", "w"), indent=1)
EOF

# run_stage NAME BUDGET_S COMMAND...: the command's output in NAME.log, one line in stages.tsv
run_stage() {
    local name=$1 budget=$2
    shift 2
    local left=$((DEADLINE - (SECONDS - START)))
    if [ "$left" -lt 10 ]; then
        printf '%s\tnot run\t0\t0\t\tout of time (GPU_VERIFY_DEADLINE=%s)\n' "$name" "$DEADLINE" >> "$DIR/stages.tsv"
        echo "== $name: not run, out of time"
        return
    fi
    [ "$budget" -gt "$left" ] && budget=$left
    echo "== $name (at most ${budget}s)"
    local t0=$SECONDS rc status note=""
    timeout -k 5 "$budget" "$@" > "$DIR/$name.log" 2>&1
    rc=$?
    case $rc in
        0) status=passed ;;
        124|137) status=timeout; note="killed after ${budget}s" ;;
        *) status=failed ;;
    esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$((SECONDS - t0))" "$name.log" "$note" >> "$DIR/stages.tsv"
    echo "   $status (exit $rc, $((SECONDS - t0))s)"
    if [ "$status" != passed ]; then
        tail -n 5 "$DIR/$name.log" | sed 's/^/   | /'
    fi
}

skip_stage() {
    printf '%s\tskipped\t0\t0\t\t%s\n' "$1" "$2" >> "$DIR/stages.tsv"
    echo "== $1: skipped ($2)"
}

# what the machine is (never fails the run)
{
    echo "# date"; date -u
    echo "# nvidia-smi"; (command -v nvidia-smi > /dev/null && timeout 20 nvidia-smi) || echo "(no nvidia-smi)"
    echo "# python"; "$PY" --version
    echo "# pip (cupy, nvidia, cuda, torch, numpy)"
    timeout 30 "$PY" -m pip list 2>/dev/null | grep -iE '^(cupy|nvidia|cuda|torch|numpy|transformers)' || true
} > "$DIR/env.txt" 2>&1

if [ "${GPU_VERIFY_SKIP_INSTALL:-0}" = 1 ]; then
    skip_stage install "GPU_VERIFY_SKIP_INSTALL=1"
else
    run_stage install 110 "$PY" -m pip install --progress-bar off -e ".[gpu]"
fi
if [ "$DRY" != 1 ]; then   # cupy's own view of the install, after it (the stand-in has no show_config)
    timeout 30 "$PY" -c "import cupy; cupy.show_config()" >> "$DIR/env.txt" 2>&1 || true
fi

run_stage smoke 30 "$PY" benchmarks/gpu_verify.py smoke "$DIR"
if [ "$TINY" = 1 ]; then
    PYTEST_K="test_ops_match_numpy or test_to_device_round_trip"
else
    PYTEST_K="not xxlarge"
fi
run_stage cupy_tests 60 "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_cupy.py -k "$PYTEST_K" \
    --junitxml="$DIR/cupy_tests.xml"
run_stage determinism 30 "$PY" benchmarks/gpu_verify.py determinism "$DIR"
run_stage resume 55 "$PY" benchmarks/gpu_verify.py resume "$DIR"
if [ "$TINY" = 1 ]; then
    run_stage bench 115 "$PY" benchmarks/bench_gpu.py --models tiny --batch 2 --seq 16 --repeats 1 --json "$DIR/bench.json"
else
    run_stage bench 115 "$PY" benchmarks/bench_gpu.py --models albert-base-v2,albert-xxlarge-v2 --batch 8 --seq 512 \
        --repeats 3 --json "$DIR/bench.json"
fi
run_stage xxlarge 50 "$PY" benchmarks/gpu_verify.py xxlarge "$DIR"

"$PY" benchmarks/gpu_verify.py summary "$DIR"
