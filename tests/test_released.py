"""Released checkpoints: used whenever they are on disk, skipped with the reason otherwise.

Looked up (without any download) in $MINIALBERT_WEIGHTS/<name>, weights/<name> and the
Hugging Face cache. The expected figures are the albert-large-v2 model card's fill-mask
table (../shared/reference/published.md); the base-v2 and large-v2 cards print the same
table, so either checkpoint reproducing it passes, and the test reports which one did.
"""
import numpy as np
import pytest

import minialbert as ma
from minialbert import hub
from minialbert.parity import model_card_check, released_on_disk as on_disk

PARAMS = {"albert-base-v2": 11_683_584, "albert-large-v2": 17_683_968,
          "albert-xlarge-v2": 58_724_864, "albert-xxlarge-v2": 222_595_584}


AVAILABLE = {n: p for n in ("albert-base-v2", "albert-large-v2") if (p := on_disk(n)) is not None}


@pytest.mark.skipif(not AVAILABLE, reason="no released albert-base-v2 / albert-large-v2 on disk "
                    "(set MINIALBERT_WEIGHTS, put it in weights/, or `minialbert download albert-base-v2`)")
def test_model_card_fill_mask_table():
    # tokens exact, scores within MODEL_CARD_ATOL; one of the checkpoints on disk must reproduce it
    assert model_card_check(tuple(AVAILABLE)) in AVAILABLE


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_released_parameter_count(name):
    path = on_disk(name)
    if path is None:
        pytest.skip(f"{name} is not on disk")
    model = ma.AlbertModel.from_pretrained(path)
    assert model.num_parameters() == PARAMS[name] == ma.count_parameters(ma.preset(name))


def test_hf_cache_is_used(tmp_path, monkeypatch):
    """A checkpoint in the standard HF cache layout is found by name, offline."""
    from conftest import load_case
    import shutil
    d, meta, ref = load_case("mlm")
    snap = tmp_path / "hub" / "models--albert--albert-base-v2" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(d / f, snap / f)
    (tmp_path / "hub" / "models--albert--albert-base-v2" / "refs").mkdir()
    (tmp_path / "hub" / "models--albert--albert-base-v2" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MINIALBERT_WEIGHTS", str(tmp_path / "empty"))
    import huggingface_hub.constants as c
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hub"), raising=False)
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True, raising=False)
    assert hub.resolve("albert/albert-base-v2") == snap
    model = ma.AlbertForMaskedLM.from_pretrained("albert-base-v2", dtype="float64")
    np.testing.assert_allclose(model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"])["logits"],
                               ref["out.logits"], atol=1e-10)


def test_model_card_check_runs_and_rejects_another_model(monkeypatch, capsys, tmp_path):
    """The released-weights path itself, on a checkpoint that is not the released one (the random
    V=30000 fill-mask fixture, with the official vocabulary, posing as albert-base-v2): it must run
    the table and fail."""
    import shutil
    from minialbert import parity
    fake = tmp_path / "albert-base-v2"
    shutil.copytree(parity.fixtures_dir() / "fillmask", fake)
    shutil.copy(hub.BUNDLED_DIR / hub.DEFAULT_MODEL_NAME / "spiece.model", fake / "spiece.model")
    monkeypatch.setattr(parity, "released_on_disk", lambda name: fake if name == "albert-base-v2" else None)
    with pytest.raises(AssertionError, match="none of"):
        parity.model_card_check()
    out = capsys.readouterr().out
    assert "RAN for albert-base-v2" in out and "NOT reproduced" in out and out.count("BAD") == 15
