"""Checkers for notebook 07's exercises (the GPU backend). They all run on the CPU:

- log_softmax against the log-sum-exp the library's cross-entropy keeps (ops.cross_entropy_forward's
  cache), in float64 and float32, with logits that make a naive version overflow or underflow; when a GPU
  is present, also on a CuPy array (the result must stay on the device);
- timed on a simulated GPU: a clock the checker advances itself and a device that queues the work fn()
  launches until sync() waits for it; the reference is the median of the run times the checker drew;
- encoder_cache_bytes against the memory model (minialbert.model.memory.cache_bytes), which
  tests/test_memory.py checks byte for byte against the CuPy stand-in's allocations.
No trained model is used."""
import statistics

import numpy as np

import minialbert as ma
from minialbert import backend, ops
from minialbert.model.memory import cache_bytes

from . import solutions_07 as solutions
from .check import cmp, exercise, fact


def _log_softmax_reference(x):
    """float64 log softmax over the last axis from the library's cross-entropy: it keeps, per row, the
    maximum and the log-sum-exp of the shifted logits, and log softmax(x) = x - max - logsumexp."""
    z = np.asarray(x, dtype=np.float64).reshape(-1, x.shape[-1])
    _, (_, rowmax, lse, *_) = ops.cross_entropy_forward(z, np.zeros(len(z), dtype=np.int64))
    return (z - rowmax - lse[:, None]).reshape(x.shape)


@exercise("07.log_softmax", "log_softmax(x): stable, over the last axis, on x's own backend and dtype",
          solution=solutions.log_softmax, wrong=solutions.WRONG_LOG_SOFTMAX)
def log_softmax(answer):
    rng = np.random.default_rng(701)
    verdicts = []
    x = rng.normal(size=(4, 30)) * 3.0
    x[1] += 800.0                                   # exp(800) overflows float64: the shift must come first
    x[2, 0] -= 800.0                                # its probability underflows to 0: log(0) = -inf
    y = rng.normal(size=(2, 3, 30)) * 3.0           # (B, T, V): the last axis, whatever the rank
    for name, a in (("(4, 30) float64, shifted rows", x), ("(2, 3, 30) float64", y)):
        verdicts.append(cmp(name, answer(a.copy()), _log_softmax_reference(a)))
    a32 = y.astype(np.float32)
    out = answer(a32.copy())
    verdicts += [fact("(2, 3, 30) float32: dtype", getattr(out, "dtype", None) == np.float32,
                      f"float32 in, {getattr(out, 'dtype', type(out).__name__)} out"),
                 cmp("(2, 3, 30) float32: values", out, _log_softmax_reference(a32), rtol=1e-5)]
    if backend.cuda_available():                    # only where a GPU is present: the result stays on it
        try:
            out = answer(backend.to_device(y, "cuda"))
            on_gpu = backend.device_of(out) == "cuda"
            verdicts += [fact("cupy input: result on the GPU", on_gpu, f"result in {type(out).__module__}"),
                         cmp("cupy input: values", backend.to_numpy(out), _log_softmax_reference(y))]
        except Exception as e:                      # np.asarray(cupy array) raises TypeError, ...
            verdicts.append(fact("cupy input", False, f"raised {type(e).__name__}: {e}"))
    return verdicts


class SimulatedGPU:
    """An asynchronous device with its own clock, in milliseconds. fn() costs launch_ms of host time and
    queues run_ms[i] of device work (the first call also compile_ms); the device works through its queue
    in order; sync() advances the clock until the queue is empty. clock() returns seconds, as
    time.perf_counter. synchronous=True: a CPU, where fn() returns when its work is done and sync()
    does nothing."""

    def __init__(self, run_ms, launch_ms=0.05, compile_ms=250.0, synchronous=False):
        self.run_ms, self.launch_ms, self.compile_ms = list(run_ms), launch_ms, compile_ms
        self.synchronous = synchronous
        self.now = self.busy_until = 0.0
        self.calls = 0

    def clock(self):
        return self.now / 1e3

    def fn(self):
        work = self.run_ms[self.calls % len(self.run_ms)] + (self.compile_ms if self.calls == 0 else 0.0)
        self.calls += 1
        self.now += self.launch_ms
        self.busy_until = max(self.busy_until, self.now) + work
        if self.synchronous:
            self.now = self.busy_until

    def sync(self):
        if not self.synchronous:
            self.now = max(self.now, self.busy_until)


@exercise("07.timed", "timed(fn, sync, repeats, clock): the median of synchronised runs after a warm-up",
          solution=solutions.timed, wrong=solutions.WRONG_TIMED)
def timed(answer):
    rng = np.random.default_rng(702)
    verdicts = []
    for name, repeats, synchronous in (("simulated GPU", 5, False), ("simulated GPU", 4, False),
                                       ("simulated CPU", 5, True)):
        run_ms = rng.uniform(3.0, 5.0, size=repeats + 1)
        run_ms[2] += 40.0                           # one slow run (a shared machine): the median ignores it
        dev = SimulatedGPU(run_ms, synchronous=synchronous)
        ref = statistics.median(dev.launch_ms + r for r in run_ms[1:])   # runs 1..repeats: after the warm-up
        got = answer(dev.fn, dev.sync, repeats, dev.clock)
        tag = f"{name}, repeats={repeats}"
        verdicts += [cmp(f"{tag}: median ms", None if got is None else float(got), ref),
                     fact(f"{tag}: calls to fn", dev.calls == repeats + 1,
                          f"expected {repeats + 1} (one warm-up + {repeats}), made {dev.calls}")]
    return verdicts


@exercise("07.encoder_cache_bytes", "encoder_cache_bytes(cfg, B, T, itemsize): the layers' activation memory",
          solution=solutions.encoder_cache_bytes, wrong=solutions.WRONG_CACHE)
def encoder_cache_bytes(answer):
    verdicts = []
    cases = ((ma.AlbertConfig(hidden_size=64, intermediate_size=256, num_attention_heads=4, num_hidden_layers=4,
                              num_hidden_groups=1), 2, 16, 4),
             (ma.AlbertConfig(hidden_size=32, intermediate_size=128, num_attention_heads=2, num_hidden_layers=6,
                              num_hidden_groups=3), 3, 40, 8),
             (ma.preset("albert-xxlarge-v2"), 8, 512, 2))
    for cfg, B, T, s in cases:
        ref = sum(v for k, v in cache_bytes(cfg, B, T, dtype=s, head=None).items() if k.startswith("layers."))
        got = answer(cfg, B, T, s)
        name = (f"H={cfg.hidden_size} NH={cfg.num_attention_heads} L={cfg.num_hidden_layers} "
                f"G={cfg.num_hidden_groups}, B={B} T={T} s={s}")
        verdicts.append(cmp(name, got, ref, rtol=0.0))
    return verdicts


EXERCISES = [log_softmax, timed, encoder_cache_bytes]
