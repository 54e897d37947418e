"""The array backend: the one place that knows whether arrays live in NumPy or CuPy.

Every op gets its array namespace from its inputs, ``xp = array_module(x)``, and
then writes ``xp.matmul``, ``xp.exp``, ... . The same op code therefore runs on
the CPU (numpy) and on a CUDA GPU (cupy) with no ``if cupy:`` branches. Moving a
model between devices is one call, :func:`to_device`, applied to every array.

Dtype policy: float32 by default; float64 is available for gradient checks and
reference runs (``dtype="float64"``).
"""
from __future__ import annotations

import math

import numpy as _np

try:  # cupy is an optional extra (`pip install minialbert[gpu]`)
    import cupy as _cp  # type: ignore
except Exception:  # ImportError, or a broken CUDA install
    _cp = None

numpy = _np  # re-exported for host-side code (I/O, tokenizer glue) that needs it

DTYPES = {"float32": _np.float32, "float64": _np.float64, "float16": _np.float16}
DEFAULT_DTYPE = "float32"


def resolve_dtype(dtype=None):
    """'float32' | 'float64' | numpy dtype -> numpy dtype object."""
    if dtype is None:
        dtype = DEFAULT_DTYPE
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(DTYPES)}")
        return _np.dtype(DTYPES[dtype])
    return _np.dtype(dtype)


def cuda_available() -> bool:
    if _cp is None:
        return False
    try:
        return _cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def get_xp(device: str = "cpu"):
    """The array namespace for a device name: numpy for 'cpu', cupy for 'cuda'."""
    device = normalize_device(device)
    if device == "cpu":
        return _np
    if not cuda_available():
        why = "cupy is not installed (pip install minialbert[gpu])" if _cp is None else "no CUDA GPU is visible"
        raise RuntimeError(f"device 'cuda' was requested but {why}")
    return _cp


def normalize_device(device) -> str:
    d = str(device or "cpu").lower()
    if d.startswith("cuda") or d == "gpu":
        return "cuda"
    if d == "cpu":
        return "cpu"
    raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")


def array_module(*arrays):
    """numpy or cupy, whichever the arrays belong to (like cupy.get_array_module)."""
    if _cp is not None:
        for a in arrays:
            if isinstance(a, _cp.ndarray):
                return _cp
    return _np


def device_of(x) -> str:
    return "cuda" if array_module(x) is not _np else "cpu"


def to_device(x, device: str):
    """Copy an array to 'cpu' or 'cuda' (no copy if it is already there)."""
    device = normalize_device(device)
    if device == "cpu":
        return to_numpy(x)
    xp = get_xp("cuda")
    return xp.asarray(x)


def to_numpy(x):
    """Host copy of an array (numpy arrays pass through)."""
    if _cp is not None and isinstance(x, _cp.ndarray):
        return _cp.asnumpy(x)
    return _np.asarray(x)


def erf(x):
    """Elementwise error function for the exact (erf) GELU.

    numpy has no erf ufunc. cupy and scipy do; without scipy we fall back to the
    standard library's correctly rounded math.erf, vectorised (slower, exact).
    """
    xp = array_module(x)
    if xp is not _np:
        import cupyx.scipy.special as _sp  # type: ignore
        return _sp.erf(x)
    try:
        from scipy.special import erf as _sp_erf  # type: ignore
        return _sp_erf(x)
    except ImportError:
        return _np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)


def host_rng(seed=None):
    """A host random generator; weight init draws here so that a seed gives the
    same weights whatever the device."""
    return _np.random.default_rng(seed)


def device_rng(xp, seed=None):
    """A random generator living where the arrays live (dropout masks are drawn
    on the device, never copied across)."""
    return xp.random.default_rng(seed)
