"""Fine-tuning for sequence classification with the same hand-written backward pass.

    minialbert finetune --model minialbert-default --train train.tsv --eval dev.tsv --out runs/cls

Data: CSV or TSV (by extension; TSV otherwise) with a header naming the columns
`text`, optionally `text_pair`, and `label`. String labels become ids in sorted
order (saved in config.id2label); numeric labels with a float column and
`--regression` train a regression head.
"""
from __future__ import annotations

import csv
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from tqdm import tqdm

from .. import backend
from ..io import check_state_shapes, load_state_dict_into, read_checkpoint
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

    def __post_init__(self):
        """Types and ranges, checked once here (a bad value is one clear line, not a crash mid-run)."""
        def need(ok, field_, expected):
            if not ok:
                raise ValueError(f"{field_} = {getattr(self, field_)!r}: expected {expected}")
        for f, low in (("epochs", 1), ("batch_size", 1), ("max_length", 3), ("seed", 0)):
            v = getattr(self, f)
            need(isinstance(v, int) and not isinstance(v, bool) and v >= low, f, f"an integer >= {low}")
        for f in ("lr", "weight_decay", "warmup_ratio"):
            v = getattr(self, f)
            need(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0, f,
                 "a finite number >= 0")
        need(self.warmup_ratio <= 1, "warmup_ratio", "a fraction from 0 to 1")


MAX_LINE_BYTES = 4 << 20       # csv refuses a field over 131072 characters anyway


def read_table(path, regression: Optional[bool] = None) -> List[Dict[str, str]]:
    """The rows of a CSV (by extension) or TSV file with a header naming `text`[, `text_pair`], `label`.

    Every problem is one ValueError naming the file and the line: a row with more or fewer fields than
    the header (often an unmatched quote that joins lines), a field over csv's limit, bytes that are not
    UTF-8, an empty label, or (regression=True) a label that is not a finite number."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():     # a directory; a FIFO would block
        raise ValueError(f"{path}: not a regular file; expected a .tsv or .csv file with a header line")
    delim = "," if path.suffix.lower() == ".csv" else "\t"
    rows: List[Dict[str, str]] = []
    line = 1

    def lines(f):   # decoded one physical line at a time, each bounded: a file without newlines is no bomb
        for n in itertools.count(1):
            raw = f.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            if len(raw) > MAX_LINE_BYTES:
                raise ValueError(f"{path}, line {n}: longer than {MAX_LINE_BYTES >> 20} MiB")
            try:
                yield raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}, line {n}: not UTF-8 text ({e.reason} at byte {e.start + 1} of the line)") \
                    from None

    try:
        with open(path, "rb") as f:
            reader = csv.reader(lines(f), delimiter=delim)
            header = next(reader, None)
            if not header:
                raise ValueError(f"{path}: empty; expected a header line naming the columns 'text'[, 'text_pair'], "
                                 "'label'")
            if "text" not in header or "label" not in header or len(set(header)) != len(header):
                raise ValueError(f"{path}: needs a header with columns 'text'[, 'text_pair'], 'label'; "
                                 f"found {header}")
            while True:
                line = reader.line_num + 1
                fields = next(reader, None)
                if fields is None:
                    break
                if not fields:                      # a blank line
                    continue
                if len(fields) != len(header):
                    spans = f" (the row spans lines {line}-{reader.line_num}: an unmatched quote?)" \
                        if reader.line_num > line else ""
                    raise ValueError(f"{path}, line {line}: expected {len(header)} "
                                     f"{'tab' if delim == chr(9) else 'comma'}-separated fields "
                                     f"({', '.join(header)}), found {len(fields)}{spans}")
                row = dict(zip(header, fields))
                label = row["label"].strip()
                if not label:
                    raise ValueError(f"{path}, line {line}: empty label")
                if regression:
                    try:
                        ok = math.isfinite(float(label))
                    except ValueError:
                        ok = False
                    if not ok:
                        raise ValueError(f"{path}, line {line}: label {row['label'][:40]!r} is not a finite number "
                                         "(--regression needs numeric labels)")
                rows.append(row)
    except csv.Error as e:
        if "field limit" in str(e):
            raise ValueError(f"{path}, line {line}: a field of more than {csv.field_size_limit():,} characters "
                             "(a text that long, or an unmatched quote joining lines)") from None
        raise ValueError(f"{path}, line {line}: {e}") from None
    if not rows:
        raise ValueError(f"{path}: no rows after the header")
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
    train_rows = read_table(fc.train, fc.regression)
    eval_rows = read_table(fc.eval, fc.regression) if fc.eval else []
    if eval_rows and ("text_pair" in train_rows[0]) != ("text_pair" in eval_rows[0]):
        has = "text_pair" in eval_rows[0]
        raise ValueError(f"{fc.eval}: {'has' if has else 'lacks'} a 'text_pair' column, but {fc.train} "
                         f"{'does not' if has else 'has one'}")
    src = resolve(fc.model)
    tok = load_tokenizer(fc.tokenizer or src)
    labels = sorted({r["label"] for r in train_rows + eval_rows})
    label_ids = {l: i for i, l in enumerate(labels)}

    def for_task(config):
        if fc.regression:
            return config.replace(num_labels=1, problem_type="regression", id2label=None)
        return config.replace(num_labels=len(labels), problem_type="single_label_classification",
                              id2label={i: l for l, i in label_ids.items()})

    def check(config, shapes, source):   # the checkpoint's declared shapes against the config, before reading
        shell = AlbertForSequenceClassification(for_task(config), seed=fc.seed, device=fc.device, init=False)
        return check_state_shapes(shell, shapes, strict=False, source=str(source))

    config, state, source = read_checkpoint(src, check=check)
    config = for_task(config)
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
            if not math.isfinite(float(out["loss"])):   # nothing non-finite is trained on, or saved
                raise FloatingPointError(f"the loss is {float(out['loss'])} at step {step + 1} (epoch {epoch + 1}); "
                                         "stopped without saving (lower --lr?)")
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
