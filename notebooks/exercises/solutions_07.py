"""Reference solutions to notebook 07's exercises (the GPU backend), and the plausible wrong answers that
tests/test_exercises.py proves the checkers (ex07.py) reject.

Try the exercises in the notebook before reading this file.
"""
import statistics

import numpy as np

from minialbert import backend


# ----------------------------------------------------------------------------- reference solutions

def log_softmax(x):
    """log softmax(x) over the last axis, any leading axes, in x's dtype and on x's device: the array
    library comes from the input (numpy or cupy), and the maximum is subtracted before exp."""
    xp = backend.array_module(x)
    shifted = x - x.max(axis=-1, keepdims=True)          # <= 0: exp cannot overflow, and one term is exp(0) = 1
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def timed(fn, sync, repeats, clock):
    """The median time of fn() in milliseconds over `repeats` runs, after one untimed warm-up run. Each
    run is timed from just before fn() to just after sync(), which waits for the device to finish the
    work fn() queued (a no-op on the CPU). clock() returns seconds, as time.perf_counter does."""
    fn()
    sync()                                               # warm-up: compilation, allocator, caches
    runs = []
    for _ in range(repeats):
        t = clock()
        fn()
        sync()
        runs.append(clock() - t)
    return 1e3 * statistics.median(runs)


def encoder_cache_bytes(cfg, B, T, itemsize):
    """Bytes the encoder's layers keep for the backward pass in one forward pass of a (B, T) batch: a
    post-LN, gelu_new ALBERT without dropout, inner_group_num = 1. One cache per layer *application*:
    L of them, however few groups store the weights."""
    H, I, NH, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_attention_heads, cfg.num_hidden_layers
    per_layer = (3 * B * T * H              # fused Q/K/V projection output
                 + B * NH * T * T           # attention probabilities, one T x T map per head
                 + B * T * H                # context
                 + B * T * (H + 1)          # attention LayerNorm: normalised input and 1/std
                 + B * T * H                # attention block output
                 + 3 * B * T * I            # gelu_new: its input, tanh(.), its output
                 + B * T * (H + 1)          # FFN LayerNorm
                 + B * T * H)               # layer output
    return L * itemsize * per_layer


# ----------------------------------------------------------------------------- plausible wrong answers

def _log_softmax_naive(x):
    xp = backend.array_module(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = xp.exp(x)                                    # exp(800) = inf, and inf / inf = nan
        return xp.log(e / e.sum(axis=-1, keepdims=True))


def _log_softmax_log_of_softmax(x):
    xp = backend.array_module(x)
    p = xp.exp(x - x.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return xp.log(p)                                 # a probability that underflowed to 0 gives -inf


def _log_softmax_axis_1(x):
    xp = backend.array_module(x)
    shifted = x - x.max(axis=1, keepdims=True)           # right for (N, V) only
    return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))


def _log_softmax_float64_numpy(x):
    x = np.asarray(x, dtype=float)                       # a float64 host copy (on a GPU: a TypeError)
    return log_softmax(x)


def _timed_no_sync(fn, sync, repeats, clock):
    fn()
    runs = []
    for _ in range(repeats):
        t = clock()
        fn()                                             # on a GPU this returns once the kernels are queued
        runs.append(clock() - t)
    return 1e3 * statistics.median(runs)


def _timed_sync_after_loop(fn, sync, repeats, clock):
    fn()
    sync()
    t = clock()
    for _ in range(repeats):
        fn()
    sync()
    return 1e3 * (clock() - t) / repeats                 # the mean: one slow run moves it


def _timed_no_warm_up(fn, sync, repeats, clock):
    runs = []
    for _ in range(repeats):
        t = clock()
        fn()
        sync()
        runs.append(clock() - t)
    return 1e3 * statistics.median(runs)                 # the first run pays for compilation


def _timed_seconds(fn, sync, repeats, clock):
    return timed(fn, sync, repeats, clock) / 1e3


def _cache_per_group(cfg, B, T, itemsize):
    G = cfg.num_hidden_groups                            # "shared weights, so shared activations"
    return encoder_cache_bytes(cfg, B, T, itemsize) // cfg.num_hidden_layers * G


def _cache_probs_without_heads(cfg, B, T, itemsize):
    NH, L = cfg.num_attention_heads, cfg.num_hidden_layers
    return encoder_cache_bytes(cfg, B, T, itemsize) - L * itemsize * (NH - 1) * B * T * T


def _cache_elements(cfg, B, T, itemsize):
    return encoder_cache_bytes(cfg, B, T, 1)             # elements, not bytes


WRONG_LOG_SOFTMAX = {
    "log(exp(x) / sum exp(x)) without the shift (overflows)": _log_softmax_naive,
    "log of the (stable) softmax: -inf where it underflows": _log_softmax_log_of_softmax,
    "max and sum over axis 1 (right for 2-D input only)": _log_softmax_axis_1,
    "np.asarray(x, dtype=float): float64 on the host": _log_softmax_float64_numpy,
}
WRONG_TIMED = {
    "no sync: times the kernel launches": _timed_no_sync,
    "one sync after the loop: the mean, not the median": _timed_sync_after_loop,
    "no warm-up run": _timed_no_warm_up,
    "seconds, not milliseconds": _timed_seconds,
}
WRONG_CACHE = {
    "one cache per group, not per application": _cache_per_group,
    "attention probabilities B T^2, not B NH T^2": _cache_probs_without_heads,
    "elements, not bytes": _cache_elements,
}
