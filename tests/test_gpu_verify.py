"""benchmarks/gpu_verify.sh, the prepared GPU check (issue 16 item 7), dry-run on the CPU: install skipped,
tiny sizes, `cupy` the strict stand-in (tests/cupy_strict) in the script's processes. What is checked is
the script's plumbing (every stage runs, bounded, writes its log and results, one summary lists them all,
a failed stage does not stop the others), not a GPU."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "gpu_verify.sh"
STAGES = ["install", "smoke", "cupy_tests", "determinism", "resume", "bench", "xxlarge"]

pytestmark = [
    pytest.mark.skipif(not (ROOT / "tests" / "cupy_strict" / "cupy" / "__init__.py").exists(),
                       reason="the strict CuPy stand-in (tests/cupy_strict) is not there"),
    pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                       reason="needs bash and coreutils' timeout"),
]


def dry_run(out, **env):
    e = dict(os.environ, GPU_VERIFY_DRY_RUN="1", GPU_VERIFY_SKIP_INSTALL="1", PYTHON=sys.executable,
             OPENBLAS_NUM_THREADS="1", **env)
    e.pop("OUT", None)
    r = subprocess.run(["bash", str(SCRIPT), str(out)], env=e, capture_output=True, text=True, timeout=300,
                       cwd="/")                                # the script finds the repository itself
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    return r, summary


def test_dry_run_runs_every_stage_and_summarises_them(tmp_path):
    out = tmp_path / "verify"
    r, s = dry_run(out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert s is not None and s["ok"] and s["failed"] == []
    assert s["stage_names"] == STAGES
    assert s["dry_run"] and s["tiny"]
    by = {st["name"]: st for st in s["stages"]}
    assert by["install"]["status"] == "skipped" and "GPU_VERIFY_SKIP_INSTALL" in by["install"]["note"]
    for name in STAGES[1:]:
        st = by[name]
        assert st["status"] == "passed", (name, st)
        assert (out / st["log"]).stat().st_size > 0, name
        assert 0 <= st["seconds"] <= 120, name
    res = {name: by[name]["result"] for name in STAGES}
    assert res["smoke"]["stand_in"] and res["smoke"]["cuda_status"] is None and res["smoke"]["ok"]
    assert res["smoke"]["fill_mask_top5_device"] == res["smoke"]["fill_mask_top5_cpu"]
    assert res["determinism"]["tensors"] > 20 and res["determinism"]["tensors_differing"] == 0
    assert res["resume"]["model_bytes_equal"] and res["resume"]["history_equal"] and res["resume"]["optimizer_equal"]
    assert len(res["resume"]["losses"]) == 6 and not (out / "resume" / "full").exists()   # matched: cleaned up
    assert [row["model"] for row in res["bench"]["results"]] == ["tiny"]
    assert res["xxlarge"]["config"] == "tiny" and res["xxlarge"]["grads_finite"] and len(res["xxlarge"]["pass_seconds"]) == 2
    assert "passed" in (out / "cupy_tests.log").read_text() and (out / "cupy_tests.xml").exists()
    assert "all stages passed" in r.stdout


def test_a_failed_stage_does_not_stop_the_others(tmp_path):
    """A device that does not exist: the stages that use it fail (and are named), the others still run
    and pass, the exit status is 1; with no time left, stages are 'not run' and count as failed."""
    out = tmp_path / "verify"
    r, s = dry_run(out, GPU_VERIFY_DEVICE="cuda:5")
    assert r.returncode == 1
    assert s["failed"] == ["smoke", "determinism", "resume", "xxlarge"], s["failed"]
    by = {st["name"]: st for st in s["stages"]}
    assert by["cupy_tests"]["status"] == "passed" and by["bench"]["status"] == "passed"
    assert "there is no CUDA device 5" in by["smoke"]["result"]["cuda_status"]
    assert "FAILED: smoke, determinism, resume, xxlarge" in r.stdout
    r, s = dry_run(tmp_path / "late", GPU_VERIFY_DEADLINE="0")
    assert r.returncode == 1 and s["stage_names"] == STAGES
    assert [st["status"] for st in s["stages"]] == ["skipped"] + ["not run"] * 6
