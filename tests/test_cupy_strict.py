"""device="cuda" under the strict CuPy stand-in (tests/cupy_strict), in CI on the CPU.

The stand-in enforces CuPy's rules (no implicit device->host conversion, no numpy array mixed into
device arithmetic or assigned into a device array, only names CuPy has) and counts every host sync
and host<->device copy by call site. Its arithmetic is NumPy's and its dropout stream for a seed is
numpy's, so a device run can be compared with the CPU run number for number: the forward passes are
bit-identical; gradients differ only where the device path sums differently (the embedding scatter is
a fixed tree on the device, a left-to-right fold on the CPU: float64 rounding, ~1e-16 relative).

What is asserted beyond "it runs": zero host syncs in a forward + backward with labels; exactly one per
training step (the logged loss and gradient norm, in one copy); fill-mask copies (N, k) winners, never
the (N, V) logits.
"""
import gc
import json

import numpy as np
import pytest

import minialbert as ma
from minialbert import backend, cli
from minialbert.optim import clip_grad_norm
from minialbert.training.pretrain import TrainConfig, pretrain
from conftest import HF_FIXTURES, vocab_file

SPM = vocab_file()


# ----------------------------------------------------------------------------- the stand-in's own rules
def test_implicit_conversions_to_numpy_raise(strict_cupy):
    cp = strict_cupy
    x = cp.arange(6, dtype=cp.float32).reshape(2, 3)
    for convert in (np.asarray, np.array, lambda a: np.ascontiguousarray(a, dtype=np.float64),
                    lambda a: np.concatenate([a, np.ones((2, 3))]), lambda a: np.ones(3) @ a.T,
                    lambda a: cp.asarray([a[0], a[1]])):
        with pytest.raises(TypeError):
            convert(x)
    assert isinstance(np.exp(x), cp.ndarray)              # numpy ufuncs on device arrays stay on the device
    assert isinstance(np.concatenate([x, x]), cp.ndarray)   # numpy functions dispatch to cupy's (__array_function__)
    assert np.shape(x) == (2, 3)                          # metadata: no conversion


def test_numpy_arrays_never_mix_with_device_arrays(strict_cupy):
    cp = strict_cupy
    x, h = cp.ones((2, 3)), np.ones((2, 3))
    for op in (lambda: x + h, lambda: h + x, lambda: x * h, lambda: cp.maximum(x, h), lambda: cp.where(x > 0, h, x),
               lambda: cp.concatenate([x, h]), lambda: x @ h.T, lambda: cp.add(x, 1, out=h)):
        with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
            op()
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray"):
        x[0] = np.arange(3.0)
    with pytest.raises(TypeError):
        x[0] = [1.0, 2.0, 3.0]
    x[0] = 5.0                                            # scalars are fine, numpy scalars too
    x[1] = np.float32(2)
    x += np.float64(1)
    assert x.get().tolist() == [[6.0] * 3, [3.0] * 3]


def test_only_cupy_names_resolve(strict_cupy):
    cp = strict_cupy
    for name in ("errstate", "frompyfunc", "ndindex", "nditer", "object_", "memmap", "seterr"):
        with pytest.raises(AttributeError):
            getattr(cp, name)
    for name in ("asarray", "asnumpy", "take_along_axis", "argpartition", "finfo", "float32", "get_array_module"):
        assert getattr(cp, name) is not None
    x = cp.zeros(3)
    for meth in ("tostring", "itemset", "resize", "byteswap", "setflags"):
        assert not hasattr(x, meth)
    with pytest.raises(NotImplementedError):
        x.argsort(kind="quicksort")                      # CuPy's sorts are stable and take no other kind


def test_random_generator_has_cupys_methods_only(strict_cupy):
    cp = strict_cupy
    g = cp.random.default_rng(0)
    for name in ("normal", "choice", "permutation", "shuffle", "bytes", "spawn"):
        assert not hasattr(g, name), name
    r = g.random((2, 3), dtype=cp.float32)
    assert isinstance(r, cp.ndarray) and r.dtype == np.float32
    # the stand-in's stream for a seed is numpy's (so device and CPU dropout masks agree)
    np.testing.assert_array_equal(r.get(), np.random.default_rng(0).random((2, 3), dtype=np.float32))
    rs = cp.random.RandomState(5, method=cp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
    a = rs.random_sample((4,), np.float32).get()
    rs.seed(5)
    np.testing.assert_array_equal(rs.random_sample((4,), np.float32).get(), a)


def test_syncs_and_copies_are_counted_per_call_site(strict_cupy):
    cp = strict_cupy
    with cp._strict.track() as t:
        x = cp.asarray(np.arange(10, dtype=np.float32))   # one host->device copy, 40 bytes
        y = (x * 2).sum()                                 # device only
        v = float(y)                                      # sync 1
        n = int(x.max())                                  # sync 2
        idx = cp.nonzero(x > 3)[0]                        # sync 3: the output size comes from the data
        host = cp.asnumpy(idx)                            # sync 4, 6 x 8 bytes back
        z = x[[1, 2]]                                     # a list index: an implicit host->device copy
    assert (v, n, host.tolist()) == (90.0, 9, [4, 5, 6, 7, 8, 9])
    assert t.syncs == 4 and t.h2d == 2
    assert t.h2d_bytes == 40 + 16 and len(t.of("h2d", "index")) == 1 and t.of("h2d", "index")[0].implicit
    assert t.d2h_bytes == 4 + 4 + 8 + 48
    sites = t.by_site("sync")
    assert len(sites) == 4 and all(s.startswith("tests/test_cupy_strict.py:") for s in sites)
    assert z.shape == (2,)


def test_memory_is_counted_like_cupys_pool(strict_cupy):
    cp = strict_cupy
    gc.collect()
    base = cp._strict.live_bytes()
    with cp._strict.track() as t:
        a = cp.zeros((1000,), dtype=cp.float32)           # 4000 bytes
        view = a[10:20].reshape(2, 5)                     # a view: no new buffer
        b = a * 2                                         # 4000 more
        assert cp._strict.live_bytes() - base == 8000
        del a, b
        gc.collect()
        assert cp._strict.live_bytes() - base == 4000     # the view keeps a's buffer alive
        del view
        gc.collect()
    assert cp._strict.live_bytes() == base
    assert t.peak_bytes - t.live_start == 8000
    pool, seen = cp.get_default_memory_pool(), []
    cp.cuda.set_allocator(lambda size: (seen.append(size), pool.malloc(size))[1])   # as benchmarks hook the pool
    try:
        before = pool.used_bytes()
        c = cp.zeros(3, dtype=cp.float32)                 # 12 bytes: one 512-byte unit in CuPy's pool
    finally:
        cp.cuda.set_allocator(None)
    assert seen == [512] and pool.used_bytes() - before == 512 and c.nbytes == 12


# ----------------------------------------------------------------------------- every head, training mode
def tiny(**kw):
    base = dict(vocab_size=40, embedding_size=8, hidden_size=12, num_hidden_layers=3, num_hidden_groups=2,
                inner_group_num=1, num_attention_heads=3, intermediate_size=20, max_position_embeddings=16,
                hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, num_labels=3)
    base.update(kw)
    return ma.AlbertConfig(**base)


def inputs(cls, rng, B=2, T=7):
    C = 3
    shape = (B, C, T) if cls.input_ndim == 3 else (B, T)
    ids = rng.integers(5, 40, size=shape)
    mask = np.ones(shape, dtype=np.int64)
    mask[..., -2:] = 0
    mask[0, ..., -1] = 1
    tt = np.zeros(shape, dtype=np.int64)
    tt[..., 3:] = 1
    name = cls.__name__
    if name == "AlbertModel":
        labels = {}
    elif name in ("AlbertForMaskedLM", "AlbertForPreTraining"):
        lab = np.where(rng.random(shape) < 0.4, ids, -100)
        lab[0, 1] = ids[0, 1]
        labels = {"labels": lab}
        if name == "AlbertForPreTraining":
            labels["sentence_order_label"] = np.array([0, 1])
    elif name == "AlbertForTokenClassification":
        labels = {"labels": np.where(mask == 1, rng.integers(0, 3, size=shape), -100)}
    elif name == "AlbertForQuestionAnswering":
        labels = {"start_positions": np.array([1, 9]), "end_positions": np.array([3, 4])}   # 9: out of range
    elif name == "AlbertForMultipleChoice":
        labels = {"labels": np.array([2, 0])}
    else:
        labels = {"labels": np.array([1, 2])}
    return ids, mask, tt, labels


SEQCLS = [("single_label_classification", lambda: np.array([1, 2])),
          ("multi_label_classification", lambda: np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])),
          ("regression", lambda: np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]))]
HEADS = [(n, None) for n in ma.MODEL_CLASSES if n != "AlbertForSequenceClassification"] + \
        [("AlbertForSequenceClassification", pt) for pt, _ in SEQCLS]


@pytest.mark.parametrize("name,problem_type", HEADS, ids=[f"{n}-{p}" if p else n for n, p in HEADS])
def test_every_head_trains_on_the_device_as_on_the_cpu_with_no_sync(strict_cupy, name, problem_type):
    cp, cls = strict_cupy, ma.MODEL_CLASSES[name]
    ids, mask, tt, labels = inputs(cls, np.random.default_rng(3))
    if problem_type:
        labels = {"labels": dict(SEQCLS)[problem_type]()}
    models = {}
    for device in ("cpu", "cuda"):
        m = cls(tiny(problem_type=problem_type), seed=1, dtype="float64", device=device).train()
        m.manual_seed(11)
        models[device] = m
    cpu, dev = models["cpu"], models["cuda"]
    assert dev.xp is cp and all(isinstance(p, cp.ndarray) for p in dev.params.values())
    oc = cpu(ids, mask, tt, **labels)
    with cp._strict.track() as t:
        od = dev(ids, mask, tt, **labels)
        if "loss" in od:
            dev.backward()
        else:
            up = {k: np.random.default_rng(5).standard_normal(tuple(v.shape)) for k, v in od.items() if v is not None}
            dev.backward(**up)
    if "loss" not in oc:
        cpu.backward(**up)
    else:
        cpu.backward()
    assert t.syncs == 0, t.report()                      # validation on the host, counts and loss on the device
    assert not [e for e in t.events if e.implicit], t.report()
    for k, v in oc.items():                               # the same dropout masks, the same numbers
        if v is not None:
            np.testing.assert_array_equal(backend.to_numpy(od[k]), v, err_msg=k)
    gc_, gd = cpu.grads(), dev.grads()
    assert set(gc_) == set(gd)
    for k in gc_:
        a, b = gc_[k], backend.to_numpy(gd[k])
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15 * (np.abs(a).max() + 1), err_msg=k)


def test_device_inputs_and_head_mask_need_no_round_trip(strict_cupy):
    """Integer inputs given as device arrays are read back once each (to check them on the host);
    a head mask and upstream gradients already on the device are used in place."""
    cp = strict_cupy
    m = ma.AlbertForMaskedLM(tiny(), seed=0, device="cuda")
    ids = np.random.default_rng(0).integers(5, 40, size=(2, 6))
    hm = cp.asarray(np.array([1.0, 0.0, 1.0]))
    with cp._strict.track() as t:
        out = m(cp.asarray(ids), head_mask=hm)
        m.backward(logits=cp.ones(out["logits"].shape, dtype=cp.float32))
    assert [e.what for e in t.of("sync")] == ["get"], t.report()   # the ids, once
    assert m.head_mask_grad().shape == (3,)


@pytest.mark.parametrize("embeds", [False, True], ids=["input_ids", "inputs_embeds"])
def test_call_arguments_on_the_device(strict_cupy, embeds):
    """position_ids, a per-layer head mask, inputs_embeds, hidden states and attentions: the CPU's numbers,
    no sync; the input gradients (inputs_embeds_grad, head_mask_grad) stay on the device."""
    cp = strict_cupy
    cfg = tiny(num_hidden_layers=2, num_hidden_groups=1)
    rng = np.random.default_rng(4)
    ids = rng.integers(5, 40, size=(2, 6))
    kw = dict(attention_mask=np.array([[1] * 6, [1] * 4 + [0] * 2]), token_type_ids=np.array([[0, 0, 0, 1, 1, 1]] * 2),
              position_ids=np.array([[5, 4, 3, 2, 1, 0]]), head_mask=np.array([[1.0, 0.5, 0.0], [1.0, 1.0, 2.0]]),
              output_hidden_states=True, output_attentions=True, labels=np.where(ids % 2 == 0, ids, -100))
    emb = rng.standard_normal((2, 6, cfg.embedding_size))
    res = {}
    for device in ("cpu", "cuda"):
        m = ma.AlbertForMaskedLM(cfg, seed=2, dtype="float64", device=device).train().manual_seed(9)
        with cp._strict.track() as t:
            out = m(inputs_embeds=emb, **kw) if embeds else m(ids, **kw)
            m.backward()
            got = {"logits": out["logits"], "loss": out["loss"], "hm": m.head_mask_grad(), "ie": m.inputs_embeds_grad(),
                   "att": out["attentions"][1], "hid": out["hidden_states"][2]}
        if device == "cuda":
            assert t.syncs == 0, t.report()
            assert all(isinstance(v, cp.ndarray) for v in got.values())
        res[device] = {k: backend.to_numpy(v) for k, v in got.items()}
    for k in res["cpu"]:
        np.testing.assert_allclose(res["cuda"][k], res["cpu"][k], rtol=1e-12, atol=1e-14, err_msg=k)


# ----------------------------------------------------------------------------- pretraining
TEXT = """the cat sat on the mat and looked at the dog .
the dog sat on the rug and looked at the cat .
a list is a sequence of values and a tuple is a sequence that cannot change .
a function returns a value and a method is a function that belongs to an object .
"""
CFG = ma.AlbertConfig(vocab_size=30000, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=48, max_position_embeddings=64, hidden_dropout_prob=0.1,
                      attention_probs_dropout_prob=0.1)


def train_config(tmp_path, out, **kw):
    corpus = tmp_path / "corpus.txt"
    if not corpus.exists():
        lines = TEXT.strip().splitlines()
        docs = ["\n".join(lines[(i + k) % len(lines)] for k in range(6)) for i in range(20)]
        corpus.write_text("\n\n".join(docs) + "\n")
    base = dict(corpus=str(corpus), out=str(tmp_path / out), steps=6, batch_size=4, max_seq_length=32,
                max_predictions_per_seq=5, optimizer="adamw", lr=3e-3, warmup_steps=2, eval_every=0, save_every=0,
                tokenizer=str(SPM), seed=3, device="cuda")
    base.update(kw)
    return TrainConfig(**base)


SAVING = ("(save_checkpoint)", "(load_checkpoint)", "(save_pretrained)")


def loop_syncs(t):
    """The syncs of the training loop itself (saving a checkpoint or the final model copies every tensor
    back, by design)."""
    return [e for e in t.of("sync") if not any(s in f for s in SAVING for f in (e.site,) + e.stack)]


@pytest.mark.parametrize("optimizer,accum", [("lamb", 1), ("adamw", 2)])
def test_pretraining_on_the_device_one_sync_per_step_and_exact_resume(strict_cupy, tmp_path, monkeypatch,
                                                                      optimizer, accum):
    cp = strict_cupy
    kw = dict(optimizer=optimizer, grad_accum=accum)
    made = []                                             # cupy random generators built during the run
    for cls in (cp.random.RandomState, cp.random.Generator):
        init = cls.__init__
        monkeypatch.setattr(cls, "__init__", lambda self, *a, _init=init, **k: (made.append(type(self)),
                                                                               _init(self, *a, **k))[1])
    with cp._strict.track() as t:
        model, full, _ = pretrain(CFG, train_config(tmp_path, "full", **kw), progress=False)
    assert model.xp is cp
    assert made == [cp.random.RandomState]                # one generator per run (re-seeded per step), not per step
    syncs = loop_syncs(t)
    assert len(syncs) == 6, t.report()                    # one per step: the logged loss and gradient norm
    assert len({e.site for e in syncs}) == 1 and "minialbert/training/pretrain.py" in syncs[0].site
    assert not [e for e in t.events if e.implicit], t.report()
    # the same run on the CPU: the same losses up to float32 rounding (the device's embedding scatter sums
    # in a different order), and the same gradient norms
    _, cpu, _ = pretrain(CFG, train_config(tmp_path, "cpu", device="cpu", **kw), progress=False)
    np.testing.assert_allclose([h["loss"] for h in full], [h["loss"] for h in cpu], rtol=1e-5)
    np.testing.assert_allclose([h["grad_norm"] for h in full], [h["grad_norm"] for h in cpu], rtol=1e-4)
    assert full[0]["loss"] > 10                            # ~ln(30000) + ln 2 at the start: a real MLM + SOP loss
    # --stop-at 3, then --resume: bit for bit the uninterrupted device run
    pretrain(CFG, train_config(tmp_path, "cut", **kw), progress=False, stop_after=3)
    with cp._strict.track() as t2:
        _, resumed, _ = pretrain(CFG, train_config(tmp_path, "cut", **kw), resume=True, progress=False)
    assert [h["loss"] for h in resumed] == [h["loss"] for h in full]
    assert [h["grad_norm"] for h in resumed] == [h["grad_norm"] for h in full]
    assert len(loop_syncs(t2)) == 3, t2.report()


def test_pretraining_eval_copies_predictions_not_logits(strict_cupy, tmp_path):
    cp = strict_cupy
    with cp._strict.track() as t:
        _, _, evals = pretrain(CFG, train_config(tmp_path, "ev", steps=2, eval_every=2, eval_batches=1,
                                                 eval_corpus=str(tmp_path / "corpus.txt")), progress=False)
    assert evals and 0 <= evals[0]["mlm_accuracy"] <= 1
    big = [e for e in t.of("sync") if e.d2h_bytes >= 4 * 5 * CFG.vocab_size]
    assert not [e for e in big if "(evaluate)" in e.site], t.report()


def test_clip_grad_norm_on_the_device_is_the_host_formula_bit_for_bit():
    """clip_grad_norm keeps the norm and the factor on the gradients' device (as_array=True: no sync). On
    numpy it must equal the earlier host formula exactly: norm as a Python float, g *= max_norm / norm."""
    rng = np.random.default_rng(0)
    for scale, dtype in ((10.0, np.float32), (0.01, np.float32), (10.0, np.float64), (np.nan, np.float32)):
        grads = {k: (rng.standard_normal(s) * scale).astype(dtype) for k, s in (("a", (5, 7)), ("b", (11,)))}
        ref = {k: v.copy() for k, v in grads.items()}
        sq = np.zeros((), np.float64)
        for g in ref.values():
            sq += np.dot(g.reshape(-1), g.reshape(-1))
        norm = float(np.sqrt(sq))
        if norm > 1.0:
            for g in ref.values():
                g *= 1.0 / norm
        got = clip_grad_norm(grads, 1.0, as_array=True)
        assert isinstance(got, np.ndarray | np.floating) and (float(got) == norm or np.isnan(norm))
        for k in grads:
            np.testing.assert_array_equal(grads[k].view(np.uint8), ref[k].view(np.uint8), err_msg=f"{scale} {k}")


# ----------------------------------------------------------------------------- fill-mask: pipeline and CLI
needs_vocab = pytest.mark.skipif(not SPM.exists(), reason="no vocabulary")


@needs_vocab
def test_fill_mask_pipeline_takes_top_k_on_the_device(strict_cupy):
    cp = strict_cupy
    tok = ma.AlbertTokenizer.from_pretrained(SPM)
    texts = ["a [MASK] day", "the [MASK] sat on the [MASK] ."]
    cpu = ma.pipeline("fill-mask", model=str(HF_FIXTURES / "fillmask"), tokenizer=tok)
    dev = ma.pipeline("fill-mask", model=str(HF_FIXTURES / "fillmask"), tokenizer=tok, device="cuda")
    assert dev.model.xp is cp
    a = cpu(texts, top_k=4)
    with cp._strict.track() as t:
        b = dev(texts, top_k=4)
    assert json.dumps(a) == json.dumps(b)                   # tokens, strings and float64 scores: identical
    N, k, V = 3, 4, dev.model.config.vocab_size
    assert t.syncs == 2, t.report()                       # the (N, k) token ids and their scores
    assert t.d2h_bytes == 2 * N * k * 8                    # int64 ids + float64 scores; never N x V
    assert not [e for e in t.events if e.implicit], t.report()
    assert V * 4 > 100 * t.d2h_bytes


@needs_vocab
def test_cli_fill_mask_device_cuda(strict_cupy, capsys):
    cp = strict_cupy
    argv = ["fill-mask", "--model", str(HF_FIXTURES / "fillmask"), "--tokenizer", str(SPM), "--json", "--top-k", "3",
            "a [MASK] day", "the [MASK] is red"]
    assert cli.main(argv + ["--device", "cpu"]) in (0, None)
    cpu = json.loads(capsys.readouterr().out)
    with cp._strict.track() as t:
        assert cli.main(argv + ["--device", "cuda"]) in (0, None)
    captured = capsys.readouterr()
    assert json.loads(captured.out) == cpu, captured.err
    assert t.syncs == 2 and t.d2h_bytes == 2 * 2 * 3 * 8, t.report()

