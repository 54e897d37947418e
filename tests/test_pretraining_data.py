"""Pretraining data: SOP segments, n-gram whole-word masking, streaming, resume.

Two tokenizers are used:
* `NumberTokenizer` (below, always available): every whitespace-separated
  integer k is one word piece "▁k" with id k + 5. A corpus whose tokens are
  numbered in reading order lets a test read back where every token of an
  example came from (document, line, order) even after masking.
* the official 30k ALBERT SentencePiece vocabulary (skipped if absent), for
  the whole-word statistics, which need real multi-piece words.

Statistical tolerances are 4 standard errors of the binomial estimate
(two-sided false-alarm rate about 6e-5 per check); every sample is seeded, so
the tests are deterministic anyway.
"""
import builtins
import io
import json
import math

import numpy as np
import pytest

from minialbert.training import (PretrainingBatches, PretrainingDataConfig, create_examples_from_document,
                                 iter_examples, mask_tokens, prediction_budget, vocab_info, word_units)
from minialbert.training import stream as data_module

from conftest import vocab_file
from minialbert.tokenization import AlbertTokenizer

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4


class NumberTokenizer:
    """Toy tokenizer: the text "7 8 9" is the pieces ▁7 ▁8 ▁9, ids 12 13 14."""

    pad_token_id, unk_token_id, cls_token_id, sep_token_id, mask_token_id = PAD, UNK, CLS, SEP, MASK
    all_special_ids = [UNK, SEP, PAD, CLS, MASK]
    _names = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]

    def __init__(self, size):
        self.vocab_size = size + 5

    def tokenize(self, text):
        return ["\u2581" + w for w in text.split()]

    def convert_tokens_to_ids(self, tokens):
        return [int(t[1:]) + 5 for t in tokens]

    def convert_ids_to_tokens(self, ids):
        return [self._names[i] if i < 5 else f"\u2581{i - 5}" for i in ids]


def write_numbered_corpus(path, n_docs, lines_per_doc, line_len, seed=0, blank_lines=1):
    """Documents of numbered tokens; returns (doc index of every number, set of line-start numbers).

    `line_len` is an int or a (low, high) range of lengths.
    """
    rng = np.random.default_rng(seed)
    doc_of, line_starts, k, out = [], set(), 0, []
    for d in range(n_docs):
        for _ in range(lines_per_doc):
            n = line_len if isinstance(line_len, int) else int(rng.integers(line_len[0], line_len[1] + 1))
            line_starts.add(k)
            out.append(" ".join(str(k + j) for j in range(n)) + "\n")
            doc_of += [d] * n
            k += n
        out.append("\n" * blank_lines)
    path.write_text("".join(out))
    return np.array(doc_of), line_starts


def original_ids(input_ids, labels):
    """The ids before masking: the label where one is set, the input elsewhere."""
    return np.where(labels != -100, labels, input_ids)


def split_pair(ids, attention_mask):
    """(A, B) of `[CLS] A [SEP] B [SEP]`, as arrays."""
    n = int(attention_mask.sum())
    seps = np.flatnonzero(ids[:n] == SEP)
    assert ids[0] == CLS and len(seps) == 2 and seps[1] == n - 1
    return ids[1:seps[0]], ids[seps[0] + 1:n - 1]


def within(measured, expected, n, k=4.0):
    """|measured - expected| within k binomial standard errors of a proportion from n trials."""
    se = math.sqrt(expected * (1 - expected) / n)
    return abs(measured - expected) <= k * se


def take(batches, n):
    return [next(batches) for _ in range(n)]


def assert_batches_equal(xs, ys):
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        assert x.keys() == y.keys()
        for key in x:
            assert np.array_equal(x[key], y[key]), key


# --------------------------------------------------------------------------- #
# Real SentencePiece vocabulary                                                #
# --------------------------------------------------------------------------- #
ENGLISH = [
    "The ferry left the harbour at dawn, carrying forty passengers and a reluctant goat.",
    "Our neighbour keeps an extraordinarily detailed diary of the weather.",
    "In 1973, the municipal library moved into the abandoned railway station.",
    "She photographed lichens, mosses and other unremarkable things with great patience.",
    "Nobody could explain why the clock tower chimed thirteen times on Thursdays.",
    "The recipe calls for 250 grams of flour, two eggs and a pinch of nutmeg.",
    "Engineers reinforced the suspension bridge after the earthquake of 1989.",
    "His grandmother's notebooks were written in an idiosyncratic shorthand.",
    "A thunderstorm interrupted the open-air performance of the symphony.",
    "Migratory birds rest on the marshes before crossing the mountains.",
    "The committee postponed its decision until the auditors had finished.",
    "Surprisingly, the oldest bakery in town still uses a wood-fired oven.",
    "Archaeologists uncovered ceramic fragments beneath the medieval chapel.",
    "They rewrote the introduction three times before the deadline.",
    "Volunteers counted 1,204 butterflies during the summer survey.",
    "The lighthouse keeper's daughter became a celebrated cartographer.",
    "Photosynthesis converts sunlight, water and carbon dioxide into sugars.",
    "Despite the drizzle, the marathon runners kept a remarkable pace.",
    "The museum's newest exhibition explores nineteenth-century telegraphy.",
    "Quietly, the cat rearranged every cushion in the living room.",
    "Several independent bookshops organised a festival of translated poetry.",
    "The astronomers' telescope was calibrated with painstaking precision.",
    "Farmers along the valley rotate barley, clover and potatoes.",
    "An unexpected power outage halted the printing presses overnight.",
]


@pytest.fixture(scope="module")
def albert_tok():
    return AlbertTokenizer.from_pretrained(vocab_file())


@pytest.fixture(scope="module")
def english_ids(albert_tok):
    return [albert_tok.convert_tokens_to_ids(albert_tok.tokenize(s)) for s in ENGLISH]


@pytest.fixture(scope="module")
def english_examples(albert_tok, english_ids):
    """About 3,100 examples (T=128) from 650 documents of 40 random sentences each."""
    cfg = PretrainingDataConfig(max_seq_length=128, seed=0)
    rng = np.random.default_rng(1)
    vocab = vocab_info(albert_tok)
    examples = []
    for _ in range(650):
        doc = [english_ids[i] for i in rng.integers(len(english_ids), size=40)]
        examples += create_examples_from_document(doc, vocab, cfg, rng)
    return cfg, examples


def test_word_units_google_rule(albert_tok):
    text = "The unbelievably 1990, John's e-mail"
    pieces = albert_tok.tokenize(text)
    ids = [CLS] + albert_tok.convert_tokens_to_ids(pieces) + [SEP]
    starts, lengths = word_units(ids, vocab_info(albert_tok))
    units = [pieces[s - 1:s - 1 + n] for s, n in zip(starts.tolist(), lengths.tolist())]
    # Continuations join their word; digits, lone punctuation and (Google's
    # quirk) an apostrophe start units of their own.
    assert ["\u2581un", "be", "liev", "ably"] in units
    assert ["\u25811990"] in units and [","] in units and ["'", "s"] in units and ["-", "mail"] in units
    assert sum(lengths) == len(pieces)
    underline = word_units(ids, vocab_info(albert_tok, "underline"))
    assert len(underline[0]) == len(text.split())
    # a continuation piece right after [SEP] starts a unit: units never cross special tokens
    un, be = albert_tok.convert_tokens_to_ids(["\u2581un", "be"])
    starts, lengths = word_units([CLS, un, be, SEP, be, be, SEP, PAD], vocab_info(albert_tok))
    assert starts.tolist() == [1, 4] and lengths.tolist() == [2, 2]


def test_masking_statistics(albert_tok, english_examples):
    cfg, examples = english_examples
    vocab = vocab_info(albert_tok)
    assert len(examples) > 2500
    n_tokens = n_pred = n_budget = n_mask = n_keep = n_random = 0
    for ex in examples:
        ids, labels, att = ex["input_ids"], ex["labels"], ex["attention_mask"]
        n = int(att.sum())
        orig = original_ids(ids, labels)
        special = vocab.special[orig]
        predicted = labels != -100
        assert not np.any(predicted & special), "a special token was chosen"
        assert np.all(ids[special] == orig[special])
        assert np.all(ids[n:] == albert_tok.pad_token_id) and np.all(labels[n:] == -100)
        assert np.all(ids[~predicted] == orig[~predicted]), "an unpredicted token was changed"
        k = int(predicted.sum())
        maskable = int((~special[:n]).sum())
        budget = prediction_budget(maskable, cfg)
        assert 1 <= k <= budget <= cfg.max_predictions_per_seq
        n_tokens, n_pred, n_budget = n_tokens + maskable, n_pred + k, n_budget + budget
        got, want = ids[predicted], orig[predicted]
        n_mask += int((got == MASK).sum())
        n_keep += int((got == want).sum())
        n_random += int(((got != MASK) & (got != want)).sum())
        assert not vocab.special[got[got != MASK]].any(), "random replacement drew a special token"

    frac = n_pred / n_tokens
    # Per sequence the budget is round(0.15 n), so the aggregate target is off
    # 0.15 by at most 0.5 token per sequence (rounding), and whole words that
    # do not fit the last few budget slots leave a small shortfall; on top,
    # allow 4 binomial standard errors.
    rounding = 0.5 * len(examples) / n_tokens
    assert abs(frac - 0.15) <= 4 * math.sqrt(0.15 * 0.85 / n_tokens) + rounding, frac
    assert n_pred >= 0.98 * n_budget, (n_pred, n_budget)
    assert within(n_mask / n_pred, 0.8, n_pred)
    assert within(n_keep / n_pred, 0.1, n_pred)
    assert within(n_random / n_pred, 0.1, n_pred)


def test_ngram_span_lengths(albert_tok, english_examples):
    """Spans, re-drawn on the sample's unmasked sequences with mask_tokens."""
    cfg, examples = english_examples
    vocab = vocab_info(albert_tok)
    p = cfg.ngram_probabilities()
    assert np.allclose(p, [6 / 11, 3 / 11, 2 / 11])
    rng = np.random.default_rng(7)
    first, overall = np.zeros(4, int), np.zeros(4, int)
    for ex in examples:
        n = int(ex["attention_mask"].sum())
        orig = original_ids(ex["input_ids"], ex["labels"])[:n]
        masked, labels, spans = mask_tokens(orig, vocab, cfg, rng)
        starts, lengths = word_units(orig, vocab)
        # spans are unit ranges, disjoint, and cover exactly the labelled pieces
        covered = np.zeros(len(starts), int)
        for a, b in spans:
            assert 0 <= a < b <= len(starts) and b - a <= cfg.max_ngram
            covered[a:b] += 1
            overall[b - a] += 1
        assert covered.max() <= 1, "spans overlap"
        chosen = np.zeros(n, bool)
        for u in np.flatnonzero(covered):
            chosen[starts[u]:starts[u] + lengths[u]] = True
        assert np.array_equal(labels != -100, chosen)
        assert np.array_equal(labels[chosen], orig[chosen])
        # The first span chosen can neither overlap nor (when the budget holds
        # any 3 consecutive words) be shortened, and away from the end of the
        # sequence it is not cut short either: its length follows p(n).
        a, b = spans[0]
        window = np.convolve(lengths, np.ones(cfg.max_ngram, int), "valid").max()
        if a <= len(starts) - cfg.max_ngram and window <= prediction_budget(int(lengths.sum()), cfg):
            first[b - a] += 1
    m = first.sum()
    assert m > 2000
    for n_ in (1, 2, 3):
        assert within(first[n_] / m, p[n_ - 1], m), (first, p)
    # All accepted spans together are shorter on average: long spans are the
    # ones that get shortened (budget) or rejected (overlap).
    share = overall[1:] / overall.sum()
    assert share[0] >= p[0] and share[0] > share[1] > share[2] > 0.05, share


def test_max_predictions_cap_and_google_count(albert_tok, english_ids):
    vocab = vocab_info(albert_tok)
    cfg = PretrainingDataConfig(masked_lm_prob=0.5, max_predictions_per_seq=20)
    rng = np.random.default_rng(0)
    ids = [CLS] + [t for s in english_ids[:8] for t in s][:120] + [SEP]
    for _ in range(200):
        _, labels, _ = mask_tokens(ids, vocab, cfg, rng)
        assert (labels != -100).sum() == 20  # capped; single words always fit the last slots here
    # Budget from 14 words: round(2.1) = 2 by default, round(0.15 * 17) = 3 when
    # [CLS] and two [SEP] count as Google counts them.
    word = albert_tok.convert_tokens_to_ids(["\u2581the"])[0]
    seq = [CLS] + [word] * 7 + [SEP] + [word] * 7 + [SEP]
    for count_special, expected in ((False, 2), (True, 3)):
        c = PretrainingDataConfig(count_special_tokens=count_special)
        _, labels, _ = mask_tokens(seq, vocab, c, rng)
        assert (labels != -100).sum() == expected


def test_batches_with_official_vocab_and_resume(albert_tok, tmp_path):
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(30):
        lines += [" ".join(rng.choice(ENGLISH, 2)) for _ in range(12)] + [""]
    path = tmp_path / "english.txt"
    path.write_text("\n".join(lines) + "\n")
    cfg = PretrainingDataConfig(max_seq_length=64, documents_buffer=3, seed=5)
    batches = PretrainingBatches(path, albert_tok, cfg, batch_size=4)
    first = take(batches, 3)
    state = json.loads(json.dumps(batches.state_dict()))
    rest = take(batches, 3)
    for b in first + rest:
        assert b["input_ids"].shape == (4, 64) and b["input_ids"].dtype == np.int64
        assert (b["input_ids"][:, 0] == albert_tok.cls_token_id).all()
    again = PretrainingBatches(path, albert_tok, cfg, batch_size=4)
    again.load_state_dict(state)
    assert_batches_equal(take(again, 3), rest)
    batches.close()
    again.close()


# --------------------------------------------------------------------------- #
# Numbered toy corpus                                                          #
# --------------------------------------------------------------------------- #
def test_sop_order_and_segments(tmp_path):
    """Every example is two contiguous stretches of one document; label 1 iff B comes first."""
    path = tmp_path / "c.txt"
    doc_of, line_starts = write_numbered_corpus(path, 120, 12, (1, 30), seed=1)
    tok = NumberTokenizer(len(doc_of))
    cfg = PretrainingDataConfig(max_seq_length=64, seed=2)
    n = swapped = truncated = inside_line = 0
    for ex in iter_examples(path, tok, cfg, epochs=5):
        a, b = split_pair(original_ids(ex["input_ids"], ex["labels"]), ex["attention_mask"])
        a, b = a - 5, b - 5
        assert len(a) >= 1 and len(b) >= 1 and len(a) + len(b) <= cfg.max_num_tokens
        assert np.all(np.diff(a) == 1) and np.all(np.diff(b) == 1), "a segment is not contiguous"
        assert len(set(doc_of[a]) | set(doc_of[b])) == 1, "pair spans two documents"
        label = ex["sentence_order_label"]
        if label == 0:
            assert a[-1] < b[0]
            gap = b[0] - a[-1]
            cut = b[0]
        else:
            assert b[-1] < a[0], "a swapped example must show B's text before A's"
            gap = a[0] - b[-1]
            cut = a[0]
        if len(a) + len(b) < cfg.max_num_tokens:
            assert gap == 1  # not truncated: the two halves touch
            inside_line += cut not in line_starts
        else:
            truncated += 1
        swapped += label
        n += 1
    assert n > 1500
    assert within(swapped / n, 0.5, n), swapped / n
    assert truncated > 0 and inside_line > 0  # both situations were exercised


def test_short_sequences(tmp_path):
    """Lines of exactly 5 tokens: a full-target chunk is exactly 125 tokens, a
    short one (target t uniform in [2, 125]) is 5 * ceil(t / 5) < 125 unless t > 120."""
    path = tmp_path / "c.txt"
    doc_of, _ = write_numbered_corpus(path, 220, 300, 5)
    last_of_doc = {d: int(np.flatnonzero(doc_of == d)[-1]) for d in range(220)}
    tok = NumberTokenizer(len(doc_of))
    cfg = PretrainingDataConfig(max_seq_length=128, seed=4)
    short = total = 0
    for ex in iter_examples(path, tok, cfg):
        ids = original_ids(ex["input_ids"], ex["labels"])
        n = int(ex["attention_mask"].sum())
        numbers = ids[:n][ids[:n] >= 5] - 5
        if numbers.max() == last_of_doc[doc_of[numbers[0]]]:
            continue  # a document's last chunk is short for lack of text
        total += 1
        short += n < cfg.max_seq_length
    expected = cfg.short_seq_prob * 119 / 124
    assert total > 2500
    assert within(short / total, expected, total), (short / total, expected)


def test_shapes_padding_types_mask(tmp_path):
    path = tmp_path / "c.txt"
    doc_of, _ = write_numbered_corpus(path, 30, 10, (1, 20), seed=3)
    tok = NumberTokenizer(len(doc_of))
    cfg = PretrainingDataConfig(max_seq_length=48, documents_buffer=4)
    for batch in take(PretrainingBatches(path, tok, cfg, batch_size=6, seed=0), 20):
        assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "labels", "sentence_order_label"}
        for key, value in batch.items():
            assert value.dtype == np.int64
            assert value.shape == ((6,) if key == "sentence_order_label" else (6, 48))
        assert set(np.unique(batch["sentence_order_label"])) <= {0, 1}
        for i in range(6):
            ids, tt, att, labels = (batch[k][i] for k in ("input_ids", "token_type_ids", "attention_mask", "labels"))
            n = int(att.sum())
            assert np.array_equal(att, np.arange(48) < n)
            assert np.all(ids[n:] == PAD) and np.all(tt[n:] == 0) and np.all(labels[n:] == -100)
            a, b = split_pair(ids, att)
            sep = len(a) + 1
            assert np.array_equal(tt[:n], np.r_[np.zeros(sep + 1), np.ones(n - sep - 1)])
            assert labels[0] == labels[sep] == labels[n - 1] == -100


def test_determinism(tmp_path):
    path = tmp_path / "c.txt"
    doc_of, _ = write_numbered_corpus(path, 40, 10, (1, 20), seed=3)
    tok = NumberTokenizer(len(doc_of))
    cfg = PretrainingDataConfig(max_seq_length=48, documents_buffer=5)
    run = lambda seed: take(PretrainingBatches(path, tok, cfg, batch_size=8, seed=seed), 6)
    assert_batches_equal(run(11), run(11))
    a, b = run(11), run(12)
    assert any(not np.array_equal(x["input_ids"], y["input_ids"]) for x, y in zip(a, b))
    # the config's seed is the default
    with_cfg_seed = PretrainingDataConfig(max_seq_length=48, documents_buffer=5, seed=11)
    assert_batches_equal(take(PretrainingBatches(path, tok, with_cfg_seed, batch_size=8), 6), a)


@pytest.mark.parametrize("buffer", [1, 7])
def test_resume_exact(tmp_path, buffer):
    path = tmp_path / "c.txt"
    # small corpus: the 12 batches cross at least one epoch boundary
    doc_of, _ = write_numbered_corpus(path, 8, 6, (1, 25), seed=5, blank_lines=2)
    tok = NumberTokenizer(len(doc_of))
    cfg = PretrainingDataConfig(max_seq_length=40, documents_buffer=buffer)
    batches = PretrainingBatches(path, tok, cfg, batch_size=8, seed=3)
    take(batches, 7)
    state = batches.state_dict()
    text = json.dumps(state)
    assert len(text) < 4000
    expected = take(batches, 5)
    assert batches.epoch >= 1
    fresh = PretrainingBatches(path, tok, cfg, batch_size=8, seed=3)
    fresh.load_state_dict(json.loads(text))
    assert_batches_equal(take(fresh, 5), expected)

    # and from every batch boundary of an uninterrupted run
    reference = PretrainingBatches(path, tok, cfg, batch_size=8, seed=3)
    states, run = [], []
    for _ in range(12):
        states.append(json.loads(json.dumps(reference.state_dict())))
        run.append(next(reference))
    for k in range(12):
        resumed = PretrainingBatches(path, tok, cfg, batch_size=8, seed=3)
        resumed.load_state_dict(states[k])
        assert_batches_equal(take(resumed, 12 - k), run[k:])

    with pytest.raises(ValueError, match="seed"):
        PretrainingBatches(path, tok, cfg, batch_size=8, seed=4).load_state_dict(state)


def test_train_eval_split(tmp_path):
    path = tmp_path / "c.txt"
    n_docs = 200
    doc_of, _ = write_numbered_corpus(path, n_docs, 4, (5, 15), seed=6)
    tok = NumberTokenizer(len(doc_of))
    cfg = PretrainingDataConfig(max_seq_length=64, held_out=0.2, documents_buffer=10)

    def docs(split):
        seen = set()
        for batch in PretrainingBatches(path, tok, cfg, batch_size=16, seed=0, split=split, epochs=1):
            for ids, labels in zip(batch["input_ids"], batch["labels"]):
                ids = original_ids(ids, labels)
                seen |= set(doc_of[ids[ids >= 5] - 5].tolist())
        return seen

    train, held = docs("train"), docs("eval")
    assert not train & held
    assert train | held == set(range(n_docs))
    assert within(len(held) / n_docs, 0.2, n_docs), len(held)
    assert docs("eval") == held
    with pytest.raises(ValueError):
        PretrainingBatches(path, tok, PretrainingDataConfig(), split="eval")


class NoWholeRead(io.BytesIO):
    """A corpus file that refuses to be read whole."""

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the whole corpus was read at once")
        return super().read(size)

    def readlines(self, hint=-1):
        raise AssertionError("the whole corpus was read at once")


def test_streaming_reads_lazily(tmp_path, monkeypatch):
    path = tmp_path / "c.txt"
    doc_of, _ = write_numbered_corpus(path, 400, 20, (5, 40), seed=8)
    tok = NumberTokenizer(len(doc_of))
    raw = path.read_bytes()
    f = NoWholeRead(raw)
    cfg = PretrainingDataConfig(max_seq_length=64, documents_buffer=5)
    batches = PretrainingBatches(f, tok, cfg, batch_size=4, seed=0)
    next(batches)
    assert f.tell() < len(raw) // 50  # only the first few documents were touched
    # a file object gives the same batches as the path, and is rewound every epoch
    by_path = PretrainingBatches(path, tok, cfg, batch_size=4, seed=0)
    assert_batches_equal([next(batches)], take(by_path, 2)[1:])

    opened = []
    real_open = builtins.open

    def counting_open(*args, **kwargs):
        opened.append(args[0])
        return real_open(*args, **kwargs)

    monkeypatch.setattr(data_module, "open", counting_open, raising=False)
    small = tmp_path / "small.txt"
    write_numbered_corpus(small, 3, 3, 10)
    n = sum(1 for _ in iter_examples(small, NumberTokenizer(100), PretrainingDataConfig(max_seq_length=16), epochs=3))
    assert n > 0 and len(opened) == 3
