"""Paper §4.1 masking: which pieces of an example become masked-LM targets.

`PretrainingDataConfig` (how examples are cut and masked), the per-vocabulary
tables masking needs (`VocabInfo`: special ids, whole-word starts), the
prediction budget, and `mask_tokens`: whole-word n-grams (n <= max_ngram,
p(n) ∝ 1/n) until about 15 % of the pieces are chosen, then 80 % [MASK],
10 % a random id, 10 % unchanged. Follows Google's
`create_pretraining_data.py` except where noted "Differs from Google".
"""

from __future__ import annotations

import string
import weakref
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..ops.losses import IGNORE_INDEX
from ..tokenization import SPIECE_UNDERLINE


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
