"""Bad input through the command line: every malformed file or argument gets one line on stderr naming
what was wrong and exit status 2 -- never a traceback, a hang or a large allocation. Seeded fuzzers
(bounded: a few hundred cases, a few seconds) mutate the committed fixtures class by class."""
import json
import os
import shutil
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from minialbert import cli
from minialbert.hub import default_model_path
from conftest import HF_FIXTURES

MLM = HF_FIXTURES / "fillmask"          # a 30k-vocabulary MLM checkpoint (HF transformers wrote it)
TOK = str(default_model_path() / "spiece.model")   # its vocabulary: the official 30k one, shipped in the package


def run(args, capsys):
    """main() in this process; returns (status, stderr lines). An exception escaping main fails the test."""
    code = cli.main(args)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def assert_one_line(code, err, *needles):
    assert code == 2, (code, err)
    assert len(err) == 1 and "Traceback" not in err[0], err
    for n in needles:
        assert n in err[0], (n, err[0])


@pytest.fixture
def ckpt(tmp_path):
    d = tmp_path / "ckpt"
    shutil.copytree(MLM, d)
    return d


BAD_VALUES = ["99", 99.5, None, True, float("inf"), -4, 0, 10 ** 12, [1, 2], {"a": 1}, ""]
FIELDS = ["vocab_size", "hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size",
          "max_position_embeddings", "embedding_size", "layer_norm_eps", "num_hidden_groups", "inner_group_num",
          "type_vocab_size", "hidden_dropout_prob", "hidden_act", "initializer_range", "id2label"]


def test_fuzz_config_fields(ckpt, capsys):
    """Each field set to values of the wrong type or out of range: a one-line error naming config.json
    (or, for a value that is valid but does not match the weights, naming the tensor)."""
    base = json.loads((ckpt / "config.json").read_text())
    rng = np.random.default_rng(0)
    cases = [(f, v) for f in FIELDS for v in BAD_VALUES]
    for i in rng.permutation(len(cases))[:120]:
        field, value = cases[i]
        cfg = dict(base, **{field: value})
        (ckpt / "config.json").write_text(json.dumps(cfg))
        tracemalloc.start()
        code, err = run(["fill-mask", "--model", str(ckpt), "--quiet", "--tokenizer", TOK, "a [MASK] day"], capsys)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 400 << 20, (field, value, peak)            # never a big allocation from a small file
        if code == 0:      # a value that is legal and matches the weights (e.g. dropout 0): fine
            continue
        assert_one_line(code, err)
        assert "config.json" in err[0] or "tensor" in err[0] or field in err[0], (field, value, err)


@pytest.mark.parametrize("whole", ["[1, 2]", "42", "null", '"text"', "{", "NaN", '{"vocab_size": NaN}'])
def test_config_that_is_not_an_object(ckpt, capsys, whole):
    (ckpt / "config.json").write_text(whole)
    assert_one_line(*run(["fill-mask", "--model", str(ckpt), "--quiet", "--tokenizer", TOK, "a [MASK]"], capsys), "config.json")


def test_fuzz_safetensors_header(ckpt, capsys):
    """Random byte changes in the header (length, JSON, offsets, dtypes, shapes) and truncations."""
    path = ckpt / "model.safetensors"
    good = path.read_bytes()
    n = int.from_bytes(good[:8], "little")
    rng = np.random.default_rng(1)
    for _ in range(60):
        data = bytearray(good)
        kind = rng.integers(3)
        if kind == 0:                                             # flip bytes inside the header
            for pos in rng.integers(0, 8 + n, size=int(rng.integers(1, 4))):
                data[pos] = int(rng.integers(256))
        elif kind == 1:                                           # truncate anywhere
            data = data[:int(rng.integers(0, len(data)))]
        else:                                                     # a header that lies about its length
            data[:8] = int(rng.integers(0, 2 ** 63)).to_bytes(8, "little")
        path.write_bytes(bytes(data))
        code, err = run(["fill-mask", "--model", str(ckpt), "--quiet", "--tokenizer", TOK, "a [MASK] day"], capsys)
        if code == 0:       # a flip inside a number that stays valid JSON and consistent: still loads
            continue
        assert_one_line(code, err, "model.safetensors")


@pytest.mark.parametrize("header", [
    [1, 2], 7, None,
    {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0.5, 8]}},
    {"w": {"dtype": "F32", "shape": [2], "data_offsets": ["0", "8"]}},
    {"w": {"dtype": "F32", "shape": [[2]], "data_offsets": [0, 8]}},
    {"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}},
    {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
     "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},        # overlapping
])
def test_malformed_safetensors_headers(tmp_path, header):
    from minialbert.io import CheckpointError, read_safetensors
    h = json.dumps(header).encode()
    p = tmp_path / "x.safetensors"
    p.write_bytes(len(h).to_bytes(8, "little") + h + bytes(8))
    with pytest.raises(CheckpointError, match="x.safetensors"):
        read_safetensors(p)


@pytest.mark.parametrize("args,needle", [
    (["fill-mask", "--top-k", "0", "a [MASK]"], "top_k = 0"),
    (["fill-mask", "--top-k", "-1", "a [MASK]"], "top_k = -1"),
    (["fill-mask", "--top-k", "40000", "a [MASK]"], "top_k = 40000"),
    (["fill-mask", "--batch-size", "0", "a [MASK]"], "batch_size = 0"),
    (["trace", "--model", str(MLM), "--ids", ",", "--out", "/tmp/x.npz"], "--ids"),
    (["trace", "--model", str(MLM), "--ids", "1,x", "--out", "/tmp/x.npz"], "--ids"),
    (["trace", "--model", str(MLM), "--ids", "1,99999999", "--out", "/tmp/x.npz"], "input_ids"),
])
def test_bad_arguments(args, needle, capsys):
    if args[0] == "fill-mask":
        args = args[:1] + ["--model", str(MLM), "--quiet", "--tokenizer", TOK] + args[1:]
    assert_one_line(*run(args, capsys), needle)


def test_directory_or_fifo_where_a_file_is_expected(tmp_path, ckpt, capsys):
    os.remove(ckpt / "model.safetensors")
    (ckpt / "model.safetensors").mkdir()
    assert_one_line(*run(["fill-mask", "--model", str(ckpt), "--quiet", "--tokenizer", TOK, "a [MASK]"], capsys), "model.safetensors")
    shutil.rmtree(ckpt / "model.safetensors")
    os.mkfifo(ckpt / "model.safetensors")                       # open() would block forever
    assert_one_line(*run(["fill-mask", "--model", str(ckpt), "--quiet", "--tokenizer", TOK, "a [MASK]"], capsys), "model.safetensors")


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def boom(*a, **k):
        raise KeyError("something nobody expected")
    monkeypatch.setattr(cli, "pipeline", boom)
    code, err = run(["fill-mask", "--model", str(MLM), "--tokenizer", TOK, "a [MASK]"], capsys)
    assert_one_line(code, err, "unexpected KeyError", "--debug")
    with pytest.raises(KeyError):
        cli.main(["fill-mask", "--debug", "--model", str(MLM), "--tokenizer", TOK, "a [MASK]"])


def test_output_closed_early_ends_quietly(tmp_path):
    """`minialbert fill-mask ... | head -1`: no BrokenPipeError traceback."""
    texts = "\n".join(["a [MASK] day"] * 200) + "\n"
    p = subprocess.Popen([sys.executable, "-m", "minialbert", "fill-mask", "--model", str(MLM), "--quiet", "--tokenizer", TOK],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(texts.encode())
    p.stdin.close()
    p.stdout.readline()
    p.stdout.close()                                            # the reader goes away
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert p.returncode in (0, 141)


def test_version_and_defaults_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("minialbert ")
    with pytest.raises(SystemExit):
        cli.main(["pretrain", "--help"])
    out = capsys.readouterr().out
    assert "default: 1000" in out and "--overwrite" in out
