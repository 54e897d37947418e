"""minialbert's tokenizers, written from scratch, and `load_tokenizer`.

`AlbertTokenizer` (SentencePiece, English ALBERT) and `BertWordPieceTokenizer`
(WordPiece, Chinese albert_zh) share one HuggingFace-style call API
(`tok(texts, text_pair, padding=..., truncation=..., max_length=...,
return_tensors="np")`); `load_tokenizer(path)` picks the class from the files
on disk.
"""

from __future__ import annotations

from typing import Any

from ..hub import resolve
from .base import (
    CONFIG_FILENAME,
    SPIECE_UNDERLINE,
    SPM_FILENAMES,
    WORDPIECE_FILENAME,
    BatchEncoding,
    PathLike,
)
from .sentencepiece import AlbertTokenizer
from .wordpiece import BertWordPieceTokenizer

__all__ = [
    "AlbertTokenizer",
    "BertWordPieceTokenizer",
    "BatchEncoding",
    "load_tokenizer",
    "SPIECE_UNDERLINE",
    "SPM_FILENAMES",
    "WORDPIECE_FILENAME",
    "CONFIG_FILENAME",
]


def load_tokenizer(path: PathLike, **kwargs: Any) -> AlbertTokenizer | BertWordPieceTokenizer:
    """Pick the tokenizer that matches the files at `path`.

    A SentencePiece model (spiece.model / 30k-clean.model, or any `.model`
    file) means the English ALBERT tokenizer; a `vocab.txt` means the
    WordPiece tokenizer of the Chinese albert_zh models. SentencePiece wins if
    a directory has both. A name is resolved as for models (hub.resolve: released ALBERTs, Hub repo
    ids, the bundled model).
    """
    path = resolve(path)
    if path.is_file():
        if path.name == WORDPIECE_FILENAME or path.suffix == ".txt":
            return BertWordPieceTokenizer.from_pretrained(path, **kwargs)
        return AlbertTokenizer.from_pretrained(path, **kwargs)
    if not path.is_dir():
        raise FileNotFoundError(f"tokenizer path {path} " + ("is neither a regular file nor a directory"
                                                              if path.exists() else "does not exist"))
    if any((path / n).is_file() for n in SPM_FILENAMES):
        return AlbertTokenizer.from_pretrained(path, **kwargs)
    if (path / WORDPIECE_FILENAME).is_file():
        return BertWordPieceTokenizer.from_pretrained(path, **kwargs)
    raise FileNotFoundError(
        f"no tokenizer files in {path}: looked for {', '.join(SPM_FILENAMES)} (SentencePiece) "
        f"and {WORDPIECE_FILENAME} (WordPiece)"
    )
