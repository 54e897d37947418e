"""`AlbertTokenizer`: the English ALBERT tokenizer over a SentencePiece model.

It reads `spiece.model` / `30k-clean.model` and applies the pre- and
post-processing that the original ALBERT release did around SentencePiece.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from ..hub import resolve
from ..io.errors import atomic_write
from .base import (
    MAX_VOCAB_BYTES,
    SPIECE_UNDERLINE,
    SPM_FILENAMES,
    PathLike,
    _config_kwargs,
    _read_config,
    _TokenizerBase,
)

# Keys of tokenizer_config.json that our constructors understand.
_ALBERT_CONFIG_KEYS = ("do_lower_case", "keep_accents", "remove_space", "model_max_length")


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
        if self.model_file.stat().st_size > MAX_VOCAB_BYTES:   # ALBERT's is 760 KB; the largest, a few MB
            raise ValueError(f"{self.model_file}: {self.model_file.stat().st_size:,} bytes is not a SentencePiece model")
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
        keyword arguments override it. A name (a released ALBERT, a Hub repo id, the bundled model)
        is resolved as the models' from_pretrained resolves it (hub.resolve).
        """
        path = resolve(path)
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
        atomic_write(model_path, [self.sp.serialized_model_proto()])
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
        config_path = self._write_config(directory, config)
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
