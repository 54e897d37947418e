"""TensorFlow 1.x checkpoints read without tensorflow (minialbert/tf_checkpoint.py).

The fixtures in tests/fixtures/tf/ were written by TensorFlow itself
(scripts/make_tf_fixtures.py, a TF1 Saver) from the HF fixtures in
tests/fixtures/hf/, so reading them and renaming back must give the HF tensors
exactly. Corruption is checked on copies in tmp_path; the SSTable edge cases
TensorFlow never produces for tiny models (several data blocks, snappy,
big-endian, partitioned variables) use a small table writer written here from
the format description.
"""
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from minialbert.io import CheckpointError, read_safetensors
from minialbert.config import AlbertConfig
from minialbert.io.crc32c import crc32c
from minialbert.io import (detect_layout, find_tf_checkpoint, google_to_hf, is_optimizer_variable,
                           list_tf_checkpoint, load_tf_state, read_tf_checkpoint)

ROOT = Path(__file__).resolve().parents[1]
TF = ROOT / "tests" / "fixtures" / "tf"
HF = ROOT / "tests" / "fixtures" / "hf"
GOOGLE_CASES = {"google_mlm": "mlm", "google_pretraining": "pretraining",
                "google_seqcls": "seqcls_single", "google_groups": "mlm_groups"}
L00 = "bert/encoder/transformer/group_0/inner_group_0/"
H00 = "albert.encoder.albert_layer_groups.0.albert_layers.0."
SLOTTED = ("bert/embeddings/word_embeddings", L00 + "ffn_1/intermediate/dense/kernel", "cls/predictions/output_bias")


def hf_state(case):
    return read_safetensors(HF / case / "model.safetensors")


def read(case, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of the ALBERT fixtures has a string tensor
        return read_tf_checkpoint(TF / case / "model.ckpt-7", **kw)


def bf16_trunc(a):
    return (np.abs(a).astype(np.float32).view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)


def assert_same(a, b, name=""):
    assert a.shape == b.shape, (name, a.shape, b.shape)
    assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
    np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.fixture
def copy_case(tmp_path):
    def make(case):
        dst = tmp_path / case
        shutil.copytree(TF / case, dst)
        return dst
    return make


# ----------------------------------------------------------------------------- crc32c


def test_crc32c_known_values():
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA            # RFC 3720 B.4
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283  # continuation


def _crc32c_bitwise(data, value=0):
    """The definition, one bit at a time (no table): what the table-driven loop and the C packages must equal."""
    reg = value ^ 0xFFFFFFFF
    for b in data:
        reg ^= b
        for _ in range(8):
            reg = (reg >> 1) ^ 0x82F63B78 if reg & 1 else reg >> 1
    return reg ^ 0xFFFFFFFF


@pytest.mark.parametrize("n", [1, 4095, 20_003])
def test_crc32c_matches_the_bitwise_definition(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert crc32c(data) == _crc32c_bitwise(data)
    assert crc32c(data[n // 3:], crc32c(data[:n // 3])) == crc32c(data)


def test_crc32c_fallback_table_equals_the_package(monkeypatch):
    """Whichever implementation is installed, the pure-Python fallback gives the same value."""
    import minialbert.io.crc32c as c
    data = np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    expected = c.crc32c(data)
    monkeypatch.setattr(c, "_accelerated", None)
    assert c.crc32c(data) == expected == _crc32c_bitwise(data)


# ----------------------------------------------------------------------------- reading TF's files


@pytest.mark.parametrize("case", sorted(GOOGLE_CASES))
def test_google_checkpoint_maps_back_to_the_hf_tensors_exactly(case):
    hf = hf_state(GOOGLE_CASES[case])
    tf_vars = read(case)
    assert detect_layout(tf_vars) == "google"
    config = AlbertConfig.from_json_file(TF / case / "albert_config.json")
    state, skipped = google_to_hf(tf_vars, config)
    assert sorted(state) == sorted(hf)
    for name, want in hf.items():
        if case == "google_pretraining" and name == "predictions.bias":  # stored as float16
            want = want.astype(np.float16)
        assert_same(state[name], want, name)
    assert len(tf_vars) == len(hf) + len(skipped)


def test_raw_read_is_what_was_written_google_mlm():
    """Raw TF names, TF layout, the optimizer slots and global_step included."""
    hf = hf_state("mlm")
    raw = read("google_mlm")
    expect = {
        "bert/embeddings/word_embeddings": hf["albert.embeddings.word_embeddings.weight"],
        "bert/embeddings/LayerNorm/gamma": hf["albert.embeddings.LayerNorm.weight"],
        "bert/encoder/embedding_hidden_mapping_in/kernel": hf["albert.encoder.embedding_hidden_mapping_in.weight"].T,
        L00 + "attention_1/self/query/kernel": hf[H00 + "attention.query.weight"].T,
        L00 + "attention_1/output/dense/bias": hf[H00 + "attention.dense.bias"],
        L00 + "LayerNorm/beta": hf[H00 + "attention.LayerNorm.bias"],
        L00 + "LayerNorm_1/gamma": hf[H00 + "full_layer_layer_norm.weight"],
        L00 + "ffn_1/intermediate/dense/kernel": hf[H00 + "ffn.weight"].T,
        L00 + "ffn_1/intermediate/output/dense/kernel": hf[H00 + "ffn_output.weight"].T,
        "cls/predictions/transform/dense/kernel": hf["predictions.dense.weight"].T,
        "cls/predictions/output_bias": hf["predictions.bias"],
    }
    for name, want in expect.items():
        assert_same(raw[name], np.ascontiguousarray(want), name)
    for name in SLOTTED:
        assert_same(raw[name + "/adam_m"], raw[name] * np.float32(0.5), name)
        assert_same(raw[name + "/adam_v"], bf16_trunc(raw[name]), name)  # stored bfloat16, read as float32
    assert list_tf_checkpoint(TF / "google_mlm" / "model.ckpt-7")[SLOTTED[0] + "/adam_v"].dtype == "bfloat16"
    assert raw["global_step"].dtype == np.int64 and raw["global_step"].shape == () and raw["global_step"] == 7
    _, skipped = google_to_hf(raw)
    assert sorted(skipped) == sorted(["global_step"] + [n + s for n in SLOTTED for s in ("/adam_m", "/adam_v")])


def test_tfhub_module_prefix_and_float16():
    raw = read("google_pretraining")
    assert raw and all(n.startswith("module/") for n in raw)
    assert raw["module/cls/predictions/output_bias"].dtype == np.float16
    assert "module/cls/seq_relationship/output_weights" in raw
    state, skipped = google_to_hf(raw)
    assert skipped == []
    assert_same(state["sop_classifier.classifier.weight"], hf_state("pretraining")["sop_classifier.classifier.weight"])


def test_run_classifier_head():
    raw = read("google_seqcls")
    hf = hf_state("seqcls_single")
    assert raw["output_weights"].shape == (3, 32)          # (K, H), not transposed
    state, _ = google_to_hf(raw)
    assert_same(state["classifier.weight"], hf["classifier.weight"])
    assert_same(state["classifier.bias"], hf["classifier.bias"])
    assert_same(state["albert.pooler.weight"], hf["albert.pooler.weight"])


def test_sharded_checkpoint_with_groups():
    folder = TF / "google_groups"
    assert sorted(p.name for p in folder.glob("*.data-*")) == [
        "model.ckpt-7.data-00000-of-00002", "model.ckpt-7.data-00001-of-00002"]
    infos = list_tf_checkpoint(folder / "model.ckpt-7")
    assert {i.shard_id for i in infos.values()} == {0, 1}
    state, _ = google_to_hf(read("google_groups"))
    groups = {(n.split(".")[3], n.split(".")[5]) for n in state if "albert_layer_groups" in n}
    assert groups == {("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")}


def test_google_configs_match_the_hf_ones():
    for case, hf_case in GOOGLE_CASES.items():
        g = AlbertConfig.from_json_file(TF / case / "albert_config.json")
        h = AlbertConfig.from_json_file(HF / hf_case / "config.json")
        for f in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
                  "num_attention_heads", "intermediate_size", "inner_group_num", "max_position_embeddings",
                  "type_vocab_size", "hidden_act"):
            assert getattr(g, f) == getattr(h, f), (case, f)


# ----------------------------------------------------------------------------- albert_zh


ZH_MAP = {  # TF name -> (HF name, transpose)
    "bert/embeddings/word_embeddings": ("albert.embeddings.word_embeddings.weight", False),
    "bert/embeddings/word_embeddings_2": ("albert.embeddings.word_embeddings_2.weight", True),
    "bert/embeddings/position_embeddings": ("albert.embeddings.position_embeddings.weight", False),
    "bert/embeddings/token_type_embeddings": ("albert.embeddings.token_type_embeddings.weight", False),
    "bert/embeddings/LayerNorm/gamma": ("albert.embeddings.LayerNorm.weight", False),
    "bert/embeddings/LayerNorm/beta": ("albert.embeddings.LayerNorm.bias", False),
    "bert/pooler/dense/kernel": ("albert.pooler.weight", True),
    "bert/pooler/dense/bias": ("albert.pooler.bias", False),
    "cls/predictions/transform/dense/kernel": ("predictions.dense.weight", True),
    "cls/predictions/transform/dense/bias": ("predictions.dense.bias", False),
    "cls/predictions/transform/LayerNorm/gamma": ("predictions.LayerNorm.weight", False),
    "cls/predictions/transform/LayerNorm/beta": ("predictions.LayerNorm.bias", False),
    "cls/predictions/output_bias": ("predictions.bias", False),
    "cls/seq_relationship/output_weights": ("sop_classifier.classifier.weight", False),
    "cls/seq_relationship/output_bias": ("sop_classifier.classifier.bias", False),
}
for _tf, _hf in {"attention/self/query": "attention.query", "attention/self/key": "attention.key",
                 "attention/self/value": "attention.value", "attention/output/dense": "attention.dense",
                 "intermediate/dense": "ffn", "output/dense": "ffn_output"}.items():
    ZH_MAP[f"bert/encoder/layer_shared/{_tf}/kernel"] = (H00 + _hf + ".weight", True)
    ZH_MAP[f"bert/encoder/layer_shared/{_tf}/bias"] = (H00 + _hf + ".bias", False)
for _tf, _hf in {"attention/output/LayerNorm": "attention.LayerNorm", "output/LayerNorm": "full_layer_layer_norm"}.items():
    ZH_MAP[f"bert/encoder/layer_shared/{_tf}/gamma"] = (H00 + _hf + ".weight", False)
    ZH_MAP[f"bert/encoder/layer_shared/{_tf}/beta"] = (H00 + _hf + ".bias", False)


def test_zh_raw_read_equals_expected():
    expected = dict(np.load(TF / "zh" / "expected.npz"))
    raw = read("zh")
    assert sorted(raw) == sorted(expected)
    for name, want in expected.items():
        assert_same(raw[name], want, name)


def test_zh_maps_every_variable_with_the_right_transposes():
    expected = dict(np.load(TF / "zh" / "expected.npz"))
    raw = read("zh")
    assert detect_layout(raw) == "albert_zh"
    cfg = AlbertConfig.from_json_file(TF / "zh" / "albert_config.json")
    assert (cfg.vocab_size, cfg.embedding_size, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
            cfg.num_hidden_layers, cfg.max_position_embeddings, cfg.ln_type) == (40, 8, 16, 2, 24, 2, 32, "postln")
    state, skipped = google_to_hf(raw, cfg)
    assert skipped == ["global_step"]
    assert sorted(state) == sorted(hf for hf, _ in ZH_MAP.values())
    assert not any("embedding_hidden_mapping_in" in n for n in state)
    for tf_name, (hf_name, transpose) in ZH_MAP.items():
        want = expected[tf_name].T if transpose else expected[tf_name]
        assert_same(state[hf_name], want, tf_name)
    assert state["albert.embeddings.word_embeddings_2.weight"].shape == (16, 8)      # (H, E)
    assert state["predictions.dense.weight"].shape == (16, 16)                       # H -> H
    assert state[H00 + "ffn.weight"].shape == (24, 16)


# ----------------------------------------------------------------------------- dtypes


def test_every_supported_dtype():
    expected = dict(np.load(TF / "dtypes" / "expected.npz"))
    with pytest.warns(UserWarning, match="skipped string tensor.*'string'"):
        raw = read_tf_checkpoint(TF / "dtypes" / "model.ckpt-7")
    assert sorted(raw) == sorted(expected)
    for name, want in expected.items():
        if name == "bfloat16":
            assert raw[name].dtype == np.float32  # widened
        assert_same(raw[name], want, name)
    assert raw["scalar"].shape == () and raw["empty"].shape == (0, 3)
    assert list_tf_checkpoint(TF / "dtypes" / "model.ckpt-7")["string"].dtype == "string"
    raw["float32"][0, 0] = 1.0  # arrays are writable copies


# ----------------------------------------------------------------------------- mapping rules


def _tiny_google(E=8, H=8, mapping=False):
    rng = np.random.default_rng(0)
    v = {"bert/embeddings/word_embeddings": rng.standard_normal((11, E)).astype(np.float32),
         L00 + "attention_1/self/query/kernel": rng.standard_normal((H, H)).astype(np.float32),
         L00 + "attention_1/self/query/bias": rng.standard_normal(H).astype(np.float32)}
    if mapping:
        v["bert/encoder/embedding_hidden_mapping_in/kernel"] = rng.standard_normal((E, H)).astype(np.float32)
        v["bert/encoder/embedding_hidden_mapping_in/bias"] = rng.standard_normal(H).astype(np.float32)
    return v


def test_identity_mapping_when_embedding_size_equals_hidden_size():
    v = _tiny_google(8, 8)
    for config in (None, AlbertConfig(embedding_size=8, hidden_size=8, num_attention_heads=2)):
        state, _ = google_to_hf(v, config)
        w = state["albert.encoder.embedding_hidden_mapping_in.weight"]
        b = state["albert.encoder.embedding_hidden_mapping_in.bias"]
        assert_same(w, np.eye(8, dtype=np.float32))
        assert_same(b, np.zeros(8, np.float32))
        x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
        np.testing.assert_array_equal(x @ w.T + b, x)   # the HF projection is then a no-op
    with pytest.raises(CheckpointError, match="embedding_hidden_mapping_in.*embedding_size=8, hidden_size=16"):
        google_to_hf(v, AlbertConfig(embedding_size=8, hidden_size=16, num_attention_heads=2))
    state, _ = google_to_hf(_tiny_google(8, 16, mapping=True))
    assert state["albert.encoder.embedding_hidden_mapping_in.weight"].shape == (16, 8)


@pytest.mark.parametrize("name", [
    "bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query/weird",
    "bert/encoder/transformer/group_0/inner_group_0/attention_2/self/query/kernel",
    "bert/encoder/transformer/group_0/inner_group_0/LayerNorm/kernel",
    "bert/pooler/dense/gamma",
    "cls/squad/output_weights",
    "bert/embeddings/word_embeddings_2",   # albert_zh only
    "module/something_else",
])
def test_unknown_variable_is_named(name):
    v = dict(read("google_mlm"))
    v[name] = np.zeros((2, 2), np.float32)
    with pytest.raises(CheckpointError, match=f"'{name}'"):
        google_to_hf(v, layout="google")


def test_unknown_variable_in_zh_layout_is_named():
    v = dict(read("zh"))
    v["bert/encoder/transformer/group_0/inner_group_0/LayerNorm/gamma"] = np.ones(16, np.float32)
    with pytest.raises(CheckpointError, match="group_0/inner_group_0/LayerNorm/gamma"):
        google_to_hf(v)


def test_two_variables_for_one_parameter():
    v = dict(read("google_seqcls"))
    v["module/output_bias"] = v["output_bias"]
    with pytest.raises(CheckpointError, match="both map to 'classifier.bias'"):
        google_to_hf(v)


def test_detect_layout_errors():
    with pytest.raises(CheckpointError, match="BERT-style"):
        detect_layout(["bert/encoder/layer_0/attention/self/query/kernel"])
    with pytest.raises(CheckpointError, match="cannot tell"):
        detect_layout(["global_step", "output_weights"])
    assert detect_layout(["module/bert/encoder/transformer/group_0/inner_group_0/LayerNorm/gamma"]) == "google"


def test_optimizer_and_bookkeeping_names():
    for n in ("bert/embeddings/word_embeddings/adam_m", "x/adam_v", "x/lamb_m", "module/x/lamb_v", "global_step",
              "x/Adam", "x/Adam_1", "beta1_power", "bad_steps", "good_steps", "loss_scale", "current_loss_scale"):
        assert is_optimizer_variable(n), n
    for n in ("bert/embeddings/word_embeddings", "output_weights", "cls/predictions/output_bias"):
        assert not is_optimizer_variable(n), n


def test_3d_attention_kernels_are_flattened():
    raw = read("google_mlm")
    state, _ = google_to_hf(raw)
    v = dict(raw)
    for q in ("query", "key", "value"):
        v[L00 + f"attention_1/self/{q}/kernel"] = raw[L00 + f"attention_1/self/{q}/kernel"].reshape(32, 4, 8)
        v[L00 + f"attention_1/self/{q}/bias"] = raw[L00 + f"attention_1/self/{q}/bias"].reshape(4, 8)
    v[L00 + "attention_1/output/dense/kernel"] = raw[L00 + "attention_1/output/dense/kernel"].reshape(4, 8, 32)
    state3, _ = google_to_hf(v)
    for name in state:
        assert_same(state3[name], state[name], name)


def test_load_tf_state_leaves_optimizer_slots_on_disk():
    state, skipped, prefix = load_tf_state(TF / "google_mlm")
    assert prefix.name == "model.ckpt-7"
    ref, ref_skipped = google_to_hf(read("google_mlm"))
    assert sorted(skipped) == sorted(ref_skipped)
    for name in ref:
        assert_same(state[name], ref[name], name)
    only = read("google_mlm", names=lambda n: n.endswith("/adam_m"))
    assert sorted(only) == sorted(n + "/adam_m" for n in SLOTTED)


# ----------------------------------------------------------------------------- finding the prefix


def test_find_prefix(copy_case, tmp_path):
    assert find_tf_checkpoint(TF / "google_mlm") == TF / "google_mlm" / "model.ckpt-7"
    d = copy_case("google_mlm")
    for p in (d, d / "model.ckpt-7.index", d / "model.ckpt-7.data-00000-of-00001", d / "model.ckpt-7"):
        assert len(read_tf_checkpoint(p)) == 35
    # an absolute path from the machine that trained it: fall back to the file name here
    (d / "checkpoint").write_text('model_checkpoint_path: "/gone/run1/model.ckpt-7"\n')
    assert find_tf_checkpoint(d) == d / "model.ckpt-7"
    # no `checkpoint` file: the single .index, then the highest step
    (d / "checkpoint").unlink()
    assert find_tf_checkpoint(d) == d / "model.ckpt-7"
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(d / ("model.ckpt-7" + suffix), d / ("model.ckpt-12" + suffix))
    assert find_tf_checkpoint(d) == d / "model.ckpt-12"
    shutil.copy(d / "model.ckpt-7.index", d / "model.ckpt.index")
    with pytest.raises(CheckpointError, match="several checkpoints"):
        find_tf_checkpoint(d)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no TensorFlow checkpoint"):
        find_tf_checkpoint(tmp_path / "empty")


# ----------------------------------------------------------------------------- corruption


def test_missing_files(copy_case, tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.index: no such file"):
        read_tf_checkpoint(tmp_path / "nope")
    v1 = tmp_path / "model.ckpt"
    v1.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="V1 checkpoint"):
        read_tf_checkpoint(v1)
    d = copy_case("google_groups")
    (d / "model.ckpt-7.data-00001-of-00002").unlink()
    with pytest.raises(CheckpointError, match=r"data-00001-of-00002: cannot read"):
        read_tf_checkpoint(d / "model.ckpt-7")


@pytest.mark.parametrize("keep", [0, 10, 47, 200, -1, -8, -49])
def test_truncated_index(copy_case, keep):
    d = copy_case("google_mlm")
    idx = d / "model.ckpt-7.index"
    data = idx.read_bytes()
    idx.write_bytes(data[:keep] if keep >= 0 else data[:len(data) + keep])
    with pytest.raises(CheckpointError, match=r"model\.ckpt-7\.index: corrupt"):
        read_tf_checkpoint(d / "model.ckpt-7")


def test_truncated_data(copy_case):
    d = copy_case("google_mlm")
    data_file = d / "model.ckpt-7.data-00000-of-00001"
    data = data_file.read_bytes()
    data_file.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match=r"data-00000-of-00001: file is truncated or corrupt \(tensor '"):
        read_tf_checkpoint(d / "model.ckpt-7")


def test_flipped_data_byte_fails_the_checksum(copy_case):
    d = copy_case("google_mlm")
    name = L00 + "attention_1/self/value/kernel"
    info = list_tf_checkpoint(d / "model.ckpt-7")[name]
    data_file = d / "model.ckpt-7.data-00000-of-00001"
    data = bytearray(data_file.read_bytes())
    data[info.offset + 5] ^= 0x01
    data_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"data-00000-of-00001: checksum mismatch for tensor '{name}'"):
        read_tf_checkpoint(d / "model.ckpt-7")
    raw = read_tf_checkpoint(d / "model.ckpt-7", verify=False)     # the check can be turned off
    assert not np.array_equal(raw[name], read("google_mlm")[name])


def test_flipped_index_byte_fails_the_block_checksum(copy_case):
    d = copy_case("google_mlm")
    idx = d / "model.ckpt-7.index"
    data = bytearray(idx.read_bytes())
    pos = data.index(b"position_embeddings")
    data[pos] ^= 0x20
    idx.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"\.index: corrupt.*crc32c"):
        read_tf_checkpoint(d / "model.ckpt-7")


def test_random_index_damage_is_always_a_checkpoint_error(copy_case):
    d = copy_case("zh")
    idx = d / "model.ckpt-7.index"
    good = idx.read_bytes()
    rng = np.random.default_rng(5)
    for trial in range(150):
        data = bytearray(good)
        if trial % 3 == 0:
            data = data[:int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        idx.write_bytes(bytes(data))
        try:
            read_tf_checkpoint(d / "model.ckpt-7")
        except CheckpointError:
            pass


# ----------------------------------------------------------------------------- synthetic tables


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, wire, payload):
    key = _varint((num << 3) | wire)
    if wire == 0:
        return key + _varint(payload)
    if wire == 5:
        return key + struct.pack("<I", payload)
    return key + _varint(len(payload)) + payload


def _mask(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _entry(dtype, shape, offset, raw, shard=0, slices=0):
    shape_msg = b"".join(_field(2, 2, _field(1, 0, d)) for d in shape)
    msg = _field(1, 0, dtype) + _field(2, 2, shape_msg)
    if shard:
        msg += _field(3, 0, shard)
    if offset:
        msg += _field(4, 0, offset)
    msg += _field(5, 0, len(raw)) + _field(6, 5, _mask(crc32c(raw)))
    for _ in range(slices):
        msg += _field(7, 2, b"")
    return msg


def _block(items, restart_interval):
    out, restarts, prev = bytearray(), [], b""
    for i, (k, v) in enumerate(items):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(k), len(prev)) and k[shared] == prev[shared]:
                shared += 1
        out += _varint(shared) + _varint(len(k) - shared) + _varint(len(v)) + k[shared:] + v
        prev = k
    for r in restarts or [0]:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts or [0]))
    return bytes(out)


def _write_table(path, items, block_entries=4, restart_interval=3, compression=0):
    """An SSTable as the LevelDB table format describes it."""
    out = bytearray()

    def emit(contents, ctype=0):
        off = len(out)
        out.extend(contents + bytes([ctype]) + struct.pack("<I", _mask(crc32c(bytes([ctype]), crc32c(contents)))))
        return _varint(off) + _varint(len(contents))

    index = []
    for i in range(0, len(items), block_entries):
        chunk = items[i:i + block_entries]
        handle = emit(_block(chunk, restart_interval), compression)
        index.append((chunk[-1][0], handle))
    meta = emit(_block([], 1))
    idx = emit(_block(index, 1))
    footer = meta + idx
    footer += bytes(40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57)
    Path(path).write_bytes(bytes(out) + footer)


def _write_bundle(prefix, tensors, big_endian=False, compression=0, slices=(), shards=1, **table_kw):
    header = _field(1, 0, shards) + (_field(2, 0, 1) if big_endian else b"")
    items, data = [(b"", header)], [bytearray() for _ in range(shards)]
    codes = {"<f4": 1, "<f8": 2, "<i4": 3, "<i8": 9, "<f2": 19}
    for i, (name, a) in enumerate(sorted(tensors.items())):
        shard = i % shards
        a = np.ascontiguousarray(a)
        code = codes[a.dtype.newbyteorder("<").str]
        raw = a.astype(a.dtype.newbyteorder(">" if big_endian else "<")).tobytes()
        items.append((name.encode(), _entry(code, a.shape, len(data[shard]), raw, shard, slices=name in slices)))
        data[shard] += raw
    _write_table(str(prefix) + ".index", items, compression=compression, **table_kw)
    for s in range(shards):
        Path(f"{prefix}.data-{s:05d}-of-{shards:05d}").write_bytes(bytes(data[s]))


def _many(n=300):
    rng = np.random.default_rng(3)
    return {f"scope_{i // 50}/layer_{i:04d}/kernel": rng.standard_normal((i % 5 + 1, 3)).astype(np.float32)
            for i in range(n)}


def test_synthetic_many_blocks_prefix_compression_and_shards(tmp_path):
    tensors = _many()
    tensors["f64"] = np.arange(6, dtype=np.float64).reshape(2, 3)
    tensors["i64"] = np.array([-5, 2 ** 40], dtype=np.int64)
    tensors["half"] = np.array([0.5, -2.0], dtype=np.float16)
    _write_bundle(tmp_path / "m", tensors, shards=3, block_entries=7, restart_interval=4)
    raw = read_tf_checkpoint(tmp_path / "m")
    assert sorted(raw) == sorted(tensors)
    for name, want in tensors.items():
        assert_same(raw[name], want, name)


def test_synthetic_big_endian(tmp_path):
    tensors = {"a": np.arange(12, dtype=np.float32).reshape(3, 4) / 7, "b": np.array([1, -2, 3], np.int32)}
    _write_bundle(tmp_path / "m", tensors, big_endian=True)
    raw = read_tf_checkpoint(tmp_path / "m")
    for name, want in tensors.items():
        assert_same(raw[name], want, name)


def test_synthetic_snappy_block_is_refused_clearly(tmp_path):
    _write_bundle(tmp_path / "m", {"a": np.ones(3, np.float32)}, compression=1)
    with pytest.raises(CheckpointError, match=r"m\.index: .*snappy-compressed"):
        read_tf_checkpoint(tmp_path / "m")


def test_synthetic_partitioned_variable_is_refused(tmp_path):
    _write_bundle(tmp_path / "m", {"a": np.ones(3, np.float32), "b": np.ones(2, np.float32)}, slices=("b",))
    with pytest.raises(CheckpointError, match="'b' is a partitioned"):
        read_tf_checkpoint(tmp_path / "m")
    assert list(read_tf_checkpoint(tmp_path / "m", names=lambda n: n == "a")) == ["a"]
