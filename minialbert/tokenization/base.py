"""The HuggingFace-style call API that both minialbert tokenizers share.

`_TokenizerBase` holds everything that does not depend on how plain text
becomes tokens: special tokens, ids, pairs, truncation, padding and
`return_tensors="np"` (numpy is imported lazily, for that only), returned as a
`BatchEncoding`. This module also reads `tokenizer_config.json` and defines
the file names and the SentencePiece word-start marker used by the package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

from ..io.errors import atomic_write
from ..outputs import AttrDict

# SentencePiece marks "a new word starts here" with U+2581 (LOWER ONE EIGHTH BLOCK).
SPIECE_UNDERLINE = "\u2581"

TextInput = Union[str, Sequence[str]]
PathLike = Union[str, Path]

# Sentencepiece file names we look for in a directory, in order of preference:
# HuggingFace hub layout first, then the layout of Google's original tarballs.
SPM_FILENAMES = ("spiece.model", "30k-clean.model")
WORDPIECE_FILENAME = "vocab.txt"
CONFIG_FILENAME = "tokenizer_config.json"
MAX_VOCAB_BYTES = 256 << 20       # a vocabulary file bigger than this is not one (ALBERT's: 760 KB)

_TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")


class BatchEncoding(AttrDict):
    """Output of a tokenizer call: a dict that also allows `enc.input_ids`."""


# --------------------------------------------------------------------------- #
# Shared front-end: special tokens, ids, pairs, truncation, padding, tensors. #
# --------------------------------------------------------------------------- #
class _TokenizerBase:
    """Everything that does not depend on how plain text becomes tokens.

    Subclasses implement `_tokenize_plain` (text without special tokens ->
    tokens), `_token_to_id`, `_id_to_token`, `convert_tokens_to_string` and
    `vocab_size`.
    """

    # Special tokens whose left-hand whitespace they swallow ("a [MASK]" ->
    # "a" + "[MASK]"), as HF configures ALBERT's mask token (lstrip=True).
    _lstrip_special: frozenset[str] = frozenset()

    @staticmethod
    def _write_config(directory: Path, config: dict) -> Path:
        """tokenizer_config.json, written atomically (a crash leaves the old file or the new one)."""
        path = Path(directory) / CONFIG_FILENAME
        atomic_write(path, [(json.dumps(config, indent=2) + "\n").encode("utf-8")])
        return path

    def __init__(
        self,
        *,
        pad_token: str,
        unk_token: str,
        cls_token: str,
        sep_token: str,
        mask_token: str,
        model_max_length: int = 512,
    ) -> None:
        self.pad_token = pad_token
        self.unk_token = unk_token
        self.cls_token = cls_token
        self.sep_token = sep_token
        self.mask_token = mask_token
        self.model_max_length = model_max_length
        # Longest first, so that one special token that is a prefix of another
        # could never win over the longer one.
        specials = sorted(set(self.all_special_tokens), key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(re.escape(s) for s in specials) + ")")

    # ----- things the subclasses provide --------------------------------- #
    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def _tokenize_plain(self, text: str) -> list[str]:
        raise NotImplementedError

    def _token_to_id(self, token: str) -> int:
        raise NotImplementedError

    def _id_to_token(self, index: int) -> str:
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        raise NotImplementedError

    # ----- special tokens ------------------------------------------------- #
    @property
    def all_special_tokens(self) -> list[str]:
        """Special token strings, in HF's order (unk, sep, pad, cls, mask)."""
        return [self.unk_token, self.sep_token, self.pad_token, self.cls_token, self.mask_token]

    @property
    def all_special_ids(self) -> list[int]:
        return [self._token_to_id(t) for t in self.all_special_tokens]

    @property
    def pad_token_id(self) -> int:
        return self._token_to_id(self.pad_token)

    @property
    def unk_token_id(self) -> int:
        return self._token_to_id(self.unk_token)

    @property
    def cls_token_id(self) -> int:
        return self._token_to_id(self.cls_token)

    @property
    def sep_token_id(self) -> int:
        return self._token_to_id(self.sep_token)

    @property
    def mask_token_id(self) -> int:
        return self._token_to_id(self.mask_token)

    def __len__(self) -> int:
        return self.vocab_size

    # ----- text -> tokens -> ids ----------------------------------------- #
    def _split_special(self, text: str) -> list[tuple[str, bool]]:
        """Cut `text` around special tokens written in it.

        Returns (chunk, is_special) pairs. Matching is case-sensitive, so
        "[mask]" is ordinary text, as in HF. Each plain chunk is later
        tokenized on its own, which is why "[MASK]." yields a word-start
        piece before the "." (see AlbertTokenizer's docstring).
        """
        _check_unicode(text)
        out: list[tuple[str, bool]] = []
        for i, part in enumerate(self._special_re.split(text)):
            is_special = i % 2 == 1  # re.split with one group alternates text / match
            if is_special and part in self._lstrip_special and out and not out[-1][1]:
                stripped = out[-1][0].rstrip()
                if stripped:
                    out[-1] = (stripped, False)
                else:
                    out.pop()
            if part:
                out.append((part, is_special))
        return out

    def tokenize(self, text: str) -> list[str]:
        """Split `text` into vocabulary tokens (no [CLS]/[SEP] added)."""
        tokens: list[str] = []
        for chunk, is_special in self._split_special(text):
            if is_special:
                tokens.append(chunk)
            else:
                tokens.extend(self._tokenize_plain(chunk))
        return tokens

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Token string(s) to id(s); unknown tokens map to the unk id."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(t) for t in tokens]

    def convert_ids_to_tokens(
        self, ids: int | Iterable[int], skip_special_tokens: bool = False
    ) -> str | list[str]:
        """Id(s) to token string(s). Accepts numpy integers too."""
        if not isinstance(ids, Iterable):
            return self._checked_id_to_token(int(ids))
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._checked_id_to_token(int(i)) for i in ids if int(i) not in special]

    def _checked_id_to_token(self, index: int) -> str:
        if not 0 <= index < self.vocab_size:
            raise IndexError(f"token id {index} is outside the vocabulary (size {self.vocab_size})")
        return self._id_to_token(index)

    def decode(
        self,
        ids: Iterable[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool = False,
    ) -> str:
        """Ids back to text, as HF's slow tokenizers do it.

        `clean_up_tokenization_spaces` applies HF's English clean-up (" ." ->
        ".", " n't" -> "n't", ...); off by default here.
        """
        if hasattr(ids, "tolist"):  # numpy array
            ids = ids.tolist()
        tokens = self.convert_ids_to_tokens(list(ids), skip_special_tokens=skip_special_tokens)
        text = self.convert_tokens_to_string(tokens)
        if clean_up_tokenization_spaces:
            text = _clean_up_tokenization(text)
        return text

    # ----- sequences: special tokens and truncation ----------------------- #
    def build_inputs_with_special_tokens(
        self, ids: list[int], pair_ids: list[int] | None = None
    ) -> list[int]:
        """`[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`."""
        out = [self.cls_token_id] + ids + [self.sep_token_id]
        if pair_ids is not None:
            out += pair_ids + [self.sep_token_id]
        return out

    def create_token_type_ids(
        self, ids: list[int], pair_ids: list[int] | None = None, add_special_tokens: bool = True
    ) -> list[int]:
        """0 for `[CLS] A [SEP]`, 1 for `B [SEP]`."""
        extra = 2 if add_special_tokens else 0
        first = [0] * (len(ids) + extra)
        if pair_ids is None:
            return first
        return first + [1] * (len(pair_ids) + (1 if add_special_tokens else 0))

    def get_special_tokens_mask(self, ids: Sequence[int]) -> list[int]:
        """1 where `ids` (already with specials) holds a special token."""
        special = set(self.all_special_ids)
        return [1 if int(i) in special else 0 for i in ids]

    @staticmethod
    def num_special_tokens_to_add(pair: bool = False) -> int:
        return 3 if pair else 2

    @staticmethod
    def truncate_sequences(
        ids: list[int],
        pair_ids: list[int] | None,
        num_tokens_to_remove: int,
        strategy: str = "longest_first",
    ) -> tuple[list[int], list[int] | None]:
        """Drop `num_tokens_to_remove` tokens from the right end.

        "longest_first" removes one token at a time from whichever sequence is
        currently longer (the second one on a tie), exactly like HF's slow
        tokenizers. "only_first"/"only_second" cut one side and raise
        ValueError when that side is too short (HF only logs an error and
        returns an over-long input).
        """
        if num_tokens_to_remove <= 0:
            return ids, pair_ids
        if strategy == "longest_first":
            ids, pair_ids = list(ids), (list(pair_ids) if pair_ids is not None else None)
            for _ in range(num_tokens_to_remove):
                if pair_ids is None or len(ids) > len(pair_ids):
                    if not ids:
                        raise ValueError("cannot truncate: both sequences are empty")
                    ids.pop()
                else:
                    pair_ids.pop()
            return ids, pair_ids
        if strategy == "only_first":
            if len(ids) < num_tokens_to_remove:
                raise ValueError(
                    f"truncation='only_first' must remove {num_tokens_to_remove} tokens "
                    f"but the first sequence has only {len(ids)}"
                )
            return ids[: len(ids) - num_tokens_to_remove], pair_ids
        if strategy == "only_second":
            if pair_ids is None:
                raise ValueError("truncation='only_second' needs a text_pair")
            if len(pair_ids) < num_tokens_to_remove:
                raise ValueError(
                    f"truncation='only_second' must remove {num_tokens_to_remove} tokens "
                    f"but the second sequence has only {len(pair_ids)}"
                )
            return ids, pair_ids[: len(pair_ids) - num_tokens_to_remove]
        raise ValueError(f"unknown truncation strategy {strategy!r}; use one of {_TRUNCATION_STRATEGIES}")

    def _encode_one(
        self,
        text: str,
        text_pair: str | None,
        add_special_tokens: bool,
        truncation: str | None,
        max_length: int | None,
    ) -> dict[str, list[int]]:
        """One example: tokens -> ids -> truncated -> with special tokens."""
        ids = self.convert_tokens_to_ids(self.tokenize(text))
        pair_ids = self.convert_tokens_to_ids(self.tokenize(text_pair)) if text_pair is not None else None
        if truncation is not None and max_length is not None:
            n_special = self.num_special_tokens_to_add(pair_ids is not None) if add_special_tokens else 0
            budget = max_length - n_special
            if budget < 0:
                raise ValueError(
                    f"max_length={max_length} cannot even hold the {n_special} special tokens"
                )
            total = len(ids) + (len(pair_ids) if pair_ids is not None else 0)
            ids, pair_ids = self.truncate_sequences(ids, pair_ids, total - budget, truncation)
        if add_special_tokens:
            input_ids = self.build_inputs_with_special_tokens(ids, pair_ids)
        else:
            input_ids = ids + (pair_ids or [])
        return {
            "input_ids": input_ids,
            "token_type_ids": self.create_token_type_ids(ids, pair_ids, add_special_tokens),
            "attention_mask": [1] * len(input_ids),
        }

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        add_special_tokens: bool = True,
        truncation: bool | str | None = None,
        max_length: int | None = None,
    ) -> list[int]:
        """Text (and optional pair) to a flat list of ids."""
        strategy, max_length = self._resolve_truncation(truncation, max_length, padding=False)
        return self._encode_one(text, text_pair, add_special_tokens, strategy, max_length)["input_ids"]

    # ----- the HF-style call --------------------------------------------- #
    def _resolve_truncation(
        self, truncation: bool | str | None, max_length: int | None, padding: bool | str
    ) -> tuple[str | None, int | None]:
        """Map HF's truncation arguments to (strategy or None, max_length)."""
        if truncation is None:
            # HF: a max_length with neither padding nor truncation asked for
            # means "truncate to it" (HF also prints a warning).
            truncation = max_length is not None and padding in (False, None, "do_not_pad")
        if truncation is False or truncation == "do_not_truncate":
            return None, max_length
        strategy = "longest_first" if truncation is True else truncation
        if strategy not in _TRUNCATION_STRATEGIES:
            raise ValueError(f"unknown truncation {truncation!r}; use True/False or one of {_TRUNCATION_STRATEGIES}")
        if max_length is None:
            max_length = self.model_max_length
        return strategy, max_length

    def __call__(
        self,
        text: TextInput,
        text_pair: TextInput | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool = True,
        return_attention_mask: bool = True,
    ) -> BatchEncoding:
        """Encode one text / pair, or a batch of them, HF style.

        A single string gives lists of ints; a list of strings gives lists of
        lists. `padding` True/"longest" pads to the longest in the batch,
        "max_length" to `max_length` (or `model_max_length`); padding is on the
        right with the pad id, attention_mask 0 and token_type_id 0.
        `return_tensors="np"` returns int64 arrays of shape (batch, seq).
        """
        batched = not isinstance(text, str)
        if batched:
            texts = list(text)
            if text_pair is None:
                pairs: list[str | None] = [None] * len(texts)
            elif isinstance(text_pair, str):
                raise ValueError("text is a batch (list) but text_pair is a single string; pass a list of the same length")
            else:
                pairs = list(text_pair)
                if len(pairs) != len(texts):
                    raise ValueError(f"got {len(texts)} texts but {len(pairs)} text_pairs")
        else:
            if text_pair is not None and not isinstance(text_pair, str):
                raise ValueError("text is a single string, so text_pair must be a single string too")
            texts, pairs = [text], [text_pair]
        for t in texts + [p for p in pairs if p is not None]:
            if not isinstance(t, str):
                raise TypeError(f"expected str inputs, got {type(t).__name__}")

        strategy, max_length = self._resolve_truncation(truncation, max_length, padding)
        rows = [self._encode_one(t, p, add_special_tokens, strategy, max_length) for t, p in zip(texts, pairs)]
        self._pad(rows, padding, max_length)

        keys = ["input_ids"]
        if return_token_type_ids:
            keys.append("token_type_ids")
        if return_attention_mask:
            keys.append("attention_mask")
        out = BatchEncoding({k: [row[k] for row in rows] for k in keys})

        if return_tensors is not None:
            # HF adds the batch axis even for a single text.
            return BatchEncoding({k: _to_numpy(v, k, return_tensors) for k, v in out.items()})
        if not batched:
            out = BatchEncoding({k: v[0] for k, v in out.items()})
        return out

    def _pad(self, rows: list[dict[str, list[int]]], padding: bool | str, max_length: int | None) -> None:
        """Right-pad every row in place according to HF's `padding` argument."""
        if padding in (False, None, "do_not_pad"):
            return
        if padding is True or padding == "longest":
            target = max(len(r["input_ids"]) for r in rows)
        elif padding == "max_length":
            target = max_length if max_length is not None else self.model_max_length
        else:
            raise ValueError(f"unknown padding {padding!r}; use True/False, 'longest' or 'max_length'")
        for row in rows:
            missing = target - len(row["input_ids"])
            if missing > 0:  # longer rows stay as they are, as in HF
                row["input_ids"] += [self.pad_token_id] * missing
                row["token_type_ids"] += [0] * missing
                row["attention_mask"] += [0] * missing


def _to_numpy(rows: list[list[int]], name: str, return_tensors: str) -> Any:
    if return_tensors != "np":
        raise ValueError(f"return_tensors={return_tensors!r} is not supported; minialbert only has 'np'")
    import numpy as np  # lazy: the tokenizer itself does not need numpy

    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(
            f"cannot stack '{name}' into one array: sequence lengths differ ({sorted(lengths)}); "
            "pass padding=True (or padding='max_length') together with return_tensors='np'"
        )
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), -1)


def _check_unicode(text: str) -> None:
    """Refuse a text holding a lone surrogate (what undecodable input bytes become under Python's
    surrogateescape, e.g. invalid UTF-8 on stdin): it is not Unicode, no tokenizer can encode it, and HF's
    tokenizers fail on it too (sentencepiece with a bare C++ cast error)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        around = text[max(0, e.start - 20):e.start + 20]
        where = f"text {around!r}" + (" (an excerpt)" if len(around) < len(text) else "")
        raise ValueError(f"{where}: character {e.start} ({text[e.start]!r}) is a lone surrogate, not valid Unicode "
                         "(undecodable bytes in the input, e.g. text that is not UTF-8?)") from None


def _clean_up_tokenization(text: str) -> str:
    """HF's English detokenisation clean-up (spaces before punctuation etc.)."""
    for before, after in [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
        (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ]:
        text = text.replace(before, after)
    return text


_BOOL_OPTIONS = ("do_lower_case", "remove_space", "keep_accents", "tokenize_chinese_chars")
MAX_CONFIG_BYTES = 16 << 20


def _read_config(directory: Path) -> dict[str, Any]:
    """tokenizer_config.json beside the vocabulary, if there is one (a directory or a FIFO of that name is
    ignored, as a missing file), checked: a JSON object, its options of the right types."""
    path = directory / CONFIG_FILENAME
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError(f"{path.stat().st_size:,} bytes is not a tokenizer config")
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"could not read tokenizer config {path}: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"tokenizer config {path}: expected a JSON object, found {type(config).__name__}")
    for key in _BOOL_OPTIONS:
        if key in config and not isinstance(config[key], bool):
            raise ValueError(f"tokenizer config {path}: {key} is {config[key]!r}, expected true or false")
    if "strip_accents" in config and config["strip_accents"] not in (None, True, False):
        raise ValueError(f"tokenizer config {path}: strip_accents is {config['strip_accents']!r}, "
                         "expected true, false or null")
    return config


def _config_kwargs(config: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    kwargs = {k: config[k] for k in keys if k in config}
    # HF writes a huge sentinel (1e30) when a model has no length limit.
    if "model_max_length" in kwargs and (
        not isinstance(kwargs["model_max_length"], int) or kwargs["model_max_length"] > 10**9
    ):
        del kwargs["model_max_length"]
    return kwargs
