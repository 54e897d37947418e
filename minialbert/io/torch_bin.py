"""Read PyTorch ``pytorch_model.bin`` files into NumPy arrays, without torch, safely.

``torch.save(state_dict, f)`` writes a Python *pickle* of the state dict in which
each tensor's bytes are kept out of the pickle and stored separately. There
are two container layouts.

The zip format (torch >= 1.6, the default since then)
-----------------------------------------------------
An uncompressed zip archive whose members all live in one top folder (its name
is the saved file's stem, e.g. ``pytorch_model/``; it does not matter)::

    pytorch_model/data.pkl        the pickled object (the state dict)
    pytorch_model/data/0          raw bytes of storage "0"
    pytorch_model/data/1          raw bytes of storage "1", ...
    pytorch_model/byteorder       "little" or "big": byte order of the storages
    pytorch_model/version         format version, plus a few other small records

The legacy format (torch < 1.6, or ``_use_new_zipfile_serialization=False``)
----------------------------------------------------------------------------
Several pickles written one after another, then the raw storages::

    pickle   the magic number 0x1950a86a20f9469cfc6c
    pickle   the protocol version, 1001
    pickle   a sys_info dict (byte order, sizes of C types)
    pickle   the pickled object (the state dict)
    pickle   a list of storage keys, e.g. ["0", "1", ...]
    then, for each key in that list: an 8-byte little-endian element count,
    followed by count * element_size bytes of little-endian data.

The pickle itself is the same in both formats. A pickle is a little program for
a stack machine; its ``GLOBAL`` instruction names a Python object by module and
name (``torch._utils._rebuild_tensor_v2``), which the standard unpickler
*imports and calls*. That is why loading an untrusted pickle can run any code:
the file can just as well name ``os.system``. Here every name goes through
``_TorchUnpickler.find_class``, which allows only an explicit whitelist of
names (``_ALLOWED``) and maps each to a stand-in defined in this module;
nothing the file names is ever imported, and any other name is refused.

How a tensor appears in the pickle. Each storage (a flat typed buffer) is a
*persistent id*, a tuple that the pickle hands to ``persistent_load`` instead
of embedding the bytes::

    ("storage", storage_type, key, location, numel)          zip format
    ("storage", storage_type, key, location, numel, view)    legacy format (view is None)

``storage_type`` is a class such as ``torch.FloatStorage`` (numel counts
float32 elements) or, for dtypes that have no such class (uint16, float8...),
``torch.storage.UntypedStorage`` (numel counts bytes). ``key`` names the
record ("0", "1", ... in zips; legacy files use memory addresses) and
``location`` the device it was saved from ("cpu", "cuda:0"; ignored here). A
tensor is then a call of a rebuild function on a storage::

    torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
    torch._utils._rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, hooks, dtype[, metadata])
    torch._utils._rebuild_parameter(tensor, requires_grad, hooks)           # an nn.Parameter

where offset and stride count elements. Several tensors may share one storage
(slices of one tensor, tied weights), and a view may be non-contiguous (a
transpose, stride 0 for a broadcast): element ``i, j`` of a 2-D tensor is
``storage[offset + i * stride[0] + j * stride[1]]``. We copy every tensor out
into its own C-contiguous NumPy array, so no two results alias.

numpy has no bfloat16; a bfloat16 number is the top 16 bits of a float32, so
bfloat16 tensors are widened to float32 exactly (``bits << 16``).

Public API: ``read_torch_bin(path) -> {name: numpy array}``. The file may hold
the state dict itself (a dict or OrderedDict of tensors) or a training
checkpoint holding it under a key such as "state_dict" or "model";
``read_torch_bin_info`` also says which format and which key were used.
"""
from __future__ import annotations

import io
import pickle
import struct
import warnings
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np

from .errors import CheckpointError

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the legacy format's first pickle
PROTOCOL_VERSION = 1001  # the legacy format's second pickle

# Keys under which training checkpoints commonly keep the model's state dict.
NESTED_KEYS = ("state_dict", "model_state_dict", "model", "module")

# A broadcast view (stride 0) of a small storage can describe a huge tensor; the bytes that all the
# tensors of one file would add beyond their storages' own size are capped together, at this.
_MAX_EXPANDED_BYTES = 1 << 30


class _BadFile(Exception):
    """Raised inside the reader; read_torch_bin turns it into a CheckpointError naming the file."""


# ----------------------------------------------------------------------------- stand-ins
# NamedTuples are immutable, so a crafted pickle cannot modify them with BUILD.


class _DType(NamedTuple):
    """Stands in for a torch.dtype such as torch.float32."""
    name: str  # torch's name, e.g. "float32"
    code: Optional[str]  # numpy type code without byte order ("f4"); None: numpy has no such type
    itemsize: int  # bytes per element
    bf16: bool = False  # stored as uint16 bits, widened to float32 on output


def _dt(name, code, itemsize=None, bf16=False):
    return _DType(name, code, itemsize or np.dtype(code).itemsize, bf16)


_DTYPES = {d.name: d for d in [
    _dt("float64", "f8"), _dt("float32", "f4"), _dt("float16", "f2"), _dt("bfloat16", "u2", bf16=True),
    _dt("complex128", "c16"), _dt("complex64", "c8"),
    _dt("int64", "i8"), _dt("int32", "i4"), _dt("int16", "i2"), _dt("int8", "i1"),
    _dt("uint64", "u8"), _dt("uint32", "u4"), _dt("uint16", "u2"), _dt("uint8", "u1"), _dt("bool", "?"),
    # Known to torch, but numpy has no equivalent: a clear error if a tensor uses one.
    _dt("complex32", None, 4), _dt("float8_e4m3fn", None, 1), _dt("float8_e5m2", None, 1),
    _dt("float8_e4m3fnuz", None, 1), _dt("float8_e5m2fnuz", None, 1), _dt("float8_e8m0fnu", None, 1),
]}


class _StorageType(NamedTuple):
    """Stands in for a storage class such as torch.FloatStorage."""
    name: str
    dtype: _DType


_STORAGE_TYPES = {name: _StorageType(name, _DTYPES[dt]) for name, dt in [
    ("DoubleStorage", "float64"), ("FloatStorage", "float32"), ("HalfStorage", "float16"),
    ("BFloat16Storage", "bfloat16"), ("ComplexDoubleStorage", "complex128"),
    ("ComplexFloatStorage", "complex64"), ("LongStorage", "int64"), ("IntStorage", "int32"),
    ("ShortStorage", "int16"), ("CharStorage", "int8"), ("ByteStorage", "uint8"),
    ("BoolStorage", "bool"),
]}
# Raw bytes; the tensor's dtype is given to _rebuild_tensor_v3.
_UNTYPED = _StorageType("UntypedStorage", _DTYPES["uint8"])


class _StorageRef(NamedTuple):
    """What persistent_load returns: elements [start, start + numel) of the record ``key``."""
    key: str
    dtype: _DType
    untyped: bool
    start: int
    numel: int


class _TensorRef(NamedTuple):
    """A tensor described by the pickle; its bytes are read once the pickle is done."""
    storage: _StorageRef
    offset: int
    size: tuple
    stride: tuple
    dtype: _DType


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _int_tuple(x, what) -> tuple:
    if not isinstance(x, (tuple, list)) or len(x) > 64 or not all(_is_int(v) and v >= 0 for v in x):
        raise _BadFile(f"corrupt tensor record ({what} {x!r} is not a tuple of non-negative ints)")
    return tuple(x)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, dtype=None, metadata=None):
    if not isinstance(storage, _StorageRef):
        raise _BadFile(f"corrupt tensor record (expected a storage, found {type(storage).__name__})")
    if not _is_int(storage_offset) or storage_offset < 0:
        raise _BadFile(f"corrupt tensor record (storage offset {storage_offset!r})")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise _BadFile(f"corrupt tensor record (size {size} and stride {stride} differ in length)")
    if dtype is None:
        dtype = storage.dtype
    elif not isinstance(dtype, _DType):
        raise _BadFile(f"corrupt tensor record (dtype {dtype!r})")
    elif not storage.untyped and dtype != storage.dtype:
        raise _BadFile(f"tensor of dtype {dtype.name} on a storage of {storage.dtype.name}")
    # requires_grad, backward hooks and metadata do not matter for inference.
    return _TensorRef(storage, storage_offset, size, stride, dtype)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _rebuild_tensor_v3(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):  # torch < 1.0
    return _rebuild_tensor_v3(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, _TensorRef):
        raise _BadFile(f"corrupt parameter record (expected a tensor, found {type(data).__name__})")
    return data  # an nn.Parameter is just its tensor here


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None):
    return _rebuild_parameter(data)  # state: Python attributes set on the parameter; ignored


# (module, name) -> what find_class returns. Nothing else may be named by the pickle.
_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch.storage", "UntypedStorage"): _UNTYPED,
    **{("torch", name): st for name, st in _STORAGE_TYPES.items()},
    **{("torch", name): dt for name, dt in _DTYPES.items()},  # dtypes, for _rebuild_tensor_v3
}


# ----------------------------------------------------------------------------- unpickling


def _text(x):
    """Python 2 pickles give bytes where Python 3 ones give str."""
    return x.decode("ascii") if isinstance(x, bytes) else x


def _load_build(self):
    """BUILD (set an object's state) only where torch writes it: the state dict's OrderedDict getting its
    `_metadata` attribute. Anything else could change a whitelisted function for the rest of the process
    (slot state: setattr(_rebuild_tensor_v2, "__defaults__", ...)) or empty a dict; refused."""
    state = self.stack.pop()
    inst = self.stack[-1]
    if type(inst) is OrderedDict and isinstance(state, dict) and set(state) <= {"_metadata"}:
        inst.__dict__.update(state)
        return
    raise _BadFile(f"refusing BUILD on a {type(inst).__name__} (torch writes BUILD only for a state dict's "
                   "_metadata)")


class _TorchUnpickler(pickle._Unpickler):
    """An unpickler that knows only the names in _ALLOWED, records the storages it meets, and applies
    BUILD only as torch uses it. (The pure-Python unpickler, so that BUILD can be replaced; the pickle
    of a state dict holds no tensor data, so its speed does not matter.)"""

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = _load_build

    def __init__(self, file, allow=_ALLOWED):
        super().__init__(file, encoding="utf-8")
        self.allow = allow
        self.storages: Dict[str, Tuple[_DType, int]] = {}  # record key -> (dtype, element count)

    def find_class(self, module, name):
        try:
            return self.allow[(module, name)]
        except KeyError:
            raise _BadFile(f"refusing to load pickle global '{module}.{name}' "
                           "(only tensor data is allowed)") from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid:
            raise _BadFile(f"unexpected persistent id {pid!r}")
        kind = _text(pid[0])
        if kind == "module":
            raise _BadFile("the file holds a whole pickled nn.Module (torch.save(model)), "
                           "not a state dict; save model.state_dict() instead")
        if kind != "storage" or len(pid) not in (5, 6):
            raise _BadFile(f"unexpected persistent id {pid!r}")
        storage_type, key, numel = pid[1], _text(pid[2]), pid[4]   # pid[3]: the device it was saved from
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) \
                or not _is_int(numel) or numel < 0:
            raise _BadFile(f"corrupt storage record {pid!r}")
        dtype, untyped = storage_type.dtype, storage_type is _UNTYPED
        if self.storages.setdefault(key, (dtype, numel)) != (dtype, numel):
            raise _BadFile(f"storage {key!r} is used with two different dtypes or sizes")
        start = 0
        view = pid[5] if len(pid) == 6 else None
        if view is not None:  # legacy storage views (torch < 1.0): (view_key, offset, size)
            if not (isinstance(view, tuple) and len(view) == 3 and _is_int(view[1]) and _is_int(view[2])
                    and 0 <= view[1] and 0 <= view[2] and view[1] + view[2] <= numel):
                raise _BadFile(f"corrupt storage view {view!r}")
            start, numel = view[1], view[2]
        return _StorageRef(key, dtype, untyped, start, numel)


def _unpickle(file, allow=_ALLOWED, what="pickle"):
    """Load one pickle from ``file``; returns (object, unpickler)."""
    u = _TorchUnpickler(file, allow)
    try:
        return u.load(), u
    except _BadFile:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, struct.error, OverflowError, RecursionError, MemoryError) as e:
        raise _BadFile(f"truncated or corrupt {what} ({type(e).__name__}: {e})") from None


# ----------------------------------------------------------------------------- tensors


def _check_total_size(state) -> None:
    """Before any tensor is materialised: the bytes the tensors would take, beyond those their
    storages hold, must stay under _MAX_EXPANDED_BYTES in total (not per tensor: ten broadcast views
    of one 4-byte storage are ten times one)."""
    extra = 0
    for name, t in state.items():
        count = 1
        for n in t.size:
            count *= n
        want = count * (t.dtype.itemsize or 0)                       # bytes the tensor will take
        extra += max(0, want - t.storage.numel * (t.storage.dtype.itemsize or 0))
        if extra > _MAX_EXPANDED_BYTES:
            raise _BadFile(f"tensor {name!r} (with the tensors before it) is a broadcast view: refusing to expand "
                           f"them to more than {_MAX_EXPANDED_BYTES >> 20} MiB beyond their storages")


def _materialize(name, t: _TensorRef, data: bytes, byteorder: str) -> np.ndarray:
    """Copy tensor ``t`` out of its storage's bytes into a new C-contiguous array."""
    dt = t.dtype
    if dt.code is None:
        raise _BadFile(f"tensor {name!r} has dtype torch.{dt.name}, which numpy cannot represent")
    file_dtype = np.dtype(dt.code).newbyteorder(byteorder)
    st = t.storage
    start_bytes = st.start * st.dtype.itemsize
    nbytes = st.numel * st.dtype.itemsize
    if len(data) < start_bytes + nbytes:
        raise _BadFile(f"storage {st.key!r} is truncated")
    if nbytes % file_dtype.itemsize:
        raise _BadFile(f"tensor {name!r}: storage of {nbytes} bytes is not a whole number of {dt.name}")
    flat = np.frombuffer(data, dtype=file_dtype, count=nbytes // file_dtype.itemsize, offset=start_bytes)

    count = 1
    for s in t.size:
        count *= s
    native = file_dtype.newbyteorder("=")
    if count == 0:
        out = np.zeros(t.size, dtype=native)
    else:
        last = t.offset + sum((s - 1) * d for s, d in zip(t.size, t.stride))
        if last >= len(flat):
            raise _BadFile(f"tensor {name!r} (offset {t.offset}, size {t.size}, stride {t.stride}) "
                           f"reaches past the end of its storage of {len(flat)} elements")
        view = np.lib.stride_tricks.as_strided(
            flat[t.offset:], shape=t.size, strides=[d * file_dtype.itemsize for d in t.stride])
        out = np.array(view, dtype=native, order="C", copy=True)  # owns its memory, writable
    if dt.bf16:  # bfloat16 is the top half of a float32
        wide = out.astype(np.uint32)
        wide <<= 16
        out = wide.view(np.float32)
    return out


def _find_state_dict(obj):
    """The dict of tensors in the unpickled object, and the key it was under (None: top level)."""
    def is_state_dict(d):
        return isinstance(d, dict) and d and all(isinstance(v, _TensorRef) for v in d.values())

    if isinstance(obj, _TensorRef):
        raise _BadFile("the file holds a single tensor, not a state dict")
    if not isinstance(obj, dict):
        raise _BadFile(f"expected a state dict (a dict of tensors), found a {type(obj).__name__}")
    if not obj:
        raise _BadFile("the state dict is empty")
    if is_state_dict(obj):
        state, key = obj, None
    else:
        key = next((k for k in NESTED_KEYS if is_state_dict(obj.get(k))), None)
        if key is None:
            keys = ", ".join(repr(k) for k in list(obj)[:8]) + (", ..." if len(obj) > 8 else "")
            raise _BadFile("no state dict found: the file holds a dict with keys [" + keys + "], which is "
                           "neither all tensors nor has one under " + "/".join(map(repr, NESTED_KEYS)))
        state = obj[key]
    bad = [k for k in state if not isinstance(k, str)]
    if bad:
        raise _BadFile(f"state dict has a non-string key {bad[0]!r}")
    return state, key


def _apply_check(obj, check):
    """The unpickled object with its state dict cut to the tensors ``check`` ({name: shape} -> names to
    read; a model's check_state_shapes) asks for: shapes are compared with the config before any
    storage is read or any tensor materialised."""
    if check is None:
        return obj
    state, key = _find_state_dict(obj)
    wanted = check({name: tuple(t.size) for name, t in state.items()})
    kept = {name: t for name, t in state.items() if name in wanted}
    if not kept:
        raise _BadFile("none of its tensors is one the model uses")
    return kept if key is None else {key: kept}


# ----------------------------------------------------------------------------- the two formats


def _read_zip(path: Path, check=None):
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise _BadFile(f"not a valid zip archive ({e}); the file is truncated or corrupt") from None
    with zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise _BadFile("zip archive without a single <archive>/data.pkl: not a PyTorch checkpoint")
        prefix = pkl[0][: -len("data.pkl")]
        if any(n.startswith(prefix + "code/") for n in names):
            raise _BadFile("this is a TorchScript archive (torch.jit.save), not a state dict")
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = zf.read(prefix + "byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise _BadFile(f"unknown byte order {byteorder!r}")
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise _BadFile(f"member {info.filename!r} is compressed; torch never writes compressed members "
                               "(refused: it could inflate to any size)")
        if zf.getinfo(pkl[0]).file_size > 256 << 20:
            raise _BadFile(f"{pkl[0]} is {zf.getinfo(pkl[0]).file_size:,} bytes: not a state dict's pickle")
        obj, u = _unpickle(io.BytesIO(zf.read(pkl[0])), what=pkl[0])
        state, key = _find_state_dict(_apply_check(obj, check))
        _check_total_size(state)

        def storage_bytes(k):
            record = f"{prefix}data/{k}"
            dtype, numel = u.storages[k]
            nbytes = numel * dtype.itemsize
            try:
                info = zf.getinfo(record)
            except KeyError:
                raise _BadFile(f"missing storage record {record!r}") from None
            if info.file_size < nbytes:
                raise _BadFile(f"storage record {record!r} has {info.file_size} bytes, needs {nbytes}")
            with zf.open(info) as f:
                return f.read(nbytes)

        cache = {}
        out = {}
        for name, t in state.items():
            k = t.storage.key
            if k not in cache:
                cache[k] = storage_bytes(k)
            out[name] = _materialize(name, t, cache[k], "<" if byteorder == "little" else ">")
    return out, key


def _read_legacy(path: Path, f, size: int, check=None):
    header = {}  # the header pickles are plain data: no names allowed at all
    magic, _ = _unpickle(f, allow=header, what="header")
    if magic != MAGIC_NUMBER:
        shown = hex(magic) if _is_int(magic) else type(magic).__name__
        raise _BadFile(f"wrong magic number {shown} (expected {MAGIC_NUMBER:#x}): "
                       "not a PyTorch checkpoint")
    version, _ = _unpickle(f, allow=header, what="header")
    if version != PROTOCOL_VERSION:
        raise _BadFile(f"unsupported legacy protocol version {version!r} (expected {PROTOCOL_VERSION})")
    sys_info, _ = _unpickle(f, allow=header, what="header")
    if not isinstance(sys_info, dict):
        raise _BadFile("corrupt header (sys_info is not a dict)")
    obj, u = _unpickle(f, what="pickle")
    keys, _ = _unpickle(f, allow=header, what="list of storage keys")
    if not isinstance(keys, list) or not all(isinstance(_text(k), str) for k in keys):
        raise _BadFile("corrupt list of storage keys")
    keys = [_text(k) for k in keys]
    state, key = _find_state_dict(_apply_check(obj, check))
    _check_total_size(state)

    needed = {t.storage.key for t in state.values()}
    data = {}
    for k in keys:  # the storage records follow, in the order of this list
        if k not in u.storages:
            raise _BadFile(f"storage record {k!r} is not used by the pickle")
        head = f.read(8)
        if len(head) < 8:
            raise _BadFile(f"file is truncated (storage record {k!r} is missing)")
        (count,) = struct.unpack("<q", head)
        dtype, numel = u.storages[k]
        if count != numel:
            raise _BadFile(f"storage record {k!r} holds {count} elements, the pickle says {numel}")
        nbytes = count * dtype.itemsize
        if nbytes > size - f.tell():
            raise _BadFile(f"file is truncated (storage record {k!r} needs {nbytes} bytes, "
                           f"{size - f.tell()} left)")
        if k in needed:
            data[k] = f.read(nbytes)
        else:
            f.seek(nbytes, io.SEEK_CUR)
    missing = [k for k in u.storages if k not in data and k in needed]
    if missing:
        raise _BadFile(f"missing storage record {missing[0]!r}")
    # Modern torch writes legacy storages little-endian whatever the machine.
    return {name: _materialize(name, t, data[t.storage.key], "<") for name, t in state.items()}, key


# ----------------------------------------------------------------------------- public API


class TorchBinInfo(NamedTuple):
    tensors: Dict[str, np.ndarray]
    format: str  # "zip" or "legacy"
    nested_key: Optional[str]  # the key the state dict was under, or None if at top level


def read_torch_bin_info(path, check=None) -> TorchBinInfo:
    """Like read_torch_bin, and also say which format the file is in and which key held the tensors."""
    path = Path(path)
    error = CheckpointError
    if not path.is_file():       # a FIFO or /dev/zero behind a symlink would block or never end
        raise error(f"{path}: cannot read (" + ("no such file" if not path.exists() else "not a regular file") + ")")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(512)
            f.seek(0)
            if not head:
                raise _BadFile("empty file")
            if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
                tensors, key = _read_zip(path, check)
                return TorchBinInfo(tensors, "zip", key)
            if head[:1] == b"\x80":  # a pickle's PROTO instruction
                tensors, key = _read_legacy(path, f, size, check)
                return TorchBinInfo(tensors, "legacy", key)
            if head[257:262] == b"ustar":
                raise _BadFile("tar-based PyTorch format (torch < 1.0) is not supported")
            raise _BadFile(f"neither a zip archive (torch >= 1.6) nor a legacy PyTorch pickle "
                           f"(starts with {head[:8]!r})")
    except _BadFile as e:
        raise error(f"{path}: {e}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, struct.error,
            pickle.UnpicklingError, ValueError, NotImplementedError, RuntimeError) as e:
        if isinstance(e, error):
            raise
        raise error(f"{path}: truncated or corrupt file ({type(e).__name__}: {e})") from None
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror or e})") from None


def read_torch_bin(path, check=None) -> Dict[str, np.ndarray]:
    """{name: numpy array} from a ``torch.save``'d state dict (zip or legacy format), without torch.

    Arrays keep their dtype (bfloat16 is widened to float32), are C-contiguous,
    writable and never share memory. A training checkpoint that holds the state
    dict under a key such as "state_dict" or "model" is accepted, with a warning
    naming the key. Raises CheckpointError for anything else, including any
    pickle that names a Python object outside the tensor-data whitelist.
    """
    info = read_torch_bin_info(path, check)
    if info.nested_key is not None:
        warnings.warn(f"{path}: using the state dict stored under key {info.nested_key!r}", stacklevel=2)
    return info.tensors
