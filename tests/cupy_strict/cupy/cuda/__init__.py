"""cupy.cuda for the strict stand-in: one (or $CUPY_STRICT_DEVICES) pretend devices, streams and events
whose synchronize() is a counted host sync, the memory pools (counting what _strict counts)."""
from __future__ import annotations

from . import curand, memory, runtime  # noqa: F401
from .memory import MemoryPointer, MemoryPool, PinnedMemoryPool  # noqa: F401
from .runtime import CUDARuntimeError  # noqa: F401
from .. import _strict


def is_available():
    return runtime.getDeviceCount() > 0


class Device:
    """cupy.cuda.Device(device=None): device None is the current one. An id past the device count is
    accepted here and refused on use, as CUDA does (cudaErrorInvalidDevice)."""

    def __init__(self, device=None):
        self.id = runtime.getDevice() if device is None else int(device)
        self._prev = []

    def _check(self):
        if not 0 <= self.id < runtime.getDeviceCount():
            raise CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")

    def use(self):
        self._check()
        runtime.setDevice(self.id)

    def __enter__(self):
        self._check()
        self._prev.append(runtime.getDevice())
        runtime.setDevice(self.id)
        return self

    def __exit__(self, *exc):
        runtime.setDevice(self._prev.pop())
        return False

    def synchronize(self):
        self._check()
        _strict.record("sync", "synchronize")

    @property
    def compute_capability(self):
        self._check()
        return "90"

    @property
    def mem_info(self):
        self._check()
        return runtime.memGetInfo()

    @property
    def attributes(self):
        self._check()
        return {"MultiProcessorCount": 132, "MaxThreadsPerBlock": 1024, "WarpSize": 32}

    @property
    def pci_bus_id(self):
        return f"0000:{self.id:02x}:00.0"

    def __int__(self):
        return self.id

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class Stream:
    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.ptr = 0 if null else id(self)

    def synchronize(self):
        _strict.record("sync", "stream.synchronize")

    def use(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


Stream.null = Stream(null=True)


def get_current_stream(device_id=-1):
    return Stream.null


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.done = True

    def record(self, stream=None):
        pass

    def synchronize(self):
        _strict.record("sync", "event.synchronize")


def get_elapsed_time(start_event, end_event):
    return 0.0


def get_local_runtime_version():
    return runtime.runtimeGetVersion()


set_allocator = memory.set_allocator
get_allocator = memory.get_allocator
using_allocator = memory.using_allocator


def set_pinned_memory_allocator(allocator=None):
    pass
