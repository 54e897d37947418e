"""The stages of benchmarks/gpu_verify.sh that are Python (run that script, not this file).

    python benchmarks/gpu_verify.py STAGE OUTDIR        STAGE: smoke | determinism | resume | xxlarge
    python benchmarks/gpu_verify.py summary OUTDIR      summary.json from OUTDIR/stages.tsv

Each stage writes OUTDIR/<stage>.json (what it measured, and "ok") and exits 0 when the check passed, 1
when it did not. GPU_VERIFY_TINY=1 selects tiny sizes (the dry run under the strict CuPy stand-in, in CI).
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

import minialbert as ma  # noqa: E402
from minialbert import backend  # noqa: E402
from minialbert.training.checkpoints import latest_checkpoint  # noqa: E402
from bench_gpu import TINY, PeakPool  # noqa: E402

STAGES = ("install", "smoke", "cupy_tests", "determinism", "resume", "bench", "xxlarge")
TINY_MODE = os.environ.get("GPU_VERIFY_TINY", "") not in ("", "0")
DEVICE = os.environ.get("GPU_VERIFY_DEVICE", "cuda")


def tiny_config(dropout=0.1):
    return ma.AlbertConfig(**TINY, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)


def write(out, stage, result):
    result = dict(result, stage=stage, tiny=TINY_MODE)
    (Path(out) / f"{stage}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps(result, default=str))
    return 0 if result.get("ok") else 1


def sync():
    cp = backend._cp
    if cp is not None:
        cp.cuda.Device().synchronize()


# ----------------------------------------------------------------------------- smoke
def smoke(out):
    """cuda_available() (a GEMM, a kernel, cuRAND, checked), the device, a forward pass on the device
    against the CPU's, and fill-mask with the bundled model on cuda:0 against the CPU's top 5."""
    cp = backend._cp
    res = {"cuda_status": backend.cuda_status(DEVICE), "cupy": getattr(cp, "__version__", None),
           "stand_in": bool(getattr(cp, "_STRICT_STANDIN", False)), "numpy": np.__version__,
           "minialbert": ma.__version__, "python": sys.version.split()[0]}
    if res["cuda_status"] is not None:
        return write(out, "smoke", dict(res, ok=False))
    rt = cp.cuda.runtime
    res.update(device_count=rt.getDeviceCount(), device=rt.getDeviceProperties(0)["name"].decode(),
               runtime_version=rt.runtimeGetVersion(), driver_version=rt.driverGetVersion())
    cfg = tiny_config(0.0) if TINY_MODE else ma.preset("albert-base-v2")
    rng = np.random.default_rng(0)
    ids = rng.integers(5, cfg.vocab_size, size=(2, 16 if TINY_MODE else 64))
    t = time.perf_counter()
    on_cpu = ma.AlbertForMaskedLM(cfg, seed=0)(ids)["logits"]
    on_dev = ma.AlbertForMaskedLM(cfg, seed=0, device="cuda:0")(ids)["logits"]
    diff = float(np.abs(backend.to_numpy(on_dev) - on_cpu).max())
    sync()
    res.update(forward_max_abs_diff=diff, forward_seconds=time.perf_counter() - t)
    text = "Changed in [MASK] 3.10."
    cpu_top = [p["token"] for p in ma.pipeline("fill-mask", device=-1)(text)]
    dev_top = [p["token"] for p in ma.pipeline("fill-mask", device=0)(text)]
    res.update(fill_mask_top5_cpu=cpu_top, fill_mask_top5_device=dev_top)
    return write(out, "smoke", dict(res, ok=diff <= 1e-4 and cpu_top == dev_top))


# ----------------------------------------------------------------------------- determinism
def determinism(out):
    """The same training step (dropout on, seeded; MLM + SOP) twice on the device: equal loss and equal
    gradients, bit for bit. (An atomic scatter, e.g. the embedding backward's add.at on a GPU, sums in a
    different order each run and shows here.)"""
    cfg = tiny_config() if TINY_MODE else ma.preset("albert-base-v2")
    B, T = (2, 16) if TINY_MODE else (8, 128)
    rng = np.random.default_rng(1)
    ids = rng.integers(5, cfg.vocab_size, size=(B, T))
    ids[:, :T // 4] = ids[:, :1]                             # repeated ids: several rows scatter into one
    labels = np.where(rng.random((B, T)) < 0.15, ids, -100)
    labels[:, 1] = ids[:, 1]
    sop = rng.integers(0, 2, size=B)
    m = ma.AlbertForPreTraining(cfg, seed=0, device=DEVICE).train()

    def step():
        m.zero_grad()
        m.manual_seed(1234)
        o = m(ids, labels=labels, sentence_order_label=sop)
        m.backward()
        return float(backend.to_numpy(o["loss"])), {k: backend.to_numpy(g).copy() for k, g in m.grads().items()}
    t = time.perf_counter()
    (l1, g1), (l2, g2) = step(), step()
    differing = {k: float(np.abs(g1[k] - g2[k]).max()) for k in g1 if not np.array_equal(g1[k], g2[k])}
    worst = dict(sorted(differing.items(), key=lambda kv: -kv[1])[:10])
    res = {"config": "tiny" if TINY_MODE else "albert-base-v2", "batch": B, "seq": T, "loss": [l1, l2],
           "loss_equal": l1 == l2, "tensors": len(g1), "tensors_differing": len(differing),
           "max_abs_diff_by_tensor": worst, "seconds": time.perf_counter() - t}
    return write(out, "determinism", dict(res, ok=l1 == l2 and not differing))


# ----------------------------------------------------------------------------- --stop-at / --resume
WORDS = ("the cat dog sat on mat rug and looked at a list is sequence of values tuple that cannot change "
         "function returns value method belongs to an object python module import class").split()


def write_corpus(path, docs=60, seed=0):
    """Plain text, one paragraph a line, a blank line between documents (the pretraining corpus format)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(docs):
        lines = [" ".join(rng.choice(WORDS, size=int(rng.integers(8, 20)))) + " ." for _ in range(6)]
        out.append("\n".join(lines))
    path.write_text("\n\n".join(out) + "\n")


def resume(out):
    """`minialbert pretrain` three times: 6 steps straight; 6 steps stopped at 3 (--stop-at 3); then
    --resume. The two finished models must be the same bytes, the loss and gradient-norm histories and
    the optimiser moments equal (LAMB, dropout, gradient accumulation 2)."""
    d = Path(out) / "resume"
    d.mkdir(parents=True, exist_ok=True)
    corpus, cfg_path = d / "corpus.txt", d / "config.json"
    write_corpus(corpus)
    if TINY_MODE:
        cfg, B, T, P = tiny_config().to_dict(), 4, 32, 5
    else:   # albert-base's shapes (12 M parameters), short sequences: seconds on a GPU
        cfg, B, T, P = dict(ma.preset("albert-base-v2").to_dict(), max_position_embeddings=128), 8, 128, 20
    cfg_path.write_text(json.dumps(cfg, indent=1))
    common = [sys.executable, "-m", "minialbert", "pretrain", "--corpus", str(corpus), "--config", str(cfg_path),
              "--steps", "6", "--batch-size", str(B), "--grad-accum", "2", "--seq-len", str(T),
              "--max-predictions", str(P), "--optimizer", "lamb", "--warmup", "2", "--eval-every", "0",
              "--save-every", "0", "--seed", "7", "--device", DEVICE]
    runs = {"full": ["--out", str(d / "full")], "cut": ["--out", str(d / "cut"), "--stop-at", "3"],
            "resumed": ["--out", str(d / "cut"), "--resume"]}
    res = {"steps": 6, "stop_at": 3, "batch": B, "seq": T, "grad_accum": 2}
    t = time.perf_counter()
    for name, extra in runs.items():
        print(f"-- pretrain ({name}): {' '.join(extra)}", flush=True)
        rc = subprocess.run(common + extra, cwd=ROOT).returncode
        res[f"rc_{name}"] = rc
        if rc != 0:
            return write(out, "resume", dict(res, ok=False, error=f"the {name} run exited with status {rc}"))
    res["seconds"] = time.perf_counter() - t
    full, cut = d / "full", d / "cut"
    res["model_bytes_equal"] = (full / "model.safetensors").read_bytes() == (cut / "model.safetensors").read_bytes()
    ck_full, ck_cut = latest_checkpoint(full), latest_checkpoint(cut)
    res["checkpoints"] = [str(ck_full), str(ck_cut)]
    hist = [json.loads((c / "trainer_state.json").read_text())["history"] for c in (ck_full, ck_cut)]
    res["losses"] = [h["loss"] for h in hist[0]]
    res["history_equal"] = hist[0] == hist[1]
    with np.load(ck_full / "optimizer.npz") as a, np.load(ck_cut / "optimizer.npz") as b:
        res["optimizer_equal"] = sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k])
                                                                            for k in a.files)
    ok = res["model_bytes_equal"] and res["history_equal"] and res["optimizer_equal"] and len(hist[0]) == 6
    if ok and os.environ.get("GPU_VERIFY_KEEP", "") in ("", "0"):   # the runs are hundreds of MB: kept on failure
        for run in (full, cut):
            shutil.rmtree(run)
    return write(out, "resume", dict(res, ok=ok))


# ----------------------------------------------------------------------------- xxlarge forward + backward
def xxlarge(out):
    """albert-xxlarge-v2 (H 4096, 64 heads, I 16384, 12 layers), batch 8 x 512, float32, MLM (labelled
    positions) + SOP, dropout on: two forward + backward passes; time, the memory pool's peak, finiteness."""
    cp = backend._cp
    peak = PeakPool(cp)
    cfg = tiny_config() if TINY_MODE else ma.preset("albert-xxlarge-v2")
    B, T = (2, 16) if TINY_MODE else (8, 512)
    rng = np.random.default_rng(0)
    ids = rng.integers(5, cfg.vocab_size, size=(B, T))
    labels = np.where(rng.random((B, T)) < 0.15, ids, -100)
    sop = rng.integers(0, 2, size=B)
    t = time.perf_counter()
    m = ma.AlbertForPreTraining(cfg, seed=0, device=DEVICE).train()
    m.mlm_labelled_only = True
    sync()
    res = {"config": "tiny" if TINY_MODE else "albert-xxlarge-v2", "batch": B, "seq": T,
           "parameters": m.num_parameters(), "init_seconds": time.perf_counter() - t, "pass_seconds": []}
    peak.reset()
    for _ in range(2):
        t = time.perf_counter()
        m.zero_grad()
        o = m(ids, labels=labels, sentence_order_label=sop)
        m.backward()
        sync()
        res["pass_seconds"].append(time.perf_counter() - t)
    res["loss"] = float(backend.to_numpy(o["loss"]))
    res["grads_finite"] = all(bool(m.xp.isfinite(g).all()) for g in m.grads().values())
    res["peak_gib"] = peak.peak / 2 ** 30
    res["tokens_per_s"] = B * T / res["pass_seconds"][-1]
    return write(out, "xxlarge", dict(res, ok=bool(np.isfinite(res["loss"])) and res["grads_finite"]))


# ----------------------------------------------------------------------------- summary
def summary(out):
    """OUTDIR/summary.json: every stage (passed / failed / timeout / skipped / not run), its seconds, log and
    result; "failed" lists every stage that neither passed nor was skipped on request."""
    out = Path(out)
    rows = {}
    tsv = out / "stages.tsv"
    for line in (tsv.read_text().splitlines() if tsv.exists() else []):
        name, status, rc, seconds, log, note = (line.split("\t") + [""] * 6)[:6]
        rows[name] = {"name": name, "status": status, "rc": int(rc), "seconds": int(seconds), "log": log or None,
                      "note": note or None}
    stages = []
    for name in STAGES:
        row = rows.pop(name, {"name": name, "status": "not run", "rc": None, "seconds": 0, "log": None,
                              "note": "the script ended before this stage"})
        res = out / f"{name}.json"
        row["result"] = json.loads(res.read_text()) if res.exists() else None
        stages.append(row)
    stages += list(rows.values())
    failed = [s["name"] for s in stages if s["status"] not in ("passed", "skipped")]
    meta = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    doc = dict(meta, finished=datetime.datetime.now().isoformat(timespec="seconds"),
               stage_names=[s["name"] for s in stages], stages=stages, failed=failed, ok=not failed)
    (out / "summary.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\n{'stage':<12} {'status':<9} {'s':>5}  log")
    for s in stages:
        print(f"{s['name']:<12} {s['status']:<9} {s['seconds']:>5}  {s['log'] or ''}"
              + (f"  ({s['note']})" if s["note"] else ""))
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'all stages passed'}; {out / 'summary.json'}")
    return 0 if not failed else 1


COMMANDS = {"smoke": smoke, "determinism": determinism, "resume": resume, "xxlarge": xxlarge, "summary": summary}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2]))
