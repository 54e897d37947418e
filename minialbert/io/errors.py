"""The bottom of the I/O layer: the one error type every reader raises, and atomic writes.

Every problem with a file a user hands us (missing, truncated, corrupt, the wrong shape for the
config) is a CheckpointError whose message names the file, and the tensor or field where there is one.
Every file minialbert writes goes through atomic_write: a crash at any instant leaves either the old
file or the new one, never half of one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: the message says which file or tensor, and why."""


def atomic_write(path, chunks):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the mode a plain open() would (0666 less the umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
