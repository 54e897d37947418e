"""Memory pools that report what the stand-in counts (cupy._strict): used_bytes() is the live device
memory, each buffer rounded up to CuPy's 512-byte unit. Freed blocks are not cached (free_bytes() is 0)."""
from __future__ import annotations

import contextlib

from .. import _strict


class MemoryPointer:
    def __init__(self, a=None, size=0):
        self.ptr = int(a.__array_interface__["data"][0]) if a is not None else 0
        self.size = int(a.nbytes) if a is not None else int(size)
        self.mem = None
        self.device_id = 0


def set_allocator(allocator=None):
    """cupy.cuda.set_allocator: the stand-in calls `allocator(size)` for every device buffer it creates
    (after counting it, so the pool's used_bytes() includes it) and ignores the result."""
    _strict.alloc_hook = allocator


def get_allocator():
    """cupy.cuda.get_allocator: the hook set by set_allocator (None: the default pool)."""
    return _strict.alloc_hook


@contextlib.contextmanager
def using_allocator(allocator=None):
    """cupy.cuda.using_allocator: set_allocator for the duration of a with block (CuPy's is thread-local;
    the stand-in has one thread of device work), the previous allocator restored after."""
    previous = _strict.alloc_hook
    _strict.alloc_hook = allocator
    try:
        yield
    finally:
        _strict.alloc_hook = previous


class MemoryPool:
    def __init__(self, allocator=None):
        self._limit = 0

    def malloc(self, size):
        """A pointer for an allocator hook to return (the buffer itself is counted where it is made)."""
        return MemoryPointer(size=size)

    def used_bytes(self):
        return _strict.pool_bytes()

    def total_bytes(self):
        return _strict.pool_bytes()

    def free_bytes(self):
        return 0

    def n_free_blocks(self):
        return 0

    def free_all_blocks(self, stream=None):
        pass

    def set_limit(self, size=None, fraction=None):
        self._limit = int(size or 0)

    def get_limit(self):
        return self._limit


class PinnedMemoryPool:
    def __init__(self, allocator=None):
        pass

    def n_free_blocks(self):
        return 0

    def free_all_blocks(self):
        pass
