"""Generate the Hugging Face ALBERT reference fixtures under tests/fixtures/hf/.

This script is a developer tool only. torch and transformers are NEVER a test
or runtime dependency of minialbert: the tests read the committed fixtures
(config.json, model.safetensors, reference.npz, meta.json) with plain NumPy.

Set up a separate virtual environment (never install torch into the main
Python) and run the script from the repository root:

    python3 -m venv /work/fixenv
    /work/fixenv/bin/pip install "torch==2.13.0+cpu" transformers safetensors numpy
    /work/fixenv/bin/python scripts/make_fixtures.py            # writes tests/fixtures/hf
    /work/fixenv/bin/python scripts/make_fixtures.py --out DIR  # writes elsewhere

(The CPU-only torch wheel comes from pip's configured find-links; a plain
`pip install torch` would fetch the CUDA build, which is not needed.)

No network access and no pretrained weights are used: every model is built
from a small AlbertConfig with a fixed seed, its parameters are perturbed so
that no bias is zero and no LayerNorm weight is one, and it is saved with
save_pretrained(safe_serialization=True). The reference run reloads that
directory, converts to float64, switches to eval mode and records outputs,
hidden states, attentions and the gradients of every named parameter.

Each case directory holds:
  config.json, model.safetensors  -- as written by save_pretrained (float32)
  reference.npz                    -- inputs, labels, out.*, grad.*, upstream.*
                                      (and ref32.* for the mlm case)
  meta.json                        -- class, parameter / key lists, versions

Output is deterministic: reference.npz is written with fixed zip timestamps,
so two runs with the same library versions give byte-identical files.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import zipfile

import numpy as np
import torch
import transformers
from safetensors import safe_open
from transformers import (
    AlbertConfig,
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    AlbertModel,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "hf")

# Shared small shapes.
VOCAB = 99
BATCH = 3
SEQ = 11
ROW_LENGTHS = (11, 8, 5)
PAD_ID = 0
CLS_ID = 2
SEP_ID = 3
FIRST_WORD_ID = 5  # ordinary tokens are drawn from [5, VOCAB)

BASE_CONFIG = dict(
    vocab_size=VOCAB,
    embedding_size=16,
    hidden_size=32,
    num_attention_heads=4,
    intermediate_size=37,
    num_hidden_layers=3,
    num_hidden_groups=1,
    inner_group_num=1,
    hidden_act="gelu_new",
    max_position_embeddings=64,
    type_vocab_size=2,
    # Larger than HF's default 0.02 so that attention is far from uniform and
    # the activations leave their near-linear region (parity is then sensitive
    # to the exact attention / activation formulas).
    initializer_range=0.2,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    pad_token_id=PAD_ID,
)

# Case definitions: name -> (model class, config overrides, label kind, description)
CASES = [
    dict(
        name="mlm",
        cls=AlbertForMaskedLM,
        config=dict(num_hidden_layers=3),
        labels="mlm",
        description="AlbertForMaskedLM, 3 layers sharing 1 group, gelu_new, E=16 != H=32, MLM labels",
    ),
    dict(
        name="mlm_groups",
        cls=AlbertForMaskedLM,
        config=dict(num_hidden_layers=5, num_hidden_groups=2, inner_group_num=2),
        labels="mlm",
        description="AlbertForMaskedLM, 5 layers over 2 groups (layer->group 0,0,0,1,1) of 2 inner layers each, gelu_new",
    ),
    dict(
        name="mlm_gelu",
        cls=AlbertForMaskedLM,
        config=dict(num_hidden_layers=2, hidden_act="gelu", embedding_size=32),
        labels="mlm",
        description="AlbertForMaskedLM, exact erf gelu, embedding_size == hidden_size == 32, 2 layers",
    ),
    dict(
        name="mlm_relu",
        cls=AlbertForMaskedLM,
        config=dict(num_hidden_layers=2, hidden_act="relu"),
        labels="mlm",
        description="AlbertForMaskedLM, relu activation (also in the MLM head), 2 layers",
    ),
    dict(
        name="pretraining",
        cls=AlbertForPreTraining,
        config=dict(num_hidden_layers=3),
        labels="pretraining",
        description="AlbertForPreTraining, 3 layers, MLM labels + sentence_order_label; loss = mlm_ce + sop_ce",
    ),
    dict(
        name="seqcls_single",
        cls=AlbertForSequenceClassification,
        config=dict(num_hidden_layers=2, num_labels=3, problem_type="single_label_classification"),
        labels="seqcls_single",
        description="AlbertForSequenceClassification, 3 labels, single_label_classification (mean cross-entropy)",
    ),
    dict(
        name="seqcls_regression",
        cls=AlbertForSequenceClassification,
        config=dict(num_hidden_layers=2, num_labels=1, problem_type="regression"),
        labels="seqcls_regression",
        description="AlbertForSequenceClassification, 1 label, regression (MSE of squeezed logits, mean)",
    ),
    dict(
        name="seqcls_multilabel",
        cls=AlbertForSequenceClassification,
        config=dict(num_hidden_layers=2, num_labels=4, problem_type="multi_label_classification"),
        labels="seqcls_multilabel",
        description="AlbertForSequenceClassification, 4 labels, multi_label_classification (BCE-with-logits, mean)",
    ),
    dict(
        name="tokencls",
        cls=AlbertForTokenClassification,
        config=dict(num_hidden_layers=2, num_labels=5),
        labels="tokencls",
        description="AlbertForTokenClassification, 5 labels, -100 on padding (mean CE over labelled tokens)",
    ),
    dict(
        name="qa",
        cls=AlbertForQuestionAnswering,
        config=dict(num_hidden_layers=2),
        labels="qa",
        description="AlbertForQuestionAnswering; end_positions[2] is out of range (clamped to T, then ignored)",
    ),
    dict(
        name="multiple_choice",
        cls=AlbertForMultipleChoice,
        config=dict(num_hidden_layers=2),
        labels="multiple_choice",
        description="AlbertForMultipleChoice, inputs (B=2, C=3, T=9) flattened to (6, 9) inside HF",
    ),
    dict(
        name="base",
        cls=AlbertModel,
        config=dict(num_hidden_layers=3),
        labels="base",
        description="AlbertModel with pooler; no loss, grads from sum(last_hidden_state*U1)+sum(pooler_output*U2)",
    ),
]


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def make_batch(rng: np.random.Generator, lengths, seq_len, second_segment):
    """Right-padded batch: [CLS] a... [SEP] (b... [SEP]) then PAD.

    second_segment[i] says whether row i has a token-type-1 segment.
    """
    n = len(lengths)
    input_ids = np.full((n, seq_len), PAD_ID, dtype=np.int64)
    attention_mask = np.zeros((n, seq_len), dtype=np.int64)
    token_type_ids = np.zeros((n, seq_len), dtype=np.int64)
    for i, length in enumerate(lengths):
        ids = rng.integers(FIRST_WORD_ID, VOCAB, size=length).astype(np.int64)
        ids[0] = CLS_ID
        ids[length - 1] = SEP_ID
        if second_segment[i] and length >= 5:
            split = length // 2  # last token of segment A is a SEP
            ids[split] = SEP_ID
            token_type_ids[i, split + 1:length] = 1
        input_ids[i, :length] = ids
        attention_mask[i, :length] = 1
    return input_ids, attention_mask, token_type_ids


def mlm_labels(rng: np.random.Generator, lengths, seq_len):
    labels = np.full((len(lengths), seq_len), -100, dtype=np.int64)
    for i, length in enumerate(lengths):
        k = 4 if length >= 8 else 3
        pos = rng.choice(length, size=k, replace=False)
        labels[i, pos] = rng.integers(0, VOCAB, size=k)
    return labels


def make_inputs(case, seed):
    """Return an ordered dict of numpy inputs + labels for a case."""
    rng = np.random.default_rng(seed)
    kind = case["labels"]
    if kind == "multiple_choice":
        b, c, t = 2, 3, 9
        lengths = [9, 7, 5, 8, 9, 6]
        ids, mask, tt = make_batch(rng, lengths, t, [True, True, False, True, False, True])
        d = dict(
            input_ids=ids.reshape(b, c, t),
            attention_mask=mask.reshape(b, c, t),
            token_type_ids=tt.reshape(b, c, t),
        )
        d["labels"] = np.array([2, 0], dtype=np.int64)
        return d

    ids, mask, tt = make_batch(rng, ROW_LENGTHS, SEQ, [True, True, False])
    d = dict(input_ids=ids, attention_mask=mask, token_type_ids=tt)
    if kind == "mlm":
        d["labels"] = mlm_labels(rng, ROW_LENGTHS, SEQ)
    elif kind == "pretraining":
        d["labels"] = mlm_labels(rng, ROW_LENGTHS, SEQ)
        d["sentence_order_label"] = np.array([0, 1, 1], dtype=np.int64)
    elif kind == "seqcls_single":
        d["labels"] = np.array([2, 0, 1], dtype=np.int64)
    elif kind == "seqcls_regression":
        d["labels"] = rng.standard_normal(BATCH).astype(np.float64)
    elif kind == "seqcls_multilabel":
        lab = rng.integers(0, 2, size=(BATCH, 4)).astype(np.float64)
        lab[0, :] = [1.0, 0.0, 1.0, 0.0]  # make sure both values occur
        d["labels"] = lab
    elif kind == "tokencls":
        lab = rng.integers(0, 5, size=(BATCH, SEQ)).astype(np.int64)
        lab[mask == 0] = -100
        d["labels"] = lab
    elif kind == "qa":
        # Row 2 has length 5; its end position 20 > T is clamped to T=11, which
        # is HF's ignore_index, so that row only contributes to the start loss.
        d["start_positions"] = np.array([3, 1, 2], dtype=np.int64)
        d["end_positions"] = np.array([6, 5, 20], dtype=np.int64)
    elif kind == "base":
        pass
    else:
        raise ValueError(kind)
    return d


LABEL_KEYS = ("labels", "sentence_order_label", "start_positions", "end_positions")


# ---------------------------------------------------------------------------
# Model construction
# ---------------------------------------------------------------------------

def perturb_(model: torch.nn.Module, seed: int):
    """Move every parameter away from trivial values (0 biases, 1 LN weights,
    zero padding row), using a dedicated generator for reproducibility."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if "LayerNorm" in name or "layer_norm" in name:
                p.add_(0.1 * noise)  # both LN weight (~1) and LN bias (~0)
            elif name.endswith("bias"):
                p.add_(0.1 * noise)
            else:
                p.add_(0.02 * noise)  # weights: keeps the embedding pad row nonzero


def build_and_save(case, case_dir, seed):
    cfg_kwargs = dict(BASE_CONFIG)
    cfg_kwargs.update(case["config"])
    config = AlbertConfig(attn_implementation="eager", **cfg_kwargs)
    torch.manual_seed(seed)
    model = case["cls"](config)
    perturb_(model, seed + 1)
    model = model.float()
    model.save_pretrained(case_dir, safe_serialization=True)
    return model


def load(case, case_dir, dtype):
    model, info = case["cls"].from_pretrained(
        case_dir, attn_implementation="eager", output_loading_info=True
    )
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(k):
            raise RuntimeError(f"{case['name']}: from_pretrained reported {k}: {info[k]}")
    assert model.config._attn_implementation == "eager"
    if dtype == torch.float64:
        model = model.double()
    model.eval()
    return model


# ---------------------------------------------------------------------------
# Reference run
# ---------------------------------------------------------------------------

def to_torch(inputs, dtype):
    out = {}
    for k, v in inputs.items():
        t = torch.from_numpy(np.array(v, order="C"))
        if t.is_floating_point():
            t = t.to(dtype)
        out[k] = t
    return out


def run_reference(case, model, inputs, seed):
    """Forward + backward in float64. Returns dict of npz entries."""
    t_inputs = to_torch(inputs, torch.float64)
    model.zero_grad(set_to_none=True)
    out = model(**t_inputs, output_hidden_states=True, output_attentions=True)

    arrays = {}
    upstream = {}
    if case["labels"] == "base":
        rng = np.random.default_rng(seed + 2)
        u1 = rng.standard_normal(tuple(out.last_hidden_state.shape))
        u2 = rng.standard_normal(tuple(out.pooler_output.shape))
        upstream["upstream.last_hidden_state"] = u1
        upstream["upstream.pooler_output"] = u2
        objective = (out.last_hidden_state * torch.from_numpy(u1)).sum() + (
            out.pooler_output * torch.from_numpy(u2)
        ).sum()
    else:
        assert out.loss is not None, case["name"]
        objective = out.loss
    objective.backward()

    # Outputs: every tensor field, then the tuples.
    for field, value in out.items():
        if isinstance(value, torch.Tensor):
            arrays[f"out.{field}"] = value.detach().numpy().astype(np.float64)
        elif isinstance(value, tuple):
            for i, t in enumerate(value):
                arrays[f"out.{field}.{i}"] = t.detach().numpy().astype(np.float64)
        elif value is not None:
            raise TypeError(f"unexpected output field {field}: {type(value)}")
    arrays.update(upstream)

    no_grad = []
    for name, p in model.named_parameters():
        if p.grad is None:
            no_grad.append(name)
            g = np.zeros(tuple(p.shape), dtype=np.float64)
        else:
            g = p.grad.detach().numpy().astype(np.float64)
        arrays[f"grad.{name}"] = g
    return arrays, list(out.keys()), no_grad


def run_float32(case, case_dir, inputs):
    model = load(case, case_dir, torch.float32)
    with torch.no_grad():
        out = model(**to_torch(inputs, torch.float32))
    return {
        "ref32.logits": out.logits.numpy().astype(np.float32),
        "ref32.loss": out.loss.numpy().astype(np.float32),
    }


# ---------------------------------------------------------------------------
# Deterministic npz writer (same format as np.savez_compressed, fixed mtimes)
# ---------------------------------------------------------------------------

def save_npz_deterministic(path, arrays):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            arr = np.asarray(arr)
            if not arr.flags.c_contiguous:
                arr = arr.copy(order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, buf.getvalue())


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def tied_info(model):
    """Which module attributes share storage with another parameter."""
    ties = {}
    if hasattr(model, "predictions"):
        emb = model.albert.embeddings.word_embeddings.weight
        ties["predictions.decoder.weight"] = (
            "albert.embeddings.word_embeddings.weight" if model.predictions.decoder.weight is emb else None
        )
        ties["predictions.decoder.bias"] = (
            "predictions.bias" if model.predictions.decoder.bias is model.predictions.bias else None
        )
        assert all(v is not None for v in ties.values()), ties
    return ties


def make_case(case, index, out_root):
    name = case["name"]
    seed = 1000 + 17 * index
    case_dir = os.path.join(out_root, name)
    if os.path.isdir(case_dir):
        shutil.rmtree(case_dir)
    os.makedirs(case_dir)

    built = build_and_save(case, case_dir, seed)
    inputs = make_inputs(case, seed)

    model = load(case, case_dir, torch.float64)
    # The reloaded weights must be exactly the perturbed ones we saved.
    built_sd = built.state_dict()
    for k, v in model.state_dict().items():
        if not torch.equal(v.to(built_sd[k].dtype), built_sd[k]):
            raise RuntimeError(f"{name}: reloaded tensor {k} differs from the saved one")

    arrays = {}
    for k in ("input_ids", "attention_mask", "token_type_ids"):
        arrays[k] = inputs[k].astype(np.int64)
    for k in LABEL_KEYS:
        if k in inputs:
            arrays[k] = inputs[k]
    ref, out_fields, no_grad = run_reference(case, model, inputs, seed)
    arrays.update(ref)
    if name == "mlm":
        arrays.update(run_float32(case, case_dir, inputs))
    save_npz_deterministic(os.path.join(case_dir, "reference.npz"), arrays)

    with safe_open(os.path.join(case_dir, "model.safetensors"), framework="np") as f:
        st_keys = sorted(f.keys())
    param_names = [n for n, _ in model.named_parameters()]
    config = model.config
    meta = {
        "model_class": case["cls"].__name__,
        "description": case["description"],
        "param_names": param_names,
        "state_dict_keys": list(model.state_dict().keys()),
        "safetensors_keys": st_keys,
        "tied_weights": tied_info(model),
        "params_without_grad": no_grad,
        "output_fields": out_fields,
        "num_hidden_states": sum(1 for k in arrays if k.startswith("out.hidden_states.")),
        "num_attentions": sum(1 for k in arrays if k.startswith("out.attentions.")),
        "input_shape": list(inputs["input_ids"].shape),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "attn_implementation": config._attn_implementation,
        "reference_dtype": "float64",
        "seed": seed,
    }
    if case["cls"] in (AlbertForSequenceClassification, AlbertForTokenClassification):
        meta["num_labels"] = config.num_labels
    if case["cls"] is AlbertForSequenceClassification:
        meta["problem_type"] = config.problem_type
    if case["cls"] is AlbertForMultipleChoice:
        meta["num_choices"] = int(inputs["input_ids"].shape[1])
    if case["labels"] == "base":
        meta["objective"] = "sum(out.last_hidden_state * upstream.last_hidden_state) + sum(out.pooler_output * upstream.pooler_output)"
    with open(os.path.join(case_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    sizes = {fn: os.path.getsize(os.path.join(case_dir, fn)) for fn in sorted(os.listdir(case_dir))}
    n_params = sum(int(np.prod(p.shape)) for p in model.parameters())
    return name, case["cls"].__name__, len(param_names), n_params, sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output root (default: tests/fixtures/hf)")
    parser.add_argument("--only", nargs="*", help="case names to (re)generate")
    args = parser.parse_args(argv)

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    os.makedirs(args.out, exist_ok=True)
    rows = []
    for index, case in enumerate(CASES):
        if args.only and case["name"] not in args.only:
            continue
        rows.append(make_case(case, index, args.out))

    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    hdr = f"{'case':<18} {'class':<32} {'#tensors':>8} {'#params':>8} {'safetensors':>11} {'npz':>8} {'total':>8}"
    print(hdr)
    print("-" * len(hdr))
    grand = 0
    for name, cls_name, n_tensors, n_params, sizes in rows:
        total = sum(sizes.values())
        grand += total
        print(
            f"{name:<18} {cls_name:<32} {n_tensors:>8} {n_params:>8} "
            f"{sizes['model.safetensors']:>11} {sizes['reference.npz']:>8} {total:>8}"
        )
    print("-" * len(hdr))
    print(f"total bytes: {grand} ({grand / 2**20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
