"""The array backend: the one place that knows whether arrays live in NumPy or CuPy.

Every op gets its array namespace from its inputs, ``xp = array_module(x)``, and
then writes ``xp.matmul``, ``xp.exp``, ... . The same op code therefore runs on
the CPU (numpy) and on a CUDA GPU (cupy) with no ``if cupy:`` branches. Moving a
model between devices is one call, :func:`to_device`, applied to every array.

Dtype policy: float32 by default; float64 is available for gradient checks and
reference runs (``dtype="float64"``); float16 and (emulated) bfloat16 store in low precision
and compute in float32 (mixed precision: see acc_dtype, store, round_bfloat16).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import re

import numpy as _np

_CUPY_IMPORT_ERROR = None   # why `import cupy` failed, when cupy is installed but broken
try:  # cupy is an optional extra (`pip install minialbert[gpu]`)
    import cupy as _cp  # type: ignore
except ModuleNotFoundError as _e:  # not installed (or a broken install missing one of its modules)
    _cp = None
    if _e.name not in ("cupy", None):
        _CUPY_IMPORT_ERROR = f"{type(_e).__name__}: {_e}"
except Exception as _e:  # a broken CUDA install: a library cupy links against is missing, ...
    _cp = None
    _CUPY_IMPORT_ERROR = f"{type(_e).__name__}: {_e}"
_cupyx_special = None   # cupyx.scipy.special (erf for the exact GELU on the device), bound with cupy
if _cp is not None:
    try:
        import cupyx.scipy.special as _cupyx_special  # type: ignore
    except Exception:
        _cupyx_special = None

numpy = _np  # re-exported for host-side code (I/O, tokenizer glue) that needs it

DTYPES = {"float32": _np.float32, "float64": _np.float64, "float16": _np.float16,
          "bfloat16": _np.float32}    # bfloat16: emulated, values rounded to bfloat16 kept in float32 arrays
DEFAULT_DTYPE = "float32"
LOW_PRECISIONS = ("float16", "bfloat16")   # storage precisions that compute and accumulate in float32


def resolve_dtype(dtype=None):
    """'float32' | 'float64' | 'float16' | 'bfloat16' | numpy dtype -> the numpy dtype arrays are stored in
    ('bfloat16' is stored in float32 arrays: see round_bfloat16)."""
    if dtype is None:
        dtype = DEFAULT_DTYPE
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(DTYPES)}")
        return _np.dtype(DTYPES[dtype])
    return _np.dtype(dtype)


def resolve_precision(dtype=None) -> str:
    """The precision's name: 'float32', 'float64', 'float16' or 'bfloat16' (from a name or a numpy dtype)."""
    if isinstance(dtype, str):
        resolve_dtype(dtype)                    # the same error for an unknown name
        return dtype
    return resolve_dtype(dtype).name


# -- mixed precision ----------------------------------------------------------------------------------------
# A model in float16 or bfloat16 *stores* its parameters and the activations its ops keep in that precision,
# and *computes* in float32: matmuls accumulate in float32, and softmax, layer norm and the losses run in
# float32 (acc_dtype, upcast); each op rounds what it returns to the storage precision (store). Gradient
# buffers and the optimisers' master weights stay float32 (optim.py). float32 and float64 models are
# untouched: upcast and store return their argument itself.
#
# float16 is a real dtype in NumPy and CuPy. bfloat16 is not (neither has one): it is *emulated* on both
# backends, float32 arrays whose values are rounded to bfloat16 (round_bfloat16). An op cannot tell such an
# array from a float32 one, so a bfloat16 model runs its forward and backward inside storage_rounding(...)
# which makes store() round; the memory is float32's (the numbers are bfloat16's).
_ROUND_BF16 = contextvars.ContextVar("minialbert_round_bfloat16", default=False)


def acc_dtype(dtype):
    """The dtype to compute in for arrays stored in `dtype`: float32 for float16, else dtype itself."""
    return _np.dtype(_np.float32) if _np.dtype(dtype) == _np.float16 else _np.dtype(dtype)


def upcast(x):
    """x in its compute dtype (acc_dtype): a float32 copy of a float16 array, else x itself (no copy)."""
    return x.astype(_np.float32) if x.dtype == _np.float16 else x


def mm(a, b):
    """a @ b accumulated in float32 when either operand is float16 (the result is float32); otherwise
    exactly a @ b. (NumPy has no float16 GEMM: its float16 matmul is a slow generic loop.)"""
    if a.dtype == _np.float16 or b.dtype == _np.float16:
        return upcast(a) @ upcast(b)
    return a @ b


def store(x, dtype):
    """An op's result in the storage precision: cast to `dtype` (the op's input dtype), and rounded to
    bfloat16 inside storage_rounding('bfloat16'). float32 / float64 outside it: x itself, unchanged."""
    if x.dtype != dtype:
        x = x.astype(dtype)
    if x.dtype == _np.float32 and _ROUND_BF16.get():
        x = round_bfloat16(x)
    return x


@contextlib.contextmanager
def storage_rounding(precision):
    """Within this context store() rounds float32 results to bfloat16 when precision is 'bfloat16' (the
    models enter it around their forward and backward passes); any other precision: no rounding."""
    token = _ROUND_BF16.set(precision == "bfloat16")
    try:
        yield
    finally:
        _ROUND_BF16.reset(token)


def round_bfloat16(x):
    """float32 -> the nearest bfloat16 value (round to nearest, ties to even, on the upper 16 bits: what a
    float32 -> bfloat16 conversion does on a GPU, torch's .to(torch.bfloat16)), as float32. Overflow goes
    to +-inf, NaN stays NaN. Works on the array's own backend (a bit trick on a uint32 view)."""
    xp = array_module(x)
    x = xp.ascontiguousarray(x, dtype=xp.float32)
    u = x.view(xp.uint32)
    r = u + (((u >> 16) & 1) + 0x7FFF).astype(xp.uint32)      # uint32 arithmetic wraps only for NaN payloads
    r &= xp.uint32(0xFFFF0000)
    out = r.view(xp.float32)
    return xp.where(xp.isnan(x), x, out)


def is_bfloat16(x) -> bool:
    """Whether every value of the float32 array x is a bfloat16 value (its low 16 bits are zero); a sync
    on a device."""
    xp = array_module(x)
    return bool(((xp.ascontiguousarray(x, dtype=xp.float32).view(xp.uint32) & 0xFFFF) == 0).all())


# -- devices ---------------------------------------------------------------------------------------------
# A device is "cpu", "cuda" (CuPy's current device) or "cuda:N" (device N). CuPy has no per-array device
# argument: arrays are made, and kernels run, on the thread's *current* device. So a model on "cuda:N"
# makes N current whenever it works (use_device: at construction, in to(), forward and backward), and
# to_device copies inside a `cupy.cuda.Device(N)` context.
_DEVICE_RE = re.compile(r"(cpu|cuda|gpu)(?::(\d+))?")


def parse_device(device):
    """A device value -> ("cpu", None), ("cuda", None) or ("cuda", N).

    Strings: "cpu", "cuda", "gpu" (= "cuda"), "cuda:N" (any case; str() of a torch.device works too).
    Integers, as Hugging Face's pipeline(device=...): -1 is the CPU, N >= 0 is cuda:N."""
    if device is None:
        return "cpu", None
    if isinstance(device, bool):
        raise ValueError(f"unknown device {device!r}; expected 'cpu', 'cuda', 'cuda:N' or an integer (-1: cpu)")
    if isinstance(device, (int, _np.integer)):
        n = int(device)
        if n == -1:
            return "cpu", None
        if n < 0:
            raise ValueError(f"device {n}: expected -1 (the CPU) or a CUDA device index >= 0")
        return "cuda", n
    m = _DEVICE_RE.fullmatch(str(device).strip().lower())
    if m is None or (m.group(1) == "cpu" and m.group(2) not in (None, "0")):
        raise ValueError(f"unknown device {device!r}; expected 'cpu', 'cuda' or 'cuda:N' (N a device index)")
    if m.group(1) == "cpu":
        return "cpu", None
    return "cuda", None if m.group(2) is None else int(m.group(2))


def normalize_device(device) -> str:
    """The canonical device string: 'cpu', 'cuda' (the current CUDA device) or 'cuda:N' (the index kept)."""
    kind, index = parse_device(device)
    return kind if index is None else f"{kind}:{index}"


def _failure(e) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


@functools.lru_cache(maxsize=None)
def _device_count():
    """(number of CUDA devices, None) or (0, why there are none). Asked once per process."""
    if _cp is None:
        if _CUPY_IMPORT_ERROR:
            return 0, f"cupy is installed but did not import ({_CUPY_IMPORT_ERROR})"
        return 0, "cupy is not installed (pip install 'minialbert[gpu]')"
    try:
        n = int(_cp.cuda.runtime.getDeviceCount())
    except Exception as e:   # no driver, no device, a driver older than the CUDA runtime ...
        return 0, f"no CUDA GPU is visible ({_failure(e)})"
    return (n, None) if n > 0 else (0, "no CUDA GPU is visible (the driver reports 0 devices)")


def _status(index):
    """None if CUDA device `index` (None: the current one) works, else why not (cached per device)."""
    n, why = _device_count()
    if why:
        return why
    return _probe(int(_cp.cuda.runtime.getDevice()) if index is None else index)


@functools.lru_cache(maxsize=None)
def _probe(index):
    """None if CUDA device `index` computes correctly, else why not.

    getDeviceCount() > 0 only says a driver sees a GPU; cupy also needs cuBLAS (matmul), NVRTC and the
    runtime headers (every elementwise kernel is compiled at first use) and cuRAND (dropout). The probe
    runs one of each on the device and checks the numbers on the host (one sync), once per process and
    device."""
    n, why = _device_count()
    if why:
        return why
    if not 0 <= index < n:
        return (f"there is no CUDA device {index}: {n} visible "
                f"({'cuda:0' if n == 1 else f'cuda:0 .. cuda:{n - 1}'}; CUDA_VISIBLE_DEVICES changes the set)")
    steps = {}
    try:
        with _cp.cuda.Device(index):
            a = _cp.asarray(_np.array([[1.0, 2.0], [3.0, 4.0]], dtype=_np.float32))
            b = _cp.asarray(_np.array([[5.0, 6.0], [7.0, 8.0]], dtype=_np.float32))
            for what, make in (("a matrix product (cuBLAS)", lambda: a @ b),
                               ("an elementwise kernel (compiled by NVRTC)", lambda: _cp.exp(a * 0.0) + a),
                               ("random numbers (cuRAND)", lambda: _cp.random.RandomState(
                                   _np.uint64(1), method=_cp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10
                               ).random_sample((4,), _np.float32))):
                try:
                    steps[what] = make().reshape(-1)
                except Exception as e:
                    return f"CUDA device {index} failed {what}: {_failure(e)}"
            got = _cp.asnumpy(_cp.concatenate(list(steps.values())))
    except Exception as e:
        return f"CUDA device {index} failed a test computation: {_failure(e)}"
    gemm, ew, rnd = got[:4], got[4:8], got[8:]
    if not _np.array_equal(gemm, [19.0, 22.0, 43.0, 50.0]):
        return f"a matrix product on the GPU gave {gemm.tolist()}, not [19, 22, 43, 50]"
    if not _np.array_equal(ew, [2.0, 3.0, 4.0, 5.0]):
        return f"an elementwise kernel on the GPU gave {ew.tolist()}, not [2, 3, 4, 5]"
    if not (_np.all((rnd >= 0) & (rnd < 1)) and len(set(rnd.tolist())) > 1):
        return f"cuRAND's uniform numbers on the GPU were {rnd.tolist()}"
    return None


def cuda_status(device="cuda"):
    """None if `device` ('cuda' or 'cuda:N') works, else a sentence saying why not (cupy missing or broken,
    no GPU, an index out of range, or a test computation that failed). Cached per process."""
    kind, index = parse_device(device)
    if kind != "cuda":
        raise ValueError(f"cuda_status() takes a CUDA device, not {device!r}")
    return _status(index)


def cuda_available(device="cuda") -> bool:
    """Whether cupy works on `device` ('cuda': the current device; 'cuda:N'): a GPU is visible *and* a small
    matrix product, an elementwise kernel and cuRAND give the right numbers on it (once per process)."""
    return cuda_status(device) is None


def _cache_clear():
    _probe.cache_clear()
    _device_count.cache_clear()


cuda_available.cache_clear = _cache_clear   # tests that rebind backend._cp clear it


def get_xp(device: str = "cpu"):
    """The array namespace for a device: numpy for 'cpu', cupy for 'cuda' / 'cuda:N' (checked to work;
    an unusable device raises RuntimeError saying why). It does not change the current device
    (use_device does)."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return _np
    why = _status(index)
    if why:
        raise RuntimeError(f"device {normalize_device(device)!r} was requested but {why}")
    return _cp


def use_device(device) -> None:
    """Make CUDA device N the current one for this thread when `device` is 'cuda:N' (cupy allocates and
    launches kernels on the current device); 'cpu' and 'cuda' change nothing."""
    kind, index = parse_device(device)
    if kind == "cuda" and index is not None:
        get_xp(device)
        _cp.cuda.Device(index).use()


def device_scope(device):
    """A context in which CUDA device N is current, for 'cuda:N' (restored on exit); a no-op otherwise."""
    kind, index = parse_device(device)
    if kind == "cuda" and index is not None:
        get_xp(device)
        return _cp.cuda.Device(index)
    return contextlib.nullcontext()


def array_module(*arrays):
    """numpy or cupy, whichever the arrays belong to (like cupy.get_array_module)."""
    if _cp is not None:
        for a in arrays:
            if isinstance(a, _cp.ndarray):
                return _cp
    return _np


def device_of(x) -> str:
    """'cpu' or 'cuda': the kind of device an array lives on (array_device gives the index too)."""
    return "cuda" if array_module(x) is not _np else "cpu"


def array_device(x) -> str:
    """'cpu' or 'cuda:N': exactly where an array lives (reads no data)."""
    if array_module(x) is _np:
        return "cpu"
    return f"cuda:{int(x.device.id)}"


def to_device(x, device: str):
    """Copy an array to 'cpu', 'cuda' (the current device) or 'cuda:N' (no copy if it is already there)."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return to_numpy(x)
    xp = get_xp(device)
    if index is None:
        return xp.asarray(x)
    with xp.cuda.Device(index):
        if isinstance(x, xp.ndarray) and int(x.device.id) != index:
            return x.copy()       # cupy copies an array of another device onto the current one
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
        if _cupyx_special is None:
            raise RuntimeError("the exact GELU needs cupyx.scipy.special, which did not import")
        return _cupyx_special.erf(x)
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
    on the device, never copied across): numpy's default_rng, or on CUDA a
    DeviceRNG. Either has .random(shape, dtype)."""
    if xp is _np:
        return _np.random.default_rng(seed)
    return DeviceRNG(xp, seed)


def reseed(rng, xp, seed):
    """The generator to draw from after seeding with `seed`: on the CPU a new
    numpy generator (cheap); on CUDA the same DeviceRNG, re-seeded in place."""
    if isinstance(rng, DeviceRNG) and rng.xp is xp:
        return rng.seed(seed)
    return device_rng(xp, seed)


class DeviceRNG:
    """Dropout randomness on a CUDA device: one cuRAND generator per model, of the
    counter-based Philox4x32-10 kind, re-seeded in place (``seed``) when the
    training loop fixes a step's masks. A new ``cupy.random.default_rng`` per
    step would initialise ~10^5 XORWOW states each time; re-seeding Philox sets a
    key and a counter. ``random(shape, dtype)`` is numpy's Generator.random."""

    def __init__(self, xp, seed=None):
        self.xp = xp
        self._state = xp.random.RandomState(_seed64(seed), method=xp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)

    def seed(self, seed):
        self._state.seed(_seed64(seed))
        return self

    def random(self, size=None, dtype=_np.float64):
        return self._state.random_sample(size, dtype)


def _seed64(seed):
    """A seed for cupy's RandomState: None, or a numpy uint64 (a plain int is refused by cupy < 13.3 under
    NumPy 2; numpy's default_rng refuses negative seeds too)."""
    if seed is None:
        return None
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return _np.uint64(int(seed))


def shape_of(x):
    """The shape of an array (host or device) or a nested list, reading no data (no device sync)."""
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else _np.shape(x)
