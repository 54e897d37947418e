"""The same model code under CuPy (issue: CuPy backend), twice: under the strict CuPy stand-in
(tests/cupy_strict: CuPy's rules on NumPy arithmetic, runs in CI on the CPU) and on a real CUDA GPU
with cupy (skipped, with the reason, where there is none).

Tolerances (float32 on both sides, different BLAS/reduction order):
outputs max|diff| <= 1e-4 absolute; gradients max|diff| <= 1e-4 x (max|g| + floor),
the floor as in test_parity_hf.py.
"""
import gc

import numpy as np
import pytest

import minialbert as ma
from minialbert import backend, ops
from minialbert.model.memory import cache_bytes, step_peaks
from conftest import HF_CASES, LABEL_KEYS, is_strict_cupy, load_case, strict_cupy_installed

REAL_GPU = backend.cuda_available() and not is_strict_cupy(backend._cp)


@pytest.fixture(scope="module", autouse=True,
                params=["strict", pytest.param("gpu", marks=pytest.mark.gpu)])
def cp(request):
    """The cupy module every test here runs under: the strict stand-in, or the real one on a GPU."""
    if request.param == "gpu":
        if not REAL_GPU:
            pytest.skip("needs a CUDA GPU and cupy")
        yield backend._cp
    else:
        with strict_cupy_installed() as module:
            yield module


def run(model, ref, upstream=True):
    labels = {k: ref[k] for k in LABEL_KEYS if k in ref}
    out = model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"], **labels)
    if "loss" in out:
        model.backward()
    else:
        model.backward(**{k[len("upstream."):]: ref[k] for k in ref if k.startswith("upstream.")})
    return out


@pytest.mark.parametrize("case", HF_CASES)
def test_cuda_matches_numpy_and_hf(case):
    d, meta, ref = load_case(case)
    cls = ma.MODEL_CLASSES[meta["model_class"]]
    cpu, gpu = cls.from_pretrained(d), cls.from_pretrained(d, device="cuda")
    assert gpu.xp is not np
    oc, og = run(cpu, ref), run(gpu, ref)
    for k, v in oc.items():
        if v is not None and k != "loss":
            np.testing.assert_allclose(backend.to_numpy(og[k]), backend.to_numpy(v), atol=1e-4, err_msg=k)
            np.testing.assert_allclose(backend.to_numpy(og[k]), ref["out." + k], atol=1e-4, err_msg=k)
    gc, gg = cpu.grads(), gpu.grads()
    floor = 1e-3 * max(float(np.abs(backend.to_numpy(g)).max()) for g in gc.values())
    for k in gc:
        a, b = backend.to_numpy(gc[k]), backend.to_numpy(gg[k])
        assert np.abs(a - b).max() <= 1e-4 * (np.abs(a).max() + floor), k


def test_to_device_round_trip():
    d, meta, ref = load_case("mlm")
    m = ma.AlbertForMaskedLM.from_pretrained(d)
    before = {k: v.copy() for k, v in m.params.items()}
    m.to("cuda")
    assert all(backend.device_of(v) == "cuda" for v in m.params.values())
    m.to("cpu")
    for k in before:
        np.testing.assert_array_equal(m.params[k], before[k])


def test_ops_match_numpy(cp):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 8)).astype(np.float32)
    w, b = rng.normal(size=(6, 8)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    for name in ops.ACTIVATION_FNS:
        y_np = ops.activation_forward(x.copy(), name)[0]
        y_cp = ops.activation_forward(cp.asarray(x), name)[0]
        np.testing.assert_allclose(cp.asnumpy(y_cp), y_np, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(cp.asnumpy(ops.linear_forward(cp.asarray(x), cp.asarray(w), cp.asarray(b))[0]),
                               ops.linear_forward(x, w, b)[0], atol=1e-5)
    t = rng.normal(size=(7, 4)).astype(np.float32)
    ids = np.array([[1, 3, 1], [6, 1, 0]])
    dt_np, dt_cp = np.zeros_like(t), cp.zeros((7, 4), dtype=cp.float32)
    dout = rng.normal(size=(2, 3, 4)).astype(np.float32)
    ops.embedding_backward(dout, ops.embedding_forward(ids, t)[1], dt_np)
    ops.embedding_backward(cp.asarray(dout), ops.embedding_forward(cp.asarray(ids), cp.asarray(t))[1], dt_cp)
    np.testing.assert_allclose(cp.asnumpy(dt_cp), dt_np, atol=1e-5)


def test_fill_mask_pipeline_on_cuda():
    from conftest import HF_FIXTURES, vocab_file
    spm = vocab_file()
    if not spm.exists():
        pytest.skip("no vocabulary")
    tok = ma.AlbertTokenizer.from_pretrained(spm)
    a = ma.pipeline("fill-mask", model=str(HF_FIXTURES / "fillmask"), tokenizer=tok)("a [MASK] day")
    b = ma.pipeline("fill-mask", model=str(HF_FIXTURES / "fillmask"), tokenizer=tok, device="cuda")("a [MASK] day")
    assert [p["token"] for p in a] == [p["token"] for p in b]
    np.testing.assert_allclose([p["score"] for p in a], [p["score"] for p in b], atol=1e-5)


MODEL_TOL = 0.15   # the pool's peak may exceed the memory model's estimate by this much (512-byte rounding,
#                   CuPy's internal scratch; the stand-in itself agrees within 2 %: tests/test_memory.py)


def micro_batched_step(cp, cfg, batch, seq, micro):
    """One training step of AlbertForPreTraining (MLM at the labelled positions + SOP) on `batch` rows of
    `seq` tokens, run as micro-batches of `micro` rows whose gradients add up. Returns the CuPy pool's
    peak beyond the parameters and their gradients, the memory model's estimate of it and one
    micro-batch's cache (minialbert/model/memory.py), after checking the loss and gradients are finite."""
    m = ma.AlbertForPreTraining(cfg, seed=0, device="cuda")
    m.mlm_labelled_only = True
    m._ensure_grads()
    rng = np.random.default_rng(0)
    ids = rng.integers(5, cfg.vocab_size, size=(batch, seq))
    labels = np.where(rng.random((batch, seq)) < 0.15, ids, -100)
    labels[:, 1] = ids[:, 1]                         # every micro-batch has a labelled position
    sop = rng.integers(0, 2, size=batch)
    gc.collect()
    pool, peak = cp.get_default_memory_pool(), [0]
    pool.free_all_blocks()

    def malloc(size):
        mem = pool.malloc(size)
        peak[0] = max(peak[0], pool.used_bytes())
        return mem
    base = peak[0] = pool.used_bytes()               # the parameters and their gradients
    losses = []
    with cp.cuda.using_allocator(malloc):
        for r in range(0, batch, micro):
            out = m(ids[r:r + micro], labels=labels[r:r + micro], sentence_order_label=sop[r:r + micro])
            losses.append(out["loss"])
            del out                                  # only the model's cache holds the outputs now
            m.backward()                             # the gradients add up over the micro-batches
    assert all(np.isfinite(float(v)) for v in losses)
    assert all(bool(m.xp.isfinite(g).all()) for g in m.grads().values())
    rows = max(int((labels[r:r + micro] != -100).sum()) for r in range(0, batch, micro))
    est = step_peaks(cfg, micro, seq, head="pretraining", mlm_rows=rows)["backward"]
    cache = cache_bytes(cfg, micro, seq, head="pretraining", mlm_rows=rows)["total"]
    return peak[0] - base, est, cache


@pytest.mark.parametrize("micro", [8, 2], ids=["one-batch", "micro-batches-of-2"])
def test_micro_batched_step_memory_follows_the_model(cp, micro):
    cfg = ma.AlbertConfig(vocab_size=500, embedding_size=16, hidden_size=64, num_hidden_layers=3,
                          num_attention_heads=4, intermediate_size=128, max_position_embeddings=64)
    got, est, cache = micro_batched_step(cp, cfg, 8, 64, micro)
    assert cache < got <= est * (1 + MODEL_TOL), (got, est, cache)


@pytest.mark.slow
@pytest.mark.parametrize("micro", [8, 2], ids=["one-batch", "micro-batches-of-2"])
def test_xxlarge_forward_backward_batch_8x512(cp, micro):
    """albert-xxlarge-v2 (H 4096, 64 heads, I 16384, 12 layers) on a batch of 8 x 512, in one go or as
    micro-batches of 2 whose gradients add up (the step's activation memory is then that of 2 rows), its
    pool peak within the memory model's bounds."""
    if is_strict_cupy(cp):
        pytest.skip("full size needs a real GPU (the stand-in computes on the CPU)")
    got, est, cache = micro_batched_step(cp, ma.preset("albert-xxlarge-v2"), 8, 512, micro)
    print(f"xxlarge 8 x 512 in micro-batches of {micro}: pool peak {got / 2**30:.2f} GiB beyond the parameters "
          f"and gradients; the memory model's estimate {est / 2**30:.2f} GiB (cache {cache / 2**30:.2f} GiB)")
    assert cache < got <= est * (1 + MODEL_TOL), (got, est, cache)
