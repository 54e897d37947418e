"""Generate the whole-training-step fixture under tests/fixtures/train_step/.

In the spirit of llm.c's ``test_gpt2``: a small grouped ALBERT
(``AlbertForPreTraining``, MLM + SOP) is trained for ten steps of
``torch.optim.AdamW`` on one fixed batch, in float64, and we record the loss of
every step, the gradient norm of every step and the weights before and after.
``tests/test_train_step.py`` replays the same ten steps with minialbert's
hand-written backward pass and its own AdamW, and must land on the same losses
and the same final weights.

This script is a developer tool only. torch and transformers are NEVER a test
or runtime dependency of minialbert: the test reads the committed fixture with
plain NumPy + safetensors. Set up a separate virtual environment (never install
torch into the main Python) and run the script from the repository root:

    python3 -m venv /root/fixvenv
    /root/fixvenv/bin/pip install "torch==2.13.0+cpu" transformers numpy safetensors
    /root/fixvenv/bin/python scripts/make_train_step_fixture.py            # writes tests/fixtures/train_step
    /root/fixvenv/bin/python scripts/make_train_step_fixture.py --out DIR  # writes elsewhere

No network access and no pretrained weights are used.

Optimiser conventions (checked against both sources, torch 2.13
``torch/optim/adam.py::_single_tensor_adam`` with ``decoupled_weight_decay=True``
and ``minialbert/optim.py::AdamW``); the two compute the same update:

    w <- w * (1 - lr * wd)                       (decayed tensors only)
    m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
    w <- w - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

- Bias correction: both correct m and v (minialbert's default
  ``bias_correction=True``); the step counter t starts at 1 in both. Only the
  rounding differs (torch updates m with ``lerp_``, takes ``(1-b2^t) ** 0.5``;
  minialbert writes ``b1 m + (1-b1) g`` and ``math.sqrt``).
- Which tensors are decayed: the one real difference. ``torch.optim.AdamW``
  decays every parameter of a param group, while minialbert follows Google's
  ALBERT recipe and skips any parameter whose name matches "LayerNorm",
  "layer_norm" or "bias" (re.search). So torch gets two param groups here, split
  by exactly that rule (the usual Hugging Face fine-tuning setup), with
  weight_decay 0.01 and 0.0. The split is written to train_step.json
  ("decayed_params", "undecayed_params") so the test can check that minialbert's
  ``AdamW.uses_weight_decay`` draws the same line.
- eps 1e-6 (minialbert's default and ALBERT's; torch's default is 1e-8): passed
  explicitly to both.
- Tied weights: ``predictions.decoder.weight`` is ``albert.embeddings.word_embeddings.weight``
  and ``predictions.decoder.bias`` is ``predictions.bias`` (one Parameter each in
  torch, so ``named_parameters()`` lists each once and the gradient is the sum
  over both uses); minialbert ties the same pairs. Only the unique parameter
  names are stored.
- No gradient clipping, a constant learning rate, all dropout probabilities 0
  (``classifier_dropout_prob`` too, whose HF default is 0.1), so the step is
  deterministic; the model is in train() mode.

Files written (all float64 tensors; ~0.2 MB in all):
  weights_initial.safetensors -- the unique parameters before step 1 (HF names)
  weights_final.safetensors   -- the same after step 10
  batch.safetensors           -- input_ids, attention_mask, token_type_ids,
                                 labels (-100 = no MLM loss), sentence_order_label (int64)
  train_step.json             -- HF config, optimiser settings, decay split,
                                 losses[k] = loss of step k+1 (before its update),
                                 grad_norms[k] = global L2 gradient norm of step k+1,
                                 final_loss = loss of the final weights, versions
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from transformers import AlbertConfig, AlbertForPreTraining

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "train_step")

SEED = 4242
STEPS = 10

VOCAB = 64
PAD_ID, CLS_ID, SEP_ID = 0, 2, 3
FIRST_WORD_ID = 5  # ordinary tokens are drawn from [5, VOCAB)
BATCH, SEQ = 2, 10
ROW_LENGTHS = (10, 7)  # row 1 has 3 padding positions

CONFIG = dict(
    vocab_size=VOCAB,
    embedding_size=8,
    hidden_size=16,
    num_hidden_layers=4,
    num_hidden_groups=2,   # layers 0,1 -> group 0; layers 2,3 -> group 1
    inner_group_num=2,     # each group holds 2 distinct albert_layers
    num_attention_heads=2,
    intermediate_size=32,
    hidden_act="gelu_new",
    max_position_embeddings=16,
    type_vocab_size=2,
    initializer_range=0.2,  # attention far from uniform, activations off their linear part
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    classifier_dropout_prob=0.0,
    layer_norm_eps=1e-12,
    pad_token_id=PAD_ID,
)

OPTIM = dict(
    lr=1e-2,
    betas=(0.9, 0.999),
    eps=1e-6,
    weight_decay=0.01,
    bias_correction=True,
    # minialbert's DEFAULT_EXCLUDE, matched with re.search
    exclude_from_weight_decay=("LayerNorm", "layer_norm", "bias"),
    max_grad_norm=None,  # no clipping
)


def make_batch(rng: np.random.Generator):
    """[CLS] a... [SEP] b... [SEP] PAD..., with MLM labels on a few real tokens."""
    input_ids = np.full((BATCH, SEQ), PAD_ID, dtype=np.int64)
    attention_mask = np.zeros((BATCH, SEQ), dtype=np.int64)
    token_type_ids = np.zeros((BATCH, SEQ), dtype=np.int64)
    labels = np.full((BATCH, SEQ), -100, dtype=np.int64)
    for i, length in enumerate(ROW_LENGTHS):
        ids = rng.integers(FIRST_WORD_ID, VOCAB, size=length).astype(np.int64)
        ids[0] = CLS_ID
        split = length // 2
        ids[split] = SEP_ID
        ids[length - 1] = SEP_ID
        input_ids[i, :length] = ids
        attention_mask[i, :length] = 1
        token_type_ids[i, split + 1:length] = 1
        # 3 labelled positions among the ordinary tokens (never CLS/SEP/PAD)
        candidates = [p for p in range(1, length - 1) if p != split]
        pos = rng.choice(candidates, size=3, replace=False)
        labels[i, pos] = rng.integers(FIRST_WORD_ID, VOCAB, size=3)
    sentence_order_label = np.array([0, 1], dtype=np.int64)
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                labels=labels, sentence_order_label=sentence_order_label)


def perturb_(model: torch.nn.Module, seed: int):
    """Move every parameter away from trivial values (0 biases, 1 LN weights,
    zero padding row), as scripts/make_fixtures.py does."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                p.add_(0.1 * noise)
            else:
                p.add_(0.02 * noise)


def is_decayed(name: str) -> bool:
    return not any(re.search(pat, name) for pat in OPTIM["exclude_from_weight_decay"])


def snapshot(model):
    return {n: p.detach().numpy().astype(np.float64).copy() for n, p in model.named_parameters()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: tests/fixtures/train_step)")
    args = parser.parse_args(argv)

    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)  # the model is built, perturbed and trained in float64

    config = AlbertConfig(attn_implementation="eager", **CONFIG)
    torch.manual_seed(SEED)
    model = AlbertForPreTraining(config)
    perturb_(model, SEED + 1)
    model = model.double()
    model.train()
    assert model.config._attn_implementation == "eager"
    assert model.predictions.decoder.weight is model.albert.embeddings.word_embeddings.weight
    assert model.predictions.decoder.bias is model.predictions.bias
    assert all(p.dtype == torch.float64 for p in model.parameters())

    batch = make_batch(np.random.default_rng(SEED + 2))
    t_batch = {k: torch.from_numpy(v) for k, v in batch.items()}

    named = list(model.named_parameters())
    decayed = [n for n, _ in named if is_decayed(n)]
    undecayed = [n for n, _ in named if not is_decayed(n)]
    opt = torch.optim.AdamW(
        [dict(params=[p for n, p in named if is_decayed(n)], weight_decay=OPTIM["weight_decay"]),
         dict(params=[p for n, p in named if not is_decayed(n)], weight_decay=0.0)],
        lr=OPTIM["lr"], betas=OPTIM["betas"], eps=OPTIM["eps"], amsgrad=False,
        foreach=False, fused=False,  # the plain per-tensor loop (_single_tensor_adam)
    )

    initial = snapshot(model)
    losses, grad_norms = [], []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        out = model(**t_batch)
        out.loss.backward()
        losses.append(float(out.loss.item()))
        grad_norms.append(float(torch.sqrt(sum((p.grad * p.grad).sum() for p in model.parameters()
                                               if p.grad is not None)).item()))
        opt.step()
    final = snapshot(model)
    with torch.no_grad():
        final_loss = float(model(**t_batch).loss.item())

    os.makedirs(args.out, exist_ok=True)
    save_file(initial, os.path.join(args.out, "weights_initial.safetensors"))
    save_file(final, os.path.join(args.out, "weights_final.safetensors"))
    save_file(batch, os.path.join(args.out, "batch.safetensors"))

    hf_config = config.to_dict()
    hf_config.pop("transformers_version", None)  # kept below, once
    meta = {
        "description": "10 AdamW steps of HF AlbertForPreTraining (MLM + SOP) on one fixed batch, float64; "
                       "made by scripts/make_train_step_fixture.py",
        "model_class": "AlbertForPreTraining",
        "config": hf_config,
        "dtype": "float64",
        "steps": STEPS,
        "optimizer": {"name": "torch.optim.AdamW", **{k: v for k, v in OPTIM.items()},
                      "betas": list(OPTIM["betas"]),
                      "exclude_from_weight_decay": list(OPTIM["exclude_from_weight_decay"]),
                      "lr_schedule": "constant", "amsgrad": False, "implementation": "single_tensor"},
        "decayed_params": decayed,
        "undecayed_params": undecayed,
        "tied_weights": {"predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
                         "predictions.decoder.bias": "predictions.bias"},
        "losses": losses,
        "grad_norms": grad_norms,
        "final_loss": final_loss,
        "seed": SEED,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
    }
    with open(os.path.join(args.out, "train_step.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    n_params = sum(a.size for a in initial.values())
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    print(f"{len(initial)} tensors, {n_params} parameters")
    for k, (l, g) in enumerate(zip(losses, grad_norms), 1):
        print(f"step {k:2d}  loss {l:.15f}  |g| {g:.6e}")
    print(f"final loss {final_loss:.15f}")
    total = 0
    for fn in sorted(os.listdir(args.out)):
        size = os.path.getsize(os.path.join(args.out, fn))
        total += size
        print(f"{fn:<30} {size:>8}")
    print(f"total bytes: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
