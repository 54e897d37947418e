#!/usr/bin/env python
"""CPU benchmark: minialbert (NumPy) against Hugging Face transformers (PyTorch eager).

Both run AlbertForMaskedLM at a preset's shape (default albert-base-v2), float32,
in the same process, on the same inputs and the same weights (minialbert's
random init copied into the HF model), so the same computation is timed:

  forward   ours: model(ids, mask, types) -> logits (it also keeps the caches
            that backward() needs); torch: model(...) under torch.no_grad(),
            HF eager attention, .eval().
  fwd+bwd   MLM loss with ~15% of positions labelled (the rest -100), then the
            backward pass; gradients are reset before every step
            (ours: model.zero_grad(), torch: zero_grad(set_to_none=True)).

Timings: warm-up runs, then the median of --repeats runs; the four measurements
are interleaved (ours fwd, torch fwd, ours fwd+bwd, torch fwd+bwd, repeat) so
that background load on a shared machine hits both implementations alike, and a
run during which other processes took more than --max-foreign of the cores
(system CPU time from /proc/stat minus this process's own) is discarded and
re-run, up to --retries times.

Peak memory of one fwd+bwd:
  ours   tracemalloc peak (NumPy reports its data buffers to tracemalloc), i.e.
         the most bytes held at once by arrays allocated during the step;
  both   peak RSS increase of a fresh subprocess (this script with
         --_mem-child): VmRSS before the step (model built, inputs made) vs
         the VmHWM high-water mark after it (reset just before the step; see
         mem_child for why not ru_maxrss). torch's CPU allocator is invisible
         to tracemalloc, so RSS is the measure that treats both alike.

With --also DIR a second copy of the minialbert package (e.g. one with a
patch applied) is checked against torch and timed in the same loop.

Usage:
  PYTHONPATH=. python benchmarks/bench_cpu.py [--model albert-base-v2] [--batch 8]
      [--seq 128] [--repeats 5] [--warmup 1] [--max-foreign 0.05] [--retries 3]
      [--blas-threads N] [--no-torch] [--no-memory] [--also DIR] [--json out.json]
"""
from __future__ import annotations

import os
import sys


def _ncpu() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# NumPy's OpenBLAS reads its thread count when it is loaded: ask for every core
# before numpy is imported, then set it explicitly after import
# (_set_blas_threads, --blas-threads, default all cores) and report it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(_ncpu()))

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

try:
    import minialbert  # noqa: E402
except ImportError:  # ab_compare.py loads its packages by path and needs none on sys.path
    minialbert = None

TARGET_FWD = 1.2     # project targets: minialbert / torch
TARGET_FWDBWD = 1.5


# ----------------------------------------------------------------------------- environment


def _openblas_lib():
    """ctypes handle and symbol prefix of the OpenBLAS that numpy loaded, or (None, None)."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        return None, None
    for path in paths:
        lib = ctypes.CDLL(path)
        for get, set_ in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                          ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                          ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                          ("openblas_get_num_threads", "openblas_set_num_threads")):
            if hasattr(lib, get) and hasattr(lib, set_):
                return lib, (get, set_)
    return None, None


def _set_blas_threads(n: int):
    """Set and return NumPy's OpenBLAS thread count (None when it cannot be read)."""
    lib, names = _openblas_lib()
    if lib is None:
        return None
    getattr(lib, names[1])(ctypes.c_int(n))
    return int(getattr(lib, names[0])())


def blas_description() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        return f"{b.get('name')} {b.get('version')}"
    except Exception:  # older numpy: no mode='dicts'
        return "unknown (see np.show_config())"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def minialbert_source() -> str:
    """Where minialbert was imported from, and its git commit (+ 'dirty' if edited)."""
    pkg = os.path.dirname(os.path.abspath(minialbert.__file__))
    try:
        root = subprocess.run(["git", "-C", pkg, "rev-parse", "--show-toplevel"], capture_output=True,
                              text=True, check=True).stdout.strip()
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", pkg], capture_output=True,
                               text=True, check=True).stdout.strip()
        return f"{pkg} @ {head}{' +uncommitted changes' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return f"{pkg} (not a git checkout)"


def load_package(path, alias):
    """Import the minialbert package found in directory `path` under the name `alias`
    (its relative imports resolve inside that copy)."""
    import importlib.util
    path = os.path.abspath(path)
    spec = importlib.util.spec_from_file_location(alias, os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[alias] = mod
    spec.loader.exec_module(mod)
    return mod


def _import_torch():
    try:
        import torch
        import transformers
        return torch, transformers
    except Exception as e:  # ImportError, or a broken install
        return None, e


# ----------------------------------------------------------------------------- models and inputs


def make_inputs(cfg, B, T, seed=0, mask_prob=0.15):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, cfg.vocab_size, size=(B, T), dtype=np.int64)
    mask = np.ones((B, T), dtype=np.int64)
    types = np.zeros((B, T), dtype=np.int64)
    types[:, T // 2:] = 1                       # two segments, as in ALBERT's sentence pairs
    labels = np.full((B, T), -100, dtype=np.int64)
    sel = rng.random((B, T)) < mask_prob
    sel[0, 0] = True                            # at least one counted label
    labels[sel] = ids[sel]
    return ids, mask, types, labels


HF_FIELDS = ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
             "num_attention_heads", "intermediate_size", "inner_group_num", "hidden_act",
             "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
             "type_vocab_size", "initializer_range", "layer_norm_eps", "classifier_dropout_prob",
             "pad_token_id", "bos_token_id", "eos_token_id")


def build_torch(cfg, ours, torch, transformers):
    """HF AlbertForMaskedLM (eager attention, eval) holding a copy of ours's weights."""
    if cfg.share_type != "all" or cfg.ln_type != "postln":
        raise SystemExit("HF ALBERT only has share_type='all', ln_type='postln'")
    hc = transformers.AlbertConfig(**{k: getattr(cfg, k) for k in HF_FIELDS}, attn_implementation="eager")
    hm = transformers.AlbertForMaskedLM(hc).eval()
    assert hm.config._attn_implementation == "eager", hm.config._attn_implementation
    sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ours.state_dict().items()}
    res = hm.load_state_dict(sd, strict=False)  # the decoder weight is tied to the word embedding
    if res.missing_keys or res.unexpected_keys:
        raise SystemExit(f"weight copy incomplete: missing {res.missing_keys}, unexpected {res.unexpected_keys}")
    dec, wemb = hm.predictions.decoder.weight, hm.albert.embeddings.word_embeddings.weight
    assert dec.data_ptr() == wemb.data_ptr(), "HF decoder is not tied to the word embedding"
    return hm


class Ours:
    def __init__(self, model, ids, mask, types, labels, name="minialbert"):
        self.m, self.ids, self.mask, self.types, self.labels = model, ids, mask, types, labels
        self.name = name

    def forward(self):
        return self.m(self.ids, self.mask, self.types)["logits"]

    def fwd_bwd(self):
        self.m.zero_grad()
        out = self.m(self.ids, self.mask, self.types, labels=self.labels)
        self.m.backward()
        return out["loss"]

    def release(self):
        self.m.forget_cache()  # drop the activations the last forward kept for backward

    def grads(self):
        return {k: np.asarray(v) for k, v in self.m.grads().items()}


class Torch:
    name = "torch"

    def __init__(self, model, torch, ids, mask, types, labels):
        self.m, self.torch = model, torch
        t = torch.from_numpy
        self.ids, self.mask, self.types, self.labels = t(ids), t(mask), t(types), t(labels)

    def forward(self):
        with self.torch.no_grad():
            return self.m(input_ids=self.ids, attention_mask=self.mask, token_type_ids=self.types).logits

    def fwd_bwd(self):
        self.m.zero_grad(set_to_none=True)
        out = self.m(input_ids=self.ids, attention_mask=self.mask, token_type_ids=self.types, labels=self.labels)
        out.loss.backward()
        return out.loss

    def release(self):
        pass

    def grads(self):
        return {k: p.grad.numpy() for k, p in self.m.named_parameters() if p.grad is not None}


# ----------------------------------------------------------------------------- measurements


def _busy_seconds():
    """CPU seconds spent by the whole machine (all processes, all cores) so far, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds():
    t = os.times()
    return t.user + t.system


def timed(fn, pause=0.2):
    """(wall seconds, share of the machine's cores that other processes used meanwhile).

    A short pause first: OpenBLAS and OpenMP worker threads spin for a while
    after their last job, and would steal the cores from the next call.
    """
    time.sleep(pause)
    b0, o0 = _busy_seconds(), _own_seconds()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    b1, o1 = _busy_seconds(), _own_seconds()
    if b0 is None:
        return wall, 0.0
    foreign = max(0.0, (b1 - b0) - (o1 - o0))
    return wall, foreign / (wall * _ncpu())


def timed_clean(fn, max_foreign, retries):
    """timed(), repeated (up to `retries` more times) while other processes took
    more than `max_foreign` of the cores: on a shared machine a run that had to
    share its cores measures the neighbours, not the code. Returns
    (wall, foreign share, number of discarded runs)."""
    discarded = 0
    while True:
        wall, foreign = timed(fn)
        if foreign <= max_foreign or discarded >= retries:
            return wall, foreign, discarded
        discarded += 1


def check_agreement(ours, tor):
    """Same logits (1e-3), same loss, same gradients: the two models compute the same thing."""
    lo = np.asarray(ours.forward())
    lt = tor.forward().numpy()
    dlog = float(np.abs(lo - lt).max())
    assert dlog <= 1e-3, f"logits differ by {dlog:g} > 1e-3: the timed computations are not the same"
    loss_o, loss_t = float(ours.fwd_bwd()), float(tor.fwd_bwd().detach())
    go, gt = ours.grads(), tor.grads()
    worst, worst_name = 0.0, None
    for k, g in gt.items():
        # relative to the gradient's own size; the floor keeps gradients that
        # are exactly 0 in theory (the key bias: softmax ignores a per-row shift)
        # from turning float32 noise into a huge relative error
        scale = max(float(np.abs(g).max()), 1e-5)
        err = float(np.abs(go[k] - g).max()) / scale
        if err > worst:
            worst, worst_name = err, k
    missing = sorted(set(gt) - set(go))
    assert not missing, f"no minialbert gradient for {missing}"
    assert abs(loss_o - loss_t) <= 1e-4 * max(1.0, abs(loss_t)), (loss_o, loss_t)
    assert worst <= 1e-3, f"gradient of {worst_name} differs by {worst:g} (relative to its max)"
    ours.release()
    return dict(logits_max_abs_diff=dlog, loss_ours=loss_o, loss_torch=loss_t,
                grad_max_rel_diff=worst, grad_worst_param=worst_name, n_grads_compared=len(gt))


def ours_tracemalloc_peak(ours):
    """MiB: peak of memory held by arrays allocated during one fwd+bwd (grads included)."""
    ours.m.zero_grad()
    ours.release()
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ours.fwd_bwd()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ours.release()
    return (peak - base) / 2**20


def _status_kib(field: str) -> int:
    """VmRSS (resident now) or VmHWM (resident high-water mark) of this process, KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mem_child(impl, args):
    """Runs in a fresh process: one cold fwd+bwd, prints RSS figures (KiB) as JSON.

    The peak is read from /proc/self/status VmHWM, reset just before the step,
    rather than from getrusage().ru_maxrss: Linux carries ru_maxrss across
    execve, so a child started from the (large) benchmark process inherits the
    parent's high-water mark and would report nothing below it. ru_maxrss is
    recorded too, for reference.
    """
    pkg = load_package(args.pkg, "minialbert_also") if args.pkg else minialbert
    cfg = pkg.preset(args.model)
    ids, mask, types, labels = make_inputs(cfg, args.batch, args.seq, args.seed)
    ours_model = pkg.AlbertForMaskedLM(cfg, seed=args.seed)
    if impl == "torch":
        torch, transformers = _import_torch()
        runner = Torch(build_torch(cfg, ours_model, torch, transformers), torch, ids, mask, types, labels)
        del ours_model
    else:
        runner = Ours(ours_model, ids, mask, types, labels)
    gc.collect()
    reset = _reset_hwm()
    rss_before = _status_kib("VmRSS")
    hwm_before = _status_kib("VmHWM")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux
    runner.fwd_bwd()
    hwm_after = _status_kib("VmHWM")
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(impl=impl, rss_before_kib=rss_before, hwm_before_kib=hwm_before,
                          hwm_after_kib=hwm_after, hwm_reset=reset, maxrss_before_kib=maxrss_before,
                          maxrss_after_kib=maxrss_after,
                          # the step's peak is only seen if it raised the high-water mark
                          exact=hwm_after > hwm_before)))


def rss_peak_subprocess(impl, args, pkg=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--_mem-child", impl, "--model", args.model,
           "--batch", str(args.batch), "--seq", str(args.seq), "--seed", str(args.seed)]
    if pkg:
        cmd += ["--_pkg", pkg]
    r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if r.returncode:
        print(f"[memory] {impl} child failed:\n{r.stderr[-2000:]}", file=sys.stderr)
        return None
    d = json.loads(r.stdout.strip().splitlines()[-1])
    d["peak_increase_mib"] = (d["hwm_after_kib"] - d["rss_before_kib"]) / 1024
    return d


# ----------------------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="albert-base-v2", help="minialbert preset name")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-foreign", type=float, default=0.05,
                    help="re-run a timed run when other processes used more than this share of the cores")
    ap.add_argument("--retries", type=int, default=3, help="re-runs allowed per timed run (see --max-foreign)")
    ap.add_argument("--blas-threads", type=int, default=_ncpu(),
                    help="NumPy's OpenBLAS threads (default: every core; torch keeps its own default)")
    ap.add_argument("--no-torch", action="store_true", help="time minialbert only")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--also", metavar="DIR", help="also time the minialbert package in DIR (e.g. a copy "
                    "with a patch applied), same weights and inputs, interleaved with the others")
    ap.add_argument("--_mem-child", dest="mem_child", choices=("ours", "torch"), help=argparse.SUPPRESS)
    ap.add_argument("--_pkg", dest="pkg", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if minialbert is None:
        raise SystemExit("minialbert is not importable: run from the repository root with PYTHONPATH=.")
    if args.mem_child:
        return mem_child(args.mem_child, args)

    ncpu = _ncpu()
    blas_threads = _set_blas_threads(args.blas_threads)
    torch, transformers = (None, "--no-torch") if args.no_torch else _import_torch()
    cfg = minialbert.preset(args.model)
    B, T = args.batch, args.seq
    ntok = B * T

    env = dict(cpus=ncpu, cpu=cpu_name(), python=platform.python_version(), numpy=np.__version__,
               blas=blas_description(), blas_threads=blas_threads, minialbert=minialbert_source())
    if torch is not None:
        env.update(torch=torch.__version__, transformers=transformers.__version__,
                   torch_threads=torch.get_num_threads())
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print(f"shape: {args.model} (V={cfg.vocab_size}, E={cfg.embedding_size}, H={cfg.hidden_size}, "
          f"L={cfg.num_hidden_layers}, NH={cfg.num_attention_heads}, I={cfg.intermediate_size}), "
          f"batch {B} x seq {T} = {ntok} tokens, float32")
    if torch is None:
        print(f"torch/transformers not available ({transformers}): timing minialbert only")

    ids, mask, types, labels = make_inputs(cfg, B, T, args.seed)
    print(f"MLM labels: {int((labels != -100).sum())} of {ntok} positions")
    ours = Ours(minialbert.AlbertForMaskedLM(cfg, seed=args.seed), ids, mask, types, labels)
    runners = [ours]
    results = dict(env=env, args=vars(args), impls={})
    also = None
    if args.also:
        pkg = load_package(args.also, "minialbert_also")
        also = Ours(pkg.AlbertForMaskedLM(pkg.preset(args.model), seed=args.seed), ids, mask, types, labels,
                    name="also")
        for k, v in ours.m.params.items():
            also.m.params[k][...] = v
        print(f"also = {os.path.abspath(args.also)}")
    if torch is not None:
        tor = Torch(build_torch(cfg, ours.m, torch, transformers), torch, ids, mask, types, labels)
        agree = check_agreement(ours, tor)
        results["agreement"] = agree
        print("agreement: logits max |diff| {logits_max_abs_diff:.2e} (<= 1e-3), loss {loss_ours:.6f} vs "
              "{loss_torch:.6f}, gradients max rel diff {grad_max_rel_diff:.2e} over {n_grads_compared} "
              "params (worst {grad_worst_param})".format(**agree))
        runners.append(tor)
    if also is not None:
        if torch is not None:
            agree = check_agreement(also, tor)
            results["agreement_also"] = agree
            print("agreement (also): logits max |diff| {logits_max_abs_diff:.2e}, loss {loss_ours:.6f} vs "
                  "{loss_torch:.6f}, gradients max rel diff {grad_max_rel_diff:.2e}".format(**agree))
        runners.insert(1, also)

    for _ in range(args.warmup):
        for r in runners:
            r.forward()
            r.release()
            r.fwd_bwd()
            r.release()
    times = {r.name: {"forward": [], "fwd_bwd": []} for r in runners}
    foreign = {r.name: {"forward": [], "fwd_bwd": []} for r in runners}
    discarded = 0
    for _ in range(args.repeats):
        for kind in ("forward", "fwd_bwd"):
            for r in runners:
                wall, share, d = timed_clean(getattr(r, kind), args.max_foreign, args.retries)
                times[r.name][kind].append(wall)
                foreign[r.name][kind].append(share)
                discarded += d
                r.release()
    results["discarded_runs"] = discarded

    print()
    print("note: minialbert's forward also keeps the caches its backward needs; torch's runs under no_grad.")
    print(f"median of {args.repeats} runs after {args.warmup} warm-up, ms [min-max]; {discarded} run(s) "
          f"discarded and re-run because other processes used > {args.max_foreign:.0%} of the cores")
    worst = max(max(v) for d in foreign.values() for v in d.values())
    if worst > args.max_foreign:
        print(f"WARNING: some kept runs still shared the cores (up to {worst:.0%} used by other processes)")
    hdr = f"{'impl':<11} {'forward ms':>22} {'fwd+bwd ms':>24} {'fwd tok/s':>10} {'fwd+bwd tok/s':>14}"
    print(hdr)
    print("-" * len(hdr))
    med = {}
    for name, t in times.items():
        f, fb = statistics.median(t["forward"]), statistics.median(t["fwd_bwd"])
        med[name] = (f, fb)
        results["impls"][name] = dict(forward_ms=f * 1e3, fwd_bwd_ms=fb * 1e3,
                                      forward_tok_s=ntok / f, fwd_bwd_tok_s=ntok / fb,
                                      forward_runs_ms=[x * 1e3 for x in t["forward"]],
                                      fwd_bwd_runs_ms=[x * 1e3 for x in t["fwd_bwd"]],
                                      forward_foreign_share=foreign[name]["forward"],
                                      fwd_bwd_foreign_share=foreign[name]["fwd_bwd"])
        fs = f"{f * 1e3:8.0f} [{min(t['forward']) * 1e3:.0f}-{max(t['forward']) * 1e3:.0f}]"
        fbs = f"{fb * 1e3:8.0f} [{min(t['fwd_bwd']) * 1e3:.0f}-{max(t['fwd_bwd']) * 1e3:.0f}]"
        print(f"{name:<11} {fs:>22} {fbs:>24} {ntok / f:>10.0f} {ntok / fb:>14.0f}")
    mins = {n: (min(t["forward"]), min(t["fwd_bwd"])) for n, t in times.items()}
    for name in ("minialbert", "also"):
        if "torch" not in med or name not in med:
            continue
        rf = med[name][0] / med["torch"][0]
        rfb = med[name][1] / med["torch"][1]
        results["ratios" if name == "minialbert" else "ratios_also"] = dict(
            forward=rf, fwd_bwd=rfb, forward_of_min=mins[name][0] / mins["torch"][0],
            fwd_bwd_of_min=mins[name][1] / mins["torch"][1])
        print(f"ratio {name}/torch: forward {rf:.2f}x (target <= {TARGET_FWD}x: "
              f"{'met' if rf <= TARGET_FWD else 'NOT met'}), fwd+bwd {rfb:.2f}x (target <= {TARGET_FWDBWD}x: "
              f"{'met' if rfb <= TARGET_FWDBWD else 'NOT met'})")
        print(f"  (ratio of the fastest runs: forward {mins[name][0] / mins['torch'][0]:.2f}x, "
              f"fwd+bwd {mins[name][1] / mins['torch'][1]:.2f}x)")
    if "also" in med:
        results["ratios_also_vs_minialbert"] = dict(forward=med["also"][0] / med["minialbert"][0],
                                                    fwd_bwd=med["also"][1] / med["minialbert"][1])
        print(f"ratio also/minialbert: forward {med['also'][0] / med['minialbert'][0]:.3f}, "
              f"fwd+bwd {med['also'][1] / med['minialbert'][1]:.3f}")

    if not args.no_memory:
        print()
        print("peak memory of one fwd+bwd (MiB):")
        results["memory"] = {}
        for r in runners[:2 if also is not None else 1]:
            tm = ours_tracemalloc_peak(r)
            results["memory"][f"{r.name}_tracemalloc_mib"] = tm
            print(f"  {r.name:<11} tracemalloc peak of arrays allocated in the step: {tm:8.0f}")
        for impl, name, pkg in (("ours", "minialbert", None), ("ours", "also", args.also), ("torch", "torch", None)):
            if name not in med:
                continue
            d = rss_peak_subprocess(impl, args, pkg)
            if d is None:
                continue
            results["memory"][f"{name}_rss"] = d
            flag = "" if d["exact"] else "  (did not raise the process high-water mark: an upper bound only)"
            print(f"  {name:<11} peak RSS increase, fresh process, cold step:     "
                  f"{d['peak_increase_mib']:8.0f}{flag}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
