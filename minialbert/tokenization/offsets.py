"""Character offsets of SentencePiece tokens: which characters of the original text each piece came from.

The classic ALBERT tokenizer returns pieces of the *preprocessed* text (whitespace collapsed, ``/'' -> ",
NFKD with accents dropped, lower-cased; see AlbertTokenizer), so `tokenize_with_offsets` redoes that
preprocessing one character at a time, remembering for every output character the span of input
characters it came from, then walks the pieces along the preprocessed text:

    >>> tokenize_with_offsets(tok, "Hello   Wörld!")
    (['▁hello', '▁world', '!'], [(0, 5), (8, 13), (13, 14)])

As HF's fast tokenizers report them: a piece's span leaves out the space its "▁" stands for; special
tokens written in the text ([MASK], ...) get their own span.

Approximations (documented, rarely met in practice):
  * lower-casing is done per character, so a final Greek sigma ("Σ" at a word end, which str.lower turns
    into "ς") would not match; when the per-character text differs from `preprocess_text`, or
    SentencePiece's own normalisation changes a character (it rarely can: the text is already NFKD),
    spans fall back to advancing one preprocessed character per piece character (clamped to the text);
  * a "``" or "''" replaced by '"' maps back to both characters (HF reports odd spans for these);
  * a bare "▁" piece (SentencePiece splits "▁" off some unknown characters) has an empty span at the
    start of what follows it.
"""
from __future__ import annotations

import unicodedata
from typing import List, Tuple

from .base import SPIECE_UNDERLINE

Span = Tuple[int, int]


def _aligned_preprocess(tok, text: str) -> Tuple[str, List[Span]]:
    """AlbertTokenizer.preprocess_text(text), and for each output character its input span."""
    out: List[str] = []
    spans: List[Span] = []
    units: List[Tuple[str, Span]] = []           # after whitespace handling and the quote replacement
    n = len(text)
    if tok.remove_space:
        i, words = 0, []
        while i < n:
            if text[i].isspace():
                i += 1
                continue
            j = i
            while j < n and not text[j].isspace():
                j += 1
            words.append((i, j))
            i = j
        for w, (a, b) in enumerate(words):
            if w:
                units.append((" ", (a - 1, a)))   # the collapsed run stands for the space just before the word
            units.extend(_quote_units(text, a, b))
    else:
        units = _quote_units(text, 0, n)
    for ch, span in units:
        if not tok.keep_accents:
            ch = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if tok.do_lower_case:
            ch = ch.lower()
        for c in ch:
            out.append(c)
            spans.append(span)
    return "".join(out), spans


def _quote_units(text: str, a: int, b: int) -> List[Tuple[str, Span]]:
    units, i = [], a
    while i < b:
        if i + 1 < b and text[i:i + 2] in ("``", "''"):
            units.append(('"', (i, i + 2)))
            i += 2
        else:
            units.append((text[i], (i, i + 1)))
            i += 1
    return units


def _plain_offsets(tok, text: str) -> Tuple[List[str], List[Span]]:
    pieces = tok._tokenize_plain(text)
    norm, spans = _aligned_preprocess(tok, text)
    exact = norm == tok.preprocess_text(text)
    if not exact:  # see the module docstring: approximate spans, one per preprocessed character
        norm = tok.preprocess_text(text)
        spans = [(min(i, len(text)), min(i + 1, len(text))) for i in range(len(norm))]
    out: List[Span] = []
    c, N = 0, len(norm)
    for piece in pieces:
        body = piece
        if body.startswith(SPIECE_UNDERLINE):
            body = body[1:]
            while c < N and norm[c].isspace():
                c += 1
        if norm.startswith(body, c):
            s, e = c, c + len(body)
        else:  # SentencePiece normalised something: advance by the piece's length
            s, e = min(c, N), min(c + len(body), N)
        c = e
        if e > s:
            out.append((spans[s][0], spans[e - 1][1]))
        else:
            at = spans[s][0] if s < N else (spans[-1][1] if spans else 0)
            out.append((at, at))
    return pieces, out


def tokenize_with_offsets(tok, text: str) -> Tuple[List[str], List[Span]]:
    """tok.tokenize(text) and, for each token, its (start, end) character span in `text`.

    For the SentencePiece AlbertTokenizer only (the WordPiece tokenizer has no offsets here)."""
    if not hasattr(tok, "preprocess_text") or not hasattr(tok, "sp"):
        raise ValueError(f"character offsets are implemented for the SentencePiece AlbertTokenizer only, "
                         f"not {type(tok).__name__}")
    tokens: List[str] = []
    offsets: List[Span] = []
    cur = 0
    for chunk, is_special in tok._split_special(text):
        start = text.find(chunk, cur)
        if start < 0:   # cannot happen: chunks are pieces of the text, in order
            start = cur
        cur = start + len(chunk)
        if is_special:
            tokens.append(chunk)
            offsets.append((start, cur))
            continue
        pieces, spans = _plain_offsets(tok, chunk)
        tokens.extend(pieces)
        offsets.extend((start + a, start + b) for a, b in spans)
    return tokens, offsets
