"""`.safetensors` files through the `safetensors` library, with two things it leaves to us:

* bfloat16, which NumPy lacks, is widened to float32 (a bfloat16 is the top half of a float32);
* every problem is one CheckpointError naming the file (the library's errors name neither).

The format (for readers): 8 bytes little-endian u64 N, an N-byte JSON header
{name: {"dtype", "shape", "data_offsets": [a, b]}, "__metadata__": {...}}, then the tensors' raw
little-endian bytes. The library validates the header (offsets contiguous and inside the file, no
duplicate names, shapes matching byte counts) and memory-maps the data.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Dict

from safetensors import SafetensorError, safe_open
from safetensors.numpy import save

from .. import backend
from .errors import CheckpointError, atomic_write

np = backend.numpy  # host-side I/O: checkpoints are read into host memory first


def _header(path: Path) -> dict:
    """The JSON header, read after the library has validated the file (only for bf16 offsets)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


_FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")


def read_safetensors(path, check=None) -> Dict[str, "np.ndarray"]:
    """{name: numpy array} from a .safetensors file (bf16 widened to float32).

    The file is memory-mapped and read lazily: only the header is parsed before ``check`` (optional)
    sees {name: shape} and returns the names to read (a model's check_state_shapes: a header that
    declares a shape the config does not imply fails here, before any tensor byte is read, however
    big the file); the tensors a model reads must be floating point. Without ``check``, every tensor
    is read."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: " + ("no such file" if not path.exists() else "not a regular file"))
    out, bf16 = {}, []
    try:
        with safe_open(str(path), framework="np") as f:
            names = list(f.keys())
            dtypes = {n: f.get_slice(n).get_dtype() for n in names}
            if check is not None:
                wanted = check({n: tuple(f.get_slice(n).get_shape()) for n in names})
                names = [n for n in names if n in wanted]
                for n in names:
                    if dtypes[n] not in _FLOAT_DTYPES:
                        raise CheckpointError(f"{path}: tensor {n!r} has dtype {dtypes[n]}; a weight must be "
                                              f"floating point ({', '.join(_FLOAT_DTYPES)})")
            for name in names:
                if dtypes[name] == "BF16":
                    bf16.append(name)
                else:
                    out[name] = f.get_tensor(name)
    except CheckpointError:
        raise
    except (SafetensorError, OSError, ValueError, TypeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path}: corrupt or truncated safetensors file ({msg})") from None
    if bf16:
        header, base = _header(path), None
        with open(path, "rb") as f:
            base = 8 + struct.unpack("<Q", f.read(8))[0]
        data = np.memmap(path, dtype=np.uint8, mode="r")
        for name in bf16:
            a, b = header[name]["data_offsets"]
            raw = np.frombuffer(data[base + a:base + b], dtype="<u2").reshape(header[name]["shape"])
            out[name] = (raw.astype(np.uint32) << 16).view(np.float32)
    return out


def write_safetensors(tensors: Dict[str, "np.ndarray"], path, metadata=None):
    """Write a .safetensors file atomically (temp file in the same folder, then rename),
    so an interrupted write never leaves a half-written checkpoint behind."""
    arrays = {}
    for name, t in tensors.items():
        a = np.ascontiguousarray(backend.to_numpy(t))
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        arrays[name] = a
    try:
        blob = save(arrays, metadata=dict(metadata or {"format": "np"}))
    except (SafetensorError, ValueError, TypeError) as e:
        raise TypeError(f"cannot store these tensors in safetensors: {e}") from None
    atomic_write(path, [blob])
