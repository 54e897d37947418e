import json

import pytest

import minialbert as ma
from minialbert.config import AlbertConfig, preset
from conftest import HF_FIXTURES


def test_reads_hf_config_and_round_trips(tmp_path):
    cfg = AlbertConfig.from_pretrained(HF_FIXTURES / "mlm_groups")
    assert (cfg.num_hidden_layers, cfg.num_hidden_groups, cfg.inner_group_num) == (5, 2, 2)
    assert [cfg.group_of_layer(i) for i in range(5)] == [0, 0, 0, 1, 1]   # int(i / 2.5)
    cfg.to_json_file(tmp_path / "config.json")
    again = AlbertConfig.from_pretrained(tmp_path)
    assert again == cfg
    assert json.loads((tmp_path / "config.json").read_text())["transformers_version"] == "5.23.0"  # kept in extra


def test_reads_google_albert_config(tmp_path):
    google = {"attention_probs_dropout_prob": 0, "hidden_act": "gelu", "hidden_dropout_prob": 0,
              "embedding_size": 128, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
              "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
              "num_hidden_groups": 1, "net_structure_type": 0, "gap_size": 0, "num_memory_blocks": 0,
              "inner_group_num": 1, "down_scale_factor": 1, "type_vocab_size": 2, "vocab_size": 30000}
    (tmp_path / "albert_config.json").write_text(json.dumps(google))
    cfg = AlbertConfig.from_pretrained(tmp_path)
    assert cfg.hidden_act == "gelu_new"   # Google's "gelu" is the tanh approximation
    assert cfg == preset("albert-base-v2").replace(extra=cfg.extra)


def test_presets():
    assert preset("albert/albert-xxlarge-v2").hidden_size == 4096
    assert preset("albert-large-v1").hidden_dropout_prob == 0.1
    assert len(ma.PRESET_NAMES) == 8
    with pytest.raises(KeyError, match="unknown preset"):
        preset("albert-huge-v3")


@pytest.mark.parametrize("bad,match", [
    (dict(hidden_size=30, num_attention_heads=4), "multiple"),
    (dict(hidden_act="mish"), "hidden_act"),
    (dict(share_type="some"), "share_type"),
    (dict(ln_type="mid"), "ln_type"),
    (dict(num_hidden_groups=20, num_hidden_layers=12), "num_hidden_groups"),
])
def test_invalid_configs_are_clear(bad, match):
    with pytest.raises(ValueError, match=match):
        AlbertConfig(**{**dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2), **bad})


def test_relative_positions_not_silently_ignored():
    with pytest.raises(NotImplementedError, match="absolute"):
        AlbertConfig(position_embedding_type="relative_key")
