"""ALBERT pretraining examples (masked LM + sentence order) from plain text.

The corpus format is the one BERT and ALBERT used: one sentence (or one
paragraph) per line, and an empty line between documents. From it we build,
on the fly and without ever holding the corpus in memory, examples

    [CLS] A [SEP] B [SEP] [PAD] ...

where A and B are two consecutive stretches of one document, in their original
order or swapped (sentence-order prediction, SOP), with about 15 % of the
pieces chosen for masked-LM prediction in whole-word n-grams (paper §4.1).

The algorithm follows Google's `create_pretraining_data.py` (the ALBERT
release) except where noted with "Differs from Google" below. In short:

* segments: a document's lines are gathered into a chunk until the chunk
  reaches a target length (max_seq_length - 3, or, with probability
  short_seq_prob, a random length in [2, max_seq_length - 3]); the chunk is
  cut at a random line boundary into A and B; with probability 1/2 A and B are
  swapped (sentence_order_label = 1, HF's convention); the pair is trimmed to
  fit by dropping tokens from the longer side, at its front or back at random.
* masking: see `mask_tokens`.
* streaming: `PretrainingBatches` reads the file line by line, keeps at most
  `documents_buffer` documents (a shuffle buffer), and can save and restore
  its exact position (`state_dict` / `load_state_dict`).

Everything here runs on the host in NumPy; batches are int64 NumPy arrays that
the training loop moves to the device.
"""

from __future__ import annotations

import os
import string
import weakref
import zlib
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO, Iterator, Optional, Sequence, Union

import numpy as np

SPIECE_UNDERLINE = "\u2581"
IGNORE_INDEX = -100  # label of positions that are not predicted (HF / PyTorch convention)
STATE_VERSION = 1

CorpusSource = Union[str, "os.PathLike[str]", BinaryIO]


# --------------------------------------------------------------------------- #
# Configuration                                                                #
# --------------------------------------------------------------------------- #
@dataclass
class PretrainingDataConfig:
    """How examples are cut and masked. Defaults are the ALBERT recipe at T=128.

    max_seq_length          T, the padded length, [CLS] and the two [SEP] included.
    max_predictions_per_seq hard cap on predicted pieces per example.
    masked_lm_prob          share of (non-special) pieces to predict.
    short_seq_prob          chance that a chunk aims at a random shorter length.
    max_ngram               longest masked span, in whole words; p(n) ∝ 1/n.
    whole_word_rule         "google": Google's SentencePiece rule (a piece starts
                            a word if it starts with "▁" or "<", is a lone
                            punctuation mark, or holds a character other than
                            a-z and punctuation); "underline": only "▁" starts
                            a word. See `VocabInfo`.
    count_special_tokens    False: the prediction budget is computed from the
                            non-special pieces only; True: [CLS]/[SEP] are
                            counted too, as Google does (see `mask_tokens`).
    documents_buffer        shuffle buffer, in documents (1 = corpus order).
    held_out                fraction of documents reserved for split="eval"
                            (decided by a hash of the document's first line).
    seed                    default seed of `PretrainingBatches` / `iter_examples`.
    """

    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    max_ngram: int = 3
    whole_word_rule: str = "google"
    count_special_tokens: bool = False
    documents_buffer: int = 1
    held_out: float = 0.0
    seed: int = 12345

    def __post_init__(self) -> None:
        if self.max_seq_length < 5:
            raise ValueError("max_seq_length must be at least 5 ([CLS] A [SEP] B [SEP])")
        if self.max_predictions_per_seq < 1:
            raise ValueError("max_predictions_per_seq must be at least 1")
        if not 0.0 <= self.masked_lm_prob <= 1.0:
            raise ValueError("masked_lm_prob must be in [0, 1]")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise ValueError("short_seq_prob must be in [0, 1]")
        if self.max_ngram < 1:
            raise ValueError("max_ngram must be at least 1")
        if self.whole_word_rule not in ("google", "underline"):
            raise ValueError("whole_word_rule must be 'google' or 'underline'")
        if self.documents_buffer < 1:
            raise ValueError("documents_buffer must be at least 1")
        if not 0.0 <= self.held_out < 1.0:
            raise ValueError("held_out must be in [0, 1)")

    @property
    def max_num_tokens(self) -> int:
        """Room for A and B together: T minus [CLS] and two [SEP]."""
        return self.max_seq_length - 3

    def ngram_probabilities(self) -> np.ndarray:
        """p(n) for n = 1..max_ngram, proportional to 1/n (paper §4.1)."""
        p = 1.0 / np.arange(1, self.max_ngram + 1)
        return p / p.sum()


# --------------------------------------------------------------------------- #
# What masking needs to know about the vocabulary                              #
# --------------------------------------------------------------------------- #
# Punctuation as Google's start-piece test sees it. Their literal was meant to
# be string.punctuation but an escaping slip lost the apostrophe, and "<", "="
# and ">" are missing too; we keep their effective set so "'s" starts a new
# word exactly as in the released data ("<" is covered by its own rule).
_GOOGLE_PUNCTUATION = frozenset(string.punctuation) - frozenset("'<=>")
_ENGLISH_LETTERS = frozenset(string.ascii_lowercase)


def _google_word_start(piece: str) -> bool:
    if piece.startswith((SPIECE_UNDERLINE, "<")) or piece in _GOOGLE_PUNCTUATION:
        return True
    # Anything beyond English letters and punctuation (digits, accents, CJK...)
    # is treated as a word of its own.
    return any(ch.lower() not in _ENGLISH_LETTERS and ch not in _GOOGLE_PUNCTUATION for ch in piece)


def _underline_word_start(piece: str) -> bool:
    return piece.startswith(SPIECE_UNDERLINE)


@dataclass(frozen=True, eq=False)
class VocabInfo:
    """Per-id lookup tables for masking, built once per tokenizer.

    special     (V,) bool: ids never masked and never used as random
                replacements (<pad>, <unk>, [CLS], [SEP], [MASK]).
    word_start  (V,) bool: the piece begins a new whole word.
    random_ids  the ids a "random token" replacement is drawn from (all
                non-special ids).
    """

    vocab_size: int
    mask_id: int
    cls_id: int
    sep_id: int
    pad_id: int
    special: np.ndarray
    word_start: np.ndarray
    random_ids: np.ndarray
    rule: str = "google"

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, rule: str = "google") -> "VocabInfo":
        size = int(tokenizer.vocab_size)
        pieces = tokenizer.convert_ids_to_tokens(list(range(size)))
        test = _google_word_start if rule == "google" else _underline_word_start
        word_start = np.fromiter((test(p) for p in pieces), dtype=bool, count=size)
        special_ids = list(getattr(tokenizer, "all_special_ids", ())) + [
            tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id, tokenizer.mask_token_id,
        ]
        special = np.zeros(size, dtype=bool)
        special[[int(i) for i in special_ids]] = True
        return cls(
            vocab_size=size,
            mask_id=int(tokenizer.mask_token_id),
            cls_id=int(tokenizer.cls_token_id),
            sep_id=int(tokenizer.sep_token_id),
            pad_id=int(tokenizer.pad_token_id),
            special=special,
            word_start=word_start,
            random_ids=np.flatnonzero(~special).astype(np.int64),
            rule=rule,
        )


_VOCAB_CACHE: "weakref.WeakKeyDictionary[Any, dict[str, VocabInfo]]" = weakref.WeakKeyDictionary()


def vocab_info(tokenizer_or_vocab_info: Any, rule: str = "google") -> VocabInfo:
    """A `VocabInfo` for a tokenizer (cached per tokenizer), or the one given."""
    if isinstance(tokenizer_or_vocab_info, VocabInfo):
        return tokenizer_or_vocab_info
    tok = tokenizer_or_vocab_info
    try:
        per_tok = _VOCAB_CACHE.setdefault(tok, {})
    except TypeError:  # not weak-referenceable: build without caching
        return VocabInfo.from_tokenizer(tok, rule)
    if rule not in per_tok:
        per_tok[rule] = VocabInfo.from_tokenizer(tok, rule)
    return per_tok[rule]


# --------------------------------------------------------------------------- #
# Masking                                                                      #
# --------------------------------------------------------------------------- #
def word_units(ids: Sequence[int], vocab: VocabInfo) -> tuple[np.ndarray, np.ndarray]:
    """Whole-word units of a sequence: (start positions, lengths in pieces).

    A unit is a word-start piece plus the continuation pieces after it.
    Special tokens belong to no unit and end the unit before them, so a
    continuation piece right after [SEP] starts a unit of its own. (Differs
    from Google: their candidate list skips [CLS]/[SEP] without closing the
    current word, so such a piece would join the last word of segment A.)
    """
    starts, lengths, _ = _units(np.asarray(ids, dtype=np.int64), vocab)
    return starts, lengths


def _units(ids: np.ndarray, vocab: VocabInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`word_units` plus, for every position, its unit index (-1 for special tokens)."""
    maskable = ~vocab.special[ids]
    prev_maskable = np.concatenate([[False], maskable[:-1]])
    is_start = maskable & (vocab.word_start[ids] | ~prev_maskable)
    unit_of = np.where(maskable, np.cumsum(is_start) - 1, -1)
    starts = np.flatnonzero(is_start)
    lengths = np.bincount(unit_of[maskable], minlength=starts.size)
    return starts, lengths, unit_of


def prediction_budget(num_tokens: int, cfg: PretrainingDataConfig) -> int:
    """Pieces to predict: min(max_predictions_per_seq, max(1, round(num_tokens * masked_lm_prob)))."""
    # Python's round() (half to even), as Google's code gets under Python 3.
    return min(cfg.max_predictions_per_seq, max(1, int(round(num_tokens * cfg.masked_lm_prob))))


def mask_tokens(
    ids: Sequence[int],
    tokenizer_or_vocab_info: Any,
    cfg: Optional[PretrainingDataConfig] = None,
    rng: Optional[np.random.Generator] = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Whole-word n-gram masking of one sequence (special tokens included or not).

    Returns `(masked_ids, labels, spans)`:
      masked_ids  copy of `ids` with the chosen pieces replaced,
      labels      original id at chosen positions, -100 elsewhere,
      spans       chosen spans as (first unit, one past last unit) indices into
                  `word_units(ids)`, in the order they were chosen.

    Steps (Google's algorithm unless noted):
    1. units = `word_units(ids)`; special tokens are never candidates.
    2. budget = `prediction_budget(number of non-special pieces)`. Differs from
       Google, which counts [CLS] and both [SEP] too (`count_special_tokens=True`
       restores that); at T=128 both give 19 for a full sequence.
    3. Visit the units in a random order. At each, draw n with p(n) ∝ 1/n; a
       span running past the last unit is cut short there (as Google, whose
       slice simply ends). If the span's pieces exceed the budget left, try
       n-1, n-2, ..., 1 (as Google); if even that does not fit, skip it. Skip
       it too if it touches an already chosen unit (Google does not try a
       shorter n on overlap). Stop once the budget is used up.
       Spans may straddle the [SEP] between A and B, as in Google's code (the
       unit list is flat).
    4. Each chosen piece independently: 80 % [MASK], 10 % a random non-special
       id, 10 % left as is. (Differs from Google, which draws the random token
       from the whole vocabulary, <pad>, [CLS], ... included.)

    Because of the shorter-n fallback and the overlap rule, the accepted spans
    are somewhat shorter on average than p(n); the first span chosen in a
    sequence follows p(n) exactly (away from the end of the sequence).
    """
    cfg = cfg if cfg is not None else PretrainingDataConfig()
    rng = rng if rng is not None else np.random.default_rng()
    vocab = vocab_info(tokenizer_or_vocab_info, cfg.whole_word_rule)
    ids = np.asarray(ids, dtype=np.int64)
    masked = ids.copy()
    labels = np.full(ids.shape, IGNORE_INDEX, dtype=np.int64)
    starts, lengths, unit_of = _units(ids, vocab)
    num_units = int(starts.size)
    if num_units == 0 or cfg.masked_lm_prob == 0:
        return masked, labels, []

    num_tokens = int(lengths.sum())
    if cfg.count_special_tokens:
        num_tokens += int(np.count_nonzero((ids == vocab.cls_id) | (ids == vocab.sep_id)))
    budget = prediction_budget(num_tokens, cfg)

    order = rng.permutation(num_units).tolist()
    # One n per candidate start, drawn up front by inverting the CDF of p(n)
    # (much cheaper than Generator.choice with p=...).
    cdf = np.cumsum(cfg.ngram_probabilities())
    draws = (np.minimum(np.searchsorted(cdf, rng.random(num_units), side="right"), cfg.max_ngram - 1) + 1).tolist()
    cum = [0] + np.cumsum(lengths).tolist()  # pieces in units [a, b) = cum[b] - cum[a]
    covered = bytearray(num_units)
    used = 0
    spans: list[tuple[int, int]] = []
    for first, n in zip(order, draws):
        if used >= budget:
            break
        left = budget - used
        n = min(n, num_units - first)
        while n > 1 and cum[first + n] - cum[first] > left:
            n -= 1
        size = cum[first + n] - cum[first]
        if size > left or any(covered[first:first + n]):
            continue
        covered[first:first + n] = b"\x01" * n
        used += size
        spans.append((first, first + n))

    if not spans:
        return masked, labels, spans
    chosen = np.frombuffer(bytes(covered), dtype=np.uint8).astype(bool)
    positions = np.flatnonzero((unit_of >= 0) & chosen[np.maximum(unit_of, 0)])
    labels[positions] = ids[positions]
    u = rng.random(positions.size)
    replacements = vocab.random_ids[rng.integers(vocab.random_ids.size, size=positions.size)]
    masked[positions] = np.where(u < 0.8, vocab.mask_id, np.where(u < 0.9, ids[positions], replacements))
    return masked, labels, spans


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


# --------------------------------------------------------------------------- #
# Streaming                                                                    #
# --------------------------------------------------------------------------- #
class _ExampleStream:
    """Examples from a corpus file, one document at a time, resumable.

    Reading: the file is opened in binary mode and read with readline() only,
    keeping the byte offset of every document. At most `documents_buffer`
    tokenised documents are held (plus the one being turned into examples).

    Randomness: one numpy Generator. Per document, in this order: the pick from
    the shuffle buffer (if it holds more than one document), then every draw
    of `create_examples_from_document`.

    Exact resume: the saved state is the read offset, the offsets of the
    buffered documents and of the current document, the Generator's state
    just before the current document's examples were drawn, and how many of
    those examples were already handed out. Restoring seeks to those offsets,
    re-tokenises those few documents and regenerates the current document's
    examples, which leaves the Generator exactly where it was. This costs a
    few documents' work, not a replay of everything consumed.
    """

    def __init__(self, corpus: CorpusSource, tokenizer: Any, cfg: PretrainingDataConfig,
                 split: str, seed: int, epochs: Optional[int]) -> None:
        if split not in ("train", "eval"):
            raise ValueError("split must be 'train' or 'eval'")
        if split == "eval" and cfg.held_out <= 0:
            raise ValueError("split='eval' needs data_config.held_out > 0")
        if epochs is not None and epochs < 1:
            raise ValueError("epochs must be at least 1 (or None for endless)")
        self.corpus = corpus
        self.tokenizer = tokenizer
        self.vocab = vocab_info(tokenizer, cfg.whole_word_rule)
        self.cfg = cfg
        self.split = split
        self.seed = int(seed)
        self.epochs = epochs
        self._owns_file = isinstance(corpus, (str, os.PathLike))
        self._file: Optional[BinaryIO] = None
        self._need_seek = False
        self.rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.read_offset = 0
        self.eof = False
        self.docs_in_epoch = 0
        self.buffer: list[tuple[int, list[list[int]]]] = []
        self.doc_offset: Optional[int] = None
        self.doc_rng_state: Optional[dict] = None
        self.pending: list[dict[str, Any]] = []
        self.taken = 0
        self.examples_consumed = 0
        self.exhausted = False

    # ----- file access ---------------------------------------------------- #
    def _open(self) -> BinaryIO:
        """(Re)open the corpus at offset 0: a fresh open() for a path, seek(0)
        for a file object we were given."""
        self.close()
        if self._owns_file:
            self._file = open(self.corpus, "rb")  # type: ignore[arg-type]
        else:
            self._file = self.corpus  # type: ignore[assignment]
            self._file.seek(0)
        self._need_seek = False
        return self._file

    def close(self) -> None:
        if self._owns_file and self._file is not None:
            self._file.close()
        self._file = None

    def _readline(self) -> bytes:
        line = self._file.readline()  # type: ignore[union-attr]
        if not isinstance(line, bytes):
            raise TypeError("the corpus file object must be opened in binary mode ('rb')")
        return line

    def _read_lines_at(self, offset: int) -> list[str]:
        """The document starting at byte `offset` (used when restoring)."""
        self._file.seek(offset)  # type: ignore[union-attr]
        self._need_seek = True
        lines = []
        while True:
            line = self._readline()
            text = line.decode("utf-8", "replace").strip()
            if not text:
                return lines
            lines.append(text)

    def _read_document(self) -> Optional[tuple[int, list[str]]]:
        """Next document of our split as (byte offset, stripped lines), or None at EOF."""
        if self._need_seek:
            self._file.seek(self.read_offset)  # type: ignore[union-attr]
            self._need_seek = False
        while not self.eof:
            start, lines = self.read_offset, []
            while True:
                line = self._readline()
                if not line:
                    self.eof = True
                    break
                self.read_offset += len(line)
                text = line.decode("utf-8", "replace").strip()
                if text:
                    lines.append(text)
                elif lines:
                    break
                else:  # blank lines before the document
                    start = self.read_offset
            if lines and in_held_out(lines[0], self.cfg.held_out) == (self.split == "eval"):
                return start, lines
        return None

    def _tokenize(self, lines: list[str]) -> list[list[int]]:
        return [ids for ids in (tokenize_line(self.tokenizer, t) for t in lines) if ids]

    # ----- documents and examples ---------------------------------------- #
    def _fill_buffer(self) -> None:
        while len(self.buffer) < self.cfg.documents_buffer:
            doc = self._read_document()
            if doc is None:
                return
            segments = self._tokenize(doc[1])
            if segments:
                self.buffer.append((doc[0], segments))

    def _next_document(self) -> bool:
        if self._file is None:
            self._open()
        self._fill_buffer()
        if not self.buffer:  # this epoch is over
            if self.docs_in_epoch == 0:
                raise ValueError(f"the corpus has no documents in split {self.split!r}")
            if self.epochs is not None and self.epoch + 1 >= self.epochs:
                self.exhausted = True
                return False
            self.epoch += 1
            self.read_offset, self.eof, self.docs_in_epoch = 0, False, 0
            self._open()
            self._fill_buffer()
            if not self.buffer:
                raise ValueError(f"the corpus has no documents in split {self.split!r}")
        pick = int(self.rng.integers(len(self.buffer))) if len(self.buffer) > 1 else 0
        self.doc_offset, segments = self.buffer.pop(pick)
        self.docs_in_epoch += 1
        self.doc_rng_state = self.rng.bit_generator.state
        self.pending = create_examples_from_document(segments, self.vocab, self.cfg, self.rng)
        self.taken = 0
        return True

    def next_example(self) -> Optional[dict[str, Any]]:
        while self.taken >= len(self.pending):
            if self.exhausted or not self._next_document():
                return None
        example = self.pending[self.taken]
        self.taken += 1
        self.examples_consumed += 1
        return example

    # ----- resume --------------------------------------------------------- #
    def state_dict(self) -> dict[str, Any]:
        rng_state = self.doc_rng_state if self.doc_offset is not None else self.rng.bit_generator.state
        return {
            "epoch": self.epoch,
            "docs_in_epoch": self.docs_in_epoch,
            "read_offset": self.read_offset,
            "eof": self.eof,
            "buffer": [offset for offset, _ in self.buffer],
            "doc_offset": self.doc_offset,
            "taken": self.taken,
            "rng": _jsonable(rng_state),
            "examples_consumed": self.examples_consumed,
            "exhausted": self.exhausted,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._open()
        self.epoch = int(state["epoch"])
        self.docs_in_epoch = int(state["docs_in_epoch"])
        self.read_offset = int(state["read_offset"])
        self.eof = bool(state["eof"])
        self.examples_consumed = int(state["examples_consumed"])
        self.exhausted = bool(state["exhausted"])
        self.buffer = [(int(o), self._tokenize(self._read_lines_at(int(o)))) for o in state["buffer"]]
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        self.pending, self.taken = [], 0
        self.doc_offset, self.doc_rng_state = None, None
        if state["doc_offset"] is not None:
            self.doc_offset = int(state["doc_offset"])
            self.doc_rng_state = self.rng.bit_generator.state
            segments = self._tokenize(self._read_lines_at(self.doc_offset))
            self.pending = create_examples_from_document(segments, self.vocab, self.cfg, self.rng)
            self.taken = int(state["taken"])
        self._need_seek = True


def _jsonable(obj: Any) -> Any:
    """Copy of a (nested) bit-generator state with plain Python types."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def iter_examples(
    corpus: CorpusSource,
    tokenizer: Any,
    data_config: Optional[PretrainingDataConfig] = None,
    split: str = "train",
    seed: Optional[int] = None,
    epochs: Optional[int] = 1,
) -> Iterator[dict[str, Any]]:
    """Examples one by one (dicts of (T,) int64 arrays + an int SOP label).

    The same stream `PretrainingBatches` batches; `epochs=None` never ends.
    """
    cfg = data_config if data_config is not None else PretrainingDataConfig()
    stream = _ExampleStream(corpus, tokenizer, cfg, split, cfg.seed if seed is None else seed, epochs)
    try:
        while True:
            example = stream.next_example()
            if example is None:
                return
            yield example
    finally:
        stream.close()


_BATCH_KEYS = ("input_ids", "token_type_ids", "attention_mask", "labels")


def collate(examples: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Stack examples into (B, T) int64 arrays and a (B,) sentence_order_label."""
    batch = {k: np.stack([e[k] for e in examples]).astype(np.int64, copy=False) for k in _BATCH_KEYS}
    batch["sentence_order_label"] = np.array([e["sentence_order_label"] for e in examples], dtype=np.int64)
    return batch


class PretrainingBatches:
    """Endless (or `epochs`-long) MLM + SOP batches from a text corpus.

    >>> batches = PretrainingBatches("corpus.txt", tok, PretrainingDataConfig(), batch_size=32, seed=0)
    >>> batch = next(batches)          # input_ids, token_type_ids, attention_mask, labels: (32, 128)
    >>> state = batches.state_dict()   # small, JSON-serialisable
    >>> again = PretrainingBatches("corpus.txt", tok, PretrainingDataConfig(), batch_size=32, seed=0)
    >>> again.load_state_dict(state)   # continues with the very same batches

    The object is its own iterator: iterating again continues where it was.
    `corpus` is a path (re-opened every epoch) or a seekable binary file
    object (rewound every epoch). Batches run across epoch boundaries; with a
    finite `epochs`, the last batch may be short (dropped if `drop_last`).
    `split="eval"` reads only the held-out documents (`data_config.held_out`),
    `split="train"` only the others. `seed` defaults to `data_config.seed`.

    Resuming needs the same corpus, tokenizer, config, seed and split; the
    state counts examples, so a different batch_size also resumes at the same
    example.
    """

    def __init__(
        self,
        corpus_path: CorpusSource,
        tokenizer: Any,
        data_config: Optional[PretrainingDataConfig] = None,
        batch_size: int = 32,
        seed: Optional[int] = None,
        split: str = "train",
        epochs: Optional[int] = None,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.data_config = data_config if data_config is not None else PretrainingDataConfig()
        self.batch_size = int(batch_size)
        self.seed = self.data_config.seed if seed is None else int(seed)
        self.split = split
        self.drop_last = drop_last
        self.batches_consumed = 0
        self._stream = _ExampleStream(corpus_path, tokenizer, self.data_config, split, self.seed, epochs)

    @property
    def epoch(self) -> int:
        return self._stream.epoch

    @property
    def examples_consumed(self) -> int:
        return self._stream.examples_consumed

    def __iter__(self) -> "PretrainingBatches":
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        examples = []
        while len(examples) < self.batch_size:
            example = self._stream.next_example()
            if example is None:
                break
            examples.append(example)
        if not examples or (self.drop_last and len(examples) < self.batch_size):
            raise StopIteration
        self.batches_consumed += 1
        return collate(examples)

    def _fingerprint(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "seed": self.seed, "split": self.split,
                "config": asdict(self.data_config)}

    def state_dict(self) -> dict[str, Any]:
        """Where the stream stands, as a small JSON-serialisable dict."""
        return {**self._fingerprint(), "batches_consumed": self.batches_consumed, "stream": self._stream.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Jump to the position `state` describes (from `state_dict`)."""
        mine = self._fingerprint()
        for key, value in mine.items():
            if state.get(key) != value:
                raise ValueError(f"state was saved with {key}={state.get(key)!r}, this batcher has {value!r}")
        self._stream.load_state_dict(state["stream"])
        self.batches_consumed = int(state["batches_consumed"])

    def close(self) -> None:
        """Close the corpus file (only if we opened it)."""
        self._stream.close()

    def __enter__(self) -> "PretrainingBatches":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
