"""fill-mask against HF transformers' pipeline (fixture: scripts/make_fillmask_fixture.py).

The fixture model has the real 30k vocabulary and is read with the official
SentencePiece model (the bundled one). Tokens, token_str and sequence must match
exactly; scores within 1e-5 absolute (HF's pipeline runs in float32; the float64
reference in the fixture shows float32 noise is ~1e-7 here).
"""
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import minialbert as ma
from conftest import HF_FIXTURES, vocab_file

FIX = HF_FIXTURES / "fillmask"
SPM = vocab_file()
pytestmark = pytest.mark.skipif(not SPM.exists(), reason=f"official vocabulary not found at {SPM}")


@pytest.fixture(scope="module")
def fill():
    tok = ma.AlbertTokenizer.from_pretrained(SPM)
    return ma.pipeline("fill-mask", model=str(FIX), tokenizer=tok)


def assert_same(ours, ref):
    if isinstance(ref, list) and ref and isinstance(ref[0], list):
        assert len(ours) == len(ref)
        for o, r in zip(ours, ref):
            assert_same(o, r)
        return
    assert [p["token"] for p in ours] == [p["token"] for p in ref]
    assert [p["token_str"] for p in ours] == [p["token_str"] for p in ref]
    assert [p["sequence"] for p in ours] == [p["sequence"] for p in ref]
    np.testing.assert_allclose([p["score"] for p in ours], [p["score"] for p in ref], atol=1e-5, rtol=0)


CALLS = json.loads((FIX / "pipeline.json").read_text())


@pytest.mark.parametrize("call", CALLS["calls"], ids=[str(c["inputs"]) for c in CALLS["calls"]])
def test_matches_hf_pipeline(fill, call):
    ours = fill(call["inputs"], top_k=call["top_k"])
    assert_same(ours, call["output"])


@pytest.mark.parametrize("as_path", [str, lambda p: p], ids=["str", "Path"])
def test_tokenizer_may_be_given_as_a_path(as_path):
    """As HF's pipeline: tokenizer= takes a path (here the .model file) as well as an object."""
    call = CALLS["calls"][0]
    fill = ma.pipeline("fill-mask", model=str(FIX), tokenizer=as_path(SPM))
    assert_same(fill(call["inputs"], top_k=call["top_k"]), call["output"])


def test_classic_tokenisation_case(fill):
    """'[MASK].': HF 5's fast tokenizer splits '.' differently from the classic
    ALBERT tokenisation the checkpoints were trained with; the fixture ran HF's
    pipeline on the classic ids for this one."""
    entry = CALLS["dropped"]["The man worked as a [MASK]."]
    assert fill.tokenizer("The man worked as a [MASK].")["input_ids"] == entry["reference_input_ids"]
    ours = fill("The man worked as a [MASK].", top_k=entry["top_k"])
    ref = entry["pipeline_on_reference_ids"]["output"]
    assert [p["token"] for p in ours] == [p["token"] for p in ref]
    np.testing.assert_allclose([p["score"] for p in ours], [p["score"] for p in ref], atol=1e-5, rtol=0)


def test_batch_of_texts_is_padded_but_equal_to_one_at_a_time(fill):
    texts = ["a [MASK] day", "paris is the [MASK] of france and a long tail of words"]
    batch = fill(texts, top_k=3)
    for t, b in zip(texts, batch):
        one = fill(t, top_k=3)
        assert [p["token"] for p in one] == [p["token"] for p in b]
        np.testing.assert_allclose([p["score"] for p in one], [p["score"] for p in b], atol=1e-6)


def test_errors(fill):
    with pytest.raises(ValueError, match=r"no \[MASK\] in the text"):
        fill("there is nothing to fill")
    long = "word " * 60 + "[MASK]"
    with pytest.raises(ValueError, match=r"text is \d+ tokens long after tokenisation, but this model takes at most 40"):
        fill(long)
    short = "[MASK] " + "word " * 60
    assert len(fill(short, truncate=True)) == 5


def run_cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "minialbert", "fill-mask", "--model", str(FIX),
                           "--tokenizer", str(SPM), *args], input=stdin, capture_output=True, text=True)


def test_cli_json_is_the_pipelines(fill):
    r = run_cli("--json", "--top-k", "3", "paris is the [MASK] of france")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == fill("paris is the [MASK] of france", top_k=3)


def test_cli_table_and_stdin():
    r = run_cli(stdin="a [MASK] day\n\n[MASK] is good\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("rank") == 2 and "a [MASK] day" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (["no mask here"], "no [MASK] in the text"),
    (["word " * 60 + "[MASK]"], "--truncate"),
    (["--device", "cuda", "a [MASK]"], "--device cuda"),
])
def test_cli_errors_are_one_line(args, needle):
    if "cuda" in args and ma.backend.cuda_available():
        pytest.skip("a GPU is present")
    r = run_cli(*args)
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_unknown_model_and_offline(monkeypatch, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "MINIALBERT_WEIGHTS": str(tmp_path), "PATH": ""}
    r = subprocess.run([sys.executable, "-m", "minialbert", "fill-mask", "--model", "albert-base-v2", "a [MASK]"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "minialbert download albert-base-v2" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "minialbert", "fill-mask", "--model", "albert-giant-v9", "a [MASK]"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "neither a path nor a known model name" in r.stderr
    r = subprocess.run([sys.executable, "-m", "minialbert", "fill-mask", "--model", str(tmp_path), "a [MASK]"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "not a checkpoint directory" in r.stderr



# --------------------------------------------------------------------------------------------------
# targets= and tokenizer_kwargs= as HF's fill-mask pipeline takes them: scripts/make_fillmask_args_fixture.py
# ran transformers' pipeline on the same fixture model (FIX/arguments.json). Targets cover HF's lookup
# rule: a string that is a vocabulary entry as it stands ("paris": the word-internal piece), one that is
# not (its first piece, "unbelievably" -> "▁un"), duplicates, more or fewer targets than top_k.

ARG_CALLS = json.loads((FIX / "arguments.json").read_text())["calls"]


@pytest.mark.parametrize("call", ARG_CALLS, ids=[f"{c['text'][:20]}|{c.get('targets')}" for c in ARG_CALLS])
def test_targets_and_tokenizer_kwargs_match_hf(fill, call):
    kw = {k: call[k] for k in ("targets", "tokenizer_kwargs", "top_k") if k in call}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # HF logs a warning for a target that is not one entry
        ours = fill(call["text"], **kw)
    assert_same(ours, call["output"])


def test_target_lookup_warns_and_refuses_as_hf(fill):
    with pytest.warns(UserWarning, match="first piece"):
        assert fill.target_ids(["unbelievably"]) == [fill.tokenizer.convert_tokens_to_ids("\u2581un")]
    assert fill.target_ids("paris") == [fill.tokenizer.convert_tokens_to_ids("paris")]   # an entry as it is
    with pytest.raises(ValueError, match="none is in the vocabulary"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fill.target_ids([" "])
    with pytest.raises(ValueError, match="targets"):
        fill.target_ids([3])
    with pytest.raises(ValueError, match="max_length"):
        fill("a [MASK] b", tokenizer_kwargs={"truncation": True, "max_length": 10 ** 6})
    with pytest.raises(ValueError, match="padding"):
        fill("a [MASK] b", tokenizer_kwargs={"padding": True})


def test_cli_targets(tmp_path):
    r = subprocess.run([sys.executable, "-m", "minialbert", "fill-mask", "--model", str(FIX), "--tokenizer", str(SPM),
                        "--json", "--targets", "paris", "london", "--", ARG_CALLS[0]["text"]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert sorted(p["token_str"] for p in out) == ["london", "paris"]
