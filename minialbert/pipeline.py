"""`pipeline(task, ...)` for every head (the other tasks live in minialbert/pipelines/), and fill-mask.

Fill-mask: text with [MASK] -> the most likely tokens, as HF's pipeline returns them.

    >>> fill = minialbert.pipeline("fill-mask", model="albert-base-v2")
    >>> fill("Hello I'm a [MASK] model.", top_k=3)
    [{'score': ..., 'token': 12807, 'token_str': 'modeling', 'sequence': "hello i'm a modeling model."}, ...]

One [MASK]: a list of {score, token, token_str, sequence}. Several [MASK]s in a
text: one such list per mask. Several texts: one result per text.
"""
from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Sequence, Union

from . import backend
from .hub import default_model_path, resolve
from .model import AlbertForMaskedLM
from .ops.losses import IGNORE_INDEX
from .tokenization import load_tokenizer
from .pipelines import (FeatureExtractionPipeline, PipelineError, QuestionAnsweringPipeline,  # noqa: F401
                        TextClassificationPipeline, TokenClassificationPipeline)
from .pipelines.common import check_vocab_sizes, load_for_task

np = backend.numpy  # host side: token ids in, python floats out


class FillMaskError(ValueError):
    pass


class FillMaskPipeline:
    def __init__(self, model, tokenizer, top_k: int = 5, batch_size: int = 8):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.top_k = self._check_top_k(top_k)
        self.batch_size = self._check_batch_size(batch_size)

    def _check_top_k(self, k):
        V = self.model.config.vocab_size
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= V:
            raise FillMaskError(f"top_k = {k!r}: expected an integer from 1 to {V} (the vocabulary size)")
        return int(k)

    @staticmethod
    def _check_batch_size(n):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise FillMaskError(f"batch_size = {n!r}: expected an integer >= 1")
        return int(n)

    def _encode(self, texts: List[str], truncate: bool):
        tok, limit = self.tokenizer, self.model.config.max_position_embeddings
        rows = []
        for text in texts:
            ids = tok(text)["input_ids"]
            if len(ids) > limit:
                if not truncate:
                    raise FillMaskError(f"text is {len(ids)} tokens long after tokenisation, but this model "
                                        f"takes at most {limit} (max_position_embeddings); shorten it or "
                                        f"pass truncate=True (--truncate)")
                ids = ids[:limit - 1] + [tok.sep_token_id]
            if tok.mask_token_id not in ids:
                raise FillMaskError(f"no {tok.mask_token} in the text{' (after truncation)' if truncate else ''}: "
                                    f"{text[:80]!r}")
            rows.append(ids)
        T = max(len(r) for r in rows)
        ids = np.full((len(rows), T), tok.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(rows), T), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = r
            mask[i, :len(r)] = 1
        return ids, mask

    def __call__(self, texts: Union[str, Sequence[str]], top_k: Optional[int] = None, truncate: bool = False,
                 batch_size: Optional[int] = None):
        """One result per text (a list of {score, token, token_str, sequence}; one such list per
        [MASK] when a text has several), as HF's pipeline returns them."""
        single = isinstance(texts, str)
        results = [r for _, r in self.iter_results([texts] if single else texts, top_k, truncate, batch_size)]
        return results[0] if single else results

    def iter_results(self, texts: Iterable[str], top_k: Optional[int] = None, truncate: bool = False,
                     batch_size: Optional[int] = None) -> Iterator:
        """(text, result) pairs, the results of __call__, yielded as each micro-batch of `batch_size` texts
        finishes: memory stays bounded by one micro-batch whatever the number of texts (the CLI streams them)."""
        k = self.top_k if top_k is None else self._check_top_k(top_k)
        n = self.batch_size if batch_size is None else self._check_batch_size(batch_size)
        chunk = []
        for text in texts:
            chunk.append(text)
            if len(chunk) == n:
                yield from zip(chunk, self._run(chunk, k, truncate))
                chunk = []
        if chunk:
            yield from zip(chunk, self._run(chunk, k, truncate))

    def _run(self, texts: List[str], k: int, truncate: bool) -> List:
        tok, model = self.tokenizer, self.model
        ids, mask = self._encode(texts, truncate)                                # (B, T)
        # The MLM head (and its V-wide decoder) runs only at the [MASK] positions: logits (N, V), not
        # (B, T, V). The head's labelled-only mode does exactly that; the labels mark the masks.
        at_mask = (ids == tok.mask_token_id) & (mask == 1)                       # (B, T)
        labels = np.where(at_mask, ids, IGNORE_INDEX)
        saved = model.mlm_labelled_only
        model.mlm_labelled_only = True
        try:
            logits = backend.to_numpy(model(ids, attention_mask=mask, labels=labels)["logits"])   # (N, V)
        finally:
            model.mlm_labelled_only = saved
            model.forget_cache()
        z = logits.astype(np.float64)                                            # softmax in float64: exact ranks
        p = np.exp(z - z.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        results, n = [], 0
        for b in range(len(texts)):
            row = ids[b][mask[b] == 1]
            positions = np.nonzero(row == tok.mask_token_id)[0]
            per_mask = []
            for pos in positions:
                pr = p[n]
                n += 1
                top = np.argsort(-pr, kind="stable")[:k]
                preds = []
                for t in top:
                    filled = row.copy()
                    filled[pos] = t
                    # As HF: with one mask the sequence drops special tokens; with several it keeps them.
                    seq = tok.decode(filled.tolist(), skip_special_tokens=len(positions) == 1)
                    preds.append({"score": float(pr[t]), "token": int(t),
                                  "token_str": tok.decode([int(t)]), "sequence": seq})
                per_mask.append(preds)
            results.append(per_mask[0] if len(per_mask) == 1 else per_mask)
        return results


def load_model_and_tokenizer(name_or_path=None, device="cpu", dtype="float32", tokenizer=None):
    """A masked-LM model and its tokenizer (unless given) from a path, a released
    name, or the bundled default."""
    path = default_model_path() if name_or_path is None else resolve(name_or_path)
    model = AlbertForMaskedLM.from_pretrained(path, device=device, dtype=dtype)
    return model, tokenizer if tokenizer is not None else load_tokenizer(path)


def _is_path(x) -> bool:
    return isinstance(x, (str, bytes)) or hasattr(x, "__fspath__")


# task -> pipeline class (None: fill-mask, above); aliases as HF's.
TASKS = {"fill-mask": None, "text-classification": TextClassificationPipeline,
         "token-classification": TokenClassificationPipeline, "question-answering": QuestionAnsweringPipeline,
         "feature-extraction": FeatureExtractionPipeline}
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}


_DEFAULT = object()   # top_k not given: the task's default (None means "all labels" for text classification)


def pipeline(task: str, model=None, tokenizer=None, device: str = "cpu", top_k=_DEFAULT,
             dtype="float32", batch_size: int = 8, **kwargs):
    """model and tokenizer: objects, or paths / released names (as HF's pipeline takes them).
    batch_size: texts (question answering: windows) per forward pass (memory is bounded by one such
    micro-batch). top_k, when given, as HF: fill-mask's default is 5; text classification's default
    is the top label as a dict per text, top_k=None every label; question answering's default is 1.
    Other keyword arguments go to the task's pipeline (function_to_apply, aggregation_strategy,
    ignore_labels, doc_stride, max_answer_len, max_seq_len, handle_impossible_answer)."""
    name = TASK_ALIASES.get(task, task)
    if name not in TASKS:
        raise ValueError(f"unknown task {task!r}; minialbert's pipeline does {sorted(TASKS) + sorted(TASK_ALIASES)}")
    if name != "fill-mask":
        cls = TASKS[name]
        model, tokenizer = load_for_task(cls.model_class, name, model, tokenizer, device=device, dtype=dtype,
                                         default_ok=name == "feature-extraction")
        if top_k is not _DEFAULT:
            kwargs["top_k"] = top_k
        return cls(model, tokenizer, batch_size=batch_size, **kwargs)
    if kwargs:
        raise TypeError(f"fill-mask got unexpected argument(s) {sorted(kwargs)}")
    if _is_path(tokenizer):
        tokenizer = load_tokenizer(tokenizer)
    if model is None or _is_path(model):
        model, tokenizer = load_model_and_tokenizer(model, device=device, dtype=dtype, tokenizer=tokenizer)
    elif tokenizer is None:
        raise ValueError("pass a tokenizer along with a model object")
    check_vocab_sizes(model, tokenizer)
    return FillMaskPipeline(model, tokenizer, top_k=5 if top_k is _DEFAULT else top_k, batch_size=batch_size)
