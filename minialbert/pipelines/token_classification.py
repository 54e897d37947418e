"""Token classification (alias ner) on an AlbertForTokenClassification, as HF's pipeline:

    >>> ner = minialbert.pipeline("token-classification", model="path/to/ner")
    >>> ner("My name is Wolfgang and I live in Berlin.")
    [{'entity': 'B-PER', 'score': 0.99, 'index': 4, 'word': '▁wolfgang', 'start': 11, 'end': 19}, ...]
    >>> ner("...", aggregation_strategy="simple")
    [{'entity_group': 'PER', 'score': 0.99, 'word': 'wolfgang', 'start': 11, 'end': 19}, ...]

index: the token's position in the input ids ([CLS] is 0); word: the SentencePiece piece (the text
itself for an <unk>); start / end: its characters in the text (minialbert.tokenization.offsets).
aggregation_strategy "none" (each token) or "simple" (adjacent tokens of one entity merged: a B- tag
starts a new group, the score is the mean). Tokens labelled with one of ignore_labels (["O"]) are left out.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

from ..model import AlbertForTokenClassification
from ..tokenization.offsets import tokenize_with_offsets
from .common import PipelineError, check_batch_size, check_length, forward, label_of, micro_batches, np, softmax

STRATEGIES = ("none", "simple")


class TokenClassificationPipeline:
    model_class = AlbertForTokenClassification

    def __init__(self, model, tokenizer, aggregation_strategy="none", ignore_labels=None, batch_size: int = 8):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.aggregation_strategy = self._check_strategy(aggregation_strategy)
        self.ignore_labels = ["O"] if ignore_labels is None else list(ignore_labels)
        self.batch_size = check_batch_size(batch_size)

    @staticmethod
    def _check_strategy(s):
        s = str(getattr(s, "value", s)).lower()
        if s not in STRATEGIES:
            raise PipelineError(f"aggregation_strategy = {s!r}: minialbert does {STRATEGIES} "
                                f"(not HF's word-level first/average/max)")
        return s

    def __call__(self, inputs, aggregation_strategy=None, ignore_labels=None, truncation: bool = False,
                 batch_size: Optional[int] = None):
        """A text -> a list of entities; a list of texts -> one such list per text."""
        single = isinstance(inputs, str)
        results = [r for _, r in self.iter_results([inputs] if single else inputs, aggregation_strategy,
                                                   ignore_labels, truncation, batch_size)]
        return results[0] if single else results

    def iter_results(self, texts: Iterable[str], aggregation_strategy=None, ignore_labels=None,
                     truncation: bool = False, batch_size: Optional[int] = None) -> Iterator:
        strategy = self.aggregation_strategy if aggregation_strategy is None else self._check_strategy(aggregation_strategy)
        ignore = self.ignore_labels if ignore_labels is None else list(ignore_labels)
        n = self.batch_size if batch_size is None else check_batch_size(batch_size)
        for chunk in micro_batches(texts, n):
            yield from zip(chunk, self._run(chunk, strategy, ignore, truncation))

    def _encode(self, text, truncation):
        if not isinstance(text, str):
            raise PipelineError(f"expected a text or a list of texts, got {type(text).__name__}")
        tok, limit = self.tokenizer, self.model.config.max_position_embeddings
        tokens, offsets = tokenize_with_offsets(tok, text)
        if truncation:
            tokens, offsets = tokens[:limit - 2], offsets[:limit - 2]
        check_length(len(tokens) + 2, limit)
        ids = [tok.cls_token_id] + tok.convert_tokens_to_ids(tokens) + [tok.sep_token_id]
        return ids, tokens, offsets

    def _run(self, texts, strategy, ignore, truncation):
        enc = [self._encode(t, truncation) for t in texts]
        (logits,) = forward(self.model, [(ids, [0] * len(ids)) for ids, _, _ in enc], self.tokenizer.pad_token_id,
                            ["logits"])
        probs = softmax(logits)                                                    # (B, T, K)
        cfg, unk, out = self.model.config, self.tokenizer.unk_token_id, []
        for b, (text, (ids, tokens, offsets)) in enumerate(zip(texts, enc)):
            entities = []
            for j, (piece, (start, end)) in enumerate(zip(tokens, offsets)):
                index = j + 1                                                      # after [CLS]
                p = probs[b, index]
                k = int(np.argmax(p))
                word = text[start:end] if ids[index] == unk else piece
                entities.append({"entity": label_of(cfg, k), "score": float(p[k]), "index": index,
                                 "word": word, "start": start, "end": end})
            if strategy == "simple":
                entities = self._group(entities)
                out.append([e for e in entities if e["entity_group"] not in ignore])
            else:
                out.append([e for e in entities if e["entity"] not in ignore])
        return out

    @staticmethod
    def _tag(label):
        if label.startswith("B-"):
            return "B", label[2:]
        if label.startswith("I-"):
            return "I", label[2:]
        return "I", label

    def _group(self, entities):
        """HF's group_entities: a token joins the current group if its tag is the same and it is not B-."""
        groups, current = [], []
        for e in entities:
            if current:
                bi, tag = self._tag(e["entity"])
                if tag == self._tag(current[-1]["entity"])[1] and bi != "B":
                    current.append(e)
                    continue
                groups.append(self._merge(current))
            current = [e]
        if current:
            groups.append(self._merge(current))
        return groups

    def _merge(self, group):
        return {"entity_group": group[0]["entity"].split("-", 1)[-1],
                "score": float(np.mean([e["score"] for e in group])),
                "word": self.tokenizer.convert_tokens_to_string([e["word"] for e in group]),
                "start": group[0]["start"], "end": group[-1]["end"]}
