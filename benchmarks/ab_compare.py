#!/usr/bin/env python
"""A/B timing of two copies of the minialbert package in one process (no torch needed).

Loads package directory A and package directory B under private names (their
relative imports resolve inside each copy), gives both the same weights and
inputs, checks that B computes what A computes (logits, loss, every
gradient), then times forward and fwd+bwd of AlbertForMaskedLM interleaved
(A, B, A, B, ...) with the same guard against background load as
bench_cpu.py. --memory adds the tracemalloc peak of one fwd+bwd of each.

Usage (e.g. the checkout against a patched copy):
  python benchmarks/ab_compare.py --a minialbert --b /tmp/patched/minialbert [--repeats 5] [--memory]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_cpu as bc  # noqa: E402  (sets OPENBLAS_NUM_THREADS before numpy loads)

import argparse  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="package directory A (the reference)")
    ap.add_argument("--b", required=True, help="package directory B")
    ap.add_argument("--model", default="albert-base-v2")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-foreign", type=float, default=0.05)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--kinds", default="forward,fwd_bwd", help="comma-separated; empty: no timing")
    ap.add_argument("--memory", action="store_true", help="also compare tracemalloc peaks of one fwd+bwd")
    args = ap.parse_args(argv)
    bc._set_blas_threads(bc._ncpu())

    pa, pb = bc.load_package(args.a, "minialbert_a"), bc.load_package(args.b, "minialbert_b")
    cfg = pa.preset(args.model)
    inputs = bc.make_inputs(cfg, args.batch, args.seq, args.seed)
    ma = pa.AlbertForMaskedLM(cfg, seed=args.seed)
    mb = pb.AlbertForMaskedLM(pb.preset(args.model), seed=args.seed)
    for k, v in ma.params.items():
        mb.params[k][...] = v
    A, B = bc.Ours(ma, *inputs, name="A"), bc.Ours(mb, *inputs, name="B")

    la, lb = np.asarray(A.forward()), np.asarray(B.forward())
    loss_a, loss_b = float(A.fwd_bwd()), float(B.fwd_bwd())
    ga, gb = A.grads(), B.grads()
    grad_err = max(float(np.abs(ga[k] - gb[k]).max()) / max(float(np.abs(ga[k]).max()), 1e-5) for k in ga)
    print(f"A = {os.path.abspath(args.a)}\nB = {os.path.abspath(args.b)}")
    print(f"B vs A: logits max |diff| {np.abs(la - lb).max():.2e}, loss {loss_a:.6f} vs {loss_b:.6f}, "
          f"gradients max rel diff {grad_err:.2e}")
    A.release()
    B.release()
    if args.memory:
        pk = {r.name: bc.ours_tracemalloc_peak(r) for r in (A, B)}
        print(f"tracemalloc peak of one fwd+bwd: A {pk['A']:.0f} MiB, B {pk['B']:.0f} MiB")

    kinds = [k for k in args.kinds.split(",") if k]
    if not kinds:
        return None
    times = {n: {k: [] for k in kinds} for n in "AB"}
    discarded = 0
    for _ in range(args.repeats):
        for kind in kinds:
            for r in (A, B):
                wall, _, d = bc.timed_clean(getattr(r, kind), args.max_foreign, args.retries)
                times[r.name][kind].append(wall * 1e3)
                discarded += d
                r.release()
    print(f"{args.model} batch {args.batch} x seq {args.seq}; median [min] of {args.repeats} interleaved runs, "
          f"{discarded} discarded for background load")
    for kind in kinds:
        a, b = times["A"][kind], times["B"][kind]
        ma_, mb_ = statistics.median(a), statistics.median(b)
        print(f"  {kind:<8} A {ma_:8.0f} [{min(a):.0f}]   B {mb_:8.0f} [{min(b):.0f}]   "
              f"B/A median {mb_ / ma_:.3f}, min {min(b) / min(a):.3f}")
    return times


if __name__ == "__main__":
    main()
