"""Embedding lookup: out = table[ids]."""
from ..backend import array_module


def embedding_forward(ids, table):
    """ids (...) int, table (N, D) -> out (..., D)."""
    return table[ids], (ids, table.shape)


def embedding_backward(dout, cache, dtable):
    """Scatter-add dout back into the rows that were looked up.

    np.add.at (not dtable[ids] += dout) because an id that occurs twice must
    receive both gradients; fancy-index assignment would keep only one.
    """
    ids, shape = cache
    xp = array_module(dout)
    xp.add.at(dtable, ids.reshape(-1), dout.reshape(-1, shape[1]))
