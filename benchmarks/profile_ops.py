#!/usr/bin/env python
"""Where the time goes in one MLM fwd+bwd: minialbert per source line, torch per aten op.

minialbert: a small line profiler (sys.settrace, like line_profiler) records
the *self* time of every executed line of the minialbert package (time in
traced minialbert callees is charged to the callee's lines), keyed by
(function, line, tag) where tag is the shape that tells the uses of one op
apart (the weight for linear_*, the first array argument otherwise). Lines are
then rolled up into the categories of the report (linear matmuls by layer,
attention matmuls, softmax, layernorm, gelu_new, embeddings, cross-entropy,
dropout, copies/glue). Nothing in minialbert is edited or mirrored, so the same
script profiles any copy of the package: point PYTHONPATH at it.

torch: torch.profiler on the same step (HF AlbertForMaskedLM, eager attention,
same weights and inputs), self CPU time per aten op and input shapes, rolled up
into categories too; with --impl both a side-by-side table of coarse buckets
that mean the same thing on both sides is printed.

Runs during which other processes took more than --max-foreign of the cores
are discarded and re-run (see bench_cpu.timed_clean).

Usage:
  PYTHONPATH=. python benchmarks/profile_ops.py [--impl ours|torch|both] [--runs 3]
      [--batch 8] [--seq 128] [--lines 40] [--json out.json]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_cpu as bc  # noqa: E402  (sets OPENBLAS_NUM_THREADS before numpy loads)

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import linecache  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minialbert  # noqa: E402

PKG_DIR = os.path.dirname(os.path.abspath(minialbert.__file__))


# ----------------------------------------------------------------------------- line profiler


class LineProfiler:
    """Self time per (file, function, line, tag) of code under `root`."""

    def __init__(self, root):
        self.root = root
        self.stats = collections.defaultdict(float)   # key -> seconds
        self.hits = collections.defaultdict(int)
        self.stack = []                               # [code, tag, line, t_line, child, t_start]
        self._is_ours = {}

    def _ours(self, code):
        r = self._is_ours.get(code)
        if r is None:
            r = self._is_ours[code] = code.co_filename.startswith(self.root)
        return r

    @staticmethod
    def _tag(frame):
        code = frame.f_code
        loc = frame.f_locals
        try:
            if code.co_name == "linear_forward":
                return tuple(loc["w"].shape)
            if code.co_name == "linear_backward":
                return tuple(loc["cache"][1].shape)
            if "/ops/" in code.co_filename and code.co_argcount:
                a = loc.get(code.co_varnames[0])
                return tuple(a.shape) if hasattr(a, "shape") else None
        except Exception:
            return None
        return None

    def _close_line(self, rec, now):
        if rec[2] is not None:
            key = (rec[0].co_filename, rec[0].co_name, rec[2], rec[1])
            self.stats[key] += now - rec[3] - rec[4]
            self.hits[key] += 1

    def _global(self, frame, event, arg):
        if event != "call" or not self._ours(frame.f_code):
            return None
        now = time.perf_counter()
        self.stack.append([frame.f_code, self._tag(frame), None, now, 0.0, now])
        return self._local

    def _local(self, frame, event, arg):
        now = time.perf_counter()
        rec = self.stack[-1]
        if event == "line":
            self._close_line(rec, now)
            rec[2], rec[3], rec[4] = frame.f_lineno, now, 0.0
        elif event == "return":
            self._close_line(rec, now)
            self.stack.pop()
            if self.stack:
                self.stack[-1][4] += time.perf_counter() - rec[5]
        return self._local

    def run(self, fn):
        sys.settrace(self._global)
        try:
            return fn()
        finally:
            sys.settrace(None)
            self.stack.clear()


# ----------------------------------------------------------------------------- categories


def layer_kind(shape, cfg):
    V, E, H, I = cfg.vocab_size, cfg.embedding_size, cfg.hidden_size, cfg.intermediate_size
    return {(3 * H, H): "attn qkv", (H, H): "attn out", (I, H): "ffn1 H->I", (H, I): "ffn2 I->H",
            (H, E): "map E->H", (E, H): "mlm dense H->E", (V, E): "decoder E->V"}.get(tuple(shape or ()), str(shape))


def ours_category(func, src, tag, cfg):
    """Report category of one profiled line of minialbert."""
    s = src.strip()
    if func == "linear_forward":
        k = layer_kind(tag, cfg)
        return f"linear fwd matmul [{k}]" if "@" in s else f"linear fwd bias/other [{k}]"
    if func == "linear_backward":
        k = layer_kind(tag, cfg)
        if s.startswith("dw"):
            return f"linear bwd dW matmul [{k}]"
        if s.startswith("db"):
            return "linear bwd db (sum)"
        if "@" in s:
            return f"linear bwd dX matmul [{k}]"
        return "linear bwd other"
    if func in ("attention_forward", "attention_backward"):
        d = "fwd" if func.endswith("forward") else "bwd"
        if "@" in s or "matmul" in s:
            return f"attention {d} matmuls (QK^T, PV and their grads)"
        if "*=" in s and "HS" in s or "mask_bias" in s and "+=" in s:
            return f"attention {d} scale/mask"
        if ".copy()" in s:
            return "copies (residual dx = dout.copy())"
        if "+=" in s:
            return "residual adds"
        if "transpose" in s or "reshape" in s or "empty" in s:
            return f"attention {d} head transposes/reshapes (copies)"
        return f"attention {d} other"
    if func in ("feedforward_forward", "feedforward_backward"):
        if ".copy()" in s:
            return "copies (residual dx = dout.copy())"
        if "+=" in s:
            return "residual adds"
        return "feedforward other"
    if func.startswith("softmax"):
        return f"softmax {'fwd' if func.endswith('forward') else 'bwd'}"
    if func.startswith("layernorm"):
        return f"layernorm {'fwd' if func.endswith('forward') else 'bwd'}"
    if func.startswith("gelu") or func.startswith("activation"):
        return f"gelu_new {'fwd' if 'forward' in func else 'bwd'}"
    if func.startswith("dropout"):
        return "dropout (p=0: pass-through)"
    if func.startswith("cross_entropy"):
        return f"cross-entropy {'fwd' if func.endswith('forward') else 'bwd'} (30000 classes)"
    if func.startswith("embedding"):
        return f"embeddings {'fwd (lookup)' if func.endswith('forward') else 'bwd (np.add.at)'}"
    if func == "_backbone_forward":
        if "emb" in s or "embedding" in s or "pos" in s:
            return "embeddings fwd (sum, glue)"
        if "mask_bias" in s:
            return "attention mask bias"
        return "model glue fwd"
    if func == "_backbone_backward":
        if "embeddings" in s or "demb" in s:
            return "embeddings bwd (position sum, pad mask, glue)"
        if "gpacked" in s or "zeros_like" in s or "G[pa" in s:
            return "fused QKV grad buffers / unpacking"
        return "model glue bwd"
    if func == "_sublayer" or func == "<dictcomp>" and "concatenate" in s:
        return "QKV weight packing (concatenate)"
    if func in ("_ensure_grads", "<genexpr>") and "zeros_like" in s:
        return "grad buffer allocation (zeros_like)"
    if func == "mlm_head_backward" and ("dn" in s and ("zeros" in s or "rows" in s)):
        return "linear bwd dX matmul [decoder E->V]"   # the labelled-rows decoder backward
    if func in ("_head_forward", "_mlm_loss", "mlm_head_forward", "_head_backward", "mlm_head_backward",
                "mlm_forward_with_loss", "mlm_backward_with_loss"):
        return "MLM head glue"
    return "other Python/glue"


# Coarse buckets that mean the same thing on both sides, for the side-by-side table.
BUCKETS = ("encoder linear matmuls (fwd, dW, dX)", "MLM decoder E->V + cross-entropy (30000-wide)",
           "attention batched matmuls", "softmax", "layernorm", "gelu_new",
           "bias adds / db sums / residuals / scale+mask / grad accumulation",
           "copies, views, allocation, glue", "embeddings")


def ours_bucket(category):
    c = category
    if "decoder" in c or "cross-entropy" in c:
        return BUCKETS[1]
    if c.startswith("linear") and "matmul" in c:
        return BUCKETS[0]
    if "attention" in c and "matmuls" in c:
        return BUCKETS[2]
    if c.startswith("softmax"):
        return BUCKETS[3]
    if c.startswith("layernorm"):
        return BUCKETS[4]
    if c.startswith("gelu"):
        return BUCKETS[5]
    if c.startswith("embeddings"):
        return BUCKETS[8]
    if "bias" in c or "db" in c or "residual adds" in c or "scale/mask" in c:
        return BUCKETS[6]
    return BUCKETS[7]


def torch_category(name, shapes):
    """Report category of one aten op (self time) from its name and input shapes."""
    n = name.replace("aten::", "")
    flat = [tuple(s) for s in shapes if s]
    dims = {d for s in flat for d in s}
    if n in ("addmm", "mm", "matmul", "linear", "t"):
        if 30000 in dims:
            return "linear matmuls [decoder E->V]"
        if 3072 in dims:
            return "linear matmuls [ffn]"
        return "linear matmuls [attn q/k/v/out, map, mlm dense]"
    if n in ("bmm", "baddbmm"):
        return "attention matmuls (bmm)"
    if "softmax" in n and "log" not in n:
        return "softmax fwd+bwd"
    if "layer_norm" in n:
        return "layernorm fwd+bwd"
    if "log_softmax" in n or "nll_loss" in n or "cross_entropy" in n:
        return "cross-entropy fwd+bwd"
    if "embedding" in n or n in ("index_select", "index_add_", "index_put_", "_index_put_impl_"):
        return "embeddings fwd+bwd"
    if n in ("tanh", "pow", "tanh_backward", "mul", "add", "add_", "div", "sub", "rsub", "mul_", "neg") \
            and flat and len(flat[0]) == 3 and flat[0][-1] == 3072:
        return "gelu_new fwd+bwd (elementwise)"
    if n in ("tanh", "pow", "tanh_backward"):
        return "gelu_new fwd+bwd (elementwise)"
    if n in ("sum", "add", "add_", "mul", "div", "sub", "rsub", "mul_", "neg", "fill_", "zero_", "zeros",
             "zeros_like", "ones_like", "empty", "empty_like", "where", "masked_fill"):
        return "elementwise: residuals, scale/mask, bias sums, grad accumulation"
    if n in ("copy_", "clone", "contiguous", "cat", "_unsafe_view", "reshape", "view", "transpose",
             "permute", "expand", "as_strided", "_reshape_alias", "unsqueeze", "slice", "select", "to",
             "_to_copy", "detach", "stack", "split", "unbind"):
        return "copies / views"
    if "dropout" in n:
        return "dropout"
    return "other"


def torch_bucket(category, shapes):
    dims = {d for s in shapes for d in s}
    if 30000 in dims:   # decoder GEMMs, its bias copy, log_softmax, nll_loss and its zero fill
        return BUCKETS[1]
    c = category
    if c.startswith("linear matmuls"):
        return BUCKETS[0]
    if c.startswith("attention matmuls"):
        return BUCKETS[2]
    if c.startswith("softmax"):
        return BUCKETS[3]
    if c.startswith("layernorm"):
        return BUCKETS[4]
    if c.startswith("gelu"):
        return BUCKETS[5]
    if c.startswith("embeddings"):
        return BUCKETS[8]
    if c.startswith("elementwise"):
        return BUCKETS[6]
    return BUCKETS[7]


# ----------------------------------------------------------------------------- runs


def _profiled(run_once, args):
    """run_once() -> wall seconds, repeated while other processes were busy (see bc.timed_clean)."""
    for attempt in range(args.retries + 1):
        wall, share = run_once()
        if share <= args.max_foreign or attempt == args.retries:
            return wall


def profile_ours(args, cfg, inputs):
    ids, mask, types, labels = inputs
    ours = bc.Ours(minialbert.AlbertForMaskedLM(cfg, seed=args.seed), ids, mask, types, labels)
    ours.fwd_bwd()  # warm-up
    ours.release()
    plain = []
    for _ in range(args.runs):
        plain.append(bc.timed_clean(ours.fwd_bwd, args.max_foreign, args.retries)[0])
        ours.release()
    prof_total = collections.defaultdict(float)
    hits = {}
    walls = []
    for _ in range(args.runs):
        holder = {}

        def once():
            holder["lp"] = lp = LineProfiler(PKG_DIR)
            wall, share = bc.timed(lambda: lp.run(ours.fwd_bwd))
            ours.release()
            return wall, share
        walls.append(_profiled(once, args))
        lp = holder["lp"]
        for k, v in lp.stats.items():
            prof_total[k] += v / args.runs
            hits[k] = lp.hits[k]
    lines = []
    for (fname, func, line, tag), sec in prof_total.items():
        src = linecache.getline(fname, line).rstrip()
        cat = ours_category(func, src, tag, cfg)
        lines.append(dict(file=os.path.relpath(fname, os.path.dirname(PKG_DIR)), func=func, line=line,
                          tag=list(tag) if isinstance(tag, tuple) else tag, ms=sec * 1e3,
                          hits=hits[(fname, func, line, tag)], src=src.strip(),
                          category=cat, bucket=ours_bucket(cat)))
    lines.sort(key=lambda d: -d["ms"])
    cats = collections.defaultdict(float)
    for d in lines:
        cats[d["category"]] += d["ms"]
    return dict(plain_ms=float(np.median(plain)) * 1e3, plain_runs_ms=[x * 1e3 for x in plain],
                profiled_ms=float(np.median(walls)) * 1e3, lines=lines,
                categories=dict(sorted(cats.items(), key=lambda kv: -kv[1])))


def _parse_shapes(text):
    try:
        shapes = json.loads(text.replace("(", "[").replace(")", "]").replace("'", '"')) if text else []
    except ValueError:
        return []
    return [s for s in shapes if isinstance(s, list) and all(isinstance(d, int) for d in s)]


def profile_torch(args, cfg, inputs):
    torch, transformers = bc._import_torch()
    if torch is None:
        print(f"torch not available ({transformers}): skipping its profile")
        return None
    from torch.profiler import ProfilerActivity, profile
    ids, mask, types, labels = inputs
    ours_model = minialbert.AlbertForMaskedLM(cfg, seed=args.seed)
    tor = bc.Torch(bc.build_torch(cfg, ours_model, torch, transformers), torch, ids, mask, types, labels)
    del ours_model
    tor.fwd_bwd()  # warm-up
    plain = [bc.timed_clean(tor.fwd_bwd, args.max_foreign, args.retries)[0] for _ in range(args.runs)]
    acc = collections.defaultdict(float)
    walls = []
    for _ in range(args.runs):
        holder = {}

        def once():
            with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
                wall, share = bc.timed(tor.fwd_bwd)
            holder["prof"] = prof
            return wall, share
        walls.append(_profiled(once, args))
        for ev in holder["prof"].key_averages(group_by_input_shape=True):
            acc[(ev.key, str(ev.input_shapes))] += ev.self_cpu_time_total / 1e3 / args.runs  # us -> ms
    ops = []
    for (name, shp), ms in acc.items():
        shapes = _parse_shapes(shp)
        cat = torch_category(name, shapes)
        ops.append(dict(op=name, shapes=shp, ms=ms, category=cat, bucket=torch_bucket(cat, shapes)))
    ops.sort(key=lambda d: -d["ms"])
    cats = collections.defaultdict(float)
    for d in ops:
        cats[d["category"]] += d["ms"]
    return dict(plain_ms=float(np.median(plain)) * 1e3, plain_runs_ms=[x * 1e3 for x in plain],
                profiled_ms=float(np.median(walls)) * 1e3, ops=ops,
                categories=dict(sorted(cats.items(), key=lambda kv: -kv[1])))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", choices=("ours", "torch", "both"), default="both")
    ap.add_argument("--model", default="albert-base-v2")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lines", type=int, default=40, help="how many of the costliest lines / ops to print")
    ap.add_argument("--max-foreign", type=float, default=0.05)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    bc._set_blas_threads(bc._ncpu())
    cfg = minialbert.preset(args.model)
    inputs = bc.make_inputs(cfg, args.batch, args.seq, args.seed)
    print(f"minialbert from {bc.minialbert_source()}; {args.model}, batch {args.batch} x seq {args.seq}, "
          f"mean of {args.runs} profiled fwd+bwd steps")
    out = {}
    if args.impl in ("ours", "both"):
        r = out["ours"] = profile_ours(args, cfg, inputs)
        print(f"\n== minialbert: fwd+bwd {r['plain_ms']:.0f} ms unprofiled (median), "
              f"{r['profiled_ms']:.0f} ms under the line profiler")
        print(f"{'category':<58} {'ms':>8} {'%':>6}")
        tot = sum(r["categories"].values())
        for c, ms in r["categories"].items():
            print(f"{c:<58} {ms:8.1f} {100 * ms / tot:6.1f}")
        print(f"{'total (profiled self time)':<58} {tot:8.1f}")
        print(f"\ncostliest {args.lines} lines (self ms per step, calls per step):")
        for d in r["lines"][:args.lines]:
            tag = "" if d["tag"] is None else str(tuple(d["tag"]))
            print(f"{d['ms']:8.1f} {d['hits']:5d}  {d['file']}:{d['line']} {d['func']} {tag}\n"
                  f"{'':16}{d['src'][:100]}")
    if args.impl in ("torch", "both"):
        r = profile_torch(args, cfg, inputs)
        if r is not None:
            out["torch"] = r
            print(f"\n== torch: fwd+bwd {r['plain_ms']:.0f} ms unprofiled (median), "
                  f"{r['profiled_ms']:.0f} ms under torch.profiler")
            tot = sum(r["categories"].values())
            for c, ms in r["categories"].items():
                print(f"{c:<68} {ms:8.1f} {100 * ms / tot:6.1f}")
            print(f"{'total (self CPU time)':<68} {tot:8.1f}")
            print(f"\ncostliest {args.lines} aten ops (self ms per step):")
            for d in r["ops"][:args.lines]:
                print(f"{d['ms']:8.1f}  {d['op']:<36} {d['shapes'][:90]}")
    if "ours" in out and "torch" in out:
        bo, bt = collections.defaultdict(float), collections.defaultdict(float)
        for d in out["ours"]["lines"]:
            bo[d["bucket"]] += d["ms"]
        for d in out["torch"]["ops"]:
            bt[d["bucket"]] += d["ms"]
        out["buckets"] = {b: dict(ours_ms=bo[b], torch_ms=bt[b]) for b in BUCKETS}
        print(f"\n== side by side (ms per fwd+bwd step; profiled self time)\n{'':<68} {'ours':>8} {'torch':>8}")
        for b in BUCKETS:
            print(f"{b:<68} {bo[b]:8.1f} {bt[b]:8.1f}")
        print(f"{'total':<68} {sum(bo.values()):8.1f} {sum(bt.values()):8.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
