"""TensorFlow 1.x checkpoints, read without tensorflow, and Google's ALBERT names.

Two halves:

1. :func:`read_tf_checkpoint` reads a TF "V2" checkpoint (what
   ``tf.train.Saver`` has written since TF 0.12, and what every released ALBERT
   is): ``PREFIX.index`` plus ``PREFIX.data-00000-of-0000N``.

2. :func:`google_to_hf` renames Google's (google-research/albert) or
   brightmart's (albert_zh) variables to the Hugging Face state-dict names that
   minialbert keys its parameters by, transposing dense kernels to HF's
   (out, in) layout.

The files
---------
``PREFIX.index`` is a LevelDB-style SSTable ("table" format) mapping each
variable name to a ``BundleEntryProto`` (dtype, shape, shard, byte offset and
size, crc32c of the bytes). The empty key ``""`` holds a ``BundleHeaderProto``
(number of shards, endianness, version). The table::

    [data block]*  [metaindex block]  [index block]  footer (48 bytes)

    footer     = metaindex handle, index handle (each a BlockHandle: varint64
                 offset, varint64 size), zero padding to 40 bytes, then the
                 fixed64 magic 0xdb4775248b80fb57
    block      = entries, uint32 restart offsets[n], uint32 n; every block is
                 followed by a 1-byte compression type (0 none, 1 snappy) and
                 a 4-byte masked crc32c of (contents + type byte)
    entry      = varint32 shared, varint32 non_shared, varint32 value_length,
                 key[shared:] bytes, value bytes; the key is the previous
                 key's first `shared` bytes + these (prefix compression)
    index block: one entry per data block, value = that block's BlockHandle

The tensor bytes are ``PREFIX.data-{shard:05d}-of-{num_shards:05d}``
``[offset:offset + size]``, raw little-endian; the entry's crc32c field is the
*masked* crc32c of those bytes (mask(c) = rotate-right(c, 15) + 0xa282ead8).

Protobuf field numbers used (tensorflow/core/protobuf/tensor_bundle.proto,
framework/tensor_shape.proto, framework/types.proto):

    BundleHeaderProto  1 num_shards (int32)   2 endianness (enum, 0 LITTLE 1 BIG)
                       3 version (VersionDef)
    BundleEntryProto   1 dtype (DataType)     2 shape (TensorShapeProto)
                       3 shard_id (int32)     4 offset (int64)   5 size (int64)
                       6 crc32c (fixed32)     7 slices (repeated TensorSliceProto)
    TensorShapeProto   2 dim (repeated Dim)   3 unknown_rank (bool)
    Dim                1 size (int64)         2 name (string)
    DataType           1 FLOAT 2 DOUBLE 3 INT32 4 UINT8 5 INT16 6 INT8 7 STRING
                       8 COMPLEX64 9 INT64 10 BOOL 14 BFLOAT16 17 UINT16
                       18 COMPLEX128 19 HALF 22 UINT32 23 UINT64 (+100: _REF)

Every problem with the files (missing, truncated, corrupt, a checksum that
does not match, a format this reader does not handle) is a
:class:`~minialbert.checkpoint.CheckpointError` naming the file, and the
tensor where there is one.
"""
from __future__ import annotations

import re
import struct
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from . import backend
from .checkpoint import CheckpointError

np = backend.numpy

__all__ = ["read_tf_checkpoint", "list_tf_checkpoint", "find_tf_checkpoint", "google_to_hf",
           "detect_layout", "is_optimizer_variable", "load_tf_state", "crc32c", "TFTensorInfo"]

# ----------------------------------------------------------------------------- crc32c

_POLY = 0x82F63B78  # Castagnoli, bit-reflected


def _make_tables():
    t0 = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t0.append(c)
    tables = [t0]
    for _ in range(3):  # slicing-by-4: T[k][i] = T[k-1][i] advanced by one zero byte
        prev = tables[-1]
        tables.append([(v >> 8) ^ t0[v & 0xFF] for v in prev])
    return tables


_TABLES = _make_tables()
_T0 = _TABLES[0]
_NP_TABLES = None  # numpy copies, made on first use
_SHIFT_CACHE: Dict[int, List[List[int]]] = {}


def _crc_update(reg: int, data) -> int:
    """Advance the (non-inverted) crc register over `data`, byte by byte."""
    t = _T0
    for b in data:
        reg = t[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def _shift_tables(nbytes: int) -> List[List[int]]:
    """The linear map "run the register over `nbytes` zero bytes", as four
    256-entry tables indexed by the register's bytes."""
    if nbytes in _SHIFT_CACHE:
        return _SHIFT_CACHE[nbytes]

    def apply(cols, v):
        r, i = 0, 0
        while v:
            if v & 1:
                r ^= cols[i]
            v >>= 1
            i += 1
        return r

    # one zero byte: reg -> T0[reg & 0xff] ^ (reg >> 8); columns = images of the 32 basis bits
    one = [_T0[(1 << i) & 0xFF] ^ ((1 << i) >> 8) for i in range(32)]
    result = [1 << i for i in range(32)]  # identity
    power, n = one, nbytes
    while n:
        if n & 1:
            result = [apply(power, c) for c in result]
        n >>= 1
        if n:
            power = [apply(power, c) for c in power]
    tabs = [[apply(result, b << (8 * k)) for b in range(256)] for k in range(4)]
    _SHIFT_CACHE[nbytes] = tabs
    return tabs


def _crc_update_numpy(reg: int, buf: memoryview) -> Tuple[int, int]:
    """Advance the register over as much of `buf` as fits whole chunks, with the
    chunks' crcs computed side by side in numpy and then chained through the
    zero-byte shift map (crc is affine in the register). Returns (reg, bytes used)."""
    global _NP_TABLES
    if _NP_TABLES is None:
        _NP_TABLES = [np.array(t, dtype=np.uint32) for t in _TABLES]
    t0, t1, t2, t3 = _NP_TABLES
    n = len(buf)
    chunk = 256 if n < (1 << 20) else 1024  # bytes per lane
    max_lanes = 8192  # ~8 MB per pass: measured fastest on a laptop-class CPU
    shift = _shift_tables(chunk)
    s0, s1, s2, s3 = shift
    used = 0
    while n - used >= 2 * chunk:
        lanes = min(max_lanes, (n - used) // chunk)
        block = np.frombuffer(buf, dtype="<u4", count=lanes * chunk // 4, offset=used)
        words = np.ascontiguousarray(block.reshape(lanes, chunk // 4).T)  # (words per lane, lanes)
        c = np.zeros(lanes, dtype=np.uint32)
        for w in words:
            x = c ^ w
            c = t3[x & 0xFF] ^ t2[(x >> 8) & 0xFF] ^ t1[(x >> 16) & 0xFF] ^ t0[x >> 24]
        for g in c.tolist():
            reg = s0[reg & 0xFF] ^ s1[(reg >> 8) & 0xFF] ^ s2[(reg >> 16) & 0xFF] ^ s3[reg >> 24] ^ g
        used += lanes * chunk
    return reg, used


def crc32c(data, value: int = 0) -> int:
    """CRC-32C (Castagnoli) of `data`; pass a previous result as `value` to continue."""
    buf = memoryview(data).cast("B")
    reg = value ^ 0xFFFFFFFF
    used = 0
    if len(buf) >= 32768:
        reg, used = _crc_update_numpy(reg, buf)
    reg = _crc_update(reg, buf[used:])
    return reg ^ 0xFFFFFFFF


def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# ----------------------------------------------------------------------------- protobuf


class _Corrupt(Exception):
    pass


def _varint(buf, pos: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Corrupt("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _Corrupt("varint too long")


def _fields(buf) -> Iterator[Tuple[int, int, object]]:
    """(field number, wire type, value) for each field of a serialized message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise _Corrupt("truncated fixed64")
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise _Corrupt("truncated length-delimited field")
            value = bytes(buf[pos:pos + length])
            pos += length
        elif wire == 5:
            if pos + 4 > len(buf):
                raise _Corrupt("truncated fixed32")
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise _Corrupt(f"unsupported protobuf wire type {wire}")
        if field == 0:
            raise _Corrupt("protobuf field number 0")
        yield field, wire, value


def _int64(v: int) -> int:  # varint-encoded int64/int32 are two's complement in 64 bits
    return v - (1 << 64) if v >= (1 << 63) else v


def _parse_header(buf) -> Dict[str, int]:
    h = {"num_shards": 0, "endianness": 0}
    for f, w, v in _fields(buf):
        if f == 1 and w == 0:
            h["num_shards"] = _int64(v)
        elif f == 2 and w == 0:
            h["endianness"] = v
    return h


def _parse_shape(buf) -> Tuple[int, ...]:
    dims = []
    for f, w, v in _fields(buf):
        if f == 2 and w == 2:
            size = 0
            for f2, w2, v2 in _fields(v):
                if f2 == 1 and w2 == 0:
                    size = _int64(v2)
            dims.append(size)
        elif f == 3 and w == 0 and v:
            raise _Corrupt("shape of unknown rank")
    if any(d < 0 for d in dims):
        raise _Corrupt(f"negative dimension in shape {dims}")
    return tuple(dims)


def _parse_entry(buf) -> Dict[str, object]:
    e = {"dtype": 0, "shape": (), "shard_id": 0, "offset": 0, "size": 0, "crc32c": None, "slices": 0}
    for f, w, v in _fields(buf):
        if f == 1 and w == 0:
            e["dtype"] = v
        elif f == 2 and w == 2:
            e["shape"] = _parse_shape(v)
        elif f == 3 and w == 0:
            e["shard_id"] = _int64(v)
        elif f == 4 and w == 0:
            e["offset"] = _int64(v)
        elif f == 5 and w == 0:
            e["size"] = _int64(v)
        elif f == 6 and w == 5:
            e["crc32c"] = v
        elif f == 7 and w == 2:
            e["slices"] += 1
    return e


# ----------------------------------------------------------------------------- SSTable

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48


def _block_handle(buf, pos) -> Tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _read_block(data: bytes, offset: int, size: int, what: str) -> memoryview:
    if offset < 0 or size < 0 or offset + size + 5 > len(data):
        raise _Corrupt(f"{what} at {offset}+{size} runs past the end of the file ({len(data)} bytes): truncated?")
    contents = memoryview(data)[offset:offset + size]
    ctype = data[offset + size]
    if ctype == 1:
        raise _Corrupt(f"{what} is snappy-compressed, which this reader does not support "
                       "(TensorFlow writes bundle indexes uncompressed; re-save the checkpoint with TensorFlow)")
    if ctype != 0:
        raise _Corrupt(f"{what} has unknown compression type {ctype}")
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    actual = crc32c(bytes([ctype]), crc32c(contents))
    if _unmask(stored) != actual:
        raise _Corrupt(f"{what} fails its crc32c check (stored {_unmask(stored):#010x}, computed {actual:#010x})")
    return contents


def _block_entries(block: memoryview, what: str) -> Iterator[Tuple[bytes, memoryview]]:
    if len(block) < 4:
        raise _Corrupt(f"{what} is too short")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * num_restarts
    if end < 0:
        raise _Corrupt(f"{what} claims {num_restarts} restart points, more than fit in {len(block)} bytes")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        if shared > len(key) or pos + non_shared + vlen > end:
            raise _Corrupt(f"{what} has a malformed entry at byte {pos}")
        key = key[:shared] + bytes(block[pos:pos + non_shared])
        pos += non_shared
        yield key, block[pos:pos + vlen]
        pos += vlen


def _table_items(data: bytes) -> Iterator[Tuple[bytes, memoryview]]:
    """(key, value) for every entry of an SSTable held in `data`, in order."""
    if len(data) < _FOOTER:
        raise _Corrupt(f"file is {len(data)} bytes, shorter than the {_FOOTER}-byte table footer: truncated?")
    footer = data[-_FOOTER:]
    (magic,) = struct.unpack_from("<Q", footer, _FOOTER - 8)
    if magic != _MAGIC:
        raise _Corrupt("bad table magic number: not a TensorFlow V2 checkpoint index, or truncated")
    _, _, pos = _block_handle(footer, 0)  # metaindex: filters only, nothing we need
    ioff, isize, _ = _block_handle(footer, pos)
    index = _read_block(data, ioff, isize, "index block")
    for _, handle in _block_entries(index, "index block"):
        off, size, _ = _block_handle(handle, 0)
        block = _read_block(data, off, size, f"data block at offset {off}")
        yield from _block_entries(block, f"data block at offset {off}")


# ----------------------------------------------------------------------------- bundles

_DTYPES = {  # DataType enum -> (name, numpy dtype of the stored bytes, little-endian)
    1: ("float32", "<f4"), 2: ("float64", "<f8"), 3: ("int32", "<i4"), 4: ("uint8", "u1"),
    5: ("int16", "<i2"), 6: ("int8", "i1"), 7: ("string", None), 8: ("complex64", "<c8"),
    9: ("int64", "<i8"), 10: ("bool", "?"), 14: ("bfloat16", "<u2"), 17: ("uint16", "<u2"),
    18: ("complex128", "<c16"), 19: ("float16", "<f2"), 22: ("uint32", "<u4"), 23: ("uint64", "<u8"),
}


class TFTensorInfo:
    """One variable of a checkpoint, as its index describes it (no data read)."""

    __slots__ = ("name", "dtype", "shape", "shard_id", "offset", "size", "crc32c", "_dtype_code", "_sliced")

    def __init__(self, name, entry):
        code = entry["dtype"]
        code = code - 100 if code > 100 else code  # *_REF types store the same bytes
        self.name = name
        self._dtype_code = code
        self.dtype = _DTYPES.get(code, ("DataType %d" % code, None))[0]
        self.shape = entry["shape"]
        self.shard_id, self.offset, self.size = entry["shard_id"], entry["offset"], entry["size"]
        self.crc32c = entry["crc32c"]
        self._sliced = entry["slices"] > 0

    def __repr__(self):
        return f"TFTensorInfo({self.name!r}, {self.dtype}, {self.shape})"


def _normalize_prefix(prefix) -> Path:
    p = Path(prefix)
    if p.is_dir():
        return find_tf_checkpoint(p)
    name = p.name
    if name.endswith(".index"):
        return p.with_name(name[:-len(".index")])
    m = re.match(r"^(.*)\.data-\d{5}-of-\d{5}$", name)
    if m:
        return p.with_name(m.group(1))
    if name.endswith(".meta"):
        return p.with_name(name[:-len(".meta")])
    return p


def _read_index(prefix: Path):
    index_path = Path(str(prefix) + ".index")
    if not index_path.exists():
        if prefix.is_file():
            raise CheckpointError(f"{prefix}: looks like a TensorFlow V1 checkpoint (one file, no .index), "
                                  "which this reader does not support; re-save it with TensorFlow")
        raise CheckpointError(f"{index_path}: no such file (expected a TensorFlow checkpoint prefix such as "
                              "'dir/model.ckpt-125000', with PREFIX.index and PREFIX.data-* beside it)")
    try:
        data = index_path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{index_path}: cannot read ({e.strerror or e})") from None
    header, infos, seen_header = {"num_shards": 1, "endianness": 0}, {}, False
    try:
        for key, value in _table_items(data):
            if key == b"":
                header = _parse_header(value)
                seen_header = True
                continue
            if key[:1] == b"\x00":
                continue  # a slice of a partitioned variable (its full entry, which has `slices`, is refused)
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise _Corrupt(f"tensor name {key!r} is not UTF-8") from None
            try:
                infos[name] = TFTensorInfo(name, _parse_entry(value))
            except _Corrupt as e:
                raise _Corrupt(f"entry for tensor {name!r}: {e}") from None
    except _Corrupt as e:
        raise CheckpointError(f"{index_path}: corrupt or truncated checkpoint index ({e})") from None
    if not seen_header:
        raise CheckpointError(f"{index_path}: corrupt checkpoint index (no bundle header entry)")
    if header["num_shards"] < 0 or header["num_shards"] > 100000:
        raise CheckpointError(f"{index_path}: corrupt bundle header (num_shards={header['num_shards']})")
    header["num_shards"] = header["num_shards"] or 1
    if header["endianness"] not in (0, 1):
        raise CheckpointError(f"{index_path}: corrupt bundle header (endianness={header['endianness']})")
    return index_path, header, infos


def list_tf_checkpoint(prefix) -> Dict[str, TFTensorInfo]:
    """{name: TFTensorInfo(dtype, shape, ...)} from the index alone (like tf.train.list_variables)."""
    _, _, infos = _read_index(_normalize_prefix(prefix))
    return infos


def read_tf_checkpoint(prefix, names: Optional[Callable[[str], bool]] = None, verify: bool = True,
                       ) -> Dict[str, "np.ndarray"]:
    """{variable name: numpy array} from a TensorFlow V2 checkpoint.

    prefix: ``dir/model.ckpt-125000`` (also accepted: the ``.index`` or a
    ``.data-*`` file, or the directory, resolved with :func:`find_tf_checkpoint`).
    names: optional predicate; only variables it accepts are read (e.g.
    ``lambda n: not is_optimizer_variable(n)`` to leave Adam/LAMB slots on disk).
    verify: check each tensor's crc32c.

    dtypes: float32/float64/float16 and the integer and bool types come back as
    the same numpy dtype; bfloat16 (which numpy lacks) is widened to float32.
    String tensors are skipped with a warning (ALBERT has none but, sometimes,
    bookkeeping). Partitioned (sliced) variables raise CheckpointError.
    """
    prefix = _normalize_prefix(prefix)
    index_path, header, infos = _read_index(prefix)
    num_shards = header["num_shards"]
    big = header["endianness"] == 1
    out, files = {}, {}
    skipped_strings = []
    try:
        for name, info in infos.items():
            if names is not None and not names(name):
                continue
            if info._sliced:
                raise CheckpointError(f"{index_path}: tensor {name!r} is a partitioned (sliced) variable, "
                                      "which this reader does not support")
            code = info._dtype_code
            if code == 7:
                skipped_strings.append(name)
                continue
            if code not in _DTYPES:
                raise CheckpointError(f"{index_path}: tensor {name!r} has unsupported dtype {info.dtype}")
            if not 0 <= info.shard_id < num_shards:
                raise CheckpointError(f"{index_path}: tensor {name!r} is in shard {info.shard_id}, "
                                      f"but the header says there are {num_shards}")
            data_path = Path(f"{prefix}.data-{info.shard_id:05d}-of-{num_shards:05d}")
            if data_path not in files:
                try:
                    f = open(data_path, "rb")
                except OSError as e:
                    raise CheckpointError(f"{data_path}: cannot read ({e.strerror or e}; tensor {name!r} "
                                          "is stored there)") from None
                f.seek(0, 2)
                files[data_path] = (f, f.tell())
            f, fsize = files[data_path]
            npdt = np.dtype(_DTYPES[code][1])
            if big:
                npdt = npdt.newbyteorder(">")
            count = 1
            for d in info.shape:
                count *= d
            if info.size != count * npdt.itemsize:
                raise CheckpointError(f"{index_path}: corrupt entry for tensor {name!r} ({info.size} bytes "
                                      f"for shape {info.shape} of {info.dtype})")
            if info.offset < 0 or info.offset + info.size > fsize:
                raise CheckpointError(f"{data_path}: file is truncated or corrupt (tensor {name!r} needs bytes "
                                      f"{info.offset}..{info.offset + info.size}, the file has {fsize})")
            f.seek(info.offset)
            raw = bytearray(info.size)  # numpy arrays over it are writable: no extra copy
            if f.readinto(raw) != info.size:
                raise CheckpointError(f"{data_path}: short read for tensor {name!r}: truncated?")
            if verify and info.crc32c is not None and crc32c(raw) != _unmask(info.crc32c):
                raise CheckpointError(f"{data_path}: checksum mismatch for tensor {name!r} (crc32c of its "
                                      f"{info.size} bytes does not match the index): the file is corrupt")
            arr = np.frombuffer(raw, dtype=npdt, count=count).reshape(info.shape)
            if code == 14:  # bfloat16: the top half of a float32
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            elif big:
                arr = arr.astype(npdt.newbyteorder("<"))
            out[name] = arr
    finally:
        for f, _ in files.values():
            f.close()
    if skipped_strings:
        warnings.warn(f"{index_path}: skipped string tensor(s) {', '.join(map(repr, skipped_strings))}",
                      stacklevel=2)
    return out


_STEP_RE = re.compile(r"-(\d+)$")


def find_tf_checkpoint(directory) -> Path:
    """The checkpoint prefix in `directory`: the `checkpoint` file's
    model_checkpoint_path if it points at an existing .index (an absolute path
    from another machine falls back to its file name in this directory), else
    the only ``*.index``, else the one with the highest ``-STEP`` suffix."""
    d = Path(directory)
    if not d.is_dir():
        raise CheckpointError(f"{d}: not a directory")
    state = d / "checkpoint"
    if state.is_file():
        try:
            text = state.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise CheckpointError(f"{state}: cannot read ({e.strerror or e})") from None
        m = re.search(r'^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"', text, re.M)
        if m:
            raw = m.group(1).encode("latin-1", "backslashreplace").decode("unicode_escape")
            p = Path(raw)
            for cand in ([p] if p.is_absolute() else [d / p]) + [d / p.name]:
                if Path(str(cand) + ".index").is_file():
                    return cand
    indexes = sorted(d.glob("*.index"))
    if not indexes:
        raise CheckpointError(f"{d}: no TensorFlow checkpoint here (no *.index file)")
    prefixes = [p.with_name(p.name[:-len(".index")]) for p in indexes]
    if len(prefixes) == 1:
        return prefixes[0]
    stepped = [(int(m.group(1)), p) for p in prefixes for m in [_STEP_RE.search(p.name)] if m]
    if len(stepped) == len(prefixes):
        return max(stepped)[1]
    raise CheckpointError(f"{d}: several checkpoints ({', '.join(p.name for p in prefixes)}) and no "
                          "`checkpoint` file saying which; pass the prefix itself")


# ----------------------------------------------------------------------------- Google/albert_zh -> HF names

# Optimizer and mixed-precision bookkeeping: never model weights.
_OPTIMIZER_PARTS = {"adam_m", "adam_v", "lamb_m", "lamb_v", "Adam", "Adam_1", "Momentum", "Adagrad",
                    "RMSProp", "RMSProp_1", "ExponentialMovingAverage"}
_BOOKKEEPING = {"global_step", "beta1_power", "beta2_power", "bad_steps", "good_steps", "loss_scale",
                "current_loss_scale", "loss_scale_normal_steps", "_CHECKPOINTABLE_OBJECT_GRAPH"}


def _strip(name: str) -> str:
    return name[len("module/"):] if name.startswith("module/") else name


def is_optimizer_variable(name: str) -> bool:
    """True for optimizer slots (``.../adam_m``, ``.../lamb_v``, ``.../Adam_1``...),
    ``global_step`` and loss-scaling counters: what google_to_hf skips."""
    parts = _strip(name).split("/")
    if any(p in _OPTIMIZER_PARTS for p in parts):
        return True
    return parts[-1] in _BOOKKEEPING or any("loss_scale" in p for p in parts)


_NORM = {"gamma": "weight", "beta": "bias"}
_DENSE = {"kernel": "weight", "bias": "bias"}

_GOOGLE_LAYER = {  # sub-path under inner_group_{j}/ -> HF module under albert_layers.{j}.
    "attention_1/self/query": "attention.query",
    "attention_1/self/key": "attention.key",
    "attention_1/self/value": "attention.value",
    "attention_1/output/dense": "attention.dense",
    "LayerNorm": "attention.LayerNorm",
    "ffn_1/intermediate/dense": "ffn",
    "ffn_1/intermediate/output/dense": "ffn_output",
    "LayerNorm_1": "full_layer_layer_norm",
}
_ZH_LAYER = {  # sub-path under bert/encoder/layer_shared/ -> HF module under albert_layers.0.
    "attention/self/query": "attention.query",
    "attention/self/key": "attention.key",
    "attention/self/value": "attention.value",
    "attention/output/dense": "attention.dense",
    "attention/output/LayerNorm": "attention.LayerNorm",
    "intermediate/dense": "ffn",
    "output/dense": "ffn_output",
    "output/LayerNorm": "full_layer_layer_norm",
}
_COMMON_MODULES = {  # TF module path -> HF module (dense kernels transposed)
    "bert/embeddings/LayerNorm": "albert.embeddings.LayerNorm",
    "bert/pooler/dense": "albert.pooler",
    "cls/predictions/transform/dense": "predictions.dense",
    "cls/predictions/transform/LayerNorm": "predictions.LayerNorm",
}
_COMMON_TENSORS = {  # TF name -> HF name, stored as is
    "bert/embeddings/word_embeddings": "albert.embeddings.word_embeddings.weight",
    "bert/embeddings/position_embeddings": "albert.embeddings.position_embeddings.weight",
    "bert/embeddings/token_type_embeddings": "albert.embeddings.token_type_embeddings.weight",
    "cls/predictions/output_bias": "predictions.bias",
    "cls/seq_relationship/output_weights": "sop_classifier.classifier.weight",  # (2, H): already (out, in)
    "cls/seq_relationship/output_bias": "sop_classifier.classifier.bias",
    "output_weights": "classifier.weight",  # run_classifier.py: (K, H), already (out, in)
    "output_bias": "classifier.bias",
}
_GROUP_RE = re.compile(r"^bert/encoder/transformer/group_(\d+)/inner_group_(\d+)/(.+)/(kernel|bias|gamma|beta)$")
_ZH_RE = re.compile(r"^bert/encoder/layer_shared/(.+)/(kernel|bias|gamma|beta)$")
_LEAF_RE = re.compile(r"^(.+)/(kernel|bias|gamma|beta)$")


def detect_layout(tf_vars) -> str:
    """'google' (bert/encoder/transformer/group_*) or 'albert_zh' (brightmart's
    bert/encoder/layer_shared + bert/embeddings/word_embeddings_2). Accepts a
    dict or any iterable of names; a ``module/`` prefix is ignored."""
    names = [_strip(n) for n in tf_vars if not is_optimizer_variable(n)]
    if any(n.startswith("bert/encoder/layer_shared/") or n == "bert/embeddings/word_embeddings_2" for n in names):
        return "albert_zh"
    if any(n.startswith("bert/encoder/transformer/group_") for n in names):
        return "google"
    if any(re.match(r"^bert/encoder/layer_\d+/", n) for n in names):
        raise CheckpointError("this checkpoint has BERT-style unshared layers (bert/encoder/layer_N/...), "
                              "not an ALBERT layout this loader knows (google or albert_zh)")
    raise CheckpointError("cannot tell the checkpoint layout: no bert/encoder/transformer/group_* (Google ALBERT) "
                          "or bert/encoder/layer_shared/* (albert_zh) variables")


def _dense_leaf(hf_module: str, leaf: str, tf_name: str, a, heads: Optional[int] = None):
    """(HF name, array) for a dense kernel/bias or LayerNorm gamma/beta leaf."""
    if (leaf in _NORM) != hf_module.endswith(("LayerNorm", "layer_norm")):
        raise CheckpointError(f"unrecognised variable {tf_name!r}: a {leaf!r} where a "
                              f"{'LayerNorm' if leaf not in _NORM else 'dense layer'} has none")
    if leaf in _NORM:
        return f"{hf_module}.{_NORM[leaf]}", a
    if leaf == "bias":
        return f"{hf_module}.bias", a.reshape(-1) if a.ndim == 2 else a
    # kernel: TF stores (in, out); HF wants (out, in). Some exports keep the
    # attention kernels 3-D ((H, NH, HS) for q/k/v, (NH, HS, H) for the output).
    if a.ndim == 3:
        a = a.reshape(a.shape[0], -1) if heads == 0 else a.reshape(-1, a.shape[-1])
    if a.ndim != 2:
        raise CheckpointError(f"variable {tf_name!r}: expected a 2-D kernel, got shape {tuple(a.shape)}")
    return f"{hf_module}.weight", np.ascontiguousarray(a.T)


def google_to_hf(tf_vars: Dict[str, "np.ndarray"], config=None, layout: Optional[str] = None,
                 ) -> Tuple[Dict[str, "np.ndarray"], List[str]]:
    """Rename a TF ALBERT checkpoint's variables to minialbert/HF names.

    Returns ``(state, skipped)``: ``state`` maps HF names to arrays in HF's
    (out, in) layout (TF ``kernel``s are (in, out) and get transposed;
    ``output_weights`` are already (out, in)); ``skipped`` lists the variables
    left out on purpose (optimizer slots such as ``adam_m``/``lamb_v``,
    ``global_step``, loss-scale counters). A leading ``module/`` (TF-Hub
    exports) is stripped first. Any other variable that is not recognised
    raises CheckpointError naming it.

    layout: 'google' or 'albert_zh'; detected with :func:`detect_layout` if None.

    Google's modeling.py only creates ``bert/encoder/embedding_hidden_mapping_in``
    when embedding_size != hidden_size. When it is absent and E == H, this adds
    ``albert.encoder.embedding_hidden_mapping_in`` = identity (H, E) and a zero
    bias, so the HF-structured model (which always projects) computes exactly
    what Google's does. E and H come from `config` (embedding_size,
    hidden_size) or, without one, from the tensors' shapes.

    albert_zh (brightmart's non-"_google" releases) factorises the word
    embeddings as word_embeddings (V, E) @ word_embeddings_2 (E, H) and has no
    embedding_hidden_mapping_in; word_embeddings_2 becomes
    ``albert.embeddings.word_embeddings_2.weight`` (H, E), and the single shared
    layer ``...albert_layer_groups.0.albert_layers.0.*``.
    """
    layout = layout or detect_layout(tf_vars)
    if layout not in ("google", "albert_zh"):
        raise ValueError(f"layout {layout!r}; expected 'google' or 'albert_zh'")
    state: Dict[str, "np.ndarray"] = {}
    source: Dict[str, str] = {}
    skipped: List[str] = []

    def put(hf_name, a, tf_name):
        if hf_name in state:
            raise CheckpointError(f"variables {source[hf_name]!r} and {tf_name!r} both map to {hf_name!r}")
        state[hf_name] = np.asarray(a)
        source[hf_name] = tf_name

    for tf_name, a in tf_vars.items():
        if is_optimizer_variable(tf_name):
            skipped.append(tf_name)
            continue
        n = _strip(tf_name)
        a = np.asarray(a)
        if n in _COMMON_TENSORS:
            put(_COMMON_TENSORS[n], a, tf_name)
            continue
        if layout == "albert_zh" and n == "bert/embeddings/word_embeddings_2":
            if a.ndim != 2:
                raise CheckpointError(f"variable {tf_name!r}: expected (E, H), got shape {tuple(a.shape)}")
            put("albert.embeddings.word_embeddings_2.weight", np.ascontiguousarray(a.T), tf_name)
            continue
        if layout == "google":
            m = _GROUP_RE.match(n)
            if m and m.group(3) in _GOOGLE_LAYER:
                g, j, sub, leaf = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
                hf_module = f"albert.encoder.albert_layer_groups.{g}.albert_layers.{j}.{_GOOGLE_LAYER[sub]}"
                heads = 0 if sub.startswith("attention_1/self/") else 1
                put(*_dense_leaf(hf_module, leaf, tf_name, a, heads), tf_name)
                continue
        else:
            m = _ZH_RE.match(n)
            if m and m.group(1) in _ZH_LAYER:
                hf_module = f"albert.encoder.albert_layer_groups.0.albert_layers.0.{_ZH_LAYER[m.group(1)]}"
                heads = 0 if m.group(1).startswith("attention/self/") else 1
                put(*_dense_leaf(hf_module, m.group(2), tf_name, a, heads), tf_name)
                continue
        m = _LEAF_RE.match(n)
        modules = dict(_COMMON_MODULES)
        if layout == "google":
            modules["bert/encoder/embedding_hidden_mapping_in"] = "albert.encoder.embedding_hidden_mapping_in"
        if m and m.group(1) in modules:
            put(*_dense_leaf(modules[m.group(1)], m.group(2), tf_name, a), tf_name)
            continue
        raise CheckpointError(f"unrecognised variable {tf_name!r} in a {layout} ALBERT checkpoint "
                              f"(shape {tuple(a.shape)}); is it an ALBERT checkpoint of this layout?")

    if layout == "google" and "albert.encoder.embedding_hidden_mapping_in.weight" not in state:
        _add_identity_mapping(state, config)
    return state, skipped


def _add_identity_mapping(state, config):
    we = state.get("albert.embeddings.word_embeddings.weight")
    q = state.get("albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight")
    if config is not None:
        E, H = int(config.embedding_size), int(config.hidden_size)
    elif we is not None and q is not None:
        E, H = we.shape[1], q.shape[1]
    else:
        return  # nothing to size it from: leave the loader to report what is missing
    if E != H:
        raise CheckpointError(f"the checkpoint has no bert/encoder/embedding_hidden_mapping_in, which Google's "
                              f"code only omits when embedding_size == hidden_size, but the config has "
                              f"embedding_size={E}, hidden_size={H}")
    dtype = we.dtype if we is not None and we.dtype.kind == "f" else np.float32
    state["albert.encoder.embedding_hidden_mapping_in.weight"] = np.eye(H, E, dtype=dtype)
    state["albert.encoder.embedding_hidden_mapping_in.bias"] = np.zeros(H, dtype=dtype)


def load_tf_state(path, config=None, layout: Optional[str] = None, verify: bool = True):
    """find + read + rename in one call: ``(state, skipped, prefix)`` from a
    checkpoint directory or prefix. Optimizer slots are listed in `skipped`
    but never read from disk."""
    prefix = _normalize_prefix(path)
    tf_vars = read_tf_checkpoint(prefix, names=lambda n: not is_optimizer_variable(n), verify=verify)
    infos = list_tf_checkpoint(prefix)
    state, skipped = google_to_hf(tf_vars, config, layout)
    skipped = sorted(set(skipped) | {n for n in infos if is_optimizer_variable(n)})
    return state, skipped, prefix
