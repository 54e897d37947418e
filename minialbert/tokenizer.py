"""Tokenizers for minialbert, written from scratch.

Two tokenizers share one encoding front-end (`_TokenizerBase`):

* `AlbertTokenizer` - the English ALBERT checkpoints: a SentencePiece model
  (`spiece.model` / `30k-clean.model`) plus the small amount of pre- and
  post-processing the original release did around it.
* `BertWordPieceTokenizer` - brightmart's Chinese albert_zh checkpoints, which
  reuse BERT's `vocab.txt` and BERT's basic + WordPiece tokenizer.

The call signature (`tok(texts, text_pair, padding=..., truncation=...,
max_length=..., return_tensors="np")`) mirrors the HuggingFace "slow"
tokenizers so code written against `transformers` reads the same here.
`load_tokenizer(path)` picks the right class from the files on disk.

Only the standard library and `sentencepiece` are needed; numpy is imported
lazily, for `return_tensors="np"` only.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

# SentencePiece marks "a new word starts here" with U+2581 (LOWER ONE EIGHTH BLOCK).
SPIECE_UNDERLINE = "\u2581"

TextInput = Union[str, Sequence[str]]
PathLike = Union[str, Path]

# Sentencepiece file names we look for in a directory, in order of preference:
# HuggingFace hub layout first, then the layout of Google's original tarballs.
SPM_FILENAMES = ("spiece.model", "30k-clean.model")
WORDPIECE_FILENAME = "vocab.txt"
CONFIG_FILENAME = "tokenizer_config.json"

_TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")


class BatchEncoding(dict):
    """Output of a tokenizer call: a dict that also allows `enc.input_ids`."""

    def __getattr__(self, name: str) -> Any:
        # Only consulted when normal attribute lookup fails; dunder names must
        # raise AttributeError so that copy/pickle keep working.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


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


def _clean_up_tokenization(text: str) -> str:
    """HF's English detokenisation clean-up (spaces before punctuation etc.)."""
    for before, after in [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
        (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ]:
        text = text.replace(before, after)
    return text


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILENAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"could not read tokenizer config {path}: {err}") from err


# Keys of tokenizer_config.json that our constructors understand.
_ALBERT_CONFIG_KEYS = ("do_lower_case", "keep_accents", "remove_space", "model_max_length")
_BERT_CONFIG_KEYS = ("do_lower_case", "strip_accents", "tokenize_chinese_chars", "model_max_length")


def _config_kwargs(config: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    kwargs = {k: config[k] for k in keys if k in config}
    # HF writes a huge sentinel (1e30) when a model has no length limit.
    if "model_max_length" in kwargs and (
        not isinstance(kwargs["model_max_length"], int) or kwargs["model_max_length"] > 10**9
    ):
        del kwargs["model_max_length"]
    return kwargs


# --------------------------------------------------------------------------- #
# ALBERT / SentencePiece                                                       #
# --------------------------------------------------------------------------- #
class AlbertTokenizer(_TokenizerBase):
    """The classic ALBERT tokenizer over a SentencePiece model.

    Plain text goes through, in order:

    1. whitespace runs collapsed to one space and the ends stripped
       (`remove_space`), then ``` `` ``` and `''` replaced by `"`;
    2. NFKD + combining marks dropped (unless `keep_accents`), lowercased
       (unless `do_lower_case=False`);
    3. SentencePiece encoding to pieces;
    4. the digit-comma fix: a piece ending in "<digit>," (the vocabulary has
       "▁9,", "▁1990,", ...) is re-encoded without the comma and "," appended
       as a piece of its own, so "in 1990, the" -> "▁in ▁1990 , ▁the".

    Special tokens written in the text ([MASK], [CLS], [SEP], <pad>, <unk>)
    are cut out before step 1 and each remaining chunk is tokenized on its
    own. [MASK] swallows the whitespace on its left. The chunk after a special
    token starts a fresh SentencePiece sequence, so "a [MASK]." ends in
    "[MASK] ▁ ." (ids 4, 13, 9). HF's slow and fast tokenizers both do this
    (see the "Test sentence with [MASK]." vector in the shared test data), so
    fill-mask inputs match what HF's pipeline feeds the model.
    """

    _lstrip_special = frozenset({"[MASK]"})

    def __init__(
        self,
        model_file: PathLike,
        do_lower_case: bool = True,
        remove_space: bool = True,
        keep_accents: bool = False,
        model_max_length: int = 512,
    ) -> None:
        import sentencepiece as spm  # imported here so BertWordPieceTokenizer works without it

        self.model_file = Path(model_file)
        if not self.model_file.is_file():
            raise FileNotFoundError(f"SentencePiece model not found: {self.model_file}")
        data = self.model_file.read_bytes()
        self.sp = spm.SentencePieceProcessor()
        try:
            # Load from bytes: sentencepiece's own error for a bad file is a
            # bare RuntimeError without the path, and some versions mis-handle
            # non-ASCII paths.
            self.sp.LoadFromSerializedProto(data)
        except Exception as err:  # sentencepiece raises RuntimeError / OSError
            raise ValueError(
                f"{self.model_file} is not a valid SentencePiece model (is the file corrupt or "
                f"truncated?): {err}"
            ) from err
        self.do_lower_case = do_lower_case
        self.remove_space = remove_space
        self.keep_accents = keep_accents
        super().__init__(
            pad_token="<pad>",
            unk_token="<unk>",
            cls_token="[CLS]",
            sep_token="[SEP]",
            mask_token="[MASK]",
            model_max_length=model_max_length,
        )
        # Ids are read from the model rather than assumed (0..4 for ALBERT).
        unk_id = self.sp.unk_id()
        for token in self.all_special_tokens:
            if token != self.unk_token and self.sp.piece_to_id(token) == unk_id:
                raise ValueError(f"{self.model_file} has no piece {token!r}; is it an ALBERT SentencePiece model?")

    @classmethod
    def from_pretrained(cls, path: PathLike, **kwargs: Any) -> "AlbertTokenizer":
        """Load from a directory (spiece.model or 30k-clean.model) or a .model file.

        `tokenizer_config.json` next to the model, if present, supplies
        do_lower_case / keep_accents / remove_space / model_max_length;
        keyword arguments override it.
        """
        path = Path(path)
        if path.is_dir():
            model_file = next((path / n for n in SPM_FILENAMES if (path / n).is_file()), None)
            if model_file is None:
                raise FileNotFoundError(
                    f"no SentencePiece model in {path}: looked for {' or '.join(SPM_FILENAMES)}"
                )
        elif path.is_file():
            model_file = path
        else:
            raise FileNotFoundError(f"{path} does not exist (expected a directory holding "
                                    f"{' or '.join(SPM_FILENAMES)}, or a .model file)")
        options = _config_kwargs(_read_config(model_file.parent), _ALBERT_CONFIG_KEYS)
        options.update(kwargs)
        return cls(model_file, **options)

    def save_pretrained(self, directory: PathLike) -> tuple[str, str]:
        """Write spiece.model and tokenizer_config.json into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        model_path = directory / "spiece.model"
        model_path.write_bytes(self.sp.serialized_model_proto())
        config = {
            "tokenizer_class": "AlbertTokenizer",
            "do_lower_case": self.do_lower_case,
            "remove_space": self.remove_space,
            "keep_accents": self.keep_accents,
            "model_max_length": self.model_max_length,
            "unk_token": self.unk_token,
            "pad_token": self.pad_token,
            "cls_token": self.cls_token,
            "sep_token": self.sep_token,
            "mask_token": self.mask_token,
        }
        config_path = directory / CONFIG_FILENAME
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return str(model_path), str(config_path)

    # ----- vocabulary ----------------------------------------------------- #
    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def _token_to_id(self, token: str) -> int:
        return self.sp.piece_to_id(token)  # unknown pieces -> unk id

    def _id_to_token(self, index: int) -> str:
        return self.sp.id_to_piece(index)

    # ----- text -> pieces ------------------------------------------------- #
    def preprocess_text(self, text: str) -> str:
        """Steps 1-2 of the class docstring."""
        if self.remove_space:
            text = " ".join(text.split())
        text = text.replace("``", '"').replace("''", '"')
        if not self.keep_accents:
            text = unicodedata.normalize("NFKD", text)
            text = "".join(c for c in text if not unicodedata.combining(c))
        if self.do_lower_case:
            text = text.lower()
        return text

    def _tokenize_plain(self, text: str) -> list[str]:
        pieces: list[str] = []
        for piece in self.sp.encode(self.preprocess_text(text), out_type=str):
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                pieces.extend(self._split_digit_comma(piece))
            else:
                pieces.append(piece)
        return pieces

    def _split_digit_comma(self, piece: str) -> list[str]:
        """"▁1990," -> ["▁1990", ","].

        The original ALBERT code keeps a comma after a number as its own
        token, presumably so numbers look the same at the end of a clause
        as elsewhere. The number is re-encoded from scratch (it may split
        differently once the comma is gone). Re-encoding adds SentencePiece's
        word-start marker; if the original piece was a word continuation
        (no leading "▁") that marker is removed again.
        """
        sub = self.sp.encode(piece[:-1].replace(SPIECE_UNDERLINE, ""), out_type=str)
        if sub and not piece.startswith(SPIECE_UNDERLINE) and sub[0].startswith(SPIECE_UNDERLINE):
            rest = sub[0][1:]
            sub = ([rest] if rest else []) + sub[1:]
        return sub + [","]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Pieces joined, "▁" -> space, stripped (HF slow ALBERT behaviour).

        Special tokens are glued on without spaces of their own, which is why
        HF's fill-mask pipeline printed "[CLS] hello i'm a modeling model.[SEP]".
        """
        return "".join(tokens).replace(SPIECE_UNDERLINE, " ").strip()


# --------------------------------------------------------------------------- #
# BERT WordPiece (brightmart albert_zh)                                        #
# --------------------------------------------------------------------------- #
def _is_whitespace(char: str) -> bool:
    if char in " \t\n\r":
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    # \t \n \r are whitespace to BERT, not control characters.
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char: str) -> bool:
    cp = ord(char)
    # BERT treats every non-alphanumeric printable ASCII char ("$", "^", "`",
    # ...) as punctuation even where Unicode calls it a symbol.
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(cp: int) -> bool:
    """CJK Unified Ideographs blocks (not Hangul or kana, which use spaces)."""
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class BertWordPieceTokenizer(_TokenizerBase):
    """BERT's basic + WordPiece tokenizer over a `vocab.txt` (brightmart albert_zh).

    Basic step: drop control characters, map whitespace to spaces, put spaces
    around every CJK character, split on whitespace, lowercase and strip
    accents (when `do_lower_case`), split off punctuation. WordPiece step:
    greedy longest-match-first against the vocabulary, continuation pieces
    prefixed "##"; a word with no full match, or longer than
    `max_input_chars_per_word`, becomes [UNK].
    """

    def __init__(
        self,
        vocab_file: PathLike,
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        max_input_chars_per_word: int = 100,
        model_max_length: int = 512,
    ) -> None:
        self.vocab_file = Path(vocab_file)
        if not self.vocab_file.is_file():
            raise FileNotFoundError(f"WordPiece vocabulary not found: {self.vocab_file}")
        try:
            with open(self.vocab_file, encoding="utf-8") as f:
                # One token per line, id = line number. Strip only the newline
                # (not all whitespace, nor split on exotic Unicode line breaks
                # as str.splitlines would): odd characters can be tokens.
                self.ids_to_tokens: list[str] = [line.rstrip("\n") for line in f]
        except UnicodeDecodeError as err:
            raise ValueError(f"{self.vocab_file} is not a UTF-8 text vocabulary: {err}") from err
        self.vocab: dict[str, int] = {}
        for index, token in enumerate(self.ids_to_tokens):
            self.vocab.setdefault(token, index)
        self.do_lower_case = do_lower_case
        # HF: strip_accents=None means "follow do_lower_case".
        self.strip_accents = do_lower_case if strip_accents is None else strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.max_input_chars_per_word = max_input_chars_per_word
        super().__init__(
            pad_token="[PAD]",
            unk_token="[UNK]",
            cls_token="[CLS]",
            sep_token="[SEP]",
            mask_token="[MASK]",
            model_max_length=model_max_length,
        )
        missing = [t for t in self.all_special_tokens if t not in self.vocab]
        if missing:
            raise ValueError(f"{self.vocab_file} lacks the special tokens {missing}")

    @classmethod
    def from_pretrained(cls, path: PathLike, **kwargs: Any) -> "BertWordPieceTokenizer":
        """Load from a directory holding vocab.txt (or the vocab.txt path itself)."""
        path = Path(path)
        vocab_file = path / WORDPIECE_FILENAME if path.is_dir() else path
        if not vocab_file.is_file():
            raise FileNotFoundError(f"no WordPiece vocabulary: looked for {vocab_file}")
        options = _config_kwargs(_read_config(vocab_file.parent), _BERT_CONFIG_KEYS)
        options.update(kwargs)
        return cls(vocab_file, **options)

    def save_pretrained(self, directory: PathLike) -> tuple[str, str]:
        """Write vocab.txt and tokenizer_config.json into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vocab_path = directory / WORDPIECE_FILENAME
        vocab_path.write_text("".join(t + "\n" for t in self.ids_to_tokens), encoding="utf-8")
        config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.do_lower_case,
            "strip_accents": self.strip_accents,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
            "model_max_length": self.model_max_length,
        }
        config_path = directory / CONFIG_FILENAME
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return str(vocab_path), str(config_path)

    @property
    def vocab_size(self) -> int:
        return len(self.ids_to_tokens)

    def _token_to_id(self, token: str) -> int:
        return self.vocab.get(token, self.vocab[self.unk_token])

    def _id_to_token(self, index: int) -> str:
        return self.ids_to_tokens[index]

    # ----- basic tokenizer ------------------------------------------------ #
    def _clean_text(self, text: str) -> str:
        out = []
        for char in text:
            if ord(char) == 0 or ord(char) == 0xFFFD or _is_control(char):
                continue
            out.append(" " if _is_whitespace(char) else char)
        return "".join(out)

    def basic_tokenize(self, text: str) -> list[str]:
        """Text -> words and single punctuation marks / CJK characters."""
        text = self._clean_text(text)
        if self.tokenize_chinese_chars:
            text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
        words: list[str] = []
        for word in text.split():
            if self.do_lower_case:
                word = word.lower()
            if self.strip_accents:
                word = "".join(
                    c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn"
                )
            words.extend(self._split_punctuation(word))
        return words

    @staticmethod
    def _split_punctuation(word: str) -> list[str]:
        parts: list[str] = []
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    parts.append(current)
                parts.append(char)
                current = ""
            else:
                current += char
        if current:
            parts.append(current)
        return parts

    # ----- WordPiece ------------------------------------------------------ #
    def wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first split of one word into vocabulary pieces."""
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = len(word)
            match = None
            while start < end:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.vocab:
                    match = candidate
                    break
                end -= 1
            if match is None:
                # BERT maps the whole word to [UNK], not just the failing tail.
                return [self.unk_token]
            pieces.append(match)
            start = end
        return pieces

    def _tokenize_plain(self, text: str) -> list[str]:
        return [piece for word in self.basic_tokenize(text) for piece in self.wordpiece(word)]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Tokens joined by spaces, "##" continuations glued back (HF BERT)."""
        return " ".join(tokens).replace(" ##", "").strip()


# --------------------------------------------------------------------------- #
def load_tokenizer(path: PathLike, **kwargs: Any) -> AlbertTokenizer | BertWordPieceTokenizer:
    """Pick the tokenizer that matches the files at `path`.

    A SentencePiece model (spiece.model / 30k-clean.model, or any `.model`
    file) means the English ALBERT tokenizer; a `vocab.txt` means the
    WordPiece tokenizer of the Chinese albert_zh models. SentencePiece wins if
    a directory has both.
    """
    path = Path(path)
    if path.is_file():
        if path.name == WORDPIECE_FILENAME or path.suffix == ".txt":
            return BertWordPieceTokenizer.from_pretrained(path, **kwargs)
        return AlbertTokenizer.from_pretrained(path, **kwargs)
    if not path.is_dir():
        raise FileNotFoundError(f"tokenizer path {path} does not exist")
    if any((path / n).is_file() for n in SPM_FILENAMES):
        return AlbertTokenizer.from_pretrained(path, **kwargs)
    if (path / WORDPIECE_FILENAME).is_file():
        return BertWordPieceTokenizer.from_pretrained(path, **kwargs)
    raise FileNotFoundError(
        f"no tokenizer files in {path}: looked for {', '.join(SPM_FILENAMES)} (SentencePiece) "
        f"and {WORDPIECE_FILENAME} (WordPiece)"
    )
