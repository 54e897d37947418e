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
that background load on a shared machine hits both implementations alike.

Peak memory of one fwd+bwd:
  ours   tracemalloc peak (NumPy reports its data buffers to tracemalloc), i.e.
         the most bytes held at once by arrays allocated during the step;
  both   peak RSS increase of a fresh subprocess (this script with
         --_mem-child): RSS before the step (model built, inputs made) vs
         ru_maxrss after it. torch's CPU allocator is invisible to tracemalloc,
         so RSS is the measure that treats both alike.

Usage:
  PYTHONPATH=. python benchmarks/bench_cpu.py [--model albert-base-v2] [--batch 8]
      [--seq 128] [--repeats 5] [--warmup 1] [--no-torch] [--no-memory] [--json out.json]
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
# before numpy is imported (an explicit OPENBLAS_NUM_THREADS still wins), and
# check / force it again after import (_set_blas_threads).
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

import minialbert  # noqa: E402

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
    name = "minialbert"

    def __init__(self, model, ids, mask, types, labels):
        self.m, self.ids, self.mask, self.types, self.labels = model, ids, mask, types, labels

    def forward(self):
        return self.m(self.ids, self.mask, self.types)["logits"]

    def fwd_bwd(self):
        self.m.zero_grad()
        out = self.m(self.ids, self.mask, self.types, labels=self.labels)
        self.m.backward()
        return out["loss"]

    def release(self):
        self.m._cache = None  # drop the activations the last forward kept for backward

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


def timed(fn, pause=0.2):
    # A short pause first: OpenBLAS and OpenMP worker threads spin for a while
    # after their last job, and would steal the two cores from the next call.
    time.sleep(pause)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


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


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def mem_child(impl, args):
    """Runs in a fresh process: one cold fwd+bwd, prints RSS figures (KiB) as JSON."""
    cfg = minialbert.preset(args.model)
    ids, mask, types, labels = make_inputs(cfg, args.batch, args.seq, args.seed)
    ours_model = minialbert.AlbertForMaskedLM(cfg, seed=args.seed)
    if impl == "torch":
        torch, transformers = _import_torch()
        runner = Torch(build_torch(cfg, ours_model, torch, transformers), torch, ids, mask, types, labels)
        del ours_model
    else:
        runner = Ours(ours_model, ids, mask, types, labels)
    gc.collect()
    rss_before = _rss_kib()
    max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux
    runner.fwd_bwd()
    max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(impl=impl, rss_before_kib=rss_before, maxrss_before_kib=max_before,
                          maxrss_after_kib=max_after,
                          # the step's peak is only seen if it raised the high-water mark
                          exact=max_after > max_before)))


def rss_peak_subprocess(impl, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--_mem-child", impl, "--model", args.model,
           "--batch", str(args.batch), "--seq", str(args.seq), "--seed", str(args.seed)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if r.returncode:
        print(f"[memory] {impl} child failed:\n{r.stderr[-2000:]}", file=sys.stderr)
        return None
    d = json.loads(r.stdout.strip().splitlines()[-1])
    d["peak_increase_mib"] = (d["maxrss_after_kib"] - d["rss_before_kib"]) / 1024
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
    ap.add_argument("--no-torch", action="store_true", help="time minialbert only")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--_mem-child", dest="mem_child", choices=("ours", "torch"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.mem_child:
        return mem_child(args.mem_child, args)

    ncpu = _ncpu()
    blas_threads = _set_blas_threads(ncpu)
    torch, transformers = (None, "--no-torch") if args.no_torch else _import_torch()
    cfg = minialbert.preset(args.model)
    B, T = args.batch, args.seq
    ntok = B * T

    env = dict(cpus=ncpu, cpu=cpu_name(), python=platform.python_version(), numpy=np.__version__,
               blas=blas_description(), blas_threads=blas_threads, minialbert=minialbert.__version__)
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
    if torch is not None:
        tor = Torch(build_torch(cfg, ours.m, torch, transformers), torch, ids, mask, types, labels)
        agree = check_agreement(ours, tor)
        results["agreement"] = agree
        print("agreement: logits max |diff| {logits_max_abs_diff:.2e} (<= 1e-3), loss {loss_ours:.6f} vs "
              "{loss_torch:.6f}, gradients max rel diff {grad_max_rel_diff:.2e} over {n_grads_compared} "
              "params (worst {grad_worst_param})".format(**agree))
        runners.append(tor)

    for _ in range(args.warmup):
        for r in runners:
            r.forward()
            r.release()
            r.fwd_bwd()
            r.release()
    times = {r.name: {"forward": [], "fwd_bwd": []} for r in runners}
    for _ in range(args.repeats):
        for kind in ("forward", "fwd_bwd"):
            for r in runners:
                times[r.name][kind].append(timed(getattr(r, kind)))
                r.release()

    print()
    print("note: minialbert's forward also keeps the caches its backward needs; torch's runs under no_grad.")
    print(f"median of {args.repeats} runs after {args.warmup} warm-up, ms [min-max]:")
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
                                      fwd_bwd_runs_ms=[x * 1e3 for x in t["fwd_bwd"]])
        fs = f"{f * 1e3:8.0f} [{min(t['forward']) * 1e3:.0f}-{max(t['forward']) * 1e3:.0f}]"
        fbs = f"{fb * 1e3:8.0f} [{min(t['fwd_bwd']) * 1e3:.0f}-{max(t['fwd_bwd']) * 1e3:.0f}]"
        print(f"{name:<11} {fs:>22} {fbs:>24} {ntok / f:>10.0f} {ntok / fb:>14.0f}")
    if "torch" in med:
        rf = med["minialbert"][0] / med["torch"][0]
        rfb = med["minialbert"][1] / med["torch"][1]
        results["ratios"] = dict(forward=rf, fwd_bwd=rfb)
        print(f"ratio minialbert/torch: forward {rf:.2f}x (target <= {TARGET_FWD}x: "
              f"{'met' if rf <= TARGET_FWD else 'NOT met'}), fwd+bwd {rfb:.2f}x (target <= {TARGET_FWDBWD}x: "
              f"{'met' if rfb <= TARGET_FWDBWD else 'NOT met'})")

    if not args.no_memory:
        print()
        print("peak memory of one fwd+bwd (MiB):")
        tm = ours_tracemalloc_peak(ours)
        results["memory"] = {"minialbert_tracemalloc_mib": tm}
        print(f"  minialbert  tracemalloc peak of arrays allocated in the step: {tm:8.0f}")
        for impl, name in (("ours", "minialbert"), ("torch", "torch")):
            if name not in med:
                continue
            d = rss_peak_subprocess(impl, args)
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
