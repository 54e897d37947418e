"""Text classification (alias sentiment-analysis) on an AlbertForSequenceClassification, as HF's pipeline:

    >>> clf = minialbert.pipeline("text-classification", model="path/to/finetuned")
    >>> clf("I loved it")                        # HF's default: the top label, one dict per text
    [{'label': 'positive', 'score': 0.98}]
    >>> clf("I loved it", top_k=None)            # every label, best first
    >>> clf({"text": "Is it raining?", "text_pair": "The streets are wet."})   # a text pair

function_to_apply: "softmax", "sigmoid" or "none"; by default as HF: none for regression, sigmoid
for multi-label or one label, softmax otherwise.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

from ..model import AlbertForSequenceClassification
from .common import (PipelineError, check_batch_size, check_length, check_positive_int, forward, label_of,
                     micro_batches, np, sigmoid, softmax)

_LEGACY = object()   # top_k not given: HF's old output, the top label as a dict per text
FUNCTIONS = ("softmax", "sigmoid", "none")


class TextClassificationPipeline:
    model_class = AlbertForSequenceClassification

    def __init__(self, model, tokenizer, top_k=_LEGACY, function_to_apply=None, batch_size: int = 8):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.top_k = top_k if top_k is _LEGACY else check_positive_int("top_k", top_k, allow_none=True)
        self.function_to_apply = self._check_function(function_to_apply)
        self.batch_size = check_batch_size(batch_size)

    @staticmethod
    def _check_function(f):
        if f is None:
            return None
        f = str(getattr(f, "value", f)).lower()
        if f not in FUNCTIONS:
            raise PipelineError(f"function_to_apply = {f!r}: expected one of {FUNCTIONS}")
        return f

    def _default_function(self):
        cfg = self.model.config
        if cfg.problem_type == "regression":
            return "none"
        if cfg.problem_type == "multi_label_classification" or cfg.num_labels == 1:
            return "sigmoid"
        return "softmax"

    def __call__(self, inputs, top_k=_LEGACY, function_to_apply=None, truncation: bool = False,
                 batch_size: Optional[int] = None):
        """inputs: a text, a {"text", "text_pair"} dict (or a (text, pair) tuple), or a list of those.
        Without top_k: the top {label, score} per input (as a one-element list for one plain text,
        as HF); with top_k (None = all labels): a list of them, best first, per input."""
        single = isinstance(inputs, (str, dict, tuple))
        items = [inputs] if single else list(inputs)
        legacy = top_k is _LEGACY and self.top_k is _LEGACY
        results = [r for _, r in self.iter_results(items, top_k, function_to_apply, truncation, batch_size)]
        if not single:
            return results
        return [results[0]] if isinstance(inputs, str) and legacy else results[0]

    def iter_results(self, items: Iterable, top_k=_LEGACY, function_to_apply=None, truncation: bool = False,
                     batch_size: Optional[int] = None) -> Iterator:
        """(input, result) pairs, yielded as each micro-batch finishes."""
        k = self.top_k if top_k is _LEGACY else check_positive_int("top_k", top_k, allow_none=True)
        f = self._check_function(function_to_apply) or self.function_to_apply or self._default_function()
        n = self.batch_size if batch_size is None else check_batch_size(batch_size)
        for chunk in micro_batches(items, n):
            yield from zip(chunk, self._run(chunk, k, f, truncation))

    def _encode(self, item, truncation):
        if isinstance(item, dict):
            if "text" not in item:
                raise PipelineError(f"a text-pair input is a dict with keys 'text' and 'text_pair', got {sorted(item)}")
            text, pair = item["text"], item.get("text_pair")
        elif isinstance(item, tuple) and len(item) == 2:
            text, pair = item
        elif isinstance(item, str):
            text, pair = item, None
        else:
            raise PipelineError(f"expected a text, a {{'text', 'text_pair'}} dict or a list of them, "
                                f"got {type(item).__name__}")
        limit = self.model.config.max_position_embeddings
        enc = self.tokenizer(text, pair, truncation=True if truncation else None,
                             max_length=limit if truncation else None)
        check_length(len(enc["input_ids"]), limit)
        return enc["input_ids"], enc["token_type_ids"]

    def _run(self, items, k, f, truncation):
        rows = [self._encode(x, truncation) for x in items]
        (logits,) = forward(self.model, rows, self.tokenizer.pad_token_id, ["logits"])
        logits = np.asarray(logits, dtype=np.float64)
        scores = softmax(logits) if f == "softmax" else sigmoid(logits) if f == "sigmoid" else logits
        cfg, out = self.model.config, []
        for s in scores:
            if k is _LEGACY:
                i = int(np.argmax(s))
                out.append({"label": label_of(cfg, i), "score": float(s[i])})
                continue
            order = np.argsort(-s, kind="stable")
            out.append([{"label": label_of(cfg, i), "score": float(s[i])} for i in order[:k]])
        return out
