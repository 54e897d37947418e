"""The stand-in's own bookkeeping (not part of CuPy's API): host synchronisations, host<->device
copies and device memory, each event with the call site outside the stand-in that caused it.

    import cupy
    with cupy._strict.track() as t:
        step()
    t.syncs                  # how many times the host waited for the device
    t.by_site("sync")        # Counter {"minialbert/training/pretrain.py:270 (pretrain)": 3, ...}
    t.d2h_bytes, t.h2d_bytes # bytes copied each way
    t.peak_bytes             # the most device memory live at once inside the block
    print(t.report())

Kinds of event:
  sync  the host waits for the device: .get(), cupy.asnumpy, float()/int()/bool()/complex(), .item(),
        .tolist(), repr/str/format, and operations whose output size depends on the data (nonzero,
        boolean-mask indexing, unique, ...). A sync that copies data carries d2h_bytes.
  h2d   a host -> device copy: cupy.asarray/array of host data, ndarray.set, and the implicit ones
        (a list or numpy array used as an index), which carry implicit=True.
  copy  a device -> device copy that CuPy makes inside one call, with its size in nbytes: the operands
        of a matmul that CuPy makes contiguous first (what "matmul-operand"; see _core._matmul_copies).
        The copy is also a live buffer for the duration of the call (it counts in the peak).

Memory is counted like CuPy's pool: every device buffer is counted from its creation until the last
array viewing it is garbage-collected (a weakref finalizer on the buffer); views share their base's
buffer and count nothing. live_bytes/peak_bytes are exact sizes; pool_bytes rounds each buffer up to
CuPy's 512-byte allocation unit, as MemoryPool.used_bytes() reports.
"""
from __future__ import annotations

import atexit
import json
import os
import sys
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as _np

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # tests/cupy_strict
_ROOT = os.path.dirname(os.path.dirname(_HERE))                         # the repository
_ALLOC_UNIT = 512


@dataclass
class Event:
    kind: str              # "sync" | "h2d" | "copy"
    what: str              # "get", "float", "nonzero", "asarray", "index", ...
    site: str              # "path/to/file.py:LINE (function)": the first frame outside the stand-in
    d2h_bytes: int = 0
    h2d_bytes: int = 0
    implicit: bool = False
    stack: tuple = ()      # the other frames out of the stand-in, innermost first (helpers and callers)
    nbytes: int = 0        # "copy": the bytes copied on the device


@dataclass
class Tracker:
    """What happened inside one `with track():` block."""
    events: List[Event] = field(default_factory=list)
    live_start: int = 0
    peak_live: int = 0

    @property
    def syncs(self) -> int:
        return sum(e.kind == "sync" for e in self.events)

    @property
    def h2d(self) -> int:
        return sum(e.kind == "h2d" for e in self.events)

    @property
    def d2h_bytes(self) -> int:
        return sum(e.d2h_bytes for e in self.events)

    @property
    def h2d_bytes(self) -> int:
        return sum(e.h2d_bytes for e in self.events)

    @property
    def peak_bytes(self) -> int:
        """The most device memory live at once inside the block (bytes, buffers alive before included)."""
        return self.peak_live

    @property
    def peak_increase(self) -> int:
        """peak_bytes minus what was live when the block started."""
        return self.peak_live - self.live_start

    def by_site(self, kind: Optional[str] = None, what: Optional[str] = None) -> Counter:
        return Counter(e.site for e in self.events
                       if (kind is None or e.kind == kind) and (what is None or e.what == what))

    def of(self, kind: Optional[str] = None, what: Optional[str] = None) -> List[Event]:
        return [e for e in self.events if (kind is None or e.kind == kind) and (what is None or e.what == what)]

    def report(self) -> str:
        lines = [f"{self.syncs} syncs, {self.h2d} host->device copies ({self.h2d_bytes} B), "
                 f"{self.d2h_bytes} B device->host, peak {self.peak_bytes} B"]
        for (kind, what, site), n in sorted(Counter((e.kind, e.what, e.site) for e in self.events).items()):
            lines.append(f"  {n:4d} x {kind:4s} {what:12s} {site}")
        return "\n".join(lines)


class _State:
    def __init__(self):
        self.live = 0           # exact bytes of live device buffers
        self.pool = 0           # the same, each buffer rounded up to 512 bytes
        self.peak = 0
        self.buffers = {}       # id(root numpy array) -> (nbytes, rounded)
        self.trackers: List[Tracker] = []
        self.counts = Counter()         # (kind, what, site) -> events since import (or reset())
        self.bytes = Counter()          # "d2h" / "h2d" -> bytes since import (or reset())


_state = _State()
alloc_hook = None      # set by cupy.cuda.set_allocator: called with each new buffer's pool size


# Files whose frames are not reported as the call site (thin helpers that only forward a transfer): the
# site is their caller; they stay in Event.stack.
TRANSPARENT = {"minialbert/backend.py"}
STACK_DEPTH = 40


def _frames():
    """The frames outside the stand-in (tests/cupy_strict), innermost first, as "path:line (function)"."""
    f = sys._getframe(2)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_HERE + os.sep):
        f = f.f_back
    out = []
    while f is not None and len(out) < STACK_DEPTH:
        path = os.path.abspath(f.f_code.co_filename)
        rel = os.path.relpath(path, _ROOT) if path.startswith(_ROOT + os.sep) else path
        out.append((rel, f"{rel}:{f.f_lineno} ({f.f_code.co_name})"))
        f = f.f_back
    return out


def record(kind: str, what: str, d2h_bytes: int = 0, h2d_bytes: int = 0, implicit: bool = False,
           nbytes: int = 0) -> Event:
    frames = _frames()
    at = next((i for i, (rel, _) in enumerate(frames) if rel not in TRANSPARENT), 0)
    stack = [s for _, s in frames] or ["?"]
    e = Event(kind, what, stack[min(at, len(stack) - 1)], int(d2h_bytes), int(h2d_bytes), implicit,
              tuple(stack[:at] + stack[at + 1:]), int(nbytes))
    _state.counts[(kind, what + ("/implicit" if implicit else ""), e.site)] += 1
    _state.bytes["d2h"] += e.d2h_bytes
    _state.bytes["h2d"] += e.h2d_bytes
    for t in _state.trackers:
        t.events.append(e)
    return e


def _root(a):
    while isinstance(a.base, _np.ndarray):
        a = a.base
    return a


def _free(key):
    nbytes, rounded = _state.buffers.pop(key, (0, 0))
    _state.live -= nbytes
    _state.pool -= rounded


def allocate(a) -> None:
    """Count the buffer behind numpy array `a` (once, however many device arrays view it)."""
    r = _root(a)
    key = id(r)
    if key in _state.buffers:
        return
    nbytes = int(r.nbytes)
    rounded = -(-nbytes // _ALLOC_UNIT) * _ALLOC_UNIT
    _state.buffers[key] = (nbytes, rounded)
    _state.live += nbytes
    _state.pool += rounded
    weakref.finalize(r, _free, key)
    if alloc_hook is not None:           # cupy.cuda.set_allocator(fn): fn(size) sees every allocation
        alloc_hook(rounded)
    if _state.live > _state.peak:
        _state.peak = _state.live
    for t in _state.trackers:
        if _state.live > t.peak_live:
            t.peak_live = _state.live


class track:
    """Context manager: collect the events (and the peak of live device memory) of a block."""

    def __enter__(self) -> Tracker:
        self.t = Tracker(live_start=_state.live, peak_live=_state.live)
        _state.trackers.append(self.t)
        return self.t

    def __exit__(self, *exc):
        _state.trackers.remove(self.t)
        return False


def live_bytes() -> int:
    return _state.live


def peak_bytes() -> int:
    return _state.peak


def pool_bytes() -> int:
    return _state.pool


def reset_peak() -> None:
    _state.peak = _state.live


def summary() -> dict:
    """Counts since import (or reset()), for a report file: by kind, and by kind/what and call site."""
    by = {}
    for (kind, what, site), n in _state.counts.most_common():
        by.setdefault(kind, {})[f"{what} {site}"] = n
    return {"syncs": sum(n for (k, _, _), n in _state.counts.items() if k == "sync"),
            "h2d": sum(n for (k, _, _), n in _state.counts.items() if k == "h2d"),
            "implicit_h2d": sum(n for (k, w, _), n in _state.counts.items() if w.endswith("/implicit")),
            "d2h_bytes": _state.bytes["d2h"], "h2d_bytes": _state.bytes["h2d"],
            "peak_bytes": _state.peak, "live_bytes": _state.live, "by_site": by}


def _write_report(path):
    with open(path, "w") as f:
        json.dump(summary(), f, indent=1)


if os.environ.get("CUPY_STRICT_REPORT"):   # a process run with the stand-in on PYTHONPATH: a JSON report at exit
    atexit.register(_write_report, os.environ["CUPY_STRICT_REPORT"])


def reset() -> None:
    """Forget the counts so far and restart the peak (live buffers stay counted)."""
    _state.counts.clear()
    _state.bytes.clear()
    reset_peak()
