"""Parameter counts against the ALBERT paper (../shared/reference/published.md).

Counting convention, found by checking every entry: the paper counts the
encoder with its embeddings and, where E != H only, the E -> H projection
(Google's code has none when E == H). The shared columns of Tables 3 and 4 and
ALBERT's Table 1 rows include the pooler; the not-shared (BERT-style) column
and BERT's rows do not. Under that convention every entry of Tables 3 and 4 and
the base/large/BERT rows of Table 1 round to the published millions exactly.
"""
import pytest

import minialbert as ma
from minialbert.config import preset


def paper_count(cfg, share_type="all"):
    cfg = cfg.replace(share_type=share_type)
    return ma.count_parameters(cfg, add_pooler=share_type != "none",
                               mapping=cfg.embedding_size != cfg.hidden_size)


def test_count_equals_the_arrays_a_model_allocates():
    cfg = ma.AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=12, num_attention_heads=3,
                          intermediate_size=20, num_hidden_layers=5, num_hidden_groups=2, inner_group_num=2)
    for share in ("all", "attention", "ffn", "none"):
        c = cfg.replace(share_type=share)
        assert ma.count_parameters(c) == ma.AlbertModel(c).num_parameters()
        assert ma.count_parameters(c, add_pooler=False) == ma.AlbertModel(c, add_pooling_layer=False).num_parameters()


# Table 3 / Table 4: ALBERT-base shape, embedding size x sharing -> millions
TABLE_3_4 = {
    (64, "all"): 10, (128, "all"): 12, (256, "all"): 16, (768, "all"): 31,
    (64, "none"): 87, (128, "none"): 89, (256, "none"): 93, (768, "none"): 108,
    (128, "attention"): 64, (768, "attention"): 83,
    (128, "ffn"): 38, (768, "ffn"): 57,
}


@pytest.mark.parametrize("E,share", sorted(TABLE_3_4))
def test_tables_3_and_4(E, share):
    n = paper_count(preset("albert-base-v2").replace(embedding_size=E), share)
    assert round(n / 1e6) == TABLE_3_4[(E, share)], f"E={E} {share}: {n / 1e6:.3f}M"


@pytest.mark.parametrize("name,millions", [("albert-base-v2", 12), ("albert-large-v2", 18)])
def test_table_1_albert(name, millions):
    assert round(paper_count(preset(name)) / 1e6) == millions


@pytest.mark.parametrize("E,H,L,NH,millions", [(768, 768, 12, 12, 108), (1024, 1024, 24, 16, 334)])
def test_table_1_bert(E, H, L, NH, millions):
    cfg = ma.AlbertConfig(embedding_size=E, hidden_size=H, num_hidden_layers=L, num_attention_heads=NH,
                          intermediate_size=4 * H, vocab_size=30000)
    assert round(paper_count(cfg, "none") / 1e6) == millions


@pytest.mark.xfail(strict=True, reason="The paper's Table 1 gives xlarge 60M and xxlarge 235M, but the "
                   "shapes it states (H=2048/4096, I=4H, 24/12 layers, E=128, V=30000) give 58.7M and "
                   "222.6M with the pooler -- HF's model list says 58M and 223M for the released "
                   "checkpoints. strict: if this ever passes, the counting changed.")
@pytest.mark.parametrize("name,millions", [("albert-xlarge-v2", 60), ("albert-xxlarge-v2", 235)])
def test_table_1_xlarge_xxlarge_published(name, millions):
    assert round(paper_count(preset(name)) / 1e6) == millions


def test_xlarge_xxlarge_architectural_counts():
    """The counts those shapes do give, computed here by hand from the layer formulas."""
    def by_hand(H, L, E=128, V=30000, P=512):
        emb = V * E + P * E + 2 * E + 2 * E
        mapping = E * H + H
        layer = 4 * (H * H + H) + 2 * H + (H * 4 * H + 4 * H) + (4 * H * H + H) + 2 * H
        pooler = H * H + H
        return emb + mapping + layer + pooler    # all-shared: one layer's worth
    assert paper_count(preset("albert-xlarge-v2")) == by_hand(2048, 24)
    assert paper_count(preset("albert-xxlarge-v2")) == by_hand(4096, 12)
    assert abs(by_hand(4096, 12) / 1e6 - 222.6) < 0.05
