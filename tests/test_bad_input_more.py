"""More bad input (issue 14), class by class, each with a seeded, bounded fuzzer: tensor files whose
header or index declares shapes the config does not imply (checked before a byte of data is read, so a
10 GB sparse file fails at once), `convert` (symlinks out of the source, SRC = DST, a fresh atomic
destination), finetune tables, lone surrogates, tokenizer / model vocabulary sizes, a full disk during a
save, damaged trainer_state.json / optimizer.npz, malformed CLI values and paths of the wrong kind.
Every error is one line naming the file / field / value; nothing here takes more than a few seconds."""
import errno
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import minialbert.io.torch_bin as torch_bin
from minialbert import AlbertForMaskedLM, cli
from minialbert.auto import convert
from minialbert.io import CheckpointError, WriteError, atomic_write, list_tf_checkpoint
from minialbert.io.crc32c import crc32c
from minialbert.pipeline import pipeline
from minialbert.pipelines import PipelineError
from minialbert.tokenization import load_tokenizer
from minialbert.training.checkpoints import latest_checkpoint
from minialbert.training.finetune import read_table
from minialbert.training.pretrain import pretrain
from conftest import HF_FIXTURES, ROOT
from test_bad_input import MLM, TOK, assert_one_line, run
from test_pretraining import CFG, tc

BUNDLED = ROOT / "minialbert" / "bundled" / "minialbert-default"     # 30k vocabulary, spiece.model beside it
TF_MLM = ROOT / "tests" / "fixtures" / "tf" / "google_mlm"
BIN_MLM = ROOT / "tests" / "fixtures" / "bin" / "hf_mlm"
BIG = 10 << 30                                                           # 10 GiB, sparse: no disk used


def sparse_ok(tmp_path):
    """A 10 GiB sparse file must take (almost) no disk here, or the test is skipped."""
    p = tmp_path / "probe"
    with open(p, "wb") as f:
        f.truncate(BIG)
    used = os.stat(p).st_blocks * 512
    os.remove(p)
    if used > 1 << 20:
        pytest.skip("this file system does not make sparse files")


def bounded(fn, *a, seconds=3.0, peak=64 << 20, **kw):
    """fn(*a, **kw) -> its result; asserts it took under `seconds` and allocated under `peak` bytes."""
    tracemalloc.start()
    t = time.perf_counter()
    try:
        out = fn(*a, **kw)
    finally:
        got = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    took = time.perf_counter() - t
    assert took < seconds and got < peak, (took, got)
    return out


# ----------------------------------------------------------------------------- safetensors headers vs config

def st_header(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n])


def write_st(path, header, payload=None):
    """A .safetensors file with `header` (offsets recomputed in file order from dtype x shape); the data
    is `payload`'s bytes ({name: bytes}) where given, else a hole (sparse zeros)."""
    items = sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0])
    sizes = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4}
    off, new = 0, {"__metadata__": header.get("__metadata__", {})}
    for k, v in items:
        n = sizes[v["dtype"]] * int(np.prod(v["shape"], dtype=np.int64))
        new[k] = dict(v, data_offsets=[off, off + n])
        off += n
    hb = json.dumps(new).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb)
        f.truncate(8 + len(hb) + off)
        for k, data in (payload or {}).items():
            f.seek(8 + len(hb) + new[k]["data_offsets"][0])
            f.write(data)


def st_payload(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
            for k, v in st_header(path).items() if k != "__metadata__"}


def test_a_10gb_sparse_safetensors_fails_at_once_without_reading_it(tmp_path, capsys):
    sparse_ok(tmp_path)
    d = tmp_path / "m"
    shutil.copytree(MLM, d)
    h = st_header(d / "model.safetensors")
    name = "albert.embeddings.word_embeddings.weight"
    E = h[name]["shape"][1]
    h[name]["shape"] = [BIG // (4 * E), E]
    write_st(d / "model.safetensors", h)
    assert (d / "model.safetensors").stat().st_size > BIG
    code, err = bounded(run, ["fill-mask", "--model", str(d), "--quiet", "--tokenizer", TOK, "a [MASK]"], capsys)
    assert_one_line(code, err, "model.safetensors", name, "the config implies")
    with pytest.raises(CheckpointError, match="the config implies"):
        bounded(AlbertForMaskedLM.from_pretrained, d)


def test_fuzz_safetensors_shapes_and_dtypes_against_the_config(tmp_path, capsys):
    """Seeded: a tensor's declared shape, dtype or name changed consistently (so the file itself is valid
    safetensors, only not this config's): one line naming the file and the tensor, no big allocation;
    a huge tensor of a head the model does not use is never read, and the model loads."""
    sparse_ok(tmp_path)
    d = tmp_path / "m"
    shutil.copytree(MLM, d)
    good = st_header(MLM / "model.safetensors")
    names = sorted(k for k in good if k != "__metadata__")
    rng = np.random.default_rng(14)
    for case in range(40):
        h = json.loads(json.dumps(good))
        name = names[int(rng.integers(len(names)))]
        kind = case % 4
        if kind == 0:                                   # another shape (often a huge one)
            shape = list(h[name]["shape"]) or [1]
            i = int(rng.integers(len(shape)))
            rest = int(np.prod(shape)) // shape[i]
            shape[i] = int(rng.choice([0, shape[i] + 1, 3 * shape[i], (4 << 30) // (4 * rest)]))  # up to 4 GiB
            h[name]["shape"] = shape
            needle = "has shape"
        elif kind == 1:                                 # one more axis
            h[name]["shape"] = h[name]["shape"] + [int(rng.integers(2, 5))]
            needle = "has shape"
        elif kind == 2:                                 # an integer weight
            h[name]["dtype"] = "I32"
            needle = "floating point"
        else:                                           # a tensor the model has no place for
            h["albert.encoder.surprise." + str(case)] = {"dtype": "F32", "shape": [1 << 26], "data_offsets": [0, 0]}
            name, needle = "albert.encoder.surprise", "unexpected tensor"
        write_st(d / "model.safetensors", h)
        code, err = bounded(run, ["fill-mask", "--model", str(d), "--quiet", "--tokenizer", TOK, "a [MASK] day"], capsys)
        assert_one_line(code, err, "model.safetensors", needle)
        assert name in err[0], (name, err)
    # A head the MLM does not use, declared huge: never read (its bytes are a hole), and the model loads
    # with the real tensors' values.
    h = json.loads(json.dumps(good))
    h["sop_classifier.classifier.weight"] = {"dtype": "F32", "shape": [2, 1 << 27], "data_offsets": [0, 0]}
    write_st(d / "model.safetensors", h, st_payload(MLM / "model.safetensors"))
    model = bounded(AlbertForMaskedLM.from_pretrained, d, peak=256 << 20)
    ref = AlbertForMaskedLM.from_pretrained(MLM)
    assert set(model.params) == set(ref.params)
    assert all(np.array_equal(model.params[k], ref.params[k]) for k in ref.params)


def test_a_bin_whose_shapes_do_not_fit_the_config_is_refused_before_any_tensor_is_built(tmp_path, monkeypatch):
    d = tmp_path / "b"
    shutil.copytree(BIN_MLM, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["vocab_size"] -= 1
    (d / "config.json").write_text(json.dumps(cfg))

    def never(*a, **k):
        raise AssertionError("a tensor was materialised before the shape check")
    monkeypatch.setattr(torch_bin, "_materialize", never)
    with pytest.raises(CheckpointError, match=r"pytorch_model.bin: tensor 'albert.embeddings.word_embeddings.weight' "
                                              r"has shape \(99, \d+\), the config implies \(98, \d+\)"):
        AlbertForMaskedLM.from_pretrained(d)


# ----------------------------------------------------------------------------- TF index vs config

def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mask(c):
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _block(items):
    body = b"".join(_varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in items)
    body += struct.pack("<II", 0, 1)                                    # one restart point at 0
    return body + b"\x00" + struct.pack("<I", _mask(crc32c(b"\x00", crc32c(body))))


def _entry(info, shape, size, offset):
    dims = b"".join(b"\x12" + _varint(len(_varint(d)) + 1) + b"\x08" + _varint(d) for d in shape)
    out = b"\x08" + _varint(info._dtype_code) + b"\x12" + _varint(len(dims)) + dims
    out += b"\x18" + _varint(info.shard_id) + b"\x20" + _varint(offset) + b"\x28" + _varint(size)
    return out + b"\x35" + struct.pack("<I", info.crc32c or 0)


def write_tf(dst, changes):
    """A copy of the google_mlm fixture whose index declares `changes` ({TF name: shape}); each changed
    tensor's bytes are appended to the data file as a hole (sparse)."""
    shutil.copytree(TF_MLM, dst)
    prefix = dst / "model.ckpt-7"
    infos = list_tf_checkpoint(prefix)
    data = dst / "model.ckpt-7.data-00000-of-00001"
    end = data.stat().st_size
    items = [(b"", b"\x08\x01")]                                         # BundleHeaderProto: num_shards 1
    for name in sorted(infos):
        i = infos[name]
        shape, size, off = i.shape, i.size, i.offset
        if name in changes:
            shape = tuple(changes[name])
            size = int(np.prod(shape, dtype=np.int64)) * (i.size // max(1, int(np.prod(i.shape, dtype=np.int64))))
            off, end = end, end + size
        items.append((name.encode(), _entry(i, shape, size, off)))
    data_block = _block(items)
    meta = _block([])
    index = _block([(b"\xff", _varint(0) + _varint(len(data_block) - 5))])
    handles = (_varint(len(data_block)) + _varint(len(meta) - 5)
               + _varint(len(data_block) + len(meta)) + _varint(len(index) - 5))
    footer = handles + b"\x00" * (40 - len(handles)) + struct.pack("<Q", 0xDB4775248B80FB57)
    (dst / "model.ckpt-7.index").write_bytes(data_block + meta + index + footer)
    with open(data, "r+b") as f:
        f.truncate(end)
    return dst


def test_tf_index_writer_round_trips(tmp_path):
    d = write_tf(tmp_path / "same", {})
    a = AlbertForMaskedLM.from_pretrained(d)
    b = AlbertForMaskedLM.from_pretrained(TF_MLM)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in b.params)


def test_a_10gb_sparse_tf_shard_fails_at_once_without_reading_it(tmp_path, capsys):
    sparse_ok(tmp_path)
    d = write_tf(tmp_path / "tf", {"bert/embeddings/word_embeddings": (BIG // 64, 16)})
    assert (d / "model.ckpt-7.data-00000-of-00001").stat().st_size > BIG
    code, err = bounded(run, ["trace", "--model", str(d), "--ids", "2,5,3", "--out", str(tmp_path / "t.npz")], capsys)
    assert_one_line(code, err, "model.ckpt-7.index", "albert.embeddings.word_embeddings.weight", "the config implies")


def test_fuzz_tf_shapes_against_the_config(tmp_path):
    """Seeded: one variable's declared shape changed (its bytes a hole at the end of the shard): refused
    naming the index and the tensor, before the bytes are read; optimizer slots are never even checked."""
    sparse_ok(tmp_path)
    infos = list_tf_checkpoint(TF_MLM)
    names = sorted(n for n in infos if "adam_" not in n and n != "global_step")
    rng = np.random.default_rng(7)
    for case in range(16):
        name = names[int(rng.integers(len(names)))]
        shape = list(infos[name].shape) or [1]
        shape[int(rng.integers(len(shape)))] += int(rng.choice([1, 5, 1 << 24]))
        d = write_tf(tmp_path / f"c{case}", {name: shape})
        with pytest.raises(CheckpointError, match=r"model\.ckpt-7\.index: .*shape"):
            bounded(AlbertForMaskedLM.from_pretrained, d)
    # a huge optimizer slot is left on disk: the model loads
    d = write_tf(tmp_path / "slot", {"bert/embeddings/word_embeddings/adam_m": (1 << 24, 16)})
    bounded(AlbertForMaskedLM.from_pretrained, d)


def test_a_tf_index_block_claiming_gigabytes_is_refused(tmp_path):
    sparse_ok(tmp_path)
    d = write_tf(tmp_path / "tf", {})
    idx = d / "model.ckpt-7.index"
    raw = bytearray(idx.read_bytes())
    # the footer's index handle: point it at a 1 GiB block inside a (sparse) 2 GiB file
    handles = _varint(0) + _varint(8) + _varint(16) + _varint(1 << 30)
    footer = handles + b"\x00" * (40 - len(handles)) + struct.pack("<Q", 0xDB4775248B80FB57)
    with open(idx, "wb") as f:
        f.write(bytes(raw[:-48]))
        f.truncate(2 << 30)
        f.seek(0, 2)
        f.write(footer)
    with pytest.raises(CheckpointError, match="model.ckpt-7.index: .*index block claims"):
        bounded(list_tf_checkpoint, d / "model.ckpt-7")


# ----------------------------------------------------------------------------- convert

def test_convert_writes_a_fresh_directory_that_works_on_its_own(tmp_path, capsys):
    dst = tmp_path / "out"
    assert cli.main(["convert", str(BUNDLED), str(dst)]) == 0
    assert sorted(p.name for p in dst.iterdir()) == ["config.json", "model.safetensors", "spiece.model",
                                                     "tokenizer_config.json"]
    capsys.readouterr()
    assert cli.main(["fill-mask", "--model", str(dst), "--quiet", "--json", "a [MASK] day"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["token_str"]
    # again: refused without --overwrite, and nothing changed
    before = {p.name: p.stat().st_mtime_ns for p in dst.iterdir()}
    assert_one_line(*run(["convert", str(BUNDLED), str(dst)], capsys), str(dst), "--overwrite")
    assert {p.name: p.stat().st_mtime_ns for p in dst.iterdir()} == before
    # with --overwrite: a fresh directory, no stale file kept, nothing left beside it
    (dst / "vocab.txt").write_text("[PAD]\n")
    assert cli.main(["convert", str(BUNDLED), str(dst), "--overwrite"]) == 0
    assert not (dst / "vocab.txt").exists() and (dst / "spiece.model").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("how", ["same", "same-via-symlink", "dst-holds-src", "dst-is-a-file", "src-config-as-dst"])
def test_convert_onto_its_source_is_refused(tmp_path, capsys, how):
    src = tmp_path / "src"
    shutil.copytree(BUNDLED, src)
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    if how == "same":
        dst = src
    elif how == "same-via-symlink":
        dst = tmp_path / "link"
        dst.symlink_to(src)
    elif how == "dst-holds-src":
        dst = tmp_path
    elif how == "dst-is-a-file":
        dst = tmp_path / "f"
        dst.write_text("x")
    else:
        dst = src / "config.json"
    code, err = run(["convert", str(src), str(dst)] + (["--overwrite"] if how != "dst-is-a-file" else []), capsys)
    assert_one_line(code, err, str(dst))
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before          # the source is untouched


def test_fuzz_convert_symlinked_tokenizer_files(tmp_path, capsys):
    """Seeded: each tokenizer file of the source replaced by a symlink, to a file outside the source
    (refused, naming the link), or inside it (copied). The output never holds bytes from outside."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"not for the output " * 100)
    rng = np.random.default_rng(3)
    for case in range(8):
        src = tmp_path / f"src{case}"
        shutil.copytree(BUNDLED, src)
        name = ["spiece.model", "tokenizer_config.json"][case % 2]
        outside = bool(rng.integers(2)) or case < 2
        os.rename(src / name, src / ("." + name))
        if outside:
            (src / name).symlink_to(secret if rng.integers(2) else os.path.relpath(secret, src))
        else:
            (src / name).symlink_to("." + name)
        dst = tmp_path / f"dst{case}"
        code, err = run(["convert", str(src), str(dst)], capsys)
        if outside:
            assert_one_line(code, err, name, "symlink", "outside")
            assert not dst.exists()
        else:
            assert code == 0, err
            assert (dst / name).read_bytes() == (src / ("." + name)).read_bytes()
            assert not (dst / name).is_symlink()
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []   # no temp dir left


def test_convert_that_fails_midway_leaves_the_destination_as_it_was(tmp_path, monkeypatch):
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "keep.txt").write_text("mine")
    real = os.write
    budget = [200_000]

    def full_disk(fd, data):
        budget[0] -= len(data)
        if budget[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)
    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(WriteError, match="no space left on device"):
        convert(BUNDLED, dst, overwrite=True)
    monkeypatch.undo()
    assert [p.name for p in dst.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ----------------------------------------------------------------------------- finetune tables

GOOD_ROWS = [("the film was great", "pos"), ("awful", "neg"), ("a fine, quiet film", "pos"), ("dull", "neg")]


def test_fuzz_finetune_tables(tmp_path):
    """Seeded mutations of a good TSV / CSV, one line each: a ValueError naming the file and the line
    the fault is on (the line a row starts on, when an unmatched quote joins lines)."""
    rng = np.random.default_rng(5)
    for case in range(60):
        sep = "\t" if case % 2 else ","
        path = tmp_path / f"t{case}.{'tsv' if sep == chr(9) else 'csv'}"
        lines = ["text" + sep + "label"] + [f'"{t}"{sep}{lab}' if sep in t else f"{t}{sep}{lab}" for t, lab in GOOD_ROWS]
        bad = int(rng.integers(1, len(lines)))              # the data line to break (1-based below: bad + 1)
        kind = case % 6
        regression = False
        if kind == 0:
            lines[bad] += sep + "extra"
            needle = "expected 2"
        elif kind == 1:
            lines[bad] = lines[bad].split(sep)[-1]
            needle = "expected 2"
        elif kind == 2:
            lines[bad] = '"' + lines[bad]                    # an unmatched quote: joins the following lines
            needle = "expected 2"
        elif kind == 3:
            lines[bad] = "x" * 140_000 + sep + "pos"
            needle = "characters"
        elif kind == 4:
            lines[bad] = lines[bad].rsplit(sep, 1)[0] + sep + "  "
            needle = "empty label"
        else:
            lines = ["text" + sep + "label"] + [f"t{i}{sep}{i}.5" for i in range(4)]
            lines[bad] = f"x{sep}" + str(rng.choice(["nan", "inf", "abc", "1e999"]))
            needle, regression = "not a finite number", True
        path.write_bytes(("\n".join(lines) + "\n").encode())
        with pytest.raises(ValueError) as e:
            bounded(read_table, path, regression)
        msg = str(e.value)
        assert str(path) in msg and f"line {bad + 1}:" in msg and needle in msg, (kind, bad, msg)
        assert "\n" not in msg


@pytest.mark.parametrize("content,needle", [
    (b"text\tlabel\na\tpos\nb \xff\tneg\n", "line 3: not UTF-8"),
    (b"text\tlabel\n" + b"x" * (5 << 20), "line 2: longer than"),
    (b"", "empty"),
    (b"text\tlabel\n\n\n", "no rows"),
    (b"sentence\tlabel\nx\tpos\n", "needs a header"),
])
def test_finetune_tables_that_are_not_tables(tmp_path, content, needle):
    p = tmp_path / "t.tsv"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=needle):
        bounded(read_table, p)


def test_finetune_table_paths_of_the_wrong_kind(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.tsv")                        # open() would block
    for bad in (tmp_path, tmp_path / "fifo.tsv"):
        code, err = run(["finetune", "--model", str(MLM), "--tokenizer", TOK, "--train", str(bad),
                         "--out", str(tmp_path / "o")], capsys)
        assert_one_line(code, err, str(bad), "not a regular file")
    good = tmp_path / "ok.tsv"
    good.write_text("text\tlabel\na\tpos\n")
    (tmp_path / "file").write_text("x")
    assert_one_line(*run(["finetune", "--model", str(MLM), "--tokenizer", TOK, "--train", str(good), "--out",
                          str(tmp_path / "file")], capsys), "--out", "not a directory")


@pytest.mark.parametrize("flag,value", [("--batch-size", "0"), ("--batch-size", "-3"), ("--epochs", "0"),
                                        ("--lr", "nan"), ("--lr", "-1"), ("--max-length", "1")])
def test_bad_finetune_settings_are_refused_before_any_work(tmp_path, capsys, flag, value):
    good = tmp_path / "ok.tsv"
    good.write_text("text\tlabel\na\tpos\nb\tneg\n")
    code, err = run(["finetune", "--model", str(MLM), "--tokenizer", TOK, "--train", str(good),
                     "--out", str(tmp_path / "o"), flag, value], capsys)
    assert_one_line(code, err, flag[2:].replace("-", "_") + " = ")
    assert not (tmp_path / "o").exists()


def test_a_diverging_finetune_stops_without_saving(tmp_path, capsys):
    good = tmp_path / "ok.tsv"
    good.write_text("text\tlabel\nthe film was great\tpos\nawful\tneg\n" * 4)
    code = cli.main(["finetune", "--model", str(MLM), "--tokenizer", TOK, "--train", str(good), "--out",
                     str(tmp_path / "o"), "--lr", "1e30", "--epochs", "3", "--batch-size", "4", "--max-length", "8"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert re.search(r"error: the loss is (nan|inf|-inf) at step \d+ .*stopped without saving", err), err
    assert not (tmp_path / "o").exists()


def test_a_bom_and_crlf_table_reads_as_written(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_bytes(b"\xef\xbb\xbftext\tlabel\r\na\tpos\r\n\"b\nc\"\tneg\r\n")
    assert read_table(p) == [{"text": "a", "label": "pos"}, {"text": "b\nc", "label": "neg"}]


# ----------------------------------------------------------------------------- lone surrogates

def test_fuzz_lone_surrogates_are_one_clear_error():
    tok = load_tokenizer(TOK)
    rng = np.random.default_rng(11)
    words = ["the", "a", "[MASK]", "film", "1,000", "naïve", "東京", " ", "."]
    for _ in range(100):
        text = " ".join(rng.choice(words, size=int(rng.integers(1, 8))))
        assert tok(text)["input_ids"]                                    # valid text: fine
        at = int(rng.integers(0, len(text) + 1))
        bad = text[:at] + chr(int(rng.integers(0xD800, 0xE000))) + text[at:]
        for call in (lambda: tok(bad), lambda: tok.tokenize(bad), lambda: tok([text, bad]), lambda: tok(text, bad)):
            with pytest.raises(ValueError, match=f"character {at} .* lone surrogate"):
                call()


def test_undecodable_bytes_on_stdin_are_one_line():
    p = subprocess.run([sys.executable, "-m", "minialbert", "fill-mask", "--model", str(MLM), "--quiet", "--tokenizer", TOK],
                       input=b"a [MASK] day\na \xff\xfe [MASK]\n", capture_output=True, timeout=120)
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode == 2 and len(err) == 1 and "lone surrogate" in err[0] and "Traceback" not in err[0], err


# ----------------------------------------------------------------------------- vocabulary sizes

def test_a_tokenizer_larger_than_the_model_vocabulary_is_refused(capsys):
    small = HF_FIXTURES / "mlm"                         # vocab_size 99; the tokenizer has 30000
    with pytest.raises(PipelineError, match="30,000 tokens but the model's vocabulary has 99"):
        pipeline("fill-mask", model=str(small), tokenizer=TOK)
    assert_one_line(*run(["fill-mask", "--model", str(small), "--tokenizer", TOK, "--quiet", "a [MASK]"], capsys),
                    "30,000 tokens", "vocabulary has 99")


def test_a_model_vocabulary_larger_than_the_tokenizer_is_tolerated_with_a_warning(tmp_path, capsys):
    """As HF: models pad their embedding matrix; the padding rows are never input ids."""
    d = tmp_path / "padded"
    model = AlbertForMaskedLM.from_pretrained(MLM)
    cfg = model.config.replace(vocab_size=model.config.vocab_size + 64)
    padded = AlbertForMaskedLM(cfg, seed=0)
    for k, v in model.params.items():
        padded.params[k][tuple(slice(0, n) for n in v.shape)] = v
    padded.save_pretrained(d)
    with pytest.warns(UserWarning, match=r"model's vocabulary \(30,064\) is larger than the tokenizer's \(30,000\)"):
        fill = pipeline("fill-mask", model=str(d), tokenizer=TOK)
    assert fill("a [MASK] day")[0]["token"] < 30000
    # a padding row that wins (its decoder bias raised) decodes to nothing, as with HF's fast tokenizers
    fill.model.params["predictions.bias"][30000 + 7] = 1e4
    top = fill("a [MASK] day", top_k=2)
    assert top[0]["token"] == 30007 and top[0]["token_str"] == "" and top[0]["sequence"] == "a day"
    assert top[1]["token"] < 30000 and top[1]["token_str"] != ""
    code = cli.main(["fill-mask", "--model", str(d), "--tokenizer", TOK, "--quiet", "a [MASK] day"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and len(err) == 1 and err[0].startswith("minialbert fill-mask: warning: "), err


# ----------------------------------------------------------------------------- a full disk

def fill_disk_after(monkeypatch, nbytes):
    real, budget = os.write, [nbytes]

    def write(fd, data):
        budget[0] -= len(data)
        if budget[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)
    monkeypatch.setattr(os, "write", write)


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    p = tmp_path / "f.bin"
    p.write_bytes(b"old")
    for _ in range(20):
        with monkeypatch.context() as m:
            fill_disk_after(m, int(rng.integers(0, 5000)))
            with pytest.raises(WriteError) as e:
                atomic_write(p, [bytes(3000), bytes(3000)])
        assert str(e.value) == f"{p}: no space left on device" and e.value.errno == errno.ENOSPC
        assert p.read_bytes() == b"old" and [q.name for q in tmp_path.iterdir()] == ["f.bin"]


def test_a_full_disk_during_a_checkpoint_keeps_the_last_good_one(tmp_path, monkeypatch):
    """The save of step 4 hits ENOSPC at a seeded byte: one error naming the file, "no space left" and
    the checkpoint kept (step 2); no partial directory is left; --resume continues from step 2."""
    kw = dict(steps=6, save_every=2)
    pretrain(CFG, tc(tmp_path, "run", **kw), progress=False, stop_after=2)
    rng = np.random.default_rng(9)
    with monkeypatch.context() as m:
        fill_disk_after(m, int(rng.integers(0, 200_000)))
        with pytest.raises(WriteError) as e:
            pretrain(CFG, tc(tmp_path, "run", **kw), resume=True, progress=False)
    msg = str(e.value)
    assert "no space left on device" in msg and str(tmp_path / "run") in msg and "step-00000002" in msg, msg
    assert "\n" not in msg
    ck = latest_checkpoint(tmp_path / "run")
    assert ck.name == "step-00000002"
    assert not list((tmp_path / "run" / "checkpoints").glob(".partial-*"))
    _, hist, _ = pretrain(CFG, tc(tmp_path, "run", **kw), resume=True, progress=False)
    assert hist[-1]["step"] == 6


def test_a_full_disk_through_the_cli_is_one_line(tmp_path, monkeypatch, capsys):
    fill_disk_after(monkeypatch, 10_000)
    code, err = run(["trace", "--model", str(MLM), "--ids", "2,4,3", "--out", str(tmp_path / "t.npz")], capsys)
    monkeypatch.undo()
    assert_one_line(code, err, str(tmp_path / "t.npz"), "no space left on device")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- damaged training checkpoints

@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("saved")
    pretrain(CFG, tc(d, "run", steps=4, save_every=2), progress=False, stop_after=2)
    return d


STATE_CASES = [  # (change to trainer_state.json, field named in the error)
    (lambda s: s.update(step="2"), "'step'"), (lambda s: s.update(step=-1), "'step'"),
    (lambda s: s.update(step=None), "'step'"), (lambda s: s.update(step=True), "'step'"),
    (lambda s: s.pop("step"), "'step'"), (lambda s: s.update(history="x"), "'history'"),
    (lambda s: s.update(history=[1, 2]), "'history'"), (lambda s: s.update(history=[{"loss": "a", "step": 1}]), "'history'"),
    (lambda s: s.update(evals={}), "'evals'"), (lambda s: s.update(optimizer=[]), "'optimizer'"),
    (lambda s: s["optimizer"].update(step="1"), "'optimizer.step'"),
    (lambda s: s["optimizer"].pop("hyperparams"), "'optimizer.hyperparams'"),
    (lambda s: s["optimizer"].update(optimizer="SGD"), "'optimizer'"),
    (lambda s: s["optimizer"]["hyperparams"].update(betas=None), "'optimizer'"),
    (lambda s: s.update(data=None), "'data'"), (lambda s: s["data"].pop("stream"), "'data'"),
    (lambda s: s["data"]["stream"].update(rng=[1]), "'data'"), (lambda s: s["data"]["stream"].update(epoch="x"), "'data'"),
    (lambda s: s.update(train_config=[]), "'train_config'"), (lambda s: s.update(model_config=3), "'model_config'"),
]


def _damaged_copy(saved_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(saved_run / "run", run_dir)
    return run_dir, latest_checkpoint(run_dir)


def test_fuzz_trainer_state_fields(saved_run, tmp_path):
    rng = np.random.default_rng(1)
    for i in rng.permutation(len(STATE_CASES)):
        change, field = STATE_CASES[i]
        d = tmp_path / f"c{i}"
        run_dir, ck = _damaged_copy(saved_run, d)
        state = json.loads((ck / "trainer_state.json").read_text())
        change(state)
        (ck / "trainer_state.json").write_text(json.dumps(state))
        with pytest.raises(ValueError) as e:
            pretrain(CFG, tc(d, "run", steps=4, save_every=2, corpus=tc(saved_run, "run").corpus),
                     resume=True, progress=False)
        msg = str(e.value)
        assert "trainer_state.json" in msg and field in msg and "\n" not in msg, (i, msg)


@pytest.mark.parametrize("damage,needle", [
    ("drop", "no moment"), ("extra", "for no parameter"), ("shape", "the model's parameter is float"),
    ("int", "the model's parameter is float"), ("nan", "NaN"), ("truncate", "optimizer.npz"),
    ("not-zip", "optimizer.npz"), ("pickle", "the model's parameter is float"),
])
def test_damaged_optimizer_npz(saved_run, tmp_path, damage, needle):
    run_dir, ck = _damaged_copy(saved_run, tmp_path)
    path = ck / "optimizer.npz"
    z = dict(np.load(path))
    key = sorted(z)[3]
    if damage == "drop":
        del z[key]
    elif damage == "extra":
        z["m/surprise"] = np.zeros(3, np.float32)
    elif damage == "shape":
        z[key] = np.zeros(z[key].shape + (2,), np.float32)
    elif damage == "int":
        z[key] = z[key].astype(np.int64)
    elif damage == "nan":
        z[key] = np.full_like(z[key], np.nan)
    elif damage == "pickle":
        z[key] = np.array([{"a": 1}], dtype=object)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    elif damage == "not-zip":
        path.write_bytes(b"hello")
    else:
        buf = io.BytesIO()
        np.savez(buf, **z) if damage != "pickle" else _savez_allow_pickle(buf, z)
        path.write_bytes(buf.getvalue())
    with pytest.raises(ValueError) as e:
        bounded(pretrain, CFG, tc(tmp_path, "run", steps=4, save_every=2, corpus=tc(saved_run, "run").corpus),
                resume=True, progress=False, seconds=30, peak=512 << 20)
    msg = str(e.value)
    assert "optimizer.npz" in msg and needle in msg and "\n" not in msg, msg


def _savez_allow_pickle(buf, arrays):
    with zipfile.ZipFile(buf, "w") as zf:
        for k, a in arrays.items():
            with zf.open(k + ".npy", "w") as f:
                np.lib.format.write_array(f, a, allow_pickle=True)


# ----------------------------------------------------------------------------- CLI values and paths

@pytest.mark.parametrize("ids", [",", " , ", "", "1,,x", "-1", "1.5", "99999999999999999999999", "１,２", "0x10", "1;2"])
def test_malformed_trace_ids(tmp_path, capsys, ids):
    code, err = run(["trace", "--model", str(MLM), "--ids", ids, "--out", str(tmp_path / "t.npz")], capsys)
    assert_one_line(code, err, "--ids" if ids.strip() else "give --text")
    assert not (tmp_path / "t.npz").exists()


def test_paths_of_the_wrong_kind_for_every_command(tmp_path, capsys):
    """A directory where a file is expected, a FIFO (open() would block), a file where a directory is
    expected: one line naming the path, for every command that takes one."""
    d, fifo, f = tmp_path / "dir", tmp_path / "fifo", tmp_path / "file"
    d.mkdir()
    os.mkfifo(fifo)
    f.write_text("x")
    corpus = tc(tmp_path, "x").corpus
    cfg = str(MLM / "config.json")
    cases = [
        (["trace", "--model", str(MLM), "--ids", "2,3", "--out", str(d)], d),
        (["trace", "--model", str(f), "--ids", "2,3", "--out", str(tmp_path / "t.npz")], f),
        (["trace", "--model", str(fifo), "--ids", "2,3", "--out", str(tmp_path / "t.npz")], fifo),
        (["fill-mask", "--model", str(MLM), "--tokenizer", str(fifo), "--quiet", "a [MASK]"], fifo),
        (["fill-mask", "--model", str(MLM), "--tokenizer", str(d), "--quiet", "a [MASK]"], d),
        (["fill-mask", "--model", str(d), "--quiet", "a [MASK]"], d),
        (["text-classification", "--model", str(f), "x"], f),
        (["pretrain", "--corpus", str(d), "--config", cfg, "--out", str(tmp_path / "o")], d),
        (["pretrain", "--corpus", str(fifo), "--config", cfg, "--out", str(tmp_path / "o")], fifo),
        (["pretrain", "--corpus", corpus, "--eval-corpus", str(d), "--config", cfg, "--out", str(tmp_path / "o")], d),
        (["pretrain", "--corpus", corpus, "--config", str(d), "--out", str(tmp_path / "o")], d),
        (["pretrain", "--corpus", corpus, "--config", str(fifo), "--out", str(tmp_path / "o")], fifo),
        (["pretrain", "--corpus", corpus, "--config", cfg, "--out", str(f)], f),
        (["pretrain", "--corpus", corpus, "--config", cfg, "--tokenizer", str(fifo), "--out", str(tmp_path / "o")], fifo),
        (["finetune", "--model", str(MLM), "--train", str(d), "--out", str(tmp_path / "o")], d),
        (["convert", str(f), str(tmp_path / "c")], f),
        (["convert", str(fifo), str(tmp_path / "c")], fifo),
        (["convert", str(MLM), str(f)], f),
    ]
    for args, path in cases:
        code, err = bounded(run, args, capsys, seconds=20, peak=512 << 20)
        assert_one_line(code, err, str(path))
    assert not (tmp_path / "o").exists() and not (tmp_path / "c").exists()      # nothing started


@pytest.mark.parametrize("content,needle", [
    ("[1, 2]", "expected a JSON object"), ('{"do_lower_case": "yes"}', "do_lower_case"),
    ('{"keep_accents": 1}', "keep_accents"), ("{", "could not read tokenizer config"),
])
def test_tokenizer_config_of_the_wrong_type(tmp_path, capsys, content, needle):
    d = tmp_path / "m"
    shutil.copytree(BUNDLED, d)
    (d / "tokenizer_config.json").write_text(content)
    assert_one_line(*run(["fill-mask", "--model", str(d), "--quiet", "a [MASK]"], capsys), "tokenizer_config.json", needle)


def test_a_huge_sparse_vocabulary_file_is_refused_unread(tmp_path, capsys):
    sparse_ok(tmp_path)
    d = tmp_path / "m"
    shutil.copytree(BUNDLED, d)
    with open(d / "spiece.model", "r+b") as f:
        f.truncate(BIG)
    code, err = bounded(run, ["fill-mask", "--model", str(d), "--quiet", "a [MASK]"], capsys, seconds=10, peak=128 << 20)
    assert_one_line(code, err, "spiece.model", "is not a SentencePiece model")
