"""Extractive question answering on an AlbertForQuestionAnswering, as HF's pipeline (transformers 4's
algorithm; transformers 5 dropped the pipeline):

    >>> qa = minialbert.pipeline("question-answering", model="path/to/squad-model")
    >>> qa(question="Where does Wolfgang live?", context="My name is Wolfgang and I live in Berlin.")
    {'score': 0.97, 'start': 34, 'end': 40, 'answer': 'Berlin'}

The input is [CLS] question [SEP] context [SEP]. A context too long for max_seq_len tokens is cut
into windows of context tokens that overlap by doc_stride tokens (HF's overflowing tokens with a
stride); in each window the start and end probabilities (softmax over the context tokens and [CLS])
score every span of at most max_answer_len tokens; the best top_k spans over all windows are
returned with their characters in the context (start, end, answer = context[start:end]).
Defaults as HF: max_seq_len min(384, the model's max_position_embeddings), doc_stride 128 (at most
max_seq_len // 2), max_answer_len 15, top_k 1.
top_k = 1 gives a dict, more a list; several questions give a list of those.

Approximation: HF 4 by default (align_to_words=True) widens an answer to whole "words" of its fast
tokenizer; minialbert returns the characters of the answer's own tokens (align_to_words=False), see
scripts/make_pipeline_fixtures.py for why.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

from ..model import AlbertForQuestionAnswering
from ..tokenization.offsets import tokenize_with_offsets
from .common import PipelineError, check_batch_size, check_positive_int, forward, micro_batches, np


class QuestionAnsweringPipeline:
    model_class = AlbertForQuestionAnswering

    def __init__(self, model, tokenizer, top_k: int = 1, doc_stride: Optional[int] = None, max_answer_len: int = 15,
                 max_seq_len: Optional[int] = None, handle_impossible_answer: bool = False, batch_size: int = 8):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.defaults = dict(top_k=top_k, doc_stride=doc_stride, max_answer_len=max_answer_len,
                             max_seq_len=max_seq_len, handle_impossible_answer=handle_impossible_answer)
        self._options()  # checks them
        self.batch_size = check_batch_size(batch_size)

    def _options(self, **given):
        o = dict(self.defaults)
        o.update({k: v for k, v in given.items() if v is not None})
        limit = self.model.config.max_position_embeddings
        o["top_k"] = check_positive_int("top_k", o["top_k"])
        o["max_answer_len"] = check_positive_int("max_answer_len", o["max_answer_len"])
        o["max_seq_len"] = min(384, limit) if o["max_seq_len"] is None else check_positive_int("max_seq_len", o["max_seq_len"])
        if o["max_seq_len"] > limit:
            raise PipelineError(f"max_seq_len = {o['max_seq_len']}: this model takes at most {limit} tokens "
                                f"(max_position_embeddings)")
        if o["doc_stride"] is None:  # HF's 128, within reach of a short max_seq_len
            o["doc_stride"] = min(128, o["max_seq_len"] // 2)
        o["doc_stride"] = check_positive_int("doc_stride", o["doc_stride"])
        if o["doc_stride"] > o["max_seq_len"]:
            raise PipelineError(f"doc_stride = {o['doc_stride']} is larger than max_seq_len = {o['max_seq_len']}")
        return o

    def __call__(self, question=None, context=None, top_k=None, doc_stride=None, max_answer_len=None,
                 max_seq_len=None, handle_impossible_answer=None, batch_size: Optional[int] = None):
        """question= and context= (strings, or lists of the same length), or a {"question", "context"}
        dict (or a list of them) as the first argument."""
        if context is None and (isinstance(question, dict) or (isinstance(question, (list, tuple)) and question
                                                               and isinstance(question[0], dict))):
            items = [question] if isinstance(question, dict) else list(question)
            single = isinstance(question, dict)
            try:
                items = [(x["question"], x["context"]) for x in items]
            except (KeyError, TypeError):
                raise PipelineError("a question-answering input is a dict with keys 'question' and 'context'") from None
        elif isinstance(question, str) and isinstance(context, str):
            items, single = [(question, context)], True
        elif isinstance(question, (list, tuple)) and isinstance(context, (list, tuple)):
            if len(question) != len(context):
                raise PipelineError(f"got {len(question)} questions but {len(context)} contexts")
            items, single = list(zip(question, context)), False
        elif isinstance(question, (list, tuple)) and isinstance(context, str):
            items, single = [(q, context) for q in question], False
        else:
            raise PipelineError("give question= and context= (texts, or lists of texts)")
        results = [r for _, r in self.iter_results(items, top_k=top_k, doc_stride=doc_stride,
                                                   max_answer_len=max_answer_len, max_seq_len=max_seq_len,
                                                   handle_impossible_answer=handle_impossible_answer,
                                                   batch_size=batch_size)]
        return results[0] if single else results

    def iter_results(self, items: Iterable, batch_size: Optional[int] = None, **options) -> Iterator:
        """((question, context), answer(s)) pairs; a micro-batch is `batch_size` windows of one question."""
        o = self._options(**options)
        n = self.batch_size if batch_size is None else check_batch_size(batch_size)
        for q, c in items:
            yield (q, c), self._answer(q, c, o, n)

    def windows(self, question, context, max_seq_len, doc_stride):
        """[(input_ids, token_type_ids, context offsets of the window's tokens, first context position)]."""
        for name, x in (("question", question), ("context", context)):
            if not isinstance(x, str):
                raise PipelineError(f"the {name} must be a text, got {type(x).__name__}")
        tok = self.tokenizer
        q_ids = tok.convert_tokens_to_ids(tok.tokenize(question))
        c_tokens, c_offsets = tokenize_with_offsets(tok, context)
        c_ids = tok.convert_tokens_to_ids(c_tokens)
        budget = max_seq_len - len(q_ids) - 3
        stride = min(doc_stride, max_seq_len // 2)
        if budget <= 0 or (stride >= budget and len(c_ids) > budget):
            raise PipelineError(f"the question is {len(q_ids)} tokens long: with max_seq_len = {max_seq_len} "
                                f"and doc_stride = {stride} no room is left for the context; raise max_seq_len "
                                f"or lower doc_stride")
        # As HF's tokenizers: windows start every (budget - stride) tokens until one reaches the end.
        out, start = [], 0
        while True:
            stop = min(start + budget, len(c_ids))
            ids = [tok.cls_token_id] + q_ids + [tok.sep_token_id] + c_ids[start:stop] + [tok.sep_token_id]
            types = [0] * (len(q_ids) + 2) + [1] * (stop - start + 1)
            out.append((ids, types, c_offsets[start:stop], len(q_ids) + 2))
            if stop == len(c_ids):
                return out
            start += budget - stride

    def _answer(self, question, context, o, n):
        wins = self.windows(question, context, o["max_seq_len"], o["doc_stride"])
        answers, min_null, k, L = [], 1e6, o["top_k"], o["max_answer_len"]
        for chunk in micro_batches(wins, n):
            start_logits, end_logits = forward(self.model, [(w[0], w[1]) for w in chunk],
                                               self.tokenizer.pad_token_id, ["start_logits", "end_logits"])
            for b, (ids, _, offsets, first) in enumerate(chunk):
                T = len(ids)
                allowed = np.zeros(T, dtype=bool)
                allowed[first:first + len(offsets)] = True                    # the context tokens ...
                allowed[0] = True                                              # ... and [CLS], as HF
                s, e = (np.where(allowed, x[b, :T].astype(np.float64), -10000.0) for x in (start_logits, end_logits))
                s = np.exp(s - s.max()); s /= s.sum()
                e = np.exp(e - e.max()); e /= e.sum()
                min_null = min(min_null, float(s[0] * e[0]))
                s[0] = e[0] = 0.0
                cand = np.tril(np.triu(np.outer(s, e)), L - 1).ravel()
                order = np.argsort(-cand, kind="stable")[:k]
                for flat in order:
                    i, j = divmod(int(flat), T)
                    if not (allowed[i] and allowed[j]):
                        continue
                    a = offsets[i - first][0] if i else 0                          # [CLS]: (0, 0), as HF
                    z = offsets[j - first][1] if j else 0
                    answers.append({"score": float(cand[flat]), "start": a, "end": z, "answer": context[a:z]})
        if o["handle_impossible_answer"]:
            answers.append({"score": min_null, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda x: x["score"], reverse=True)[:k]
        return answers[0] if len(answers) == 1 else answers
