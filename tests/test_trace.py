"""The porter's trace: names and values against HF's own intermediate outputs,
and the traced gradients against the (fixture-verified) parameter gradients."""
import numpy as np

import minialbert as ma
from minialbert.cli import main
from conftest import load_case


def test_trace_activations_are_hfs_intermediates(tmp_path):
    d, meta, ref = load_case("mlm_groups")       # 5 layers x 2 inner layers, 2 groups
    model = ma.AlbertForMaskedLM.from_pretrained(d, dtype="float64")
    model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"], labels=ref["labels"], trace=True)
    tr = model.trace
    np.testing.assert_allclose(tr["encoder.mapped"], ref["out.hidden_states.0"], atol=1e-12)
    for k in range(10):
        np.testing.assert_allclose(tr[f"layer.{k}.ffn.y"], ref[f"out.hidden_states.{k + 1}"], atol=1e-12)
        np.testing.assert_allclose(tr[f"layer.{k}.attention.probs"], ref[f"out.attentions.{k}"], atol=1e-12)
    np.testing.assert_allclose(tr["logits"], ref["out.logits"], atol=1e-12)


def test_trace_gradients_sum_to_the_shared_weight_gradient():
    """The FFN weight of group 0 is used by layers 0-2 (x2 inner layers). Its
    gradient must equal sum_k dPreAct_k^T @ Input_k over exactly those uses."""
    d, meta, ref = load_case("mlm_groups")
    model = ma.AlbertForMaskedLM.from_pretrained(d, dtype="float64")
    model(ref["input_ids"], ref["attention_mask"], ref["token_type_ids"], labels=ref["labels"], trace=True)
    model.backward()
    tr, tg = model.trace, model.trace_grads
    H = model.config.hidden_size
    for j in range(2):
        uses = [i * 2 + j for i in range(3)]          # layers 0, 1, 2 run group 0
        total = sum(tg[f"layer.{k}.ffn.pre_act"].reshape(-1, 37).T @ tr[f"layer.{k}.attention.y"].reshape(-1, H)
                    for k in uses)
        name = f"albert.encoder.albert_layer_groups.0.albert_layers.{j}.ffn.weight"
        np.testing.assert_allclose(total, ref["grad." + name], atol=1e-12)
    E = model.config.embedding_size
    dmap = tg["encoder.mapped"].reshape(-1, H).T @ tr["embeddings.out"].reshape(-1, E)
    np.testing.assert_allclose(dmap, ref["grad.albert.encoder.embedding_hidden_mapping_in.weight"], atol=1e-12)


def test_trace_cli_writes_one_npz(tmp_path, capsys):
    d, meta, ref = load_case("mlm")
    out = tmp_path / "trace.npz"
    assert main(["trace", "--model", str(d), "--ids", "2,5,9,4,3", "--out", str(out), "--dtype", "float64"]) == 0
    z = np.load(out)
    assert "act/layer.2.attention.probs" in z and "grad/layer.2.attention.probs" in z
    assert z["input/input_ids"].tolist() == [[2, 5, 9, 4, 3]]
    # Re-run in Python with the saved upstream gradient: same gradients.
    model = ma.AlbertForMaskedLM.from_pretrained(d, dtype="float64")
    model(z["input/input_ids"], trace=True)
    model.backward(logits=z["upstream/logits"])
    np.testing.assert_array_equal(model.trace_grads["embeddings.out"], z["grad/embeddings.out"])
    assert main(["trace", "--model", str(d), "--text", "hi", "--out", str(out)]) == 2
    assert "tokenizer" in capsys.readouterr().err
