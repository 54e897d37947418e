"""The bottom of the I/O layer: the one error type every reader raises, and atomic writes.

Every problem with a file a user hands us (missing, truncated, corrupt, the wrong shape for the
config) is a CheckpointError whose message names the file, and the tensor or field where there is one.
Every file minialbert writes goes through atomic_write: a crash at any instant leaves either the old
file or the new one, never half of one.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: the message says which file or tensor, and why."""


class WriteError(OSError):
    """A file minialbert could not write (a full disk, no permission): the message names the file and
    says why in words ("no space left on device"), plus what was kept (`note`)."""

    def __init__(self, path, errno_, strerror, note=""):
        super().__init__(errno_, strerror)
        self.filename = str(path)
        why = "no space left on device" if errno_ == errno.ENOSPC else f"cannot write ({strerror or 'OSError'})"
        self.message = f"{path}: {why}{note}"

    def __str__(self):
        return self.message


def _write_all(fd: int, data) -> None:
    view = memoryview(data).cast("B")
    while view:
        n = os.write(fd, view)
        view = view[n:]


def atomic_write(path, chunks):
    """Write `chunks` (bytes-like) to `path` atomically: a temporary file in the same folder, fsynced,
    then renamed over `path`. On any failure (a full disk) the temporary file is removed, `path` is as
    it was, and the error is a WriteError naming `path`."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            for c in chunks:
                _write_all(fd, c)
            os.fsync(fd)
        finally:
            os.close(fd)
        # mkstemp creates the file 0600; give it the mode a plain open() would (0666 less the umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(path, e.errno, e.strerror or str(e)) from None
        raise
