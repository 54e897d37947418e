"""Fine-tuning for sequence classification with the same hand-written backward pass.

    minialbert finetune --model minialbert-default --train train.tsv --eval dev.tsv --out runs/cls

Data: CSV or TSV (by extension; TSV otherwise) with a header naming the columns
`text`, optionally `text_pair`, and `label`. String labels become ids in sorted
order (saved in config.id2label); numeric labels with a float column and
`--regression` train a regression head.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from tqdm import tqdm

from .. import backend
from ..io import load_state_dict_into, read_checkpoint
from ..model import AlbertForSequenceClassification
from ..hub import resolve
from ..optim import AdamW, clip_grad_norm, warmup_linear_decay
from ..tokenization import load_tokenizer

np = backend.numpy


@dataclass
class FinetuneConfig:
    model: str
    train: str
    out: str
    eval: Optional[str] = None
    epochs: int = 3
    batch_size: int = 16
    lr: float = 3e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 128
    regression: bool = False
    seed: int = 0
    device: str = "cpu"
    tokenizer: Optional[str] = None


def read_table(path) -> List[Dict[str, str]]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    delim = "," if path.suffix.lower() == ".csv" else "\t"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=delim))
    if not rows:
        raise ValueError(f"{path}: no rows")
    for col in ("text", "label"):
        if col not in rows[0]:
            raise ValueError(f"{path}: needs a header with columns 'text'[, 'text_pair'], 'label'; "
                             f"found {list(rows[0])}")
    return rows


def encode(tok, rows, max_length):
    pairs = "text_pair" in rows[0]
    enc = tok([r["text"] for r in rows], [r["text_pair"] for r in rows] if pairs else None,
              padding=True, truncation=True, max_length=max_length, return_tensors="np")
    return enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]


def evaluate(model, tok, rows, label_ids, fc: FinetuneConfig) -> Dict[str, float]:
    model.eval()
    correct, n, sq = 0, 0, 0.0
    for i in range(0, len(rows), fc.batch_size):
        chunk = rows[i:i + fc.batch_size]
        ids, mask, tt = encode(tok, chunk, fc.max_length)
        logits = backend.to_numpy(model(ids, mask, tt)["logits"])
        if fc.regression:
            sq += float(((logits[:, 0] - np.array([float(r["label"]) for r in chunk])) ** 2).sum())
        else:
            correct += int((logits.argmax(-1) == np.array([label_ids[r["label"]] for r in chunk])).sum())
        n += len(chunk)
    model.train()
    return {"mse": sq / n} if fc.regression else {"accuracy": correct / n}


def finetune(fc: FinetuneConfig, progress: bool = True):
    train_rows = read_table(fc.train)
    eval_rows = read_table(fc.eval) if fc.eval else []
    src = resolve(fc.model)
    tok = load_tokenizer(fc.tokenizer or src)
    config, state, source = read_checkpoint(src)
    labels = sorted({r["label"] for r in train_rows + eval_rows})
    label_ids = {l: i for i, l in enumerate(labels)}
    if fc.regression:
        config = config.replace(num_labels=1, problem_type="regression", id2label=None)
    else:
        config = config.replace(num_labels=len(labels), problem_type="single_label_classification",
                                id2label={i: l for l, i in label_ids.items()})
    model = AlbertForSequenceClassification(config, seed=fc.seed, device=fc.device)
    load_state_dict_into(model, state, strict=False, source=str(source))
    model.train()
    opt = AdamW(model.params, lr=fc.lr, weight_decay=fc.weight_decay)
    rng = np.random.default_rng(fc.seed)
    steps_per_epoch = (len(train_rows) + fc.batch_size - 1) // fc.batch_size
    total = steps_per_epoch * fc.epochs
    step, history = 0, []
    bar = None
    if progress:
        bar = tqdm(total=total, unit="step", dynamic_ncols=True)
    for epoch in range(fc.epochs):
        order = rng.permutation(len(train_rows))
        for i in range(0, len(order), fc.batch_size):
            chunk = [train_rows[j] for j in order[i:i + fc.batch_size]]
            ids, mask, tt = encode(tok, chunk, fc.max_length)
            y = np.array([float(r["label"]) for r in chunk]) if fc.regression else \
                np.array([label_ids[r["label"]] for r in chunk])
            model.zero_grad()
            model.manual_seed(fc.seed * 7919 + step)
            out = model(ids, mask, tt, labels=y)
            model.backward()
            clip_grad_norm(model.grads(), 1.0)
            lr = warmup_linear_decay(step, total, int(fc.warmup_ratio * total), fc.lr, decay_after_warmup=True)
            opt.step(model.grads(), lr=lr)
            step += 1
            history.append(float(out["loss"]))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{history[-1]:.3f}", epoch=epoch + 1)
        if eval_rows:
            r = evaluate(model, tok, eval_rows, label_ids, fc)
            msg = f"epoch {epoch + 1}: " + ", ".join(f"eval {k} {v:.4f}" for k, v in r.items())
            bar.write(msg) if bar is not None else print(msg)
    if bar is not None:
        bar.close()
    model.eval()
    model.save_pretrained(fc.out)
    if hasattr(tok, "save_pretrained"):
        tok.save_pretrained(fc.out)
    result = {"train_loss_first": history[0], "train_loss_last": history[-1], "steps": step}
    if eval_rows:
        result.update(evaluate(model, tok, eval_rows, label_ids, fc))
    (Path(fc.out) / "finetune_result.json").write_text(json.dumps(result, indent=1))
    return model, result
