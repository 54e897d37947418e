"""Feature extraction: the last hidden state as nested lists, as HF's pipeline:

    >>> fe = minialbert.pipeline("feature-extraction", model="albert-base-v2")
    >>> fe("Hello world!")            # (1, T, H): one text, its T tokens ([CLS] ... [SEP]), H floats each
    >>> fe(["a", "b c"])              # one (1, T_i, H) list per text
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

from ..model import AlbertModel
from .common import PipelineError, check_batch_size, check_length, forward, micro_batches


class FeatureExtractionPipeline:
    model_class = AlbertModel

    def __init__(self, model, tokenizer, batch_size: int = 8):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = check_batch_size(batch_size)

    def __call__(self, inputs, truncation: bool = False, batch_size: Optional[int] = None):
        single = isinstance(inputs, str)
        results = [r for _, r in self.iter_results([inputs] if single else inputs, truncation, batch_size)]
        return results[0] if single else results

    def iter_results(self, texts: Iterable[str], truncation: bool = False,
                     batch_size: Optional[int] = None) -> Iterator:
        n = self.batch_size if batch_size is None else check_batch_size(batch_size)
        for chunk in micro_batches(texts, n):
            yield from zip(chunk, self._run(chunk, truncation))

    def _run(self, texts, truncation):
        limit, rows = self.model.config.max_position_embeddings, []
        for t in texts:
            if not isinstance(t, str):
                raise PipelineError(f"expected a text or a list of texts, got {type(t).__name__}")
            enc = self.tokenizer(t, truncation=True if truncation else None, max_length=limit if truncation else None)
            check_length(len(enc["input_ids"]), limit)
            rows.append((enc["input_ids"], enc["token_type_ids"]))
        (h,) = forward(self.model, rows, self.tokenizer.pad_token_id, ["last_hidden_state"])   # (B, T, H)
        return [[h[b, :len(ids)].tolist()] for b, (ids, _) in enumerate(rows)]
