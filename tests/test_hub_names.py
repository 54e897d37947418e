"""Names hub.resolve understands: any Hub repo id owner/name goes through the Hugging Face cache like
the released names (offline: the same clear message), and an unknown plain name gets the closest
known ones. Offline throughout (HF_HUB_OFFLINE=1) with a temporary HF cache: nothing is downloaded."""
import shutil

import pytest

import minialbert as ma
from minialbert import hub

REPO = "textattack/albert-base-v2-SST-2"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty, offline Hugging Face cache, and no $MINIALBERT_WEIGHTS."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MINIALBERT_WEIGHTS", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    import huggingface_hub.constants as c
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(cache), raising=False)
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True, raising=False)
    return cache


def put_in_cache(cache, repo_id, weights="model.safetensors"):
    """A checkpoint (the mlm fixture) in the HF cache layout under repo_id."""
    from conftest import load_case
    d, meta, ref = load_case("mlm")
    root = cache / ("models--" + repo_id.replace("/", "--"))
    snap = root / "snapshots" / ("b" * 40)
    snap.mkdir(parents=True)
    shutil.copy(d / "config.json", snap / "config.json")
    shutil.copy(d / "model.safetensors", snap / weights)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text("b" * 40)
    return snap, ref


def test_repo_id_from_the_cache(hf_cache):
    snap, ref = put_in_cache(hf_cache, REPO)
    assert hub.resolve(REPO) == snap
    model = ma.AlbertForMaskedLM.from_pretrained(REPO, dtype="float64")
    out = model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"])
    assert abs(out["logits"] - ref["out.logits"]).max() < 1e-10


def test_repo_id_with_only_pytorch_model_bin_is_found(hf_cache):
    snap, _ = put_in_cache(hf_cache, "someone/albert-tiny", weights="pytorch_model.bin")
    assert hub.resolve("someone/albert-tiny") == snap


@pytest.mark.parametrize("name", [REPO, "albert-base-v2", "albert/albert-large-v2"])
def test_offline_and_not_cached_is_the_clear_message(hf_cache, name):
    with pytest.raises(hub.ModelNotFound, match="is not on this machine and it is offline: run `minialbert "
                                                "download ") as e:
        hub.resolve(name)
    assert "no such file" not in str(e.value)
    with pytest.raises(hub.ModelNotFound, match="is not on this machine and it is offline"):
        hub.download_model(name)


def test_paths_that_are_not_repo_ids_stay_paths(hf_cache):
    for bad in ("./nowhere/model", "a/b/c", "/definitely/not/here", "~/nothing-here-either", "x/../y"):
        with pytest.raises(hub.ModelNotFound, match="no such file or directory"):
            hub.resolve(bad)


def test_unknown_name_suggests_the_closest(hf_cache):
    with pytest.raises(hub.ModelNotFound, match="did you mean 'albert-base-v2'") as e:
        hub.resolve("albert-base-v3")
    assert "minialbert-default" in str(e.value)           # the bundled model is among the known names
    with pytest.raises(hub.ModelNotFound, match="did you mean 'minialbert-default'"):
        hub.resolve("minialbert-defualt")
    with pytest.raises(hub.ModelNotFound) as e:
        hub.resolve("zzzz")
    assert "did you mean" not in str(e.value) and "known names: " in str(e.value)


def test_known_names_include_the_bundled_model():
    names = hub.known_names()
    assert hub.DEFAULT_MODEL_NAME in names and "albert-xxlarge-v2" in names
    assert hub.resolve(hub.DEFAULT_MODEL_NAME) == hub.default_model_path()


def test_tokenizers_resolve_names_as_models_do(hf_cache):
    """AlbertTokenizer.from_pretrained and load_tokenizer (which pipeline(tokenizer=NAME) uses) take the
    names the models' from_pretrained takes: the bundled model, a cached Hub repo id; the same
    suggestions and the same offline message."""
    bundled = ma.AlbertTokenizer.from_pretrained(hub.DEFAULT_MODEL_NAME)
    assert bundled.sp.serialized_model_proto() == (hub.default_model_path() / "spiece.model").read_bytes()
    snap, _ = put_in_cache(hf_cache, REPO)
    shutil.copy(hub.default_model_path() / "spiece.model", snap / "spiece.model")
    assert ma.load_tokenizer(REPO).tokenize("Hello world") == bundled.tokenize("Hello world")
    assert ma.AlbertTokenizer.from_pretrained(REPO).vocab_size == 30000
    with pytest.raises(hub.ModelNotFound, match="did you mean 'albert-base-v2'"):
        ma.load_tokenizer("albert-base-v3")
    with pytest.raises(hub.ModelNotFound, match="is not on this machine and it is offline"):
        ma.AlbertTokenizer.from_pretrained("albert-base-v2")
