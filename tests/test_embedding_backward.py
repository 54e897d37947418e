"""The embedding backward without atomics (ops/embedding.py: segment_add): bit for bit np.add.at's
result under numpy, += into the buffer, and the padding row of the word embedding unchanged."""
import numpy as np
import pytest

import minialbert as ma
from minialbert import ops
from minialbert.model import backbone
from minialbert.ops.embedding import segment_add


def bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def data(rng, n, V, D, dtype=np.float32):
    # many repeats (30% one id, a Zipf tail), magnitudes 1e-3..1e3 so the order of the sum shows,
    # some rows of signed zeros
    ids = np.where(rng.random(n) < 0.3, 3 % V, rng.zipf(1.3, n) % V).astype(np.int64)
    rows = (rng.normal(size=(n, D)) * rng.choice([1e-3, 1.0, 1e3], size=(n, 1))).astype(dtype)
    rows[rng.random(n) < 0.05] = -0.0
    rows[rng.random(n) < 0.05] = 0.0
    table = rng.normal(size=(V, D)).astype(dtype)
    table[rng.random(V) < 0.3] = 0.0          # rows whose buffer is +0.0 (a fresh gradient buffer)
    return ids, rows, table


@pytest.mark.parametrize("n,V,D", [(1, 5, 3), (7, 3, 1), (200, 11, 4), (4096, 2, 16), (3000, 500, 8)])
def test_segment_add_equals_add_at_bit_for_bit(n, V, D):
    rng = np.random.default_rng(n + V + D)
    ids, rows, table = data(rng, n, V, D)
    ref = table.copy()
    np.add.at(ref, ids, rows)
    out = table.copy()
    segment_add(out, ids, rows)
    np.testing.assert_array_equal(bits(out), bits(ref))


def test_embedding_backward_equals_add_at_bit_for_bit():
    rng = np.random.default_rng(0)
    ids, rows, table = data(rng, 8 * 64, 40, 6)
    ids, dout = ids.reshape(8, 64), rows.reshape(8, 64, 6)
    _, cache = ops.embedding_forward(ids, table)
    for start in (np.zeros_like(table), table):          # a fresh buffer, and += into a used one
        ref, out = start.copy(), start.copy()
        np.add.at(ref, ids.reshape(-1), dout.reshape(-1, 6))
        ops.embedding_backward(dout, cache, out)
        np.testing.assert_array_equal(bits(out), bits(ref))
        assert not np.array_equal(out, start)


def test_duplicates_all_count_and_untouched_rows_stay():
    table = np.full((5, 2), 7.0)
    segment_add(table, np.array([1, 1, 1, -1]), np.ones((4, 2)))   # -1 is row 4, as numpy reads it
    np.testing.assert_array_equal(table, [[7, 7], [10, 10], [7, 7], [7, 7], [8, 8]])
    with pytest.raises(IndexError):
        segment_add(table, np.array([5]), np.ones((1, 2)))
    segment_add(table, np.array([], dtype=np.int64), np.ones((0, 2)))


def test_the_gpu_reduction_is_deterministic_and_close():
    """ordered=False is the fixed tree cupy runs; on the CPU it must repeat and agree up to rounding."""
    rng = np.random.default_rng(1)
    ids, rows, table = data(rng, 3000, 50, 8, np.float64)
    rows = rows / 1e3
    ref = table.copy()
    np.add.at(ref, ids, rows)
    a, b = table.copy(), table.copy()
    segment_add(a, ids, rows, ordered=False)
    segment_add(b, ids, rows, ordered=False)
    np.testing.assert_array_equal(bits(a), bits(b))
    np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-12)


def test_word_embedding_padding_row_unchanged(monkeypatch):
    """embeddings_backward (backbone.py) masks the padding positions, then calls embedding_backward;
    a tied MLM decoder has already written into the word-embedding buffer. The whole gradient must
    be bit for bit what np.add.at gave."""
    cfg = ma.AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=32, max_position_embeddings=16,
                          pad_token_id=0)
    rng = np.random.default_rng(2)
    ids = rng.integers(1, 6, size=(4, 16))
    ids[:, 10:] = 0                                          # padding, many times over
    am = (ids != 0).astype(np.int64)
    labels = np.where(rng.random((4, 16)) < 0.4, ids, -100)
    labels[:, 0] = ids[:, 0]
    tt = (np.arange(16) >= 5).astype(np.int64)[None].repeat(4, 0)

    def grads():
        m = ma.AlbertForMaskedLM(cfg, seed=0)
        m(ids, am, tt, labels=labels)
        m.backward()
        return {k: v.copy() for k, v in m.grads().items()}

    new = grads()

    def add_at(dout, cache, dtable):
        ids_, shape = cache[0], cache[1]        # (ids, table shape, host copy of ids)
        np.add.at(dtable, ids_.reshape(-1), dout.reshape(-1, shape[1]))
    monkeypatch.setattr(backbone, "embedding_backward", add_at)
    old = grads()
    for k in old:
        np.testing.assert_array_equal(bits(new[k]), bits(old[k]), err_msg=k)
    word = "albert.embeddings.word_embeddings.weight"
    assert np.any(new[word][0] != 0)                         # the decoder's share reaches the pad row
