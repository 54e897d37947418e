"""Devices (issue 16, items 2 and 3): device strings ('cuda:N' keeps its index; HF's -1 / N in pipelines),
cuda_available() proving the GPU computes (and saying why not), cuda:N selecting device N or being
refused, and optimisers / init_missing that keep working when the model moves or is filled in.

Runs on the CPU: the GPU side under the strict CuPy stand-in (tests/cupy_strict; CUPY_STRICT_DEVICES sets
its device count). The stand-in's arrays all report device 0 (it does not track placement), so what is
checked for 'cuda:N' is the *current* device whenever minialbert allocates or computes."""
import numpy as np
import pytest

import minialbert as ma
from minialbert import backend, cli
from minialbert.pipelines import PipelineError
from minialbert.tokenization import load_tokenizer
from conftest import HF_FIXTURES, ROOT, vocab_file

SPM = vocab_file()
PIPE_FIX = ROOT / "tests" / "fixtures" / "pipelines"
needs_vocab = pytest.mark.skipif(not SPM.exists(), reason="no vocabulary")


def tiny_cfg(dropout=0.0):
    return ma.AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=32, max_position_embeddings=16,
                           hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 50, size=(2, 8))
    labels = np.where(rng.random((2, 8)) < 0.5, ids, -100)
    labels[:, 0] = ids[:, 0]
    return ids, labels


@pytest.fixture
def fresh_probe():
    """cuda_available()'s per-process cache emptied before and after the test."""
    backend.cuda_available.cache_clear()
    yield
    backend.cuda_available.cache_clear()


# ----------------------------------------------------------------------------- device strings
@pytest.mark.parametrize("value,expected", [
    ("cpu", "cpu"), ("CPU", "cpu"), (None, "cpu"), ("cuda", "cuda"), ("gpu", "cuda"), ("cuda:0", "cuda:0"),
    ("CUDA:3", "cuda:3"), (" cuda:12 ", "cuda:12"), (-1, "cpu"), (0, "cuda:0"), (2, "cuda:2"),
    (np.int64(1), "cuda:1")])
def test_normalize_device_keeps_the_index(value, expected):
    assert backend.normalize_device(value) == expected


@pytest.mark.parametrize("value", ["tpu", "cuda:", "cuda:-1", "cuda:x", "cuda0", "cpu:1", "", -2, True, 1.0])
def test_unknown_devices_are_refused(value):
    with pytest.raises(ValueError):
        backend.normalize_device(value)


# ----------------------------------------------------------------------------- cuda_available(): a real check
def test_without_cupy_the_reason_is_given(monkeypatch, fresh_probe):
    monkeypatch.setattr(backend, "_cp", None)
    monkeypatch.setattr(backend, "_CUPY_IMPORT_ERROR", None)
    assert not backend.cuda_available()
    assert "cupy is not installed" in backend.cuda_status()
    with pytest.raises(RuntimeError, match=r"device 'cuda:1' was requested but cupy is not installed"):
        backend.get_xp("cuda:1")
    backend.cuda_available.cache_clear()
    monkeypatch.setattr(backend, "_CUPY_IMPORT_ERROR", "ImportError: libcudart.so.12: cannot open shared object")
    with pytest.raises(RuntimeError, match=r"cupy is installed but did not import \(ImportError: libcudart"):
        backend.get_xp("cuda")


def test_the_stand_in_passes_the_probe_once_per_process(strict_cupy, monkeypatch, fresh_probe):
    cp = strict_cupy
    calls = []
    matmul = cp.ndarray.__matmul__
    monkeypatch.setattr(cp.ndarray, "__matmul__", lambda a, b: (calls.append(1), matmul(a, b))[1])
    with cp._strict.track() as t:
        assert backend.cuda_available() and backend.cuda_available("cuda:0")
        backend.get_xp("cuda")
        backend.get_xp("cuda:0")                          # the current device is 0: the same cache entry
    assert backend.cuda_status() is None
    assert len(calls) == 1 and t.syncs == 1               # one GEMM, one read-back, for the whole process


@pytest.mark.parametrize("breakage,needle", [
    ("gemm_raises", "failed a matrix product (cuBLAS): RuntimeError: CuPy failed to load libcublas.so.12"),
    ("gemm_wrong", "a matrix product on the GPU gave"),
    ("kernel_raises", "failed an elementwise kernel (compiled by NVRTC): CompileException: cannot open "
                      "source file \"cuda_fp16.h\""),
    ("kernel_wrong", "an elementwise kernel on the GPU gave [3.0, 4.0, 5.0, 6.0]"),
    ("curand_raises", "failed random numbers (cuRAND): RuntimeError: CuPy failed to load libcurand.so.10"),
    ("no_gpu", "no CUDA GPU is visible (CUDARuntimeError: cudaErrorNoDevice"),
])
def test_a_broken_cuda_install_is_caught_and_explained(strict_cupy, monkeypatch, fresh_probe, breakage, needle):
    """getDeviceCount() > 0 is not enough: each broken piece makes cuda_available() False, and get_xp /
    the model constructor / the CLI say which piece failed."""
    cp = strict_cupy

    class CompileException(Exception):
        pass

    def fail(msg, exc=RuntimeError):
        def f(*a, **k):
            raise exc(msg)
        return f
    exp = cp.exp
    patch = {
        "gemm_raises": (cp.ndarray, "__matmul__", fail("CuPy failed to load libcublas.so.12")),
        "gemm_wrong": (cp.ndarray, "__matmul__", lambda a, b: cp.zeros((2, 2), dtype=cp.float32)),
        "kernel_raises": (cp, "exp", fail('cannot open source file "cuda_fp16.h"', CompileException)),
        "kernel_wrong": (cp, "exp", lambda x: exp(x) + 1.0),
        "curand_raises": (cp.random, "RandomState", fail("CuPy failed to load libcurand.so.10")),
    }
    if breakage == "no_gpu":
        monkeypatch.setenv("CUPY_STRICT_DEVICES", "0")
    else:
        monkeypatch.setattr(*patch[breakage])
    assert not backend.cuda_available()
    assert needle in backend.cuda_status()
    with pytest.raises(RuntimeError, match="device 'cuda' was requested but") as e:
        ma.AlbertModel(tiny_cfg(), device="cuda")
    assert needle in str(e.value)


def test_cli_device_errors_are_one_line(strict_cupy, capsys):
    assert cli.main(["fill-mask", "--device", "cuda:7", "a [MASK] day"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device cuda:7: there is no CUDA device 7: 1 visible (cuda:0" in err[0], err
    with pytest.raises(SystemExit):                       # argparse refuses a device it cannot parse
        cli.main(["fill-mask", "--device", "tpu", "a [MASK] day"])
    assert "unknown device 'tpu'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- cuda:N
@pytest.fixture
def two_gpus(strict_cupy, monkeypatch, fresh_probe):
    """The stand-in with two devices, device 0 current; device 0 current again afterwards."""
    cp = strict_cupy
    monkeypatch.setenv("CUPY_STRICT_DEVICES", "2")
    cp.cuda.runtime.setDevice(0)
    yield cp
    cp.cuda.runtime.setDevice(0)


def record_current_device(cp, monkeypatch):
    """The current device at each device allocation made through cupy's creation routines."""
    seen = []
    for name in ("asarray", "array", "zeros", "zeros_like", "empty", "empty_like", "ones", "full"):
        fn = getattr(cp, name)
        monkeypatch.setattr(cp, name, lambda *a, _fn=fn, **k: (seen.append(cp.cuda.runtime.getDevice()),
                                                                 _fn(*a, **k))[1])
    return seen


def test_cuda_N_selects_device_N_and_the_model_keeps_the_index(two_gpus, monkeypatch):
    cp = two_gpus
    seen = record_current_device(cp, monkeypatch)
    m = ma.AlbertForMaskedLM(tiny_cfg(0.1), seed=0, device="cuda:1").train()
    assert m.device == "cuda:1" and m.xp is cp and "device=cuda:1" in repr(m)
    assert seen and set(seen) == {1}, seen                # every parameter was made on device 1
    ids, labels = batch()
    cp.cuda.Device(0).use()                               # something else made device 0 current meanwhile
    del seen[:]
    out = m(ids, labels=labels)
    cp.cuda.Device(0).use()
    m.backward()
    assert seen and set(seen) == {1}, seen                # the forward and backward ran on device 1
    assert cp.cuda.runtime.getDevice() == 1
    # the same numbers as a model on device 0 (the stand-in computes both on the CPU)
    ref = ma.AlbertForMaskedLM(tiny_cfg(0.1), seed=0, device="cuda:0").train()
    ref_out = ref(ids, labels=labels)
    ref.backward()
    np.testing.assert_array_equal(out["logits"].get(), ref_out["logits"].get())
    for k, g in ref.grads().items():
        np.testing.assert_array_equal(m.grads()[k].get(), g.get(), err_msg=k)
    # moving keeps the index; back to the CPU and on to the other device
    assert m.to("cpu").device == "cpu" and m.to(1).device == "cuda:1" and m.to("cuda:0").device == "cuda:0"
    assert cp.cuda.runtime.getDevice() == 0


def test_cuda_N_out_of_range_is_refused_never_device_0(two_gpus):
    cp = two_gpus
    for make in (lambda: ma.AlbertModel(tiny_cfg(), device="cuda:2"),
                 lambda: ma.AlbertModel(tiny_cfg()).to("cuda:2"),
                 lambda: backend.to_device(np.zeros(3), "cuda:2")):
        with pytest.raises(RuntimeError, match=r"device 'cuda:2' was requested but there is no CUDA device 2: "
                                               r"2 visible \(cuda:0 \.\. cuda:1"):
            make()
    assert cp.cuda.runtime.getDevice() == 0
    assert backend.cuda_available("cuda:1") and not backend.cuda_available("cuda:2")


# ----------------------------------------------------------------------------- pipelines: HF's device values
@needs_vocab
@pytest.mark.parametrize("task", ["fill-mask", "text-classification"])
def test_pipeline_takes_hf_device_values(strict_cupy, task):
    path = HF_FIXTURES / "fillmask" if task == "fill-mask" else PIPE_FIX / task
    tok = load_tokenizer(SPM)
    text = "a [MASK] day" if task == "fill-mask" else "I loved it"
    cpu = ma.pipeline(task, model=str(path), tokenizer=tok, device=-1)
    assert cpu.model.device == "cpu" and cpu.model.xp is np
    assert ma.pipeline(task, model=str(path), tokenizer=tok, device="cpu").model.device == "cpu"
    assert ma.pipeline(task, model=str(path), tokenizer=tok).model.device == "cpu"       # the default
    for device, expected in ((0, "cuda:0"), ("cuda:0", "cuda:0"), ("cuda", "cuda")):
        p = ma.pipeline(task, model=str(path), tokenizer=tok, device=device)
        assert p.model.device == expected and p.model.xp is strict_cupy
        a, b = cpu(text), p(text)
        assert [r.get("token", r.get("label")) for r in a] == [r.get("token", r.get("label")) for r in b]
        np.testing.assert_allclose([r["score"] for r in a], [r["score"] for r in b], atol=1e-6)
    for bad in (-2, "tpu", True):
        with pytest.raises(PipelineError, match="device="):
            ma.pipeline(task, model=str(path), tokenizer=tok, device=bad)
    with pytest.raises(RuntimeError, match="device 'cuda:3' was requested but there is no CUDA device 3"):
        ma.pipeline(task, model=str(path), tokenizer=tok, device=3)
    # a model object: moved, in place, when a device is given; left where it is otherwise
    model = cpu.model
    assert ma.pipeline(task, model=model, tokenizer=tok).model.device == "cpu"
    p = ma.pipeline(task, model=model, tokenizer=tok, device=0)
    assert p.model is model and model.device == "cuda:0"
    assert ma.pipeline(task, model=model, tokenizer=tok).model.device == "cuda:0"


# ----------------------------------------------------------------------------- optimisers follow their params
def seeded_grads(params, seed):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in params.items()}


@pytest.mark.parametrize("opt_cls", [ma.AdamW, ma.LAMB])
def test_optimizer_built_before_to_cuda_follows_the_params(strict_cupy, opt_cls):
    """Steps 1 on the CPU, 2-3 on the device, 4 back on the CPU, with the optimiser built before any move:
    the weights equal, bit for bit, those of an optimiser that never left the CPU (the stand-in computes
    with NumPy), and the moments live where the parameters do."""
    cp = strict_cupy
    ref, model = ma.AlbertForMaskedLM(tiny_cfg(), seed=1), ma.AlbertForMaskedLM(tiny_cfg(), seed=1)
    ref_opt, opt = opt_cls(ref.params, lr=1e-2), opt_cls(model.params, lr=1e-2)
    for step in range(4):
        if step == 1:
            model.to("cuda")
        if step == 3:
            model.to("cpu")
        g = seeded_grads(ref.params, step)
        ref_opt.step(g)
        opt.step({k: backend.to_device(v, model.device) for k, v in g.items()})
        on_device = step in (1, 2)
        assert all(isinstance(a, cp.ndarray) == on_device for d in (opt.m, opt.v, model.params) for a in d.values())
    assert opt.params is model.params
    for k, w in ref.params.items():
        np.testing.assert_array_equal(model.params[k], w, err_msg=k)
        np.testing.assert_array_equal(opt.m[k], ref_opt.m[k], err_msg=k)
    assert opt.state_dict()["step"] == 4


def test_optimizer_moments_follow_a_dtype_cast():
    model = ma.AlbertForMaskedLM(tiny_cfg(), seed=1)
    opt = ma.AdamW(model.params, lr=1e-2)
    opt.step(seeded_grads(model.params, 0))
    m32 = {k: v.copy() for k, v in opt.m.items()}
    model.to("cpu", dtype="float64")
    g = seeded_grads(model.params, 1)
    opt.step(g)
    for k, m in opt.m.items():
        assert m.dtype == np.float64 and opt.v[k].dtype == np.float64, k
        expected = m32[k].astype(np.float64) * 0.9
        expected += (1 - 0.9) * g[k]
        np.testing.assert_array_equal(m, expected, err_msg=k)


def test_optimizer_state_loads_onto_the_params_device(strict_cupy):
    cp = strict_cupy
    model = ma.AlbertForMaskedLM(tiny_cfg(), seed=1)
    opt = ma.LAMB(model.params)
    opt.step(seeded_grads(model.params, 0))
    state = opt.state_dict()
    model.to("cuda")
    again = ma.LAMB(model.params)
    again.load_state_dict(state)
    for k in model.params:
        assert isinstance(again.m[k], cp.ndarray) and again.m[k].dtype == np.float32
        np.testing.assert_array_equal(again.m[k].get(), state["m"][k])


# ----------------------------------------------------------------------------- init_missing fills in place
def test_init_missing_fills_the_same_dict():
    full = ma.AlbertForMaskedLM(tiny_cfg(), seed=3)
    spec_order = [n for n, _, _ in full.param_specs()]
    model = ma.AlbertForMaskedLM(tiny_cfg(), seed=3, init=False)
    params = model.params
    loaded = spec_order[::2]                               # half of the checkpoint "loaded", out of order
    for n in reversed(loaded):
        params[n] = full.params[n].copy()
    opt = ma.AdamW(params, lr=1e-2)                        # built before the rest is initialised
    model.init_missing()
    assert model.params is params and opt.params is params
    assert list(params) == spec_order
    for n in spec_order:                                  # the draws follow the specs: a fresh model's values
        np.testing.assert_array_equal(params[n], full.params[n], err_msg=n)
    before = {k: v.copy() for k, v in params.items()}
    ids, labels = batch()
    model(ids, labels=labels)
    model.backward()
    opt.step(model.grads())
    unchanged = [k for k in before if np.array_equal(before[k], params[k])]
    assert not unchanged, unchanged[:5]                   # the newly initialised ones train too
    assert set(opt.state_dict()["m"]) == set(spec_order)
