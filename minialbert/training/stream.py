"""Streaming examples from a corpus file, resumable at the exact example.

`PretrainingBatches` (and `iter_examples`) read the file line by line without
ever holding the corpus in memory, keep at most `documents_buffer` documents
(a shuffle buffer), turn each document into examples (`examples.py`), and can
save and restore their exact position (`state_dict` / `load_state_dict`).
Everything runs on the host in NumPy; batches are int64 NumPy arrays that the
training loop moves to the device.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any, BinaryIO, Iterator, Optional, Union

import numpy as np

from .examples import collate, create_examples_from_document, in_held_out, split_long_line, tokenize_line
from .masking import PretrainingDataConfig, vocab_info

STATE_VERSION = 1

CorpusSource = Union[str, "os.PathLike[str]", BinaryIO]


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
        self.examples_in_epoch = 0   # only to detect a corpus that yields nothing (not part of the state)
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
        return [ids for ids in (tokenize_line(self.tokenizer, t) for line in lines for t in split_long_line(line))
                if ids]

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
            if self.examples_in_epoch == 0:   # documents, but none long enough for an example: never loop on
                raise ValueError(f"{self.corpus}: no document of split {self.split!r} yields a training example "
                                 "(a document needs at least two lines, or one line that can be cut, of more than "
                                 "a few pieces); add text")
            if self.epochs is not None and self.epoch + 1 >= self.epochs:
                self.exhausted = True
                return False
            self.epoch += 1
            self.read_offset, self.eof, self.docs_in_epoch = 0, False, 0
            self._open()
            self._fill_buffer()
            if not self.buffer:
                raise ValueError(f"the corpus has no documents in split {self.split!r}")
        if self.docs_in_epoch == 0:
            self.examples_in_epoch = 0
        pick = int(self.rng.integers(len(self.buffer))) if len(self.buffer) > 1 else 0
        self.doc_offset, segments = self.buffer.pop(pick)
        self.docs_in_epoch += 1
        self.doc_rng_state = self.rng.bit_generator.state
        self.pending = create_examples_from_document(segments, self.vocab, self.cfg, self.rng)
        self.examples_in_epoch += len(self.pending)
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
        self.examples_in_epoch = 1 if self.examples_consumed > 0 else len(self.pending)
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
