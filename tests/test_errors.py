"""Bad input gives a clear, specific error that names the problem."""
import json
import shutil

import numpy as np
import pytest

import minialbert as ma
from minialbert.io import CheckpointError, read_safetensors, write_safetensors
from conftest import load_case


@pytest.fixture
def ckpt(tmp_path):
    d, meta, ref = load_case("mlm")
    dst = tmp_path / "ckpt"
    shutil.copytree(d, dst)
    return dst


def test_missing_tensor_is_named(ckpt):
    st = read_safetensors(ckpt / "model.safetensors")
    name = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.bias"
    del st[name]
    write_safetensors(st, ckpt / "model.safetensors")
    with pytest.raises(CheckpointError, match=f"missing tensor '{name}'"):
        ma.AlbertForMaskedLM.from_pretrained(ckpt)


def test_misshaped_tensor_is_named(ckpt):
    st = dict(read_safetensors(ckpt / "model.safetensors"))
    st["predictions.dense.weight"] = np.zeros((3, 3), np.float32)
    write_safetensors(st, ckpt / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"'predictions.dense.weight' has shape \(3, 3\), the config implies \(16, 32\)"):
        ma.AlbertForMaskedLM.from_pretrained(ckpt)


def test_config_that_does_not_match_the_weights(ckpt):
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["num_hidden_groups"] = 2        # the file has one group
    cfg["num_hidden_layers"] = 4
    (ckpt / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="missing tensor 'albert.encoder.albert_layer_groups.1"):
        ma.AlbertForMaskedLM.from_pretrained(ckpt)


def test_unexpected_tensor_is_named(ckpt):
    st = dict(read_safetensors(ckpt / "model.safetensors"))
    st["albert.encoder.something_new.weight"] = np.zeros(3, np.float32)
    write_safetensors(st, ckpt / "model.safetensors")
    with pytest.raises(CheckpointError, match="unexpected tensor 'albert.encoder.something_new.weight'"):
        ma.AlbertForMaskedLM.from_pretrained(ckpt)


@pytest.mark.parametrize("cut", [4, 100, -10])
def test_truncated_or_corrupt_file(ckpt, cut):
    data = (ckpt / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match="model.safetensors: .*(truncated|corrupt|not a safetensors)"):
        ma.AlbertForMaskedLM.from_pretrained(ckpt)


def test_garbage_header(ckpt):
    (ckpt / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + b"\0" * 64)
    with pytest.raises(CheckpointError, match="model.safetensors: corrupt.*safetensors.*header"):
        ma.AlbertForMaskedLM.from_pretrained(ckpt)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope: no such file or directory"):
        ma.AlbertForMaskedLM.from_pretrained(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="no config.json or albert_config.json"):
        ma.AlbertForMaskedLM.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="no model.safetensors or pytorch_model.bin"):
        ma.AlbertForMaskedLM.from_pretrained(tmp_path)


def test_save_round_trip_is_exact_and_atomic(tmp_path, monkeypatch):
    d, meta, ref = load_case("pretraining")
    m = ma.AlbertForPreTraining.from_pretrained(d)
    m.save_pretrained(tmp_path / "out")
    # readable by the safetensors library too (the format is the standard one)
    from safetensors.numpy import load_file
    lib = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert set(lib) == set(m.params)
    m2 = ma.AlbertForPreTraining.from_pretrained(tmp_path / "out")
    for k in m.params:
        np.testing.assert_array_equal(m.params[k], m2.params[k])
    # the files get a plain open()'s mode (0666 less the umask), not mkstemp's private 0600
    import os
    umask = os.umask(0)
    os.umask(umask)
    for f in ("model.safetensors", "config.json"):
        assert (tmp_path / "out" / f).stat().st_mode & 0o777 == 0o666 & ~umask, f
    # An interrupted write leaves the old file untouched and no temp file behind.
    before = (tmp_path / "out" / "model.safetensors").read_bytes()
    import minialbert.io.errors as ck

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(ck.os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        m.save_pretrained(tmp_path / "out")
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["config.json", "model.safetensors"]


def test_bfloat16_and_float16_files_load(tmp_path):
    d, meta, ref = load_case("mlm")
    st = read_safetensors(d / "model.safetensors")
    half = {k: v.astype(np.float16) for k, v in st.items()}
    write_safetensors(half, tmp_path / "h.safetensors")
    back = read_safetensors(tmp_path / "h.safetensors")
    assert all(back[k].dtype == np.float16 for k in back)
    # bfloat16 written by hand: the top 16 bits of each float32
    import json as _json
    import struct
    w = st["predictions.bias"]
    bf = (w.view(np.uint32) >> 16).astype("<u2")
    header = _json.dumps({"b": {"dtype": "BF16", "shape": list(w.shape), "data_offsets": [0, bf.nbytes]}}).encode()
    (tmp_path / "bf.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bf.tobytes())
    got = read_safetensors(tmp_path / "bf.safetensors")["b"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, w, rtol=2 ** -7)   # bf16 keeps 8 bits of mantissa


def test_bad_model_inputs():
    cfg = ma.AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_attention_heads=2,
                          intermediate_size=8, num_hidden_layers=1, max_position_embeddings=6)
    m = ma.AlbertForMaskedLM(cfg)
    with pytest.raises(ValueError, match="7 tokens but this model takes at most max_position_embeddings=6"):
        m(np.zeros((1, 7), int))
    with pytest.raises(ValueError, match=r"input_ids must lie in \[0, 20\); found 25"):
        m(np.array([[1, 25]]))
    with pytest.raises(TypeError, match="integers"):
        m(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        m(np.array([[1, 2]]), attention_mask=np.array([[1, 1, 1]]))
    with pytest.raises(TypeError, match="unexpected label"):
        m(np.array([[1, 2]]), start_positions=np.array([0]))
    with pytest.raises(RuntimeError, match="no loss"):
        m(np.array([[1, 2]]))
        m.backward()


def test_cuda_without_gpu_is_a_clear_error():
    from minialbert import backend
    if backend.cuda_available():
        pytest.skip("a GPU is present")
    cfg = ma.AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_attention_heads=2,
                          intermediate_size=8, num_hidden_layers=1)
    with pytest.raises(RuntimeError, match="device 'cuda' was requested but"):
        ma.AlbertModel(cfg, device="cuda")
    with pytest.raises(RuntimeError, match="device 'cuda' was requested but"):
        ma.AlbertModel(cfg).to("cuda")
