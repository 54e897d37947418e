"""minialbert.io.torch_bin: reading torch.save'd state dicts without torch.

The fixtures in tests/fixtures/bin/ were written by torch 2.13 with
scripts/make_bin_fixtures.py; torch is not needed (nor installed) to run these
tests. The malicious and corrupt files are built here, by hand: a pickle is a
small program of one-byte opcodes, and the helpers below spell out the few
that torch.save uses.
"""
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from minialbert.io import CheckpointError, read_safetensors
from minialbert.io.torch_bin import MAGIC_NUMBER, PROTOCOL_VERSION, read_torch_bin, read_torch_bin_info

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "tests" / "fixtures" / "bin"
HF_MLM = ROOT / "tests" / "fixtures" / "hf" / "mlm"
EXPECTED = dict(np.load(BIN / "expected.npz"))
TIED = {"predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
        "predictions.decoder.bias": "predictions.bias"}


def expected_for(fmt):
    exp = {k: v for k, v in EXPECTED.items() if not k.startswith("nested.")}
    if fmt == "legacy":
        del exp["u16"]  # only in zip.bin (torch cannot load a legacy-format uint16 tensor back)
    return exp


# ----------------------------------------------------------------------------- the torch fixtures


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_fixture_matches_expected(fmt):
    info = read_torch_bin_info(BIN / f"{fmt}.bin")
    assert info.format == fmt and info.nested_key is None
    got, exp = info.tensors, expected_for(fmt)
    assert list(got) == list(exp)  # the order of the state dict is kept
    for k, e in exp.items():
        a = got[k]
        assert a.dtype == e.dtype and a.shape == e.shape, (k, a.dtype, e.dtype, a.shape, e.shape)
        assert np.array_equal(a, e), k
        assert a.flags.c_contiguous and a.flags.writeable, k
    assert got["bf16"].dtype == np.float32  # widened
    assert got["scalar"].shape == () and got["scalar"] == 2.5
    assert got["empty"].shape == (0, 3)
    assert got["transposed"].shape == (5, 3)
    assert got["stepped"].tolist() == [[4, 6], [8, 10]]
    assert got["x"].tolist() == [2, 3, 4] and got["y"].tolist() == [5, 6, 7, 8, 9]


def test_shared_storage_gives_independent_arrays():
    got = read_torch_bin(BIN / "zip.bin")
    got["x"][...] = -1
    assert got["y"].tolist() == [5, 6, 7, 8, 9]
    assert not np.shares_memory(got["x"], got["y"])


def test_zip_and_legacy_agree_bitwise():
    z, leg = read_torch_bin(BIN / "zip.bin"), read_torch_bin(BIN / "legacy.bin")
    for k, a in leg.items():
        assert a.dtype == z[k].dtype and a.tobytes() == z[k].tobytes(), k


def test_nested_state_dict_is_found_and_named():
    with pytest.warns(UserWarning, match="under key 'state_dict'"):
        got = read_torch_bin(BIN / "nested.bin")
    assert sorted(got) == ["b", "w"]
    for k, a in got.items():
        assert a.dtype == EXPECTED["nested." + k].dtype and np.array_equal(a, EXPECTED["nested." + k])
    assert read_torch_bin_info(BIN / "nested.bin").nested_key == "state_dict"


@pytest.mark.parametrize("sub,fmt", [("hf_mlm", "zip"), ("hf_mlm_legacy", "legacy")])
def test_hf_bin_matches_safetensors(sub, fmt):
    info = read_torch_bin_info(BIN / sub / "pytorch_model.bin")
    assert info.format == fmt
    got, ref = info.tensors, read_safetensors(HF_MLM / "model.safetensors")
    assert set(ref) <= set(got)
    assert set(got) - set(ref) == set(TIED)  # the tied copies: in the .bin, not in the safetensors file
    for k, r in ref.items():
        assert got[k].dtype == r.dtype and got[k].shape == r.shape and np.array_equal(got[k], r), k
    for alias, target in TIED.items():
        assert np.array_equal(got[alias], ref[target])
    assert (BIN / sub / "config.json").read_bytes() == (HF_MLM / "config.json").read_bytes()


def test_torch_is_never_imported():
    read_torch_bin(BIN / "zip.bin")
    read_torch_bin(BIN / "legacy.bin")
    assert "torch" not in sys.modules


# ----------------------------------------------------------------------------- hand-written pickles


def text(s):  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def num(i):  # BININT (4-byte signed)
    return b"J" + struct.pack("<i", i)


def glob(module, name):  # GLOBAL: the instruction that makes an unpickler import something
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def tup(*items):  # MARK ... TUPLE
    return b"(" + b"".join(items) + b"t"


def call(func, *args):  # push func, push the args tuple, REDUCE
    return func + tup(*args) + b"R"


def storage(key, numel, cls="FloatStorage", module="torch", legacy=False):
    items = [text("storage"), glob(module, cls), text(key), text("cpu"), num(numel)]
    if legacy:
        items.append(b"N")  # view metadata: None
    return tup(*items) + b"Q"  # BINPERSID: hand the tuple to persistent_load


def tensor(key, numel, offset, size, stride, **kw):
    return call(glob("torch._utils", "_rebuild_tensor_v2"), storage(key, numel, **kw), num(offset),
                tup(*map(num, size)), tup(*map(num, stride)), b"\x89",  # NEWFALSE: requires_grad
                call(glob("collections", "OrderedDict")))  # backward hooks


def state_dict(entries):
    """A pickle of OrderedDict({name: value_opcodes}) (protocol 2, like torch.save)."""
    body = b"".join(text(name) + value for name, value in entries.items())
    return b"\x80\x02" + call(glob("collections", "OrderedDict")) + b"(" + body + b"u."


def write_zip(path, data_pkl, records, archive="archive"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{archive}/data.pkl", data_pkl)
        zf.writestr(f"{archive}/byteorder", "little")
        for key, data in records.items():
            zf.writestr(f"{archive}/data/{key}", data)
        zf.writestr(f"{archive}/version", "3\n")
    return path


def legacy_bytes(data_pkl, records, magic=MAGIC_NUMBER):
    """records: [(key, element count, bytes)] in file order."""
    out = [pickle.dumps(magic, protocol=2), pickle.dumps(PROTOCOL_VERSION, protocol=2),
           pickle.dumps({"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2),
           data_pkl, pickle.dumps([k for k, _, _ in records], protocol=2)]
    for _, count, data in records:
        out += [struct.pack("<q", count), data]
    return b"".join(out)


def write_legacy(path, data_pkl, records, **kw):
    path.write_bytes(legacy_bytes(data_pkl, records, **kw))
    return path


FLOATS = np.arange(6, dtype="<f4")


def test_hand_written_files_read_back(tmp_path):
    # The helpers above write what torch writes: a transposed 2x3 view of a 6-float storage,
    # and a slice of the same storage.
    for legacy in (False, True):
        sd = state_dict({"t": tensor("0", 6, 0, (3, 2), (1, 3), legacy=legacy),
                         "tail": tensor("0", 6, 4, (2,), (1,), legacy=legacy)})
        if legacy:
            got = read_torch_bin(write_legacy(tmp_path / "l.bin", sd, [("0", 6, FLOATS.tobytes())]))
        else:
            got = read_torch_bin(write_zip(tmp_path / "z.bin", sd, {"0": FLOATS.tobytes()}))
        assert np.array_equal(got["t"], FLOATS.reshape(2, 3).T)
        assert got["tail"].tolist() == [4.0, 5.0]


# ----------------------------------------------------------------------------- malicious pickles


class Evil:
    """Unpickling this runs a shell command: __reduce__ tells pickle to call os.system(cmd)."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def evil_payloads(flag):
    cmd = f"echo pwned > {flag}"
    via_reduce = pickle.dumps(OrderedDict(w=Evil(cmd)), protocol=2)  # names posix.system on Linux
    by_hand = state_dict({"w": call(glob("os", "system"), text(cmd))})
    as_storage_type = state_dict({"w": tensor("0", 1, 0, (1,), (1,), cls="system", module="os")})
    return {"reduce": (via_reduce, f"{os.system.__module__}.system"),
            "opcodes": (by_hand, "os.system"),
            "storage_type": (as_storage_type, "os.system")}


def test_payload_is_live_with_plain_pickle(tmp_path):
    """Control: the standard unpickler does run the payload, so the tests below mean something."""
    flag = tmp_path / "pwned"
    pickle.loads(evil_payloads(flag)["opcodes"][0])
    assert flag.exists()


@pytest.mark.parametrize("payload", ["reduce", "opcodes", "storage_type"])
@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_malicious_pickle_is_refused(tmp_path, fmt, payload):
    flag = tmp_path / "pwned"
    pkl, global_name = evil_payloads(flag)[payload]
    path = tmp_path / f"evil_{fmt}.bin"
    if fmt == "zip":
        write_zip(path, pkl, {"0": b"\0" * 4})
    else:
        write_legacy(path, pkl, [])
    with pytest.raises(CheckpointError) as ei:
        read_torch_bin(path)
    msg = str(ei.value)
    assert str(path) in msg and f"refusing to load pickle global '{global_name}'" in msg, msg
    assert not flag.exists()


@pytest.mark.parametrize("where", ["magic", "sys_info", "keys"])
def test_malicious_legacy_header_is_refused(tmp_path, where):
    flag = tmp_path / "pwned"
    evil = pickle.dumps(Evil(f"echo pwned > {flag}"), protocol=2)
    parts = [pickle.dumps(MAGIC_NUMBER, protocol=2), pickle.dumps(PROTOCOL_VERSION, protocol=2),
             pickle.dumps({"little_endian": True}, protocol=2), state_dict({}), pickle.dumps([], protocol=2)]
    parts[{"magic": 0, "sys_info": 2, "keys": 4}[where]] = evil
    # (the empty state dict would be an error too, but all the pickles are read first)
    path = tmp_path / "evil.bin"
    path.write_bytes(b"".join(parts))
    with pytest.raises(CheckpointError, match="refusing to load pickle global"):
        read_torch_bin(path)
    assert not flag.exists()


def test_plain_pickle_of_a_malicious_object_is_refused(tmp_path):
    flag = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Evil(f"echo pwned > {flag}")))  # no torch header at all
    with pytest.raises(CheckpointError, match="refusing to load pickle global"):
        read_torch_bin(path)
    assert not flag.exists()


@pytest.mark.parametrize("value,match", [
    (call(glob("torch._utils", "_rebuild_tensor_v2"), text("not a storage"), num(0), tup(num(1)), tup(num(1))),
     "corrupt tensor record"),
    (call(glob("torch._utils", "_rebuild_parameter"), num(1), b"\x89", b"N"), "corrupt parameter record"),
    (call(glob("torch._utils", "_rebuild_tensor_v2")), "corrupt"),  # no arguments at all
    (tensor("0", 6, 5, (2,), (1,)), "reaches past the end of its storage"),
    (tensor("0", 6, 0, (2, 4), (3, 1)), "reaches past the end of its storage"),
    (tensor("0", 6, 0, (1 << 20, 1 << 20), (0, 0)), "refusing to expand"),
    (tensor("0", 6, 0, (2,), (-1,)), "not a tuple of non-negative ints"),
    (glob("torch", "FloatStorage"), "no state dict found"),
])
def test_whitelisted_functions_validate_their_arguments(tmp_path, value, match):
    """A crafted pickle may call the whitelisted stand-ins with anything: they check their arguments."""
    path = write_zip(tmp_path / "bad.bin", state_dict({"w": value}), {"0": FLOATS.tobytes()})
    with pytest.raises(CheckpointError, match=match) as ei:
        read_torch_bin(path)
    assert str(path) in str(ei.value)


@pytest.mark.parametrize("state", [
    b"}" + text("code") + text("O") + b"s",  # BUILD with a dict: would update __dict__
    b"N}" + text("code") + text("O") + b"s\x86",  # BUILD with (None, slots): would setattr
])
def test_stand_ins_cannot_be_modified_by_build(tmp_path, state):
    """BUILD (set attributes) on a whitelisted stand-in fails; it would otherwise change it for later files."""
    pkl = b"\x80\x02" + glob("torch", "FloatStorage") + state + b"b."
    with pytest.raises(CheckpointError, match="refusing BUILD"):
        read_torch_bin(write_zip(tmp_path / "build.bin", pkl, {}))
    assert np.array_equal(read_torch_bin(BIN / "zip.bin")["f32"], EXPECTED["f32"])


def test_whitelisted_functions_cannot_be_changed_by_build(tmp_path):
    """BUILD with slot state on a whitelisted reconstruction function would setattr it (its
    __defaults__ say requires_grad, hooks...) for every later load in the process: refused, and a
    legitimate file still loads afterwards."""
    slots = b"N}" + text("__defaults__") + tup(num(1), num(2)) + b"s\x86"        # (None, {slot: value})
    pkl = b"\x80\x02" + glob("torch._utils", "_rebuild_tensor_v2") + slots + b"b."
    with pytest.raises(CheckpointError, match="refusing BUILD on a function"):
        read_torch_bin(write_zip(tmp_path / "build.bin", pkl, {}))
    import minialbert.io.torch_bin as tb
    assert tb._rebuild_tensor_v2.__defaults__ == (False, None, None)
    # a dict's BUILD (torch writes it only for the state dict's _metadata) with anything else: refused
    pkl = b"\x80\x02" + call(glob("collections", "OrderedDict")) + b"}" + text("clear") + num(1) + b"sb."
    with pytest.raises(CheckpointError, match="refusing BUILD on a OrderedDict"):
        read_torch_bin(write_zip(tmp_path / "build2.bin", pkl, {}))
    assert np.array_equal(read_torch_bin(BIN / "zip.bin")["f32"], EXPECTED["f32"])


def test_many_small_broadcast_views_are_capped_together(tmp_path):
    """Each view alone is under the cap; together they are far over it: refused before any is made."""
    side = 8192                                                   # 8192 x 8192 float32 = 256 MiB each
    entries = {f"w{i}": tensor("0", 1, 0, (side, side), (0, 0)) for i in range(8)}
    path = write_zip(tmp_path / "views.bin", state_dict(entries), {"0": FLOATS[:1].tobytes()})
    with pytest.raises(CheckpointError, match="refusing to expand"):
        read_torch_bin(path)


def test_compressed_members_are_refused(tmp_path):
    path = tmp_path / "deflate.bin"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", state_dict({"w": tensor("0", 4, 0, (4,), (1,))}))
        zf.writestr("archive/data/0", bytes(1 << 20))              # 1 MiB of zeros, deflates to ~1 KB
    with pytest.raises(CheckpointError, match="compressed"):
        read_torch_bin(path)


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "pytorch_model.bin"
    os.mkfifo(fifo)                                               # open() on it would block forever
    with pytest.raises(CheckpointError, match="not a regular file"):
        read_torch_bin(fifo)
    link = tmp_path / "zero.bin"
    link.symlink_to("/dev/zero")                                  # reading it would never end
    with pytest.raises(CheckpointError, match="not a regular file"):
        read_torch_bin(link)


# ----------------------------------------------------------------------------- corrupt files


def fixture_files():
    return [BIN / "zip.bin", BIN / "legacy.bin", BIN / "hf_mlm" / "pytorch_model.bin",
            BIN / "hf_mlm_legacy" / "pytorch_model.bin"]


@pytest.mark.parametrize("src", fixture_files(), ids=lambda p: str(p.relative_to(BIN)))
def test_truncated_files(tmp_path, src):
    data = src.read_bytes()
    cuts = [1, 2, 8, 15, 40, 100, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 22,
            len(data) - 8, len(data) - 1]
    for cut in cuts:
        path = tmp_path / f"cut{cut}.bin"
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as ei:
            read_torch_bin(path)
        assert str(path) in str(ei.value), (cut, ei.value)


def test_random_bytes(tmp_path):
    rng = np.random.default_rng(0)
    # plain random bytes, and random bytes behind a zip signature or a pickle's first opcode
    for i, start in enumerate([b"\x00", b"PK\x03\x04", b"\x80\x02", b"\x80\x02\x8a\x0a"]):
        path = tmp_path / f"random{i}.bin"
        path.write_bytes(start + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
        with pytest.raises(CheckpointError) as ei:
            read_torch_bin(path)
        assert str(path) in str(ei.value), ei.value
        if i == 0:
            assert "neither a zip archive" in str(ei.value)


def test_wrong_magic_number(tmp_path):
    data = (BIN / "legacy.bin").read_bytes()
    good = pickle.dumps(MAGIC_NUMBER, protocol=2)
    assert data.startswith(good)
    path = tmp_path / "magic.bin"
    path.write_bytes(pickle.dumps(MAGIC_NUMBER + 1, protocol=2) + data[len(good):])
    with pytest.raises(CheckpointError, match="wrong magic number") as ei:
        read_torch_bin(path)
    assert str(path) in str(ei.value)
    path.write_bytes(pickle.dumps({"a": [1, 2]}))  # a pickle, but not a torch file
    with pytest.raises(CheckpointError, match="wrong magic number"):
        read_torch_bin(path)


def test_empty_missing_and_other_files(tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        read_torch_bin(empty)
    with pytest.raises(CheckpointError, match="cannot read"):
        read_torch_bin(tmp_path / "nope.bin")
    with pytest.raises(CheckpointError, match="neither a zip archive"):
        read_torch_bin(HF_MLM / "model.safetensors")
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(CheckpointError, match="data.pkl"):
        read_torch_bin(other_zip)


def test_zip_with_missing_or_short_storage_record(tmp_path):
    with zipfile.ZipFile(BIN / "zip.bin") as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    victim = "zip/data/3"
    assert victim in members

    def rewrite(name, change):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for n, data in members.items():
                data = change(n, data)
                if data is not None:
                    zf.writestr(n, data)
        return path

    path = rewrite("missing.bin", lambda n, d: None if n == victim else d)
    with pytest.raises(CheckpointError, match="missing storage record 'zip/data/3'") as ei:
        read_torch_bin(path)
    assert str(path) in str(ei.value)
    path = rewrite("short.bin", lambda n, d: d[:-1] if n == victim else d)
    with pytest.raises(CheckpointError, match="storage record 'zip/data/3' has"):
        read_torch_bin(path)
    path = rewrite("order.bin", lambda n, d: b"middle" if n == "zip/byteorder" else d)
    with pytest.raises(CheckpointError, match="byte order"):
        read_torch_bin(path)


@pytest.mark.parametrize("member", ["zip/data.pkl", "zip/data/0"])
def test_zip_with_a_flipped_byte(tmp_path, member):
    """A damaged member fails its CRC-32 check."""
    data = bytearray((BIN / "zip.bin").read_bytes())
    with zipfile.ZipFile(BIN / "zip.bin") as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len  # the member's bytes (stored uncompressed)
    data[start + info.file_size // 2] ^= 0x40
    path = tmp_path / "flipped.bin"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="CRC") as ei:
        read_torch_bin(path)
    assert str(path) in str(ei.value)


def test_big_endian_zip(tmp_path):
    """A zip written on a big-endian machine says so in byteorder; values must not change."""
    sd = state_dict({"w": tensor("0", 6, 0, (2, 3), (3, 1))})
    path = tmp_path / "big.bin"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("big/data.pkl", sd)
        zf.writestr("big/byteorder", "big")
        zf.writestr("big/data/0", FLOATS.astype(">f4").tobytes())
    got = read_torch_bin(path)["w"]
    assert got.dtype == np.float32 and got.dtype.isnative and np.array_equal(got, FLOATS.reshape(2, 3))


def test_legacy_record_problems(tmp_path):
    sd = state_dict({"w": tensor("0", 6, 0, (6,), (1,), legacy=True)})
    cases = {
        "count": ([("0", 5, FLOATS[:5].tobytes())], "holds 5 elements, the pickle says 6"),
        "unused": ([("0", 6, FLOATS.tobytes()), ("9", 1, b"\0" * 4)], "not used by the pickle"),
        "missing": ([], "missing storage record '0'"),
    }
    for name, (records, match) in cases.items():
        path = write_legacy(tmp_path / f"{name}.bin", sd, records)
        with pytest.raises(CheckpointError, match=match) as ei:
            read_torch_bin(path)
        assert str(path) in str(ei.value)
    # and the intact file reads
    assert np.array_equal(read_torch_bin(write_legacy(tmp_path / "ok.bin", sd, [("0", 6, FLOATS.tobytes())]))["w"],
                          FLOATS)


def test_not_a_state_dict(tmp_path):
    one_tensor = b"\x80\x02" + tensor("0", 6, 0, (6,), (1,)) + b"."
    with pytest.raises(CheckpointError, match="single tensor"):
        read_torch_bin(write_zip(tmp_path / "t.bin", one_tensor, {"0": FLOATS.tobytes()}))
    a_list = b"\x80\x02]" + b"."
    with pytest.raises(CheckpointError, match="found a list"):
        read_torch_bin(write_zip(tmp_path / "l.bin", a_list, {}))
    whole_module = b"\x80\x02" + tup(text("module"), text("x"), b"N", b"N") + b"Q."
    with pytest.raises(CheckpointError, match="nn.Module"):
        read_torch_bin(write_legacy(tmp_path / "m.bin", whole_module, []))
    other = state_dict({"epoch": num(3), "w": tensor("0", 6, 0, (6,), (1,))})
    with pytest.raises(CheckpointError, match="no state dict found"):
        read_torch_bin(write_zip(tmp_path / "o.bin", other, {"0": FLOATS.tobytes()}))
    f8 = state_dict({"w": call(glob("torch._utils", "_rebuild_tensor_v3"),
                               storage("0", 6, cls="UntypedStorage", module="torch.storage"), num(0),
                               tup(num(6)), tup(num(1)), b"\x89", call(glob("collections", "OrderedDict")),
                               glob("torch", "float8_e4m3fn"))})
    with pytest.raises(CheckpointError, match="float8_e4m3fn, which numpy cannot represent"):
        read_torch_bin(write_zip(tmp_path / "f8.bin", f8, {"0": bytes(6)}))
