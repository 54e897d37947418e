"""`pipeline(task, ...)` for every head (the other tasks live in minialbert/pipelines/), and fill-mask.

Fill-mask: text with [MASK] -> the most likely tokens, as HF's pipeline returns them.

    >>> fill = minialbert.pipeline("fill-mask", model="albert-base-v2")
    >>> fill("Hello I'm a [MASK] model.", top_k=3)
    [{'score': ..., 'token': 12807, 'token_str': 'modeling', 'sequence': "hello i'm a modeling model."}, ...]

One [MASK]: a list of {score, token, token_str, sequence}. Several [MASK]s in a
text: one such list per mask. Several texts: one result per text.
"""
from __future__ import annotations

import warnings
from typing import Iterable, Iterator, List, Optional, Sequence, Union

from . import backend
from .hub import default_model_path, resolve
from .model import AlbertForMaskedLM
from .ops.losses import IGNORE_INDEX
from .tokenization import load_tokenizer
from .pipelines import (FeatureExtractionPipeline, PipelineError, QuestionAnsweringPipeline,  # noqa: F401
                        TextClassificationPipeline, TokenClassificationPipeline)
from .pipelines.common import check_vocab_sizes, load_for_task, pipeline_device, place

np = backend.numpy  # host side: token ids in, python floats out


class FillMaskError(ValueError):
    pass


class FillMaskPipeline:
    def __init__(self, model, tokenizer, top_k: int = 5, batch_size: int = 8, targets=None, tokenizer_kwargs=None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.top_k = self._check_top_k(top_k)
        self.batch_size = self._check_batch_size(batch_size)
        # call-time defaults, as HF's pipeline takes them at construction too
        self.targets = targets
        self.tokenizer_kwargs = tokenizer_kwargs
        self._truncation(False, tokenizer_kwargs)
        if targets is not None:
            self.target_ids(targets)

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

    def target_ids(self, targets) -> List[int]:
        """HF's rule for `targets=`: a string that is a vocabulary entry as it stands is that entry (for
        ALBERT, "paris" is the word-internal piece, "\u2581paris" the word-initial one); any other string
        stands for the first piece it tokenises to (with a warning, as HF logs one); a string with no
        piece at all is dropped (warned). Duplicates count once."""
        tok = self.tokenizer
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, (list, tuple)) or not all(isinstance(t, str) for t in targets):
            raise FillMaskError(f"targets = {targets!r}: expected a string or a list of strings")
        ids = []
        for t in targets:
            i = tok.convert_tokens_to_ids(t)
            if i == tok.unk_token_id and t != tok.unk_token:          # not a vocabulary entry
                pieces = tok(t, add_special_tokens=False)["input_ids"]
                if not pieces:
                    warnings.warn(f"target {t!r} has no piece in the vocabulary; it is ignored")
                    continue
                i = pieces[0]
                warnings.warn(f"target {t!r} is not one vocabulary entry; using its first piece "
                              f"{tok.convert_ids_to_tokens([i])[0]!r}")
            if i not in ids:
                ids.append(int(i))
        if not ids:
            raise FillMaskError(f"targets = {targets!r}: none is in the vocabulary")
        return ids

    def _truncation(self, truncate: bool, tokenizer_kwargs) -> Optional[int]:
        """The length texts are cut to (None: not cut): --truncate / truncate=True cut to the model's
        max_position_embeddings; HF's tokenizer_kwargs {"truncation": True, "max_length": N} to N."""
        limit = self.model.config.max_position_embeddings
        kw = dict(tokenizer_kwargs or {})
        unknown = sorted(set(kw) - {"truncation", "max_length"})
        if unknown:
            raise FillMaskError(f"tokenizer_kwargs {unknown}: fill-mask takes 'truncation' and 'max_length'")
        if kw.get("truncation", truncate) not in (True, False, "longest_first", "only_first"):
            raise FillMaskError(f"tokenizer_kwargs truncation = {kw['truncation']!r}: expected True or False")
        if not kw.get("truncation", truncate):
            return None
        n = kw.get("max_length", limit)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 3 <= n <= limit:
            raise FillMaskError(f"tokenizer_kwargs max_length = {n!r}: expected an integer from 3 to {limit} "
                                f"(the model's max_position_embeddings)")
        return int(n)

    def _encode(self, texts: List[str], cut: Optional[int]):
        tok, limit = self.tokenizer, self.model.config.max_position_embeddings
        truncate = cut is not None
        rows = []
        for text in texts:
            ids = tok(text)["input_ids"]
            if truncate and len(ids) > cut:
                ids = ids[:cut - 1] + [tok.sep_token_id]          # as HF's truncation: [SEP] kept last
            if len(ids) > limit:
                raise FillMaskError(f"text is {len(ids)} tokens long after tokenisation, but this model "
                                    f"takes at most {limit} (max_position_embeddings); shorten it or "
                                    f"pass truncate=True (--truncate)")
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
                 batch_size: Optional[int] = None, targets=None, tokenizer_kwargs=None):
        """One result per text (a list of {score, token, token_str, sequence}; one such list per
        [MASK] when a text has several), as HF's pipeline returns them. targets: score only these
        words (see target_ids; top_k is capped at their number, as HF); tokenizer_kwargs: HF's
        {"truncation": True, "max_length": N}."""
        single = isinstance(texts, str)
        results = [r for _, r in self.iter_results([texts] if single else texts, top_k, truncate, batch_size,
                                                   targets, tokenizer_kwargs)]
        return results[0] if single else results

    def iter_results(self, texts: Iterable[str], top_k: Optional[int] = None, truncate: bool = False,
                     batch_size: Optional[int] = None, targets=None, tokenizer_kwargs=None) -> Iterator:
        """(text, result) pairs, the results of __call__, yielded as each micro-batch of `batch_size` texts
        finishes: memory stays bounded by one micro-batch whatever the number of texts (the CLI streams them)."""
        k = self.top_k if top_k is None else self._check_top_k(top_k)
        n = self.batch_size if batch_size is None else self._check_batch_size(batch_size)
        targets = self.targets if targets is None else targets
        cut = self._truncation(truncate, self.tokenizer_kwargs if tokenizer_kwargs is None else tokenizer_kwargs)
        tids = None if targets is None else self.target_ids(targets)
        if tids is not None:
            k = min(k, len(tids))
        chunk = []
        for text in texts:
            chunk.append(text)
            if len(chunk) == n:
                yield from zip(chunk, self._run(chunk, k, cut, tids))
                chunk = []
        if chunk:
            yield from zip(chunk, self._run(chunk, k, cut, tids))

    def _run(self, texts: List[str], k: int, cut: Optional[int], tids: Optional[List[int]] = None) -> List:
        tok, model = self.tokenizer, self.model
        ids, mask = self._encode(texts, cut)                                     # (B, T)
        # The MLM head (and its V-wide decoder) runs only at the [MASK] positions: logits (N, V), not
        # (B, T, V). The head's labelled-only mode does exactly that; the labels mark the masks.
        at_mask = (ids == tok.mask_token_id) & (mask == 1)                       # (B, T)
        labels = np.where(at_mask, ids, IGNORE_INDEX)
        saved = model.mlm_labelled_only
        model.mlm_labelled_only = True
        try:
            logits = model(ids, attention_mask=mask, labels=labels)["logits"]     # (N, V), on the model's device
        finally:
            model.mlm_labelled_only = saved
            model.forget_cache()
        # Softmax and top-k where the logits are; only the (N, k) winners and their scores cross to the host.
        xp = model.xp
        z = logits.astype(xp.float64)                                            # softmax in float64: exact ranks
        p = xp.exp(z - z.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        if tids is not None:      # as HF: softmax over the whole vocabulary, then rank the targets only
            cand = backend.to_device(np.asarray(tids, dtype=np.int64), model.device)     # (K,)
            p = p[:, cand]                                                       # (N, K)
        top_d = xp.argsort(-p, axis=-1, kind="stable")[:, :k]                   # ties in token order, as before
        scores = backend.to_numpy(xp.take_along_axis(p, top_d, axis=-1))        # (N, k) probabilities
        tops = backend.to_numpy(top_d)                                           # (N, k) token ids
        if tids is not None:
            tops = np.asarray(tids, dtype=np.int64)[tops]
        results, n, n_vocab = [], 0, tok.vocab_size
        for b in range(len(texts)):
            row = ids[b][mask[b] == 1]
            positions = np.nonzero(row == tok.mask_token_id)[0]
            per_mask = []
            for pos in positions:
                top, score = tops[n], scores[n]
                n += 1
                preds = []
                for t, sc in zip(top, score):
                    filled = row.copy()
                    filled[pos] = t
                    # an id past the tokenizer's vocabulary (a model whose embedding matrix was padded to a
                    # round size) has no piece: it decodes to nothing, as with HF's fast tokenizers
                    filled = [int(i) for i in filled if i < n_vocab]
                    # As HF: with one mask the sequence drops special tokens; with several it keeps them.
                    seq = tok.decode(filled, skip_special_tokens=len(positions) == 1)
                    preds.append({"score": float(sc), "token": int(t),
                                  "token_str": tok.decode([int(t)]) if t < n_vocab else "", "sequence": seq})
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


def pipeline(task: str, model=None, tokenizer=None, device=None, top_k=_DEFAULT,
             dtype="float32", batch_size: int = 8, **kwargs):
    """model and tokenizer: objects, or paths / released names (as HF's pipeline takes them).
    batch_size: texts (question answering: windows) per forward pass (memory is bounded by one such
    micro-batch). top_k, when given, as HF: fill-mask's default is 5; text classification's default
    is the top label as a dict per text, top_k=None every label; question answering's default is 1.
    Other keyword arguments go to the task's pipeline (function_to_apply, aggregation_strategy,
    ignore_labels, doc_stride, max_answer_len, max_seq_len, handle_impossible_answer; fill-mask: targets,
    tokenizer_kwargs).
    device: 'cpu', 'cuda', 'cuda:N', or as HF's pipeline: -1 (the CPU), an integer N (cuda:N); None (the
    default) loads a path on the CPU and leaves a model object where it is (given, the object is moved)."""
    name = TASK_ALIASES.get(task, task)
    device = pipeline_device(device)
    if name not in TASKS:
        raise ValueError(f"unknown task {task!r}; minialbert's pipeline does {sorted(TASKS) + sorted(TASK_ALIASES)}")
    if name != "fill-mask":
        cls = TASKS[name]
        model, tokenizer = load_for_task(cls.model_class, name, model, tokenizer, device=device, dtype=dtype,
                                         default_ok=name == "feature-extraction")
        if top_k is not _DEFAULT:
            kwargs["top_k"] = top_k
        return cls(model, tokenizer, batch_size=batch_size, **kwargs)
    unexpected = sorted(set(kwargs) - {"targets", "tokenizer_kwargs"})
    if unexpected:
        raise TypeError(f"fill-mask got unexpected argument(s) {unexpected}")
    if _is_path(tokenizer):
        tokenizer = load_tokenizer(tokenizer)
    if model is None or _is_path(model):
        model, tokenizer = load_model_and_tokenizer(model, device=device or "cpu", dtype=dtype, tokenizer=tokenizer)
    elif tokenizer is None:
        raise ValueError("pass a tokenizer along with a model object")
    check_vocab_sizes(model, tokenizer)
    place(model, device)
    return FillMaskPipeline(model, tokenizer, top_k=5 if top_k is _DEFAULT else top_k, batch_size=batch_size,
                            **kwargs)
