"""TensorFlow 1.x checkpoints, read without tensorflow.

:func:`read_tf_checkpoint` reads a TF "V2" checkpoint (what ``tf.train.Saver`` has written since
TF 0.12, and what every released ALBERT is): ``PREFIX.index`` plus ``PREFIX.data-00000-of-0000N``.
The names inside are Google's; ``tf_names`` maps them to HF's.

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
:class:`~minialbert.io.errors.CheckpointError` naming the file, and the
tensor where there is one.
"""
from __future__ import annotations

import mmap
import re
import struct
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

from .. import backend
from .crc32c import crc32c
from .errors import CheckpointError

np = backend.numpy

__all__ = ["read_tf_checkpoint", "list_tf_checkpoint", "find_tf_checkpoint", "TFTensorInfo"]


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


_MAX_BLOCK = 16 << 20   # TF writes index blocks of ~256 KiB (a block holds small BundleEntryProtos)


def _read_block(data: bytes, offset: int, size: int, what: str) -> memoryview:
    if offset < 0 or size < 0 or offset + size + 5 > len(data):
        raise _Corrupt(f"{what} at {offset}+{size} runs past the end of the file ({len(data)} bytes): truncated?")
    if size > _MAX_BLOCK:
        raise _Corrupt(f"{what} claims {size:,} bytes; a TensorFlow index block is far smaller")
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


def normalize_prefix(prefix) -> Path:
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
    if not index_path.is_file():   # a FIFO would block, /dev/zero never end
        raise CheckpointError(f"{index_path}: not a regular file")
    try:   # memory-mapped: only the footer and the blocks it points to are read, however big the file
        with open(index_path, "rb") as f:
            size = f.seek(0, 2)
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{index_path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    try:
        return _parse_index(index_path, data)
    finally:
        if isinstance(data, mmap.mmap):
            try:
                data.close()
            except BufferError:   # a memoryview of it is still alive somewhere: the GC closes it
                pass


def _parse_index(index_path: Path, data):
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
    _, _, infos = _read_index(normalize_prefix(prefix))
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
    prefix = normalize_prefix(prefix)
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
                if data_path.exists() and not data_path.is_file():   # a FIFO would block
                    raise CheckpointError(f"{data_path}: not a regular file (tensor {name!r} is stored there)")
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
            with open(state, "rb") as f:   # a few lines; never more than 1 MiB read
                text = f.read(1 << 20).decode("utf-8", errors="replace")
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
