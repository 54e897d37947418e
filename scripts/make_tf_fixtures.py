"""Write the TensorFlow 1.x checkpoint fixtures in tests/fixtures/tf/.

tensorflow is never a test or runtime dependency of minialbert (its reader,
minialbert/tf_checkpoint.py, parses the files by hand); it is only needed here,
to produce files written by TensorFlow itself. Run it from the fixture venv:

    /work/fixenv/bin/pip install tensorflow-cpu safetensors numpy
    /work/fixenv/bin/python scripts/make_tf_fixtures.py

(tested with tensorflow-cpu 2.21.0). Each case is written with TF1 APIs
(`tf.compat.v1` graph-mode variables and `tf.compat.v1.train.Saver` given a
{exact checkpoint name: variable} dict), i.e. the same V2 bundle format
(`.index` SSTable + `.data-XXXXX-of-YYYYY` shards) as Google's ALBERT release:

    google_mlm/          tests/fixtures/hf/mlm in Google's names (kernels (in, out)),
                         plus dummy optimizer slots (`<var>/adam_m`, `<var>/adam_v`,
                         one of them bfloat16) and an int64 `global_step`
    google_pretraining/  tests/fixtures/hf/pretraining (pooler + SOP head), every name
                         under `module/` (TF-Hub style); cls/predictions/output_bias
                         stored as float16
    google_seqcls/       tests/fixtures/hf/seqcls_single, run_classifier.py's top-level
                         `output_weights` (K, H) / `output_bias` (K)
    google_groups/       tests/fixtures/hf/mlm_groups (2 groups x 2 inner layers),
                         saved sharded over two CPU devices (2 data files)
    zh/                  a tiny random brightmart/albert_zh checkpoint (word_embeddings_2,
                         layer_shared), with the arrays it was made from in
                         expected.npz (keyed by TF name)
    dtypes/              one variable per dtype the reader handles (float32/64/16,
                         bfloat16, int8/16/32/64, uint8, bool, a string, a scalar,
                         an empty tensor), the values in expected.npz

The optimizer-slot values are simple functions of the variable they belong to
(see `optimizer_slots`), so the tests can recompute them without a copy.
Each folder gets a `checkpoint` file with a relative model_checkpoint_path, and
the Google ones an `albert_config.json` with Google's field names.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HF = ROOT / "tests" / "fixtures" / "hf"
OUT = ROOT / "tests" / "fixtures" / "tf"
STEP = 7

# ----------------------------------------------------------------------------- HF -> Google names

# Written independently of minialbert/tf_checkpoint.py (which maps the other
# way), so the round trip in the tests checks one against the other.
_LAYER_PARTS = {
    "attention.query": "attention_1/self/query",
    "attention.key": "attention_1/self/key",
    "attention.value": "attention_1/self/value",
    "attention.dense": "attention_1/output/dense",
    "attention.LayerNorm": "LayerNorm",
    "ffn": "ffn_1/intermediate/dense",
    "ffn_output": "ffn_1/intermediate/output/dense",
    "full_layer_layer_norm": "LayerNorm_1",
}
_TOP = {
    "albert.embeddings.word_embeddings.weight": "bert/embeddings/word_embeddings",
    "albert.embeddings.position_embeddings.weight": "bert/embeddings/position_embeddings",
    "albert.embeddings.token_type_embeddings.weight": "bert/embeddings/token_type_embeddings",
    "albert.embeddings.LayerNorm": "bert/embeddings/LayerNorm",
    "albert.encoder.embedding_hidden_mapping_in": "bert/encoder/embedding_hidden_mapping_in",
    "albert.pooler": "bert/pooler/dense",
    "predictions.dense": "cls/predictions/transform/dense",
    "predictions.LayerNorm": "cls/predictions/transform/LayerNorm",
    "predictions.bias": "cls/predictions/output_bias",
    "sop_classifier.classifier.weight": "cls/seq_relationship/output_weights",
    "sop_classifier.classifier.bias": "cls/seq_relationship/output_bias",
    "classifier.weight": "output_weights",
    "classifier.bias": "output_bias",
}


def _leaf(module: str, param: str, is_norm: bool) -> str:
    if is_norm:
        return module + ("/gamma" if param == "weight" else "/beta")
    return module + ("/kernel" if param == "weight" else "/bias")


def hf_to_google(state):
    """{HF name: array} -> {Google TF name: array}, dense kernels as (in, out)."""
    out = {}
    for name, a in state.items():
        if name.startswith("predictions.decoder."):
            continue  # tied to the word embeddings / predictions.bias
        if name in _TOP:
            out[_TOP[name]] = a
            continue
        if name.startswith("albert.encoder.albert_layer_groups."):
            parts = name.split(".")
            g, j = int(parts[3]), int(parts[5])
            module, param = ".".join(parts[6:-1]), parts[-1]
            tf_module = "bert/encoder/transformer/group_%d/inner_group_%d/%s" % (g, j, _LAYER_PARTS[module])
            is_norm = "LayerNorm" in tf_module
        else:
            module, param = name.rsplit(".", 1)
            tf_module = _TOP[module]
            is_norm = "LayerNorm" in tf_module
        tf_name = _leaf(tf_module, param, is_norm)
        out[tf_name] = a.T.copy() if tf_name.endswith("/kernel") else a
    return out


def google_config(hf_config):
    c = json.loads(Path(hf_config).read_text())
    keys = ("attention_probs_dropout_prob", "hidden_dropout_prob", "embedding_size", "hidden_size",
            "initializer_range", "intermediate_size", "max_position_embeddings", "num_attention_heads",
            "num_hidden_layers", "num_hidden_groups", "inner_group_num", "type_vocab_size", "vocab_size")
    g = {k: c[k] for k in keys}
    # Google's modeling.py `gelu` is the tanh approximation (HF's gelu_new).
    assert c["hidden_act"] == "gelu_new", c["hidden_act"]
    g.update(hidden_act="gelu", net_structure_type=0, gap_size=0, num_memory_blocks=0, down_scale_factor=1)
    return dict(sorted(g.items()))


def optimizer_slots(tf_vars, names):
    """Dummy AdamWeightDecay slots for `names`: adam_m = var / 2 (float32),
    adam_v = |var| truncated to bfloat16 precision (stored as bfloat16, so exact)."""
    slots = {}
    for n in names:
        a = np.asarray(tf_vars[n], dtype=np.float32)
        slots[n + "/adam_m"] = a * np.float32(0.5)
        bits = np.abs(a).view(np.uint32) & np.uint32(0xFFFF0000)
        slots[n + "/adam_v"] = ("bfloat16", bits.view(np.float32))
    return slots


# ----------------------------------------------------------------------------- writing


def save(folder: Path, tensors, shards: int = 1):
    """Save {name: array | (tf dtype name, array)} with a TF1 Saver as model.ckpt-STEP."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tf.compat.v1.reset_default_graph()
    graph = tf.Graph()
    with graph.as_default():
        var_list = {}
        for i, (name, value) in enumerate(sorted(tensors.items())):
            dtype = None
            if isinstance(value, tuple):
                dtype, value = value
            device = "/cpu:%d" % (i % shards)
            with tf.device(device):
                init = tf.constant(value)
                if dtype is not None:
                    init = tf.cast(init, getattr(tf, dtype))
                var_list[name] = tf.compat.v1.Variable(init, name="v%d" % i, trainable=False)
        saver = tf.compat.v1.train.Saver(var_list=var_list, sharded=shards > 1, save_relative_paths=True)
        config = tf.compat.v1.ConfigProto(device_count={"CPU": shards})
        with tf.compat.v1.Session(graph=graph, config=config) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            prefix = saver.save(sess, str(folder / "model.ckpt"), global_step=STEP, write_meta_graph=False)
    assert Path(prefix).name == "model.ckpt-%d" % STEP, prefix
    return prefix


def write_json(path: Path, obj):
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def google_case(name, hf_case, prefix="", slots=(), half=(), shards=1):
    state = load_file(str(HF / hf_case / "model.safetensors"))
    tf_vars = hf_to_google(state)
    tensors = dict(tf_vars)
    tensors.update(optimizer_slots(tf_vars, slots))
    if slots:
        tensors["global_step"] = np.int64(STEP)
    for n in half:
        tensors[n] = ("float16", tf_vars[n])
    tensors = {prefix + k: v for k, v in tensors.items()}
    folder = OUT / name
    save(folder, tensors, shards=shards)
    write_json(folder / "albert_config.json", google_config(HF / hf_case / "config.json"))
    return folder


def zh_case():
    V, E, H, NH, I, L, P = 40, 8, 16, 2, 24, 2, 32
    rng = np.random.default_rng(20240607)

    def normal(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    def ln(prefix, width):
        return {prefix + "/gamma": (1.0 + normal(width)).astype(np.float32), prefix + "/beta": normal(width)}

    def dense(prefix, n_in, n_out):
        return {prefix + "/kernel": normal(n_in, n_out), prefix + "/bias": normal(n_out)}

    t = {
        "bert/embeddings/word_embeddings": normal(V, E),
        "bert/embeddings/word_embeddings_2": normal(E, H),
        "bert/embeddings/position_embeddings": normal(P, H),
        "bert/embeddings/token_type_embeddings": normal(2, H),
    }
    t.update(ln("bert/embeddings/LayerNorm", H))
    s = "bert/encoder/layer_shared/"
    for q in ("query", "key", "value"):
        t.update(dense(s + "attention/self/" + q, H, H))
    t.update(dense(s + "attention/output/dense", H, H))
    t.update(ln(s + "attention/output/LayerNorm", H))
    t.update(dense(s + "intermediate/dense", H, I))
    t.update(dense(s + "output/dense", I, H))
    t.update(ln(s + "output/LayerNorm", H))
    t.update(dense("bert/pooler/dense", H, H))
    t.update(dense("cls/predictions/transform/dense", H, H))
    t.update(ln("cls/predictions/transform/LayerNorm", H))
    t["cls/predictions/output_bias"] = normal(V)
    t["cls/seq_relationship/output_weights"] = normal(2, H)
    t["cls/seq_relationship/output_bias"] = normal(2)
    t["global_step"] = np.int64(STEP)
    folder = OUT / "zh"
    save(folder, t)
    np.savez(folder / "expected.npz", **t)
    write_json(folder / "albert_config.json", {
        "attention_probs_dropout_prob": 0.0, "directionality": "bidi", "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "hidden_size": H, "embedding_size": E, "initializer_range": 0.02,
        "intermediate_size": I, "max_position_embeddings": P, "num_attention_heads": NH,
        "num_hidden_layers": L, "pooler_fc_size": H, "pooler_num_attention_heads": NH,
        "pooler_num_fc_layers": 3, "pooler_size_per_head": 128, "pooler_type": "first_token_transform",
        "type_vocab_size": 2, "vocab_size": V, "ln_type": "postln"})


def dtypes_case():
    rng = np.random.default_rng(7)
    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    bf = (f32.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)  # exactly representable
    t = {
        "float32": f32,
        "float64": rng.standard_normal((2, 3)),
        "float16": rng.standard_normal(5).astype(np.float16),
        "bfloat16": ("bfloat16", bf),
        "int8": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
        "int16": np.array([[-32768, 5], [7, 32767]], dtype=np.int16),
        "int32": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
        "int64": np.array([-(2 ** 40), 0, 2 ** 62], dtype=np.int64),
        "uint8": np.array([0, 200, 255], dtype=np.uint8),
        "bool": np.array([True, False, True]),
        "scalar": np.float32(2.5),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "a/deep/nested/name_with.dots-and-dashes": np.float32([1, 2]),
    }
    folder = OUT / "dtypes"
    save(folder, dict(t, string=np.array(b"hello")))
    np.savez(folder / "expected.npz", **{k: (v[1] if isinstance(v, tuple) else v) for k, v in t.items()})


def main():
    tf.compat.v1.disable_eager_execution()
    OUT.mkdir(parents=True, exist_ok=True)
    google_case("google_mlm", "mlm", slots=("bert/embeddings/word_embeddings",
                                            "bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/kernel",
                                            "cls/predictions/output_bias"))
    google_case("google_pretraining", "pretraining", prefix="module/", half=("cls/predictions/output_bias",))
    google_case("google_seqcls", "seqcls_single")
    google_case("google_groups", "mlm_groups", shards=2)
    zh_case()
    dtypes_case()
    total = 0
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            print("%8d  %s" % (p.stat().st_size, p.relative_to(ROOT)))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
