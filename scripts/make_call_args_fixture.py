"""Generate the Hugging Face reference for the model-call arguments position_ids, head_mask and
inputs_embeds: tests/fixtures/hf_call_args/ (read by tests/test_call_args.py with plain NumPy).

A developer tool only, like make_fixtures.py (whose helpers it reuses): torch and transformers are
never a test or runtime dependency. Run from the repository root with the fixture environment:

    /root/fixvenv/bin/python scripts/make_call_args_fixture.py            # writes tests/fixtures/hf_call_args
    /root/fixvenv/bin/python scripts/make_call_args_fixture.py --out DIR

head_mask: transformers 5 removed the argument, so the reference adds it back the way HF 4's
AlbertAttention applied it -- the attention probabilities, after dropout, multiplied per head -- through
a registered attention function ("eager_head_mask": HF's eager attention plus that one product). The
mask has one row per applied layer, k = i * inner_group_num + j, in the order the layers run (a 1-D mask
is the same row for all). Everything else (embeddings with position_ids / inputs_embeds, sharing,
heads, losses, autograd) is HF's own code.

The model: AlbertForMaskedLM, 3 layers over 2 groups (layer -> group 0, 0, 1) of 2 inner layers each
(6 applied layers), E=16, H=32, 4 heads, gelu_new, perturbed as in make_fixtures.py. Two calls, each
forward + backward of the MLM loss in float64:

  embeds: inputs_embeds (B, T, E) + attention_mask + token_type_ids + position_ids (1, T) not starting
          at 0 + head_mask (6, NH) with values in [0, 1.6] (one exact 0); records logits, the loss,
          every parameter's gradient, inputs_embeds.grad and head_mask.grad
  ids:    input_ids + attention_mask + position_ids (B, T) with repeated positions + head_mask (NH,);
          records logits, the loss, every parameter's gradient, the gradient of the word lookup's output
          (retain_grad) and head_mask.grad

Files: config.json, model.safetensors (save_pretrained, float32), reference.npz (keys
'<call>.<name>': inputs, labels, out.logits, out.loss, grad.<param>, inputs_embeds_grad,
head_mask_grad), meta.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from transformers import AlbertConfig, AlbertForMaskedLM
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.albert.modeling_albert import eager_attention_forward

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import BASE_CONFIG, make_batch, mlm_labels, perturb_, save_npz_deterministic  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "hf_call_args")
CONFIG = dict(BASE_CONFIG, num_hidden_layers=3, num_hidden_groups=2, inner_group_num=2)
SEQ, LENGTHS = 9, (9, 7, 4)
SEED = 4242
ATTN = "eager_head_mask"


class HeadMask:
    """The head mask of the current forward pass, (applied layers, NH), and the next layer to use."""
    mask = None
    next_layer = 0


def eager_head_mask_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """HF's eager attention, then HF 4's head mask: context = (dropout(probs) * head_mask[k, h]) @ v."""
    if HeadMask.mask is None:
        return eager_attention_forward(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout,
                                       **kwargs)
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    w = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        w = w + attention_mask
    w = torch.nn.functional.softmax(w, dim=-1)
    w = torch.nn.functional.dropout(w, p=dropout, training=module.training)
    w = w * HeadMask.mask[HeadMask.next_layer].view(1, -1, 1, 1)
    HeadMask.next_layer += 1
    out = torch.matmul(w, value).transpose(1, 2).contiguous()
    return out, w


ALL_ATTENTION_FUNCTIONS.register(ATTN, eager_head_mask_attention)
ALL_MASK_ATTENTION_FUNCTIONS.register(ATTN, eager_mask)


def run(model, n_applied, call, inputs, labels, head_mask):
    """Forward + backward of the MLM loss; returns the npz entries of one call."""
    model.zero_grad(set_to_none=True)
    hm = torch.tensor(head_mask, dtype=torch.float64, requires_grad=True)
    HeadMask.mask = hm if hm.ndim == 2 else hm.expand(n_applied, -1)
    HeadMask.next_layer = 0
    t = {k: torch.from_numpy(v) for k, v in inputs.items()}
    word_out = {}
    hook = None
    if "inputs_embeds" in t:
        t["inputs_embeds"].requires_grad_(True)
    else:   # the word lookup's output: its gradient is what minialbert's inputs_embeds_grad() returns
        def keep(module, args, output):
            output.retain_grad()
            word_out["x"] = output
        hook = model.albert.embeddings.word_embeddings.register_forward_hook(keep)
    out = model(**t, labels=torch.from_numpy(labels))
    if hook is not None:
        hook.remove()
    assert HeadMask.next_layer == n_applied, HeadMask.next_layer
    out.loss.backward()
    HeadMask.mask = None
    a = {f"{call}.{k}": v for k, v in inputs.items()}
    a[f"{call}.labels"] = labels
    a[f"{call}.head_mask"] = np.asarray(head_mask, dtype=np.float64)
    a[f"{call}.out.logits"] = out.logits.detach().numpy()
    a[f"{call}.out.loss"] = out.loss.detach().numpy()
    for name, p in model.named_parameters():
        a[f"{call}.grad.{name}"] = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().numpy()
    src = t["inputs_embeds"] if "inputs_embeds" in t else word_out["x"]
    a[f"{call}.inputs_embeds_grad"] = src.grad.detach().numpy()
    a[f"{call}.head_mask_grad"] = hm.grad.detach().numpy()
    return a


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)

    config = AlbertConfig(attn_implementation="eager", **CONFIG)
    torch.manual_seed(SEED)
    built = AlbertForMaskedLM(config)
    perturb_(built, SEED + 1)
    built.float().save_pretrained(args.out, safe_serialization=True)
    model = AlbertForMaskedLM.from_pretrained(args.out, attn_implementation=ATTN).double().eval()
    assert model.config._attn_implementation == ATTN
    n_applied = config.num_hidden_layers * config.inner_group_num
    NH, E = config.num_attention_heads, config.embedding_size

    rng = np.random.default_rng(SEED + 2)
    ids, mask, tt = make_batch(rng, LENGTHS, SEQ, [True, False, True])
    labels = mlm_labels(rng, LENGTHS, SEQ)
    arrays = {}

    # call 1: inputs_embeds (the word vectors of ids, plus noise), positions 5..5+T-1 for every row,
    # a 2-D head mask with one exact 0
    table = model.albert.embeddings.word_embeddings.weight.detach().numpy()
    embeds = table[ids] + 0.05 * rng.standard_normal((len(LENGTHS), SEQ, E))
    hm2 = rng.uniform(0.0, 1.6, size=(n_applied, NH))
    hm2[1, 2] = 0.0
    arrays.update(run(model, n_applied, "embeds",
                      dict(inputs_embeds=embeds, attention_mask=mask, token_type_ids=tt,
                           position_ids=np.arange(5, 5 + SEQ, dtype=np.int64)[None, :]), labels, hm2))

    # call 2: input_ids with per-row position_ids that repeat rows of the table, a 1-D head mask
    pos = np.stack([np.arange(SEQ), np.arange(SEQ)[::-1], np.minimum(np.arange(SEQ), 3)]).astype(np.int64)
    hm1 = np.array([1.0, 0.25, 1.5, 0.7])
    arrays.update(run(model, n_applied, "ids", dict(input_ids=ids, attention_mask=mask, position_ids=pos),
                      labels, hm1))

    save_npz_deterministic(os.path.join(args.out, "reference.npz"), arrays)
    meta = dict(model_class="AlbertForMaskedLM", calls=["embeds", "ids"],
                param_names=[n for n, _ in model.named_parameters()],
                attn_implementation=ATTN + " (HF eager attention + head mask after dropout, HF 4's rule)",
                head_mask_rows="one per applied layer k = i * inner_group_num + j",
                transformers_version=transformers.__version__, torch_version=torch.__version__,
                reference_dtype="float64", seed=SEED)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    for fn in sorted(os.listdir(args.out)):
        print(f"{fn:<20} {os.path.getsize(os.path.join(args.out, fn)):>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
