# %% [markdown]
# # 07 · The same code on a GPU (CuPy)
#
# minialbert's ops never import NumPy: each asks `backend.array_module(x)` for the array library its
# inputs belong to, NumPy for host arrays and CuPy for CUDA arrays, and calls `xp.matmul`, `xp.exp`, …
# on it. Moving a model is therefore one call, `model.to("cuda")`, and the forward and hand-written backward
# passes run unchanged on the GPU. This notebook detects a GPU, shows that the code path is the same,
# checks CPU results against Hugging Face fixtures (always) and GPU against CPU (when a GPU is present), and
# times forward and forward+backward on each device. This is an engineering notebook rather than a paper
# section: it is how the paper's model sizes (§3.2, Table 1) become trainable at all.
#
# Where no GPU is present (CI, and the machine this notebook was last executed on, see the output) the GPU
# cells say so and the CPU half still runs in full.
#
# Three exercises at the end, all of which run on a CPU: an op written for either backend, a timer that
# is right on an asynchronous device, and a prediction of how much memory a forward pass keeps.

# %%
import inspect
import statistics
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minialbert as ma
from minialbert import backend, ops, parity
from minialbert.model.memory import cache_bytes

from exercises import check, ex07, solutions_07 as solutions   # notebooks/exercises: section 5

parity.use_fixtures(Path.cwd().resolve().parent / "tests" / "fixtures" / "hf")   # notebooks/ is in the repository

t_start = time.perf_counter()
try:
    import cupy as cp
    cupy_msg = f"cupy {cp.__version__} is installed"
except Exception as e:                      # ImportError, or a broken CUDA install
    cp, cupy_msg = None, f"cupy is not importable ({type(e).__name__}: {e})"
HAVE_GPU = backend.cuda_available()        # cupy importable AND at least one CUDA device visible
GPU = "cuda"
if HAVE_GPU:
    gpu_name = cp.cuda.runtime.getDeviceProperties(0)["name"]
    gpu_name = gpu_name.decode() if isinstance(gpu_name, bytes) else str(gpu_name)
    print(f"GPU FOUND: {gpu_name}; {cupy_msg}. The GPU cells below run.")
else:
    why = "no CUDA device is visible" if cp is not None else cupy_msg
    print(f"NO GPU: {why}. GPU cells are skipped (and say so); every CPU cell runs.")

# %% [markdown]
# ## 1. One code path, two array libraries
#
# Here is a whole op, softmax, as the library writes it: the only device-specific line is asking for `xp`.

# %%
print(inspect.getsource(ops.softmax_forward))
d, meta, ref = parity.load_hf_case("mlm")
model = ma.AlbertForMaskedLM.from_pretrained(d)                       # a small HF fixture model, float32
name = "albert.embeddings.word_embeddings.weight"
out = model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"])
print(f"on cpu : model.xp = {model.xp.__name__}; array_module(params[{name!r}]) = "
      f"{backend.array_module(model.params[name]).__name__}; logits live in "
      f"{backend.array_module(out['logits']).__name__}")
if HAVE_GPU:
    before = {k: v.copy() for k, v in model.params.items()}
    model.to(GPU)
    out_gpu = model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"])
    print(f"on cuda: model.xp = {model.xp.__name__}; array_module(params[...]) = "
          f"{backend.array_module(model.params[name]).__name__}; logits live in "
          f"{backend.array_module(out_gpu['logits']).__name__}")
    model.to("cpu")
    assert all(np.array_equal(model.params[k], before[k]) for k in before)
    print("CHECK RAN: cpu -> cuda -> cpu round trip leaves every parameter bit-identical")
else:
    print("on cuda: SKIPPED (no GPU); model.to('cuda') would move every parameter with backend.to_device, and "
          "the same ops would then see cupy arrays")

# %% [markdown]
# ## 2. Parity on the CPU against Hugging Face (always runs)
#
# Three committed fixtures from `tests/fixtures/hf/` (a masked LM, one with several groups and inner layers,
# and the MLM + SOP pretraining model), run through `parity.hf_case_maxdiffs`: max |minialbert − HF| over every
# output and every parameter gradient. Tolerances, as in `tests/test_parity_hf.py`:
#
# * float64: 1e-10 absolute (the same arithmetic in a different order: only rounding differs);
# * float32: outputs 1e-4 absolute; gradients 1e-4 × (max |g_HF| + a floor of 1e-3 × the model's largest
#   gradient), because some gradients are exactly zero in exact arithmetic and pure relative error would divide
#   rounding noise by zero.

# %%
CASES = ["mlm", "mlm_groups", "pretraining"]


def grad_bound(ref, name, rtol):
    floor = 1e-3 * max(float(np.abs(v).max()) for k, v in ref.items() if k.startswith("grad."))
    return rtol * (float(np.abs(ref[name]).max()) + floor)


print(f"{'case':<12} {'dtype':<8} {'max|Δ| outputs':>15} {'max|Δ| grads':>13} {'worst grad / bound':>19}")
for case in CASES:
    _, _, ref = parity.load_hf_case(case)
    for dtype, out_tol, rtol in (("float64", 1e-10, None), ("float32", 1e-4, 1e-4)):
        diffs = parity.hf_case_maxdiffs(case, dtype)
        o = max(v for k, v in diffs.items() if k.startswith("out."))
        g = max(v for k, v in diffs.items() if k.startswith("grad."))
        assert o <= out_tol, (case, dtype, o)
        if rtol is None:
            assert g <= 1e-10, (case, dtype, g)
            ratio = g / 1e-10
        else:
            ratio = max(v / grad_bound(ref, k, rtol) for k, v in diffs.items() if k.startswith("grad."))
            assert ratio <= 1.0, (case, dtype, ratio)
        print(f"{case:<12} {dtype:<8} {o:>15.1e} {g:>13.1e} {ratio:>19.2e}")
print("CHECK RAN: CPU vs HF transformers fixtures", CASES, "in float64 (1e-10) and float32 (1e-4)")

# %% [markdown]
# ## 3. GPU against CPU (when a GPU is present)
#
# The same fixtures loaded once on each device, float32 on both sides: outputs must agree to 1e-4 absolute
# (with each other and with HF's float64 reference), gradients to the float32 bound above (cuBLAS and
# OpenBLAS sum in different orders, nothing else differs). The fill-mask pipeline on the V = 30000 fixture
# must return the same tokens on both devices, scores within 1e-5.

# %%
def run_fixture(case, device):
    """Load an HF fixture on a device, run forward (labels included) and backward; (outputs, grads) on host."""
    d, meta, ref = parity.load_hf_case(case)
    m = ma.MODEL_CLASSES[meta["model_class"]].from_pretrained(d, device=device)
    labels = {k: ref[k] for k in parity.LABEL_KEYS if k in ref}
    out = m(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"], **labels)
    if "loss" in out:
        m.backward()
    else:
        m.backward(**{k[len("upstream."):]: ref[k] for k in ref if k.startswith("upstream.")})
    outs = {k: backend.to_numpy(v) for k, v in out.items() if v is not None and k != "loss"}
    return m, outs, {k: backend.to_numpy(v) for k, v in m.grads().items()}, ref


def device_parity(case, device_a, device_b):
    ma_, oa, ga, ref = run_fixture(case, device_a)
    mb_, ob, gb, _ = run_fixture(case, device_b)
    assert backend.device_of(next(iter(mb_.params.values()))) == backend.normalize_device(device_b)
    d_out = max(float(np.abs(ob[k] - oa[k]).max()) for k in oa)
    d_ref = max(float(np.abs(ob[k] - ref["out." + k]).max()) for k in oa)
    ratio = max(float(np.abs(gb[k] - ga[k]).max()) / grad_bound(ref, "grad." + k, 1e-4) for k in ga)
    assert d_out <= 1e-4 and d_ref <= 1e-4 and ratio <= 1.0, (case, d_out, d_ref, ratio)
    return d_out, d_ref, ratio


if HAVE_GPU:
    print(f"{'case':<12} {'max|cuda-cpu| out':>18} {'max|cuda-HF| out':>17} {'worst grad / bound':>19}")
    for case in CASES:
        d_out, d_ref, ratio = device_parity(case, "cpu", GPU)
        print(f"{case:<12} {d_out:>18.1e} {d_ref:>17.1e} {ratio:>19.2e}")
    tok = ma.AlbertTokenizer.from_pretrained(ma.hub.default_model_path() / "spiece.model")
    fix = str(parity.fixtures_dir() / "fillmask")
    a = ma.pipeline("fill-mask", model=fix, tokenizer=tok)("paris is the [MASK] of france", top_k=5)
    b = ma.pipeline("fill-mask", model=fix, tokenizer=tok, device=GPU)("paris is the [MASK] of france", top_k=5)
    assert [p["token"] for p in a] == [p["token"] for p in b]
    assert max(abs(p["score"] - q["score"]) for p, q in zip(a, b)) <= 1e-5
    print("CHECK RAN: cuda vs cpu on", CASES, "(float32, outputs 1e-4, gradients 1e-4 relative) and the "
          "fill-mask pipeline (same tokens, scores 1e-5)")
else:
    print("SKIPPED cuda-vs-cpu parity: no GPU here. (tests/test_cupy.py runs the same comparison on every "
          "fixture where a GPU is present.) The CPU-vs-HF check above did run.")

# %% [markdown]
# ## 4. Timing forward and forward + backward
#
# One model shape, V = 30000, E = 128, H = 256, L = 4 sharing one group, NH = 4, I = 1024, B = 8, for several
# sequence lengths T. Each measurement is the median of 5 (CPU) or 10 (GPU) runs after one warm-up; on the GPU every run
# ends with a device synchronisation, because CuPy launches kernels asynchronously and a timer stopped
# without one measures only the launch. Forward+backward uses the MLM loss with ~15 % of positions labelled.
#
# These numbers are an illustration, not a benchmark: the CPU here may be shared with other work (see
# `benchmarks/` for controlled measurements), so nothing below is asserted.

# %%
shape = ma.AlbertConfig(vocab_size=30000, embedding_size=128, hidden_size=256, num_hidden_layers=4,
                        num_hidden_groups=1, num_attention_heads=4, intermediate_size=1024,
                        max_position_embeddings=512, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
B = 8
CPU_T = [16, 32, 64, 128]
GPU_T = [16, 32, 64, 128, 256, 512]


def timed(fn, sync, repeats):
    fn()
    sync()                                          # warm-up (and, on the GPU, kernel compilation)
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        runs.append(time.perf_counter() - t)
    return 1e3 * statistics.median(runs)            # ms


def time_device(device, Ts, repeats):
    m = ma.AlbertForMaskedLM(shape, seed=0, device=device)
    sync = cp.cuda.Device().synchronize if backend.normalize_device(device) == "cuda" else (lambda: None)
    rng = np.random.default_rng(0)
    rows = []
    for T in Ts:
        ids = m.xp.asarray(rng.integers(5, shape.vocab_size, size=(B, T)))                 # (B, T)
        labels = m.xp.asarray(np.where(rng.random((B, T)) < 0.15, backend.to_numpy(ids), -100))   # (B, T)

        def forward():
            m.eval()
            m(ids)                                  # logits (B, T, V)

        def forward_backward():
            m.train()
            m.zero_grad()
            m(ids, labels=labels)
            m.backward()

        rows.append((T, timed(forward, sync, repeats), timed(forward_backward, sync, repeats)))
    return rows


cpu_rows = time_device("cpu", CPU_T, repeats=5)
gpu_rows = time_device(GPU, GPU_T, repeats=10) if HAVE_GPU else []
print(f"timed model: {ma.count_parameters(shape, add_pooler=False):,} backbone parameters (+ MLM head)")
print(f"{'device':<6} {'B x T':>9} {'forward ms':>11} {'fwd+bwd ms':>11} {'fwd+bwd tokens/s':>17}")
for dev, rows in (("cpu", cpu_rows), ("cuda", gpu_rows)):
    for T, f, s in rows:
        print(f"{dev:<6} {f'{B} x {T}':>9} {f:>11.1f} {s:>11.1f} {B * T / (s / 1e3):>17,.0f}")
if not HAVE_GPU:
    print("cuda: SKIPPED (no GPU); only the CPU was timed")

fig, ax = plt.subplots(figsize=(7.5, 4.5))
for dev, rows, colour in (("CPU (NumPy)", cpu_rows, "#4e79a7"), ("GPU (CuPy)", gpu_rows, "#e15759")):
    if rows:
        Ts_, f_, s_ = zip(*rows)
        ax.plot(Ts_, f_, "o-", color=colour, label=f"{dev}: forward")
        ax.plot(Ts_, s_, "s--", color=colour, label=f"{dev}: forward + backward")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ticks = sorted(set(CPU_T) | set(GPU_T if HAVE_GPU else []))
ax.set_xticks(ticks, [str(t) for t in ticks])
ax.set_xlabel("sequence length T (tokens, batch B = 8)")
ax.set_ylabel("time per call (ms, median, log scale)")
ax.set_title("minialbert, H = 256, L = 4, V = 30000" + ("" if HAVE_GPU else ": CPU only (no GPU here)"))
ax.legend()
ax.grid(True, which="both", alpha=0.3)
fig.tight_layout()
fig.savefig("/tmp/nb07_timing.png", dpi=90)
plt.show()

# %% [markdown]
# ## 5. Exercises
#
# Write the function, change the `answer = ...` line to it and run the checker (`exercises/README.md`).
# The committed notebook grades the reference solutions from `exercises/solutions_07.py`; do not read
# that file before you try. Every checker runs on a CPU.
#
# ### Exercise 1: an op for either backend
#
# Write `log_softmax(x)` over the last axis, any number of leading axes, the way section 1's softmax is
# written: `xp = backend.array_module(x)` and only `xp.` functions and array methods (no `np.`), so that
# it runs unchanged on a CuPy array and returns its result on the same device, in `x`'s dtype. Subtract
# each row's maximum before `exp`: the checker feeds rows shifted by +800 (`exp` overflows float64 above
# about 709) and an entry 800 below its row's maximum (its probability underflows to 0, so taking the
# log of a softmax gives −inf there). It compares with the log-sum-exp that the library's cross-entropy
# keeps per row (`ops.cross_entropy_forward`), and, when a GPU is present, also runs your function on
# a CuPy array.

# %%
def my_log_softmax(x):
    xp = backend.array_module(x)
    raise NotImplementedError


answer = solutions.log_softmax                    # replace with: answer = my_log_softmax

# %%
check.grade(ex07.log_softmax, answer)

# %% [markdown]
# ### Exercise 2: timing an asynchronous device
#
# Section 4 times with `sync` after every call because a CuPy call returns as soon as its kernels are
# queued. The checker makes this visible without a GPU: it passes `fn`, `sync` and `clock` of a
# *simulated* GPU whose clock it advances itself. A call costs 0.05 ms on the host and queues a few ms of
# device work; `sync()` waits until the queue is empty; the first call also compiles for 250 ms; and one
# timed run is 40 ms slower than the others (a busy machine). Here is section 4's timer without the
# sync through the checker (`run` returns the report without raising): right on the simulated CPU,
# it measures only the launches on the GPU.

# %%
timer_without_sync = solutions.WRONG_TIMED["no sync: times the kernel launches"]   # one of the checker's wrong answers
print(inspect.getsource(timer_without_sync))
report = check.run(ex07.timed, timer_without_sync)
print(report)
assert not report.passed and all("GPU" in v.name for v in report.failures)

# %% [markdown]
# Now write `timed(fn, sync, repeats, clock)`: one untimed warm-up call, then `repeats` runs, each timed
# from just before `fn()` to just after `sync()`; return the median in milliseconds (`clock()` returns
# seconds, as `time.perf_counter`). The checker also catches the mean instead of the median, no warm-up,
# and seconds.

# %%
def my_timed(fn, sync, repeats, clock):
    raise NotImplementedError


answer = solutions.timed                          # replace with: answer = my_timed

# %%
check.grade(ex07.timed, answer)

# %% [markdown]
# ### Exercise 3: how much memory does a forward pass keep?
#
# A GPU's memory, not its speed, usually decides the largest batch. Besides the parameters, a forward
# pass keeps every layer's cache for the backward pass. For one application of a post-LN `gelu_new`
# layer without dropout (`minialbert/model/memory.py`, `docs/memory.md`), with s bytes per element:
#
# | tensor | size | what it is |
# |---|---|---|
# | attention.qkv | 3 s B T H | the fused Q/K/V projection's output |
# | attention.probs | s B NH T T | the attention probabilities, one T × T map per head |
# | attention.context | s B T H | probabilities @ V, heads side by side |
# | attention.ln | s B T (H + 1) | the LayerNorm's normalised input and 1/std per row |
# | attention.y | s B T H | the attention block's output |
# | ffn.act | 3 s B T I | gelu_new's input, its tanh, its output |
# | ffn.ln | s B T (H + 1) | the second LayerNorm |
# | ffn.y | s B T H | the layer's output |
#
# Write `encoder_cache_bytes(cfg, B, T, itemsize)`: the bytes all the layers of the encoder keep, for
# configurations with `inner_group_num = 1`. Remember notebook 02: a model with G groups stores G sets
# of weights but runs L layers. The checker compares with the memory model
# (`minialbert.model.memory.cache_bytes`), which `tests/test_memory.py` checks byte for byte against
# the allocations of a CuPy stand-in (`tests/cupy_strict/`).

# %%
def my_encoder_cache_bytes(cfg, B, T, itemsize):
    raise NotImplementedError


answer = solutions.encoder_cache_bytes            # replace with: answer = my_encoder_cache_bytes

# %%
check.grade(ex07.encoder_cache_bytes, answer)

# %% [markdown]
# For scale, with the memory model: albert-xxlarge (L = 12 applications of one shared layer) at B = 8,
# T = 512 in float32. Sharing stores one layer's weights instead of L, but the forward pass still keeps
# L caches.

# %%
xx = ma.preset("albert-xxlarge-v2")
layers = sum(v for k, v in cache_bytes(xx, 8, 512, dtype="float32", head=None).items() if k.startswith("layers."))
print(f"albert-xxlarge-v2, B = 8, T = 512, float32: the layers keep {layers / 2**30:.1f} GiB for the backward; "
      f"the parameters take {4 * ma.count_parameters(xx) / 2**30:.2f} GiB")

# %% [markdown]
# ## Summary
#
# * One implementation: every op takes its array library from its inputs, so `model.to("cuda")` is the whole
#   port; parameters round-trip between devices exactly.
# * The CPU results match Hugging Face's fixtures to float64 rounding (1e-10) and within the float32 bound
#   (1e-4); on a GPU the same fixtures must agree across devices within 1e-4.
# * Timings are for orientation only. On a CPU the cost grows roughly with B × T (the V = 30000 output layer and
#   the feed-forward layers dominate at these T); a GPU pays a fixed launch cost per op that large batches hide.

# %%
print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
