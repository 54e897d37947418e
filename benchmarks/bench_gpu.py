"""GPU benchmark: minialbert under CuPy against PyTorch eager on the same GPU, same process.

    python benchmarks/bench_gpu.py [--models albert-base-v2,albert-large-v2,albert-xxlarge-v2]
                                   [--batch 8] [--seq 512] [--micro-batch M] [--repeats 5]

(--models tiny: a two-layer H=32 ALBERT, for a dry run of the script itself, e.g. under the strict CuPy
stand-in: PYTHONPATH=tests/cupy_strict python benchmarks/bench_gpu.py --models tiny --batch 2 --seq 16.)

For each shape: tokens/s of a forward pass and of a training step (forward + backward of
the MLM + SOP loss), for minialbert (cupy, float32) and, when torch with CUDA is
importable, HF transformers' AlbertForPreTraining (eager attention, float32) with the
same weights; the ratio minialbert / torch; peak GPU memory (minialbert: the CuPy memory
pool's high-water mark; torch: torch.cuda.max_memory_allocated), and minialbert's peak as the
memory model predicts it (minialbert/model/memory.py, docs/memory.md: parameters + gradients + the
step's estimated peak). Prints a table and, with --json, writes the figures for benchmarks/RESULTS.md.

--micro-batch M: each step runs the batch as ceil(batch / M) micro-batches of at most M rows, forward +
backward each, the gradients adding up in the model's buffers (then scaled by 1 / micro-batches, as the
pretraining loop's grad_accum does); torch the same (loss / k per micro-batch). The activation memory is
then that of M rows: how xxlarge at 8 x 512 fits a smaller GPU. The forward passes run in the same
micro-batches.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import minialbert as ma  # noqa: E402
from minialbert import backend  # noqa: E402
from minialbert.model.memory import step_peaks  # noqa: E402
from minialbert.optim import scale_grads  # noqa: E402


# --models tiny: the plumbing at no cost (benchmarks/gpu_verify.sh's dry run)
TINY = dict(vocab_size=30000, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=64)


def model_config(name):
    return ma.AlbertConfig(**TINY) if name == "tiny" else ma.preset(name)


class PeakPool:
    """A CuPy allocator that records the peak of bytes in use."""

    def __init__(self, cp):
        self.cp, self.pool, self.peak = cp, cp.get_default_memory_pool(), 0
        cp.cuda.set_allocator(self.malloc)

    def malloc(self, size):
        mem = self.pool.malloc(size)
        self.peak = max(self.peak, self.pool.used_bytes())
        return mem

    def reset(self):
        self.pool.free_all_blocks()
        self.peak = self.pool.used_bytes()


def timed(fn, sync, repeats):
    fn()
    sync()
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def micro_batches(n, micro=None):
    """Row slices of at most `micro` rows covering 0..n (one slice when micro is None or >= n)."""
    micro = n if not micro else min(micro, n)
    return [slice(r, min(r + micro, n)) for r in range(0, n, micro)]


def bench_ours(cfg, ids, labels, sop, repeats, peak, micro=None):
    import cupy as cp
    model = ma.AlbertForPreTraining(cfg, seed=0, device="cuda").train()
    model.mlm_labelled_only = False    # full (B, T, V) logits, the same work as HF's head
    ids_d, lab_d, sop_d = cp.asarray(ids), cp.asarray(labels), cp.asarray(sop)
    sync = cp.cuda.Device().synchronize
    parts = micro_batches(ids.shape[0], micro)

    def fwd():
        model.eval()
        for r in parts:
            model(ids_d[r])
        model.train()

    def step():
        model.zero_grad()
        for r in parts:     # the outputs are let go (only the cache holds them); backward frees the cache
            model(ids_d[r], labels=lab_d[r], sentence_order_label=sop_d[r])
            model.backward()
        if len(parts) > 1:
            scale_grads(model.grads(), 1.0 / len(parts))

    peak.reset()
    t_f = timed(fwd, sync, repeats)
    t_s = timed(step, sync, repeats)
    mem = peak.peak
    state = {k: backend.to_numpy(v) for k, v in model.params.items()}
    del model
    cp.get_default_memory_pool().free_all_blocks()
    return t_f, t_s, mem, state


def bench_torch(cfg, state, ids, labels, sop, repeats, micro=None):
    import torch
    from transformers import AlbertConfig as HFConfig, AlbertForPreTraining as HFPre
    hf = HFPre(HFConfig(**{k: v for k, v in cfg.to_dict().items() if k not in ("share_type", "ln_type",
                                                                              "embedding_layout", "extra")}),
               ).cuda().float()
    hf.config._attn_implementation = "eager"
    hf.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    dev = torch.device("cuda")
    ids_t = torch.from_numpy(ids).to(dev)
    lab_t, sop_t = torch.from_numpy(labels).to(dev), torch.from_numpy(sop).to(dev)
    sync = torch.cuda.synchronize
    parts = micro_batches(ids.shape[0], micro)

    def fwd():
        with torch.no_grad():
            for r in parts:
                hf(input_ids=ids_t[r])

    def step():
        hf.zero_grad(set_to_none=False)
        for r in parts:
            (hf(input_ids=ids_t[r], labels=lab_t[r], sentence_order_label=sop_t[r]).loss / len(parts)).backward()

    torch.cuda.reset_peak_memory_stats()
    t_f = timed(fwd, sync, repeats)
    t_s = timed(step, sync, repeats)
    mem = torch.cuda.max_memory_allocated()
    del hf
    torch.cuda.empty_cache()
    return t_f, t_s, mem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="albert-base-v2,albert-large-v2,albert-xxlarge-v2")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--micro-batch", type=int, default=None,
                    help="rows per micro-batch, the gradients accumulated (default: the whole batch at once)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    if not backend.cuda_available():
        sys.exit("bench_gpu: needs cupy and a CUDA GPU")
    import cupy as cp
    peak = PeakPool(cp)
    try:
        import torch
        have_torch = torch.cuda.is_available()
    except ImportError:
        have_torch = False
    dev = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"GPU: {dev}; cupy {cp.__version__}; torch: {torch.__version__ if have_torch else 'absent'}")
    rng = np.random.default_rng(0)
    results = []
    for name in args.models.split(","):
        cfg = model_config(name)
        B, T = args.batch, args.seq
        ids = rng.integers(5, cfg.vocab_size, size=(B, T))
        labels = np.where(rng.random((B, T)) < 0.15, ids, -100)
        sop = rng.integers(0, 2, size=B)
        tok = B * T
        M = min(args.micro_batch or B, B)
        f, s, mem, state = bench_ours(cfg, ids, labels, sop, args.repeats, peak, M)
        # the memory model's peak: parameters and their gradients, plus the step's estimated peak beyond
        # them for one micro-batch of M rows (full (M, T, V) logits, the outputs not held)
        pred = 2 * sum(v.nbytes for v in state.values()) + \
            step_peaks(cfg, M, T, training=True, head="pretraining")["backward"]
        row = {"model": name, "batch": B, "micro_batch": M, "seq": T, "ours_fwd_tok_s": tok / f,
               "ours_step_tok_s": tok / s, "ours_peak_gib": mem / 2**30, "model_peak_gib": pred / 2**30}
        if have_torch:
            tf, ts, tmem = bench_torch(cfg, state, ids, labels, sop, args.repeats, M)
            row.update(torch_fwd_tok_s=tok / tf, torch_step_tok_s=tok / ts, torch_peak_gib=tmem / 2**30,
                       ratio_fwd=(tok / f) / (tok / tf), ratio_step=(tok / s) / (tok / ts))
        results.append(row)
        print(json.dumps(row), flush=True)
        if args.json:   # after every model: a run cut short (gpu_verify.sh's timeout) keeps what it measured
            Path(args.json).write_text(json.dumps({"gpu": dev, "results": results}, indent=1))
    print(f"\n{'model':<18} {'micro':>5} {'ours fwd tok/s':>14} {'torch fwd':>10} {'ratio':>6} {'ours step':>10} "
          f"{'torch step':>10} {'ratio':>6} {'ours GiB':>9} {'model GiB':>9} {'torch GiB':>9}")
    for r in results:
        print(f"{r['model']:<18} {r['micro_batch']:>5} {r['ours_fwd_tok_s']:>14.0f} "
              f"{r.get('torch_fwd_tok_s', float('nan')):>10.0f} "
              f"{r.get('ratio_fwd', float('nan')):>6.2f} {r['ours_step_tok_s']:>10.0f} "
              f"{r.get('torch_step_tok_s', float('nan')):>10.0f} {r.get('ratio_step', float('nan')):>6.2f} "
              f"{r['ours_peak_gib']:>9.2f} {r['model_peak_gib']:>9.2f} {r.get('torch_peak_gib', float('nan')):>9.2f}")


if __name__ == "__main__":
    main()
