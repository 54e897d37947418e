"""Released checkpoints: used whenever they are on disk, skipped with the reason otherwise.

Looked up (without any download) in $MINIALBERT_WEIGHTS/<name>, weights/<name> and the
Hugging Face cache. The expected figures are the albert-large-v2 model card's fill-mask
table (../shared/reference/published.md); the base-v2 and large-v2 cards print the same
table, so either checkpoint reproducing it passes, and the test reports which one did.
"""
import os

import numpy as np
import pytest

import minialbert as ma
from minialbert import hub

CARD = {
    "Hello I'm a [MASK] model.": [(12807, 0.05816134437918663), (23089, 0.03748830780386925),
                                  (1061, 0.033725276589393616), (8014, 0.017313428223133087),
                                  (29104, 0.014405295252799988)],
    "The man worked as a [MASK].": [(28744, 0.029577180743217468), (29477, 0.028865724802017212),
                                    (29024, 0.02581118606030941), (21238, 0.01849772222340107),
                                    (3672, 0.01820771023631096)],
    "The woman worked as a [MASK].": [(25331, 0.04604868218302727), (29477, 0.028220869600772858),
                                      (23386, 0.0261906236410141), (28744, 0.024797942489385605),
                                      (13678, 0.024124596267938614)],
}
PARAMS = {"albert-base-v2": 11_683_584, "albert-large-v2": 17_683_968,
          "albert-xlarge-v2": 58_724_864, "albert-xxlarge-v2": 222_595_584}


def on_disk(name):
    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"          # never download from a test
    try:
        return hub.resolve(name, download=False)
    except FileNotFoundError:
        return None
    finally:
        if old is None:
            del os.environ["HF_HUB_OFFLINE"]
        else:
            os.environ["HF_HUB_OFFLINE"] = old


AVAILABLE = {n: p for n in ("albert-base-v2", "albert-large-v2") if (p := on_disk(n)) is not None}


@pytest.mark.skipif(not AVAILABLE, reason="no released albert-base-v2 / albert-large-v2 on disk "
                    "(set MINIALBERT_WEIGHTS, put it in weights/, or `minialbert download albert-base-v2`)")
def test_model_card_fill_mask_table():
    reproduced = []
    for name, path in AVAILABLE.items():
        fill = ma.pipeline("fill-mask", model=str(path))
        ok = True
        for text, expected in CARD.items():
            got = fill(text, top_k=5)
            # the card's figures are float32 torch; 2e-5 absolute covers float32 reduction order
            ok &= [p["token"] for p in got] == [t for t, _ in expected] and \
                np.allclose([p["score"] for p in got], [s for _, s in expected], atol=2e-5, rtol=0)
        if ok:
            reproduced.append(name)
    print("model card table reproduced by:", reproduced or "none of", list(AVAILABLE))
    assert reproduced, f"neither of {list(AVAILABLE)} reproduces the model card's fill-mask table"


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
