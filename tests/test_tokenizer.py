"""Tests for minialbert.tokenization.

The ALBERT tests use the shared official 30k vocabulary (`spiece.model`) and
its reference ids; they are skipped when that folder is absent. Set
MINIALBERT_SHARED to point at another copy of the `albert-vocab` folder.
The WordPiece tests build their own tiny vocab.txt and always run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_dir, vocab_file
from minialbert.tokenization import (
    AlbertTokenizer,
    BatchEncoding,
    BertWordPieceTokenizer,
    load_tokenizer,
)

SHARED = shared_dir() / "albert-vocab"          # vendored: tests/fixtures/shared
VECTORS_FILE = SHARED / "test_vectors.json"
PUBLISHED_FILE = SHARED.parent / "reference" / "published.md"
SPM_DIR = vocab_file().parent                     # the official 30k vocabulary, shipped in the package

needs_vocab = pytest.mark.skipif(not vocab_file().is_file(), reason=f"{vocab_file()} not found")


def _vectors() -> dict:
    if not VECTORS_FILE.is_file():
        return {"cases": [], "fast_tokenizer_vectors": {"cases": []}, "model_card_pieces": {"pieces": {}}}
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


VECTORS = _vectors()


@pytest.fixture(scope="module")
def tok() -> AlbertTokenizer:
    return AlbertTokenizer.from_pretrained(vocab_file())


# --------------------------------------------------------------------------- #
# Reference vectors                                                            #
# --------------------------------------------------------------------------- #
@needs_vocab
@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["text"][:30])
def test_reference_vectors(tok, case):
    ids = case["ids"]
    # The file's ids carry [CLS] ... [SEP]; check both with and without them.
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.encode(case["text"]) == ids
    assert tok.encode(case["text"], add_special_tokens=False) == ids[1:-1]
    assert tok(case["text"])["input_ids"] == ids
    assert tok.convert_tokens_to_ids(tok.tokenize(case["text"])) == ids[1:-1]


@needs_vocab
@pytest.mark.parametrize(
    "case", VECTORS["fast_tokenizer_vectors"]["cases"], ids=lambda c: str(c.get("text", c.get("pair")))
)
def test_mask_and_pair_vectors(tok, case):
    # "[MASK]." gives [MASK] ▁ . (4, 13, 9): the text after a special token is
    # encoded on its own, as in HF's slow tokenizer too, so these match.
    if "pair" in case:
        assert tok.encode(*case["pair"]) == case["ids"]
    else:
        assert tok.encode(case["text"]) == case["ids"]


@needs_vocab
def test_model_card_piece_ids(tok):
    pieces = VECTORS["model_card_pieces"]["pieces"]
    assert pieces, "test_vectors.json has no model_card_pieces"
    for index, piece in pieces.items():
        assert tok.convert_ids_to_tokens(int(index)) == piece
        assert tok.convert_tokens_to_ids(piece) == int(index)
        assert tok.decode([int(index)]) == piece.lstrip("\u2581")


def _published_fill_mask_texts() -> list[str]:
    if not PUBLISHED_FILE.is_file():
        return []
    return re.findall(r'unmasker\("([^"]+)"\)', PUBLISHED_FILE.read_text(encoding="utf-8"))


@needs_vocab
@pytest.mark.skipif(not PUBLISHED_FILE.is_file(), reason=f"{PUBLISHED_FILE} not found")
def test_published_fill_mask_examples(tok):
    texts = _published_fill_mask_texts()
    assert set(texts) >= {
        "Hello I'm a [MASK] model.",
        "The man worked as a [MASK].",
        "The woman worked as a [MASK].",
    }
    for text in texts:
        ids = tok.encode(text)
        assert ids.count(tok.mask_token_id) == 1 and tok.mask_token_id == 4
        assert ids[0] == 2 and ids[-1] == 3
    assert tok.encode("Hello I'm a [MASK] model.") == [2, 10975, 31, 22, 79, 21, 4, 1061, 9, 3]
    assert tok.encode("The man worked as a [MASK].") == [2, 14, 169, 577, 28, 21, 4, 13, 9, 3]


@needs_vocab
def test_published_fill_mask_sequence_decodes_as_printed(tok):
    # The model card prints "[CLS] hello i'm a modeling model.[SEP]" for the
    # top prediction 12807 (older library versions kept the special tokens).
    ids = tok.encode("Hello I'm a [MASK] model.")
    filled = [12807 if i == tok.mask_token_id else i for i in ids]
    assert tok.decode(filled) == "[CLS] hello i'm a modeling model.[SEP]"
    assert tok.decode(filled, skip_special_tokens=True) == "hello i'm a modeling model."
    published = PUBLISHED_FILE.read_text(encoding="utf-8") if PUBLISHED_FILE.is_file() else ""
    if published:
        assert "[CLS] hello i'm a modeling model.[SEP]" in published
    printed = {12807: "modeling", 23089: "modelling", 1061: "model", 28744: "chauffeur", 25331: "receptionist"}
    for index, word in printed.items():
        assert tok.decode([index]) == word


# --------------------------------------------------------------------------- #
# Special tokens and vocabulary                                                #
# --------------------------------------------------------------------------- #
@needs_vocab
def test_special_token_ids(tok):
    assert tok.vocab_size == len(tok) == 30000
    assert (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == (
        0, 1, 2, 3, 4,
    )
    assert tok.mask_token == "[MASK]"
    assert sorted(tok.all_special_ids) == [0, 1, 2, 3, 4]
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]


@needs_vocab
def test_special_tokens_written_in_text(tok):
    assert tok.tokenize("[MASK][MASK] x [SEP] <unk> <pad>") == [
        "[MASK]", "[MASK]", "\u2581x", "[SEP]", "<unk>", "<pad>",
    ]
    # Matching is case-sensitive: lowercase "[mask]" is ordinary text.
    assert tok.mask_token_id not in tok.encode("a [mask] b")
    assert tok.tokenize("a [mask] b") == ["\u2581a", "\u2581[", "mask", "]", "\u2581b"]


@needs_vocab
def test_several_masks(tok):
    ids = tok.encode("The [MASK] sat on the [MASK] [MASK] today.")
    assert ids.count(4) == 3
    assert tok.tokenize("The [MASK] sat on the [MASK] [MASK] today.") == [
        "\u2581the", "[MASK]", "\u2581sat", "\u2581on", "\u2581the", "[MASK]", "[MASK]", "\u2581today", ".",
    ]


@needs_vocab
def test_mask_next_to_punctuation(tok):
    # The space before [MASK] is absorbed; the "." after it starts a new
    # SentencePiece sequence, hence the lone word-start piece "▁" (id 13).
    assert tok.tokenize("a [MASK].") == ["\u2581a", "[MASK]", "\u2581", "."]
    assert tok.encode("a [MASK].") == [2, 21, 4, 13, 9, 3]
    # Space or no space before [MASK] makes no difference.
    assert tok.encode("a[MASK].") == tok.encode("a [MASK].") == tok.encode("a    [MASK].")
    assert tok.tokenize("([MASK])") == ["\u2581", "(", "[MASK]", "\u2581", ")"]
    assert tok.decode([2, 21, 4, 13, 9, 3]) == "[CLS] a[MASK] .[SEP]"


@needs_vocab
def test_unknown_token_and_bad_ids(tok):
    assert tok.convert_tokens_to_ids("no-such-piece-xyz") == tok.unk_token_id
    assert tok.convert_ids_to_tokens(np.int64(14)) == "\u2581the"
    with pytest.raises(IndexError, match="outside the vocabulary"):
        tok.convert_ids_to_tokens([30000])


# --------------------------------------------------------------------------- #
# Preprocessing rules                                                          #
# --------------------------------------------------------------------------- #
@needs_vocab
def test_digit_comma_split(tok):
    # "▁1990," is a single vocabulary piece; the classic code splits the comma off.
    assert tok.sp.encode("in 1990, the", out_type=str) == ["\u2581in", "\u25811990,", "\u2581the"]
    assert tok.tokenize("in 1990, the") == ["\u2581in", "\u25811990", ",", "\u2581the"]
    assert tok.encode("in 1990, the", add_special_tokens=False) == [19, 961, 15, 14]
    # "▁1," followed by "9", then a lone "▁" before the separate ",".
    assert tok.tokenize("in 1,9 ,") == ["\u2581in", "\u25811", ",", "9", "\u2581", ","]
    # A piece that ends in a digit but holds commas inside is left alone.
    assert tok.tokenize("1,000,000 people") == ["\u25811", ",000,000", "\u2581people"]
    assert tok.tokenize("2,3,4,5") == ["\u25812", ",", "3", ",", "4", ",", "5"]
    # No piece ending in "<digit>," survives tokenization.
    for text in ["born 1955, died 2001, aged 46,", "on may 5, 2010, at 9, 10, 11,"]:
        for piece in tok.tokenize(text):
            assert not (len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()), piece


@needs_vocab
def test_whitespace_and_quotes(tok):
    assert tok.tokenize("  hello \t\n  world  ") == tok.tokenize("hello world") == ["\u2581hello", "\u2581world"]
    assert tok.tokenize("``quoted''") == tok.tokenize('"quoted"')


@needs_vocab
def test_accents_stripped_or_kept():
    plain = AlbertTokenizer.from_pretrained(SPM_DIR)
    keep = AlbertTokenizer.from_pretrained(SPM_DIR, keep_accents=True)
    assert plain.tokenize("Café naïve résumé") == ["\u2581cafe", "\u2581naive", "\u2581resume"]
    kept = keep.tokenize("Café naïve résumé")
    assert "é" in kept and "ï" in kept
    assert "".join(kept).replace("\u2581", " ").strip() == "café naïve résumé"


@needs_vocab
def test_uppercase_kept_without_lower_case():
    cased = AlbertTokenizer.from_pretrained(SPM_DIR, do_lower_case=False)
    assert cased.tokenize("Hello World") == ["\u2581", "H", "ello", "\u2581", "W", "or", "ld"]
    # The official vocabulary is lowercase: capitals exist only as <unk>.
    assert cased.encode("Hello World", add_special_tokens=False) == [13, 1, 7523, 13, 1, 248, 6252]
    assert cased.decode(cased.encode("Hello World")) == "[CLS] <unk>ello <unk>orld[SEP]"
    uncased = AlbertTokenizer.from_pretrained(SPM_DIR)
    assert uncased.tokenize("Hello World") == ["\u2581hello", "\u2581world"]


@needs_vocab
def test_decode_round_trip(tok):
    text = "the quick brown fox jumps over the lazy dog."
    ids = tok.encode(text)
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert tok.decode(ids) == "[CLS] " + text + "[SEP]"
    assert tok.decode(np.array(ids), skip_special_tokens=True) == text


@needs_vocab
def test_decode_clean_up_spaces(tok):
    ids = [2, 21, 4, 13, 9, 3]
    assert tok.decode(ids, skip_special_tokens=True) == "a ."
    assert tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True) == "a."


# --------------------------------------------------------------------------- #
# Pairs, truncation, padding, tensors                                          #
# --------------------------------------------------------------------------- #
@needs_vocab
def test_pair_token_type_ids(tok):
    a = tok.encode("hello world", add_special_tokens=False)
    b = tok.encode("the lazy dog", add_special_tokens=False)
    enc = tok("hello world", "the lazy dog")
    assert isinstance(enc, BatchEncoding) and enc.input_ids is enc["input_ids"]
    assert enc["input_ids"] == [2] + a + [3] + b + [3]
    assert enc["token_type_ids"] == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    assert enc["attention_mask"] == [1] * (len(a) + len(b) + 3)
    plain = tok("hello world", "the lazy dog", add_special_tokens=False)
    assert plain["input_ids"] == a + b
    assert plain["token_type_ids"] == [0] * len(a) + [1] * len(b)


LONG = "one two three four five six seven eight nine ten"  # 10 pieces
SHORT = "red green blue"  # 3 pieces


@needs_vocab
def test_piece_counts_used_below(tok):
    assert len(tok.tokenize(LONG)) == 10 and len(tok.tokenize(SHORT)) == 3


@needs_vocab
def test_truncation_longest_first(tok):
    a = tok.encode(LONG, add_special_tokens=False)
    b = tok.encode(SHORT, add_special_tokens=False)
    enc = tok(LONG, SHORT, truncation="longest_first", max_length=12)
    # 12 - 3 specials = 9 content tokens: the long side alone shrinks 10 -> 6.
    assert len(enc["input_ids"]) == 12
    assert enc["input_ids"] == [2] + a[:6] + [3] + b + [3]
    # Tighter: the long side shrinks to the short side's length, then they
    # alternate one at a time, the second sequence losing ties.
    enc = tok(LONG, SHORT, truncation=True, max_length=8)
    assert enc["input_ids"] == [2] + a[:3] + [3] + b[:2] + [3]
    assert enc["token_type_ids"] == [0] * 5 + [1] * 3
    # Pair order does not matter for who loses tokens.
    enc = tok(SHORT, LONG, truncation=True, max_length=12)
    assert enc["input_ids"] == [2] + b + [3] + a[:6] + [3]


@needs_vocab
def test_truncation_only_first_and_only_second(tok):
    a = tok.encode(LONG, add_special_tokens=False)
    b = tok.encode(SHORT, add_special_tokens=False)
    enc = tok(SHORT, LONG, truncation="only_second", max_length=10)
    assert enc["input_ids"] == [2] + b + [3] + a[:4] + [3]
    enc = tok(LONG, SHORT, truncation="only_first", max_length=10)
    assert enc["input_ids"] == [2] + a[:4] + [3] + b + [3]
    with pytest.raises(ValueError, match="only_second"):
        tok(LONG, SHORT, truncation="only_second", max_length=8)  # SHORT cannot lose 5
    with pytest.raises(ValueError, match="text_pair"):
        tok(LONG, truncation="only_second", max_length=5)


@needs_vocab
def test_truncation_single_and_defaults(tok):
    a = tok.encode(LONG, add_special_tokens=False)
    assert tok(LONG, truncation=True, max_length=5)["input_ids"] == [2] + a[:3] + [3]
    assert tok.encode(LONG, truncation=True, max_length=5) == [2] + a[:3] + [3]
    # max_length alone truncates (HF's default), truncation=False does not.
    assert len(tok(LONG, max_length=5)["input_ids"]) == 5
    assert len(tok(LONG, truncation=False, max_length=5)["input_ids"]) == 12
    # truncation=True without max_length uses model_max_length (512).
    long_text = " ".join(["word"] * 600)
    assert len(tok(long_text, truncation=True)["input_ids"]) == tok.model_max_length == 512
    with pytest.raises(ValueError, match="special tokens"):
        tok(LONG, SHORT, truncation=True, max_length=2)


@needs_vocab
def test_padding_longest_and_numpy(tok):
    texts = ["hello world", "the quick brown fox jumps"]
    enc = tok(texts, padding=True)
    lengths = [len(tok.encode(t)) for t in texts]
    assert lengths == [4, 7]
    assert [len(row) for row in enc["input_ids"]] == [7, 7]
    assert enc["input_ids"][0][4:] == [0, 0, 0]
    assert enc["attention_mask"] == [[1] * 4 + [0] * 3, [1] * 7]
    assert enc["token_type_ids"] == [[0] * 7, [0] * 7]

    arrays = tok(texts, padding="longest", return_tensors="np")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert isinstance(arrays[key], np.ndarray)
        assert arrays[key].dtype == np.int64 and arrays[key].shape == (2, 7)
    assert arrays["input_ids"].tolist() == enc["input_ids"]


@needs_vocab
def test_padding_max_length_with_pairs(tok):
    enc = tok(["hello", "a b"], ["world", "c d e"], padding="max_length", max_length=10, return_tensors="np")
    assert enc["input_ids"].shape == (2, 10)
    assert enc["input_ids"][0].tolist() == [2, 10975, 3, 126, 3] + [0] * 5
    assert enc["token_type_ids"][0].tolist() == [0, 0, 0, 1, 1] + [0] * 5
    assert enc["attention_mask"][0].tolist() == [1] * 5 + [0] * 5
    single = tok("hello", padding="max_length", max_length=6)
    assert single["input_ids"] == [2, 10975, 3, 0, 0, 0]


@needs_vocab
def test_return_tensors_needs_equal_lengths(tok):
    with pytest.raises(ValueError, match="padding"):
        tok(["hello", "hello world again"], return_tensors="np")
    # Equal lengths need no padding; a single text gets a batch axis.
    assert tok(["hello", "world"], return_tensors="np")["input_ids"].shape == (2, 3)
    assert tok("hello", return_tensors="np")["input_ids"].tolist() == [[2, 10975, 3]]
    with pytest.raises(ValueError, match="np"):
        tok("hello", return_tensors="pt")


@needs_vocab
def test_batch_input_validation(tok):
    batch = tok(["hello", "world"])
    assert batch["input_ids"] == [[2, 10975, 3], [2, 126, 3]]
    with pytest.raises(ValueError):
        tok(["a", "b"], ["c"])
    with pytest.raises(ValueError):
        tok(["a", "b"], "c")


# --------------------------------------------------------------------------- #
# Loading and saving                                                           #
# --------------------------------------------------------------------------- #
@needs_vocab
def test_load_layouts(tmp_path):
    google = tmp_path / "google"
    google.mkdir()
    shutil.copy(vocab_file(), google / "30k-clean.model")
    by_dir = AlbertTokenizer.from_pretrained(google)
    by_file = AlbertTokenizer.from_pretrained(google / "30k-clean.model")
    text = "The quick brown fox jumps over the lazy dog."
    assert by_dir.encode(text) == by_file.encode(text) == [2, 14, 2231, 886, 2385, 17659, 84, 14, 16792, 1952, 9, 3]
    assert isinstance(load_tokenizer(google), AlbertTokenizer)


@needs_vocab
def test_config_and_save_round_trip(tmp_path):
    src = tmp_path / "hf"
    src.mkdir()
    shutil.copy(vocab_file(), src / "spiece.model")
    (src / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False, "keep_accents": True}))
    cased = AlbertTokenizer.from_pretrained(src)
    assert cased.do_lower_case is False and cased.keep_accents is True
    # Keyword arguments win over the config file.
    assert AlbertTokenizer.from_pretrained(src, do_lower_case=True).do_lower_case is True

    out = tmp_path / "saved"
    cased.save_pretrained(out)
    config = json.loads((out / "tokenizer_config.json").read_text())
    assert config["do_lower_case"] is False and config["keep_accents"] is True
    reloaded = AlbertTokenizer.from_pretrained(out)
    assert reloaded.tokenize("Café Hello") == cased.tokenize("Café Hello")
    assert (out / "spiece.model").read_bytes() == (vocab_file()).read_bytes()


def test_missing_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="spiece.model or 30k-clean.model"):
        AlbertTokenizer.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        AlbertTokenizer.from_pretrained(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        BertWordPieceTokenizer.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        load_tokenizer(tmp_path)


def test_corrupt_model_gives_clear_error(tmp_path):
    bad = tmp_path / "spiece.model"
    bad.write_bytes(b"this is not a sentencepiece protobuf \x00\xff\x13")
    with pytest.raises(ValueError, match="not a valid SentencePiece model") as info:
        AlbertTokenizer.from_pretrained(tmp_path)
    assert str(bad) in str(info.value)
    assert info.value.__cause__ is not None  # the sentencepiece error is chained


@needs_vocab
def test_truncated_model_gives_clear_error(tmp_path):
    data = (vocab_file()).read_bytes()
    (tmp_path / "spiece.model").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="spiece.model"):
        AlbertTokenizer.from_pretrained(tmp_path)


# --------------------------------------------------------------------------- #
# WordPiece (brightmart albert_zh)                                             #
# --------------------------------------------------------------------------- #
WORDPIECE_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",  # 0-4
    "我", "爱", "北", "京", "天",                 # 5-9
    ",", ".", "!", "[", "]",                      # 10-14
    "hello", "world", "play", "##ing", "un",     # 15-19
    "##aff", "##able", "a", "##a", "cafe",       # 20-24
]


@pytest.fixture()
def wp(tmp_path) -> BertWordPieceTokenizer:
    (tmp_path / "vocab.txt").write_text("\n".join(WORDPIECE_VOCAB) + "\n", encoding="utf-8")
    return BertWordPieceTokenizer.from_pretrained(tmp_path)


def test_wordpiece_vocab_and_specials(wp):
    assert wp.vocab_size == len(WORDPIECE_VOCAB)
    assert (wp.pad_token_id, wp.unk_token_id, wp.cls_token_id, wp.sep_token_id, wp.mask_token_id) == (0, 1, 2, 3, 4)
    assert wp.mask_token == "[MASK]" and sorted(wp.all_special_ids) == [0, 1, 2, 3, 4]


def test_wordpiece_mixed_sentence(wp):
    text = "我爱北京, Playing unaffable WORLD!"
    assert wp.tokenize(text) == ["我", "爱", "北", "京", ",", "play", "##ing", "un", "##aff", "##able", "world", "!"]
    assert wp.encode(text) == [2, 5, 6, 7, 8, 10, 17, 18, 19, 20, 21, 16, 12, 3]
    assert wp.decode(wp.encode(text), skip_special_tokens=True) == "我 爱 北 京 , playing unaffable world !"


def test_wordpiece_unknowns(wp):
    # Unknown CJK characters are single [UNK]s; a word whose tail cannot be
    # matched becomes one [UNK] as a whole.
    assert wp.tokenize("天安门") == ["天", "[UNK]", "[UNK]"]
    assert wp.tokenize("playz hello") == ["[UNK]", "hello"]
    assert wp.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert wp.tokenize("a" * 101) == ["[UNK]"]
    assert wp.convert_tokens_to_ids("nope") == 1


def test_wordpiece_accents_and_case(wp, tmp_path):
    assert wp.tokenize("Café") == ["cafe"]
    cased = BertWordPieceTokenizer(tmp_path / "vocab.txt", do_lower_case=False)
    assert cased.tokenize("Hello hello") == ["[UNK]", "hello"]


def test_wordpiece_mask_kept(wp):
    assert wp.tokenize("我[MASK]北京") == ["我", "[MASK]", "北", "京"]
    assert wp.encode("hello [MASK]!") == [2, 15, 4, 12, 3]
    # Lowercase "[mask]" is text: split as punctuation + an unknown word.
    assert wp.tokenize("[mask]") == ["[", "[UNK]", "]"]


def test_wordpiece_pair_and_padding(wp):
    enc = wp("我爱", "北京天", padding="max_length", max_length=10)
    assert enc["input_ids"] == [2, 5, 6, 3, 7, 8, 9, 3, 0, 0]
    assert enc["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    assert enc["attention_mask"] == [1] * 8 + [0] * 2
    # 2 + 3 tokens into a budget of 3: the longer second text loses one,
    # then on the 2-2 tie the second text loses again.
    enc = wp("我爱", "北京天", truncation=True, max_length=6)
    assert enc["input_ids"] == [2, 5, 6, 3, 7, 3]
    assert wp("我爱", "北京", truncation=True, max_length=6)["input_ids"] == [2, 5, 6, 3, 7, 3]
    arrays = wp(["我", "我爱北京"], padding=True, return_tensors="np")
    assert arrays["input_ids"].dtype == np.int64 and arrays["input_ids"].shape == (2, 6)


def test_wordpiece_save_and_load_tokenizer(wp, tmp_path):
    out = tmp_path / "saved"
    wp.save_pretrained(out)
    again = load_tokenizer(out)
    assert isinstance(again, BertWordPieceTokenizer)
    assert again.encode("我爱北京 hello") == wp.encode("我爱北京 hello")


def test_wordpiece_vocab_missing_special(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="special tokens"):
        BertWordPieceTokenizer.from_pretrained(tmp_path)
