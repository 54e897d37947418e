"""The task pipelines against Hugging Face's, and their CLI subcommands.

Fixtures: tests/fixtures/pipelines/<task>/ (small random ALBERTs with the official 30k vocabulary, float16
weights, and HF's outputs), made by scripts/make_pipeline_fixtures.py with transformers 5 (question
answering: transformers 4's algorithm, re-implemented there on HF's tokenizer and model, as transformers
5 has no such pipeline). Labels, entities, offsets and answers must be equal; scores agree to SCORE_TOL
(float32 forward passes in a different order of operations: the differences seen are ~1e-6).
"""
import io
import json
from pathlib import Path

import numpy as np
import pytest

import minialbert as ma
from minialbert import cli
from minialbert.pipelines import PipelineError
from minialbert.tokenization import load_tokenizer
from minialbert.tokenization.offsets import tokenize_with_offsets

FIX = Path(__file__).parent / "fixtures" / "pipelines"
SPM_DIR = Path(ma.__file__).parent / "bundled" / "minialbert-default"
SCORE_TOL = 1e-5
FEATURE_TOL = 1e-5


def load(task):
    return json.loads((FIX / task / "outputs.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(SPM_DIR)


@pytest.fixture(scope="module")
def pipes(tok):
    return {task: ma.pipeline(task, model=FIX / task, tokenizer=tok)
            for task in ("text-classification", "token-classification", "question-answering", "feature-extraction")}


def assert_same(ours, hf, path="output"):
    """Equal structure, keys and non-score values; scores within SCORE_TOL."""
    if isinstance(hf, list):
        assert isinstance(ours, list) and len(ours) == len(hf), f"{path}: {ours!r} vs {hf!r}"
        for i, (a, b) in enumerate(zip(ours, hf)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(hf, dict):
        assert isinstance(ours, dict) and set(ours) == set(hf), f"{path}: {ours!r} vs {hf!r}"
        for k in hf:
            if k == "score":
                assert abs(ours[k] - hf[k]) <= SCORE_TOL, f"{path}.score: {ours[k]} vs {hf[k]}"
                assert type(ours[k]) is float
            else:
                assert ours[k] == hf[k], f"{path}.{k}: {ours[k]!r} vs {hf[k]!r}"
    else:
        assert ours == hf, f"{path}: {ours!r} vs {hf!r}"


# -- offsets -----------------------------------------------------------------------------------

def test_offsets_match_hf_fast_tokenizer(tok):
    for text, hf in load("token-classification")["hf_tokens"].items():
        tokens, offsets = tokenize_with_offsets(tok, text)
        assert tokens == tok.tokenize(text)
        assert [tok.cls_token_id] + tok.convert_tokens_to_ids(tokens) + [tok.sep_token_id] == hf["input_ids"]
        assert [list(o) for o in offsets] == hf["offsets"][1:-1]


@pytest.mark.parametrize("text,expected", [
    ("Hello   Wörld!", [("▁hello", "Hello"), ("▁world", "Wörld"), ("!", "!")]),
    ("  ÉCOLE  normale ", [("▁ecole", "ÉCOLE"), ("▁normal", "normal"), ("e", "e")]),
    ("in 1990, the [MASK].", [("▁in", "in"), ("▁1990", "1990"), (",", ","), ("▁the", "the"), ("[MASK]", "[MASK]"),
                             ("▁", ""), (".", ".")]),
    ("a ``b''", [("▁a", "a"), ("▁", ""), ('"', "``"), ("b", "b"), ('"', "''")]),
])
def test_offsets_cover_the_original_characters(tok, text, expected):
    tokens, offsets = tokenize_with_offsets(tok, text)
    assert list(zip(tokens, (text[a:b] for a, b in offsets))) == expected


def test_offsets_need_sentencepiece():
    wp = type("WordPieceLike", (), {})()
    with pytest.raises(ValueError, match="SentencePiece"):
        tokenize_with_offsets(wp, "x")


# -- the pipelines against HF ----------------------------------------------------------------------

@pytest.mark.parametrize("i", range(len(load("text-classification")["calls"])))
def test_text_classification_matches_hf(pipes, i):
    call = load("text-classification")["calls"][i]
    assert_same(pipes["text-classification"](call["inputs"], **call["kwargs"]), call["output"])


def test_text_classification_alias_and_defaults(pipes, tok):
    clf = ma.pipeline("sentiment-analysis", model=FIX / "text-classification", tokenizer=tok, batch_size=1)
    assert isinstance(clf, type(pipes["text-classification"]))
    texts = ["I loved this movie", "what a boring film", "the weather is fine today"]
    assert_same(clf(texts, top_k=None), pipes["text-classification"](texts, top_k=None))
    assert_same(ma.pipeline("text-classification", model=FIX / "text-classification", tokenizer=tok, top_k=None)(
        texts[0]), clf(texts[0], top_k=None))                    # top_k=None at construction: every label, as HF
    # the default function follows problem_type (HF: none for regression, sigmoid for multi-label)
    raw = clf("x", function_to_apply="none", top_k=None)
    clf.model.config.problem_type = "regression"
    assert_same(clf("x", top_k=None), raw)
    clf.model.config.problem_type = "multi_label_classification"
    assert_same(clf("x", top_k=None), clf("x", function_to_apply="sigmoid", top_k=None))
    # labels missing from id2label are HF's LABEL_i
    clf.model.config.id2label = None
    assert {r["label"] for r in clf("x", top_k=None)} == {"LABEL_0", "LABEL_1", "LABEL_2"}
    with pytest.raises(PipelineError, match="function_to_apply"):
        clf("x", function_to_apply="tanh")
    with pytest.raises(PipelineError, match="truncation"):
        clf("word " * 80)
    assert len(clf("word " * 80, truncation=True)) == 1


@pytest.mark.parametrize("i", range(len(load("token-classification")["calls"])))
def test_token_classification_matches_hf(pipes, i):
    call = load("token-classification")["calls"][i]
    assert_same(pipes["token-classification"](call["inputs"], **call["kwargs"]), call["output"])


def test_token_classification_batch_and_errors(pipes):
    ner = pipes["token-classification"]
    calls = [c for c in load("token-classification")["calls"] if c["kwargs"]["aggregation_strategy"] == "simple"]
    assert_same(ner([c["inputs"] for c in calls], aggregation_strategy="simple", batch_size=2),
                [c["output"] for c in calls])
    with pytest.raises(PipelineError, match="first/average/max"):
        ner("x", aggregation_strategy="first")


@pytest.mark.parametrize("i", range(len(load("question-answering")["calls"])))
def test_question_answering_matches_hf(pipes, i):
    call = load("question-answering")["calls"][i]
    qa = pipes["question-answering"]
    o = qa._options(**call["kwargs"])
    assert len(qa.windows(call["question"], call["context"], o["max_seq_len"], o["doc_stride"])) == call["windows"]
    assert_same(qa(question=call["question"], context=call["context"], **call["kwargs"]), call["output"])


def test_question_answering_long_context_has_several_windows_and_inputs_as_dicts(pipes):
    calls = load("question-answering")["calls"]
    assert max(c["windows"] for c in calls) >= 3
    qa = pipes["question-answering"]
    c = calls[1]
    assert_same(qa({"question": c["question"], "context": c["context"]}, **c["kwargs"], batch_size=1), c["output"])
    both = qa(question=[calls[0]["question"], calls[2]["question"]], context=[calls[0]["context"], calls[2]["context"]])
    assert_same(both[0], calls[0]["output"])
    assert both[1]["answer"] == calls[2]["output"][0]["answer"]
    with pytest.raises(PipelineError, match="doc_stride"):
        qa(question="q", context="c", doc_stride=1000)
    with pytest.raises(PipelineError, match="max_position_embeddings"):
        qa(question="q", context="c", max_seq_len=1000)


def test_feature_extraction_matches_hf(pipes):
    calls = load("feature-extraction")["calls"]
    fe = pipes["feature-extraction"]
    ours = fe([c["inputs"] for c in calls])
    for got, c in zip(ours, calls):
        assert np.asarray(got).shape == np.asarray(c["output"]).shape        # (1, T, H)
        np.testing.assert_allclose(got, c["output"], atol=FEATURE_TOL, rtol=0)
    assert np.asarray(fe(calls[0]["inputs"])).shape == np.asarray(calls[0]["output"]).shape


def test_pipeline_factory_errors(tok):
    with pytest.raises(ValueError, match="unknown task"):
        ma.pipeline("summarization")
    with pytest.raises(PipelineError, match="needs a model"):
        ma.pipeline("question-answering", tokenizer=tok)
    with pytest.raises(PipelineError, match="no trained AlbertForTokenClassification head"):
        ma.pipeline("ner", model=FIX / "question-answering", tokenizer=tok)
    from minialbert.pipeline import FillMaskPipeline  # noqa: F401  (still importable)


# -- the command line ----------------------------------------------------------------------------

def run(capsys, monkeypatch, *argv, stdin=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_text_classification(capsys, monkeypatch, pipes):
    m = ["--model", str(FIX / "text-classification"), "--tokenizer", str(SPM_DIR)]
    rc, out, err = run(capsys, monkeypatch, "text-classification", *m, "--json", "Is it raining?",
                       "--pair", "The streets are wet.")
    assert rc == 0, err
    assert_same(json.loads(out), load("text-classification")["calls"][6]["output"])
    rc, out, err = run(capsys, monkeypatch, "text-classification", *m, "--top-k", "all",
                       stdin="I loved this movie\n\nwhat a boring film\n")
    assert rc == 0, err
    assert out.count("negative") == 2 and "what a boring film" in out
    rc, out, err = run(capsys, monkeypatch, "text-classification", *m, "--json", "--top-k", "2", "a", "b")
    assert rc == 0 and [len(r) for r in json.loads(out)] == [2, 2]


def test_cli_token_classification(capsys, monkeypatch):
    call = next(c for c in load("token-classification")["calls"] if c["kwargs"]["aggregation_strategy"] == "simple")
    rc, out, err = run(capsys, monkeypatch, "token-classification", "--model", str(FIX / "token-classification"),
                       "--tokenizer", str(SPM_DIR), "--aggregation", "simple", "--json", call["inputs"])
    assert rc == 0, err
    assert_same(json.loads(out), call["output"])
    rc, out, err = run(capsys, monkeypatch, "token-classification", "--model", str(FIX / "token-classification"),
                       "--tokenizer", str(SPM_DIR), call["inputs"])
    assert rc == 0 and "(token 4: ▁wolfgang)" in out


def test_cli_question_answering(capsys, monkeypatch):
    call = load("question-answering")["calls"][1]
    m = ["--model", str(FIX / "question-answering"), "--tokenizer", str(SPM_DIR)]
    rc, out, err = run(capsys, monkeypatch, "question-answering", *m, "--question", call["question"],
                       "--context", call["context"], "--json", "--top-k", "3", "--max-seq-len", "48",
                       "--doc-stride", "16")
    assert rc == 0, err
    assert_same(json.loads(out), call["output"])
    rc, out, err = run(capsys, monkeypatch, "question-answering", *m, "--question", "a?", "--question", "b?",
                       stdin=call["context"])
    assert rc == 0 and out.count("\n\n") == 2


def test_cli_feature_extraction(capsys, monkeypatch):
    call = load("feature-extraction")["calls"][0]
    rc, out, err = run(capsys, monkeypatch, "feature-extraction", "--model", str(FIX / "feature-extraction"),
                       "--tokenizer", str(SPM_DIR), "--json", call["inputs"])
    assert rc == 0, err
    np.testing.assert_allclose(json.loads(out), call["output"], atol=FEATURE_TOL, rtol=0)


@pytest.mark.parametrize("argv,needle", [
    (["text-classification", "--model", str(FIX / "question-answering"), "x"], "no trained"),
    (["text-classification", "--model", str(FIX / "text-classification"), "word " * 80], "--truncate"),
    (["question-answering", "--model", str(FIX / "question-answering"), "--question", "q", "--context", "c",
      "--doc-stride", "500"], "doc_stride"),
    (["question-answering", "--model", str(FIX / "question-answering"), "--question", "q", "--context", " "],
     "context is empty"),
])
def test_cli_errors_are_one_line(capsys, monkeypatch, argv, needle):
    rc, out, err = run(capsys, monkeypatch, *argv[:3], "--tokenizer", str(SPM_DIR), *argv[3:])
    assert rc == 2
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
