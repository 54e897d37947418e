"""Embedding lookup: out = table[ids]."""
from ..backend import array_module, to_numpy
from ..backend import numpy as _host   # host-side index planning only (ids are small integers)


def embedding_forward(ids, table, ids_host=None):
    """ids (...) int, table (N, D) -> out (..., D).

    ids_host: optional host (numpy) copy of ids, kept in the cache for the backward's index planning;
    without it, a backward on a device reads the ids back to the host (a synchronisation)."""
    return table[ids], (ids, table.shape, ids_host)


def embedding_backward(dout, cache, dtable):
    """Scatter-add dout back into the rows that were looked up: dtable[ids[i]] += dout[i].

    An id that occurs twice must receive both gradients (``dtable[ids] += dout`` would keep one).
    ``np.add.at`` does that, but under cupy it is an atomic scatter whose float sums arrive in a
    different order from run to run. So the sum is done without atomics (:func:`segment_add`): the
    rows are grouped by id, each group is reduced in a fixed order starting from the buffer's current
    value, and every row of dtable is written once. Under numpy the reduction is the same
    left-to-right fold as ``np.add.at``, so the result is bit for bit today's; under cupy it is a
    fixed reduction tree: deterministic from run to run (equal to numpy up to rounding).
    """
    ids, shape = cache[0], cache[1]
    ids_host = cache[2] if len(cache) > 2 else None
    segment_add(dtable, ids.reshape(-1), dout.reshape(-1, shape[1]),
                ids_host=None if ids_host is None else ids_host.reshape(-1))


def _plan(ids_host, num_rows):
    """Group the positions of ids by id, in order of occurrence, and bucket the groups by size.

    Returns [(uids, index)]: per bucket, the distinct ids (S,) it holds and an (S, W) matrix of the
    positions where each occurs (in order), padded with ``len(ids)`` (the pad row); W is a power of
    two and each group in the bucket has between W/2+1 and W members, so padding at most doubles the
    work and there are at most log2(len(ids)) + 1 buckets.
    """
    n = ids_host.shape[0]
    ids_host = ids_host.astype(_host.int64, copy=False)
    if n and (ids_host.min() < -num_rows or ids_host.max() >= num_rows):
        bad = ids_host[(ids_host < -num_rows) | (ids_host >= num_rows)][0]
        raise IndexError(f"index {bad} is out of bounds for an embedding table of {num_rows} rows")
    ids_host = _host.where(ids_host < 0, ids_host + num_rows, ids_host)   # as numpy indexing reads them
    order = _host.argsort(ids_host, kind="stable")          # equal ids keep their order of occurrence
    sorted_ids = ids_host[order]
    first = _host.flatnonzero(_host.r_[True, sorted_ids[1:] != sorted_ids[:-1]])   # group starts
    counts = _host.diff(_host.r_[first, n])
    width = _host.left_shift(1, _host.ceil(_host.log2(counts)).astype(_host.int64))   # next power of 2
    plans = []
    for w in _host.unique(width):
        g = _host.flatnonzero(width == w)                   # the groups in this bucket
        j = _host.arange(w)
        pos = first[g][:, None] + j[None, :]                # (S, W) positions in the sorted order
        valid = j[None, :] < counts[g][:, None]
        index = _host.where(valid, order[_host.minimum(pos, n - 1)], n)
        plans.append((sorted_ids[first[g]], index))
    return plans


def segment_add(dtable, ids, rows, ordered=None, ids_host=None):
    """dtable[ids[i]] += rows[i] for every i, duplicates summed, without atomics.

    dtable (N, D), ids (n,) integers (negative ones count from the end, as in numpy), rows (n, D).
    Each distinct id r gets ``((dtable[r] + rows[i1]) + rows[i2]) + ...`` over its occurrences
    i1 < i2 < ..., written once. The reduction runs along the middle axis of a padded
    (ids, 1 + occurrences, D) block whose first entry is dtable[r] and whose padding is -0.0 (x + -0.0
    is x for every x, signed zeros included); numpy's add.accumulate is a strict left-to-right fold,
    the order of np.add.at; cupy's sum is a fixed tree (no atomics).

    ordered: None picks by backend (numpy: the left-to-right fold; cupy: the tree); False asks for the
    tree on numpy too (what the GPU computes, for tests); True is numpy-only.
    ids_host: the same ids on the host, when the caller has them (the plan is made on the host; without
    them, device ids are copied back, which waits for the device).
    """
    xp = array_module(rows, dtable)
    if ordered is None:
        ordered = xp is _host
    if ordered and xp is not _host:
        raise NotImplementedError("the strict left-to-right fold is numpy-only; cupy reduces in a fixed tree")
    n = int(ids.shape[0])
    if n == 0:
        return dtable
    D = dtable.shape[1]
    ct = xp.result_type(dtable.dtype, rows.dtype)
    padded = xp.concatenate([rows.astype(ct, copy=False), xp.full((1, D), -0.0, dtype=ct)])   # row n: pad
    plan_ids = ids_host if ids_host is not None else to_numpy(ids)
    for uids, index in _plan(_host.asarray(plan_ids).reshape(-1), dtable.shape[0]):
        u, idx = xp.asarray(uids), xp.asarray(index)
        block = xp.concatenate([dtable[u].astype(ct, copy=False)[:, None, :], padded[idx]], axis=1)
        if ordered:
            total = _host.add.accumulate(block, axis=1, out=block)[:, -1]   # left to right: np.add.at's order
        else:
            total = block.sum(axis=1)                          # a fixed tree: deterministic on the GPU
        dtable[u] = total                                      # each row once: no duplicate writes
    return dtable
