"""Documents to examples: masked-LM + sentence-order (SOP) pairs.

The corpus format is the one BERT and ALBERT used: one sentence (or one
paragraph) per line, and an empty line between documents. A document (its
lines tokenised with `tokenize_line`) becomes examples

    [CLS] A [SEP] B [SEP] [PAD] ...

where A and B are two consecutive stretches of the document: its lines are
gathered into a chunk until the chunk reaches a target length
(max_seq_length - 3, or, with probability short_seq_prob, a random length in
[2, max_seq_length - 3]); the chunk is cut at a random line boundary into A
and B; with probability 1/2 A and B are swapped (sentence_order_label = 1,
HF's convention); the pair is trimmed to fit by dropping tokens from the
longer side, at its front or back at random; then masked (`mask_tokens`).
Follows Google's `create_pretraining_data.py` except where noted "Differs
from Google". Also here: the held-out split rule and `collate`.
"""

from __future__ import annotations

import zlib
from typing import Any, Sequence

import numpy as np

from ..ops.losses import IGNORE_INDEX
from .masking import PretrainingDataConfig, VocabInfo, mask_tokens, vocab_info


# --------------------------------------------------------------------------- #
# Documents -> examples                                                        #
# --------------------------------------------------------------------------- #
def _truncate_pair(a: list[int], b: list[int], max_tokens: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Drop tokens from the longer of A and B (B on a tie), each time from its
    front or its back with equal chance, until len(A) + len(B) <= max_tokens."""
    excess = len(a) + len(b) - max_tokens
    if excess <= 0:
        return a, b
    from_front = (rng.random(excess) < 0.5).tolist()
    a_lo, a_hi, b_lo, b_hi = 0, len(a), 0, len(b)
    for front in from_front:
        if a_hi - a_lo > b_hi - b_lo:
            if front:
                a_lo += 1
            else:
                a_hi -= 1
        elif front:
            b_lo += 1
        else:
            b_hi -= 1
    return a[a_lo:a_hi], b[b_lo:b_hi]


def _draw_target_length(cfg: PretrainingDataConfig, rng: np.random.Generator) -> int:
    if rng.random() < cfg.short_seq_prob:
        return int(rng.integers(2, cfg.max_num_tokens, endpoint=True))
    return cfg.max_num_tokens


def build_example(
    a: Sequence[int], b: Sequence[int], swapped: bool, vocab: VocabInfo,
    cfg: PretrainingDataConfig, rng: np.random.Generator,
) -> dict[str, Any]:
    """`[CLS] a [SEP] b [SEP]`, masked and right-padded to max_seq_length."""
    T = cfg.max_seq_length
    ids = [vocab.cls_id, *a, vocab.sep_id, *b, vocab.sep_id]
    n = len(ids)
    if n > T:
        raise ValueError(f"pair of {len(a)} + {len(b)} tokens does not fit max_seq_length={T}")
    masked, labels, _ = mask_tokens(ids, vocab, cfg, rng)
    input_ids = np.full(T, vocab.pad_id, dtype=np.int64)
    input_ids[:n] = masked
    token_type_ids = np.zeros(T, dtype=np.int64)
    token_type_ids[len(a) + 2:n] = 1
    attention_mask = np.zeros(T, dtype=np.int64)
    attention_mask[:n] = 1
    full_labels = np.full(T, IGNORE_INDEX, dtype=np.int64)
    full_labels[:n] = labels
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "attention_mask": attention_mask,
        "labels": full_labels,
        "sentence_order_label": int(swapped),
    }


def create_examples_from_document(
    segments: Sequence[Sequence[int]],
    tokenizer_or_vocab_info: Any,
    cfg: PretrainingDataConfig,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """All SOP examples of one document (a list of tokenised lines).

    Lines are gathered until the chunk holds at least the target length of
    tokens (or the document ends). A chunk of k >= 2 lines is cut after a
    random line 1..k-1. Differs from Google in two places:
    * the target length (full, or short with probability short_seq_prob) is
      drawn afresh for every chunk, so about short_seq_prob of the examples
      aim short, as the paper states; Google draws it once per document.
    * a one-line chunk is cut inside the line, after a random token 1..len-1
      (one-token lines are dropped). Google instead builds a "random next
      sentence" pair for it, with B taken from another document and label 1,
      which is not sentence order at all; with one paragraph per line this
      case is common, so we keep it a true SOP pair.
    """
    vocab = vocab_info(tokenizer_or_vocab_info, cfg.whole_word_rule)
    examples: list[dict[str, Any]] = []
    chunk: list[Sequence[int]] = []
    length = 0
    target = _draw_target_length(cfg, rng)
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        chunk.append(segment)
        length += len(segment)
        if i < last and length < target:
            continue
        if len(chunk) >= 2:
            cut = int(rng.integers(1, len(chunk)))  # lines [0, cut) go to A
            a = [t for s in chunk[:cut] for t in s]
            b = [t for s in chunk[cut:] for t in s]
        elif length >= 2:
            cut = int(rng.integers(1, length))
            a, b = list(chunk[0][:cut]), list(chunk[0][cut:])
        else:
            a = b = []
        if a and b:
            swapped = bool(rng.random() < 0.5)
            if swapped:
                a, b = b, a
            a, b = _truncate_pair(a, b, cfg.max_num_tokens, rng)
            examples.append(build_example(a, b, swapped, vocab, cfg, rng))
        chunk, length = [], 0
        target = _draw_target_length(cfg, rng)
    return examples


MAX_LINE_CHARS = 4096


def split_long_line(text: str, limit: int = MAX_LINE_CHARS) -> list[str]:
    """A line longer than `limit` characters, cut at spaces into pieces of at most `limit` (a space-less
    run is cut anyway). A corpus line is a segment that SOP may cut at; one 10 MB line would otherwise be
    one segment of millions of pieces, tokenised for a single example."""
    if len(text) <= limit:
        return [text]
    out = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        out.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        out.append(text)
    return [t for t in out if t]


def tokenize_line(tokenizer: Any, text: str) -> list[int]:
    """Plain-text line to ids. Uses the tokenizer's plain path when it has one,
    so a literal "[SEP]" or "[MASK]" in the corpus stays ordinary text (as in
    Google's pipeline) instead of becoming a control token."""
    plain = getattr(tokenizer, "_tokenize_plain", None)
    pieces = plain(text) if plain is not None else tokenizer.tokenize(text)
    return list(tokenizer.convert_tokens_to_ids(pieces)) if pieces else []


def in_held_out(first_line: str, held_out: float) -> bool:
    """True when a document (identified by its first non-empty line, stripped)
    belongs to the held-out (eval) split: CRC-32 of the line below held_out."""
    return held_out > 0 and zlib.crc32(first_line.encode("utf-8")) / 2.0**32 < held_out


_BATCH_KEYS = ("input_ids", "token_type_ids", "attention_mask", "labels")


def collate(examples: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Stack examples into (B, T) int64 arrays and a (B,) sentence_order_label."""
    batch = {k: np.stack([e[k] for e in examples]).astype(np.int64, copy=False) for k in _BATCH_KEYS}
    batch["sentence_order_label"] = np.array([e["sentence_order_label"] for e in examples], dtype=np.int64)
    return batch
