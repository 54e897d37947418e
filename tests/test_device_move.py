"""model.to(): parameters and gradients move in place (the same dicts, new arrays), and the dropout
generator of the new device is seeded from the model's seed. Runs on the CPU: a device change is
simulated by letting 'cuda' name numpy (monkeypatched backend.get_xp / to_device)."""
import numpy as np
import pytest

import minialbert as ma
from minialbert import backend


def tiny(seed=0, dtype="float32", dropout=0.0):
    cfg = ma.AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=32, max_position_embeddings=16,
                          hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    return ma.AlbertForMaskedLM(cfg, seed=seed, dtype=dtype)


def batch():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 50, size=(2, 8))
    labels = np.where(rng.random((2, 8)) < 0.5, ids, -100)
    labels[:, 0] = ids[:, 0]
    return ids, labels


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimizer_built_before_to_updates_the_model(dtype):
    model = tiny()
    params, opt = model.params, ma.AdamW(model.params, lr=1e-2)
    model.to("cpu", dtype=dtype)
    assert model.params is params                       # the same dict ...
    assert all(v.dtype == np.dtype(dtype) for v in model.params.values())
    before = {k: v.copy() for k, v in model.params.items()}
    ids, labels = batch()
    model.train()
    model(ids, labels=labels)
    model.backward()
    opt.step(model.grads())
    changed = [k for k in before if not np.array_equal(before[k], model.params[k])]
    assert len(changed) == len(before), sorted(set(before) - set(changed))[:5]
    assert all(v.dtype == np.dtype(dtype) for v in model.params.values())


def test_grads_move_in_place():
    model = tiny()
    ids, labels = batch()
    model(ids, labels=labels)
    model.backward()
    grads = model.grads()
    model.to("cpu", dtype="float64")
    assert model.grads() is grads
    assert all(g.dtype == np.float64 for g in grads.values())


@pytest.fixture
def numpy_as_cuda(monkeypatch):
    """Let 'cuda' name numpy, so that .to('cuda') changes the device on a CPU machine."""
    monkeypatch.setattr(backend, "get_xp", lambda device="cpu": np)
    monkeypatch.setattr(backend, "to_device", lambda x, device: backend.to_numpy(x))


def masks_after_move(seed):
    model = tiny(seed=seed, dropout=0.5).train()
    model._rng.random(7)                                # the CPU stream is used before the move
    model.to("cuda")
    assert model.device == "cuda"
    ids, _ = batch()
    out = model(ids)
    return np.asarray(out["logits"])


def test_dropout_after_a_device_change_is_seeded_from_the_model_seed(numpy_as_cuda):
    a, b = masks_after_move(3), masks_after_move(3)
    np.testing.assert_array_equal(a, b)
    c = masks_after_move(4)
    assert not np.array_equal(a, c)                     # the seed matters (weights differ too)


def test_dropout_after_a_device_change_matches_a_model_built_there(numpy_as_cuda):
    moved = tiny(seed=5, dropout=0.5).train().to("cuda")
    built = tiny(seed=5, dropout=0.5).train()
    built._rng = backend.device_rng(np, 5)              # what __init__ makes on the device
    ids, _ = batch()
    np.testing.assert_array_equal(np.asarray(moved(ids)["logits"]), np.asarray(built(ids)["logits"]))
