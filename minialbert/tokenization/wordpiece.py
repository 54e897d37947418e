"""`BertWordPieceTokenizer`: BERT's basic + WordPiece tokenizer over a `vocab.txt`.

brightmart's Chinese albert_zh checkpoints use it. The module also holds the
character-class helpers (whitespace, control, punctuation, CJK) of BERT's
basic tokenizer.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from ..io.errors import atomic_write
from .base import (
    MAX_VOCAB_BYTES,
    WORDPIECE_FILENAME,
    PathLike,
    _config_kwargs,
    _read_config,
    _TokenizerBase,
)

# Keys of tokenizer_config.json that our constructors understand.
_BERT_CONFIG_KEYS = ("do_lower_case", "strip_accents", "tokenize_chinese_chars", "model_max_length")


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
        if self.vocab_file.stat().st_size > MAX_VOCAB_BYTES:
            raise ValueError(f"{self.vocab_file}: {self.vocab_file.stat().st_size:,} bytes is not a WordPiece vocabulary")
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
        atomic_write(vocab_path, ["".join(t + "\n" for t in self.ids_to_tokens).encode("utf-8")])
        config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.do_lower_case,
            "strip_accents": self.strip_accents,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
            "model_max_length": self.model_max_length,
        }
        config_path = self._write_config(directory, config)
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
