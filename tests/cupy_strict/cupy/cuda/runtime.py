"""cupy.cuda.runtime for the strict stand-in. The device count is 1, or $CUPY_STRICT_DEVICES (0 models
a machine whose driver sees no GPU: getDeviceCount() raises, as CUDA's does)."""
from __future__ import annotations

import os

from .. import _strict

is_hip = False
_current = [0]
_TOTAL = 80 * 1024 ** 3


class CUDARuntimeError(RuntimeError):
    def __init__(self, status, msg=""):
        self.status = status
        super().__init__(msg or f"CUDA runtime error {status}")


def getDeviceCount():
    n = int(os.environ.get("CUPY_STRICT_DEVICES", "1"))
    if n <= 0:
        raise CUDARuntimeError(100, "cudaErrorNoDevice: no CUDA-capable device is detected")
    return n


def getDevice():
    return _current[0]


def setDevice(device):
    if not 0 <= int(device) < getDeviceCount():
        raise CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")
    _current[0] = int(device)


def getDeviceProperties(device):
    if not 0 <= int(device) < getDeviceCount():
        raise CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")
    return {"name": b"CuPy strict stand-in (CPU)", "totalGlobalMem": _TOTAL, "major": 9, "minor": 0,
            "multiProcessorCount": 132}


def memGetInfo():
    return (_TOTAL - _strict.pool_bytes(), _TOTAL)


def deviceSynchronize():
    _strict.record("sync", "deviceSynchronize")


def runtimeGetVersion():
    return 12040


def driverGetVersion():
    return 12040
