"""The pretraining loop: the loss falls, and an interrupted-and-resumed run is
bit-for-bit the uninterrupted one."""
import json

import numpy as np
import pytest

from minialbert import AlbertForPreTraining, pipeline
from minialbert.config import AlbertConfig
from minialbert.hub import default_model_path
from minialbert.training.checkpoints import latest_checkpoint
from minialbert.training.pretrain import TrainConfig, pretrain

SPM = default_model_path() / "spiece.model"      # the official ALBERT 30k vocabulary, shipped in the package

TEXT = """the cat sat on the mat and looked at the dog .
the dog sat on the rug and looked at the cat .
a list is a sequence of values and a tuple is a sequence that cannot change .
a function returns a value and a method is a function that belongs to an object .
"""


def corpus(tmp_path, n_docs=40):
    lines = TEXT.strip().splitlines()
    docs = ["\n".join(lines[(i + k) % len(lines)] for k in range(6)) for i in range(n_docs)]
    p = tmp_path / "corpus.txt"
    p.write_text("\n\n".join(docs) + "\n")
    return p


CFG = AlbertConfig(vocab_size=30000, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=48, max_position_embeddings=64, hidden_dropout_prob=0.1,
                   attention_probs_dropout_prob=0.1)


def tc(tmp_path, out, **kw):
    base = dict(corpus=str(corpus(tmp_path)), out=str(tmp_path / out), steps=40, batch_size=8, max_seq_length=48,
                max_predictions_per_seq=8, optimizer="adamw", lr=3e-3, warmup_steps=4, eval_every=0, save_every=0,
                tokenizer=str(SPM), seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_loss_falls(tmp_path):
    model, history, _ = pretrain(CFG, tc(tmp_path, "a", lr=1e-2), progress=False)
    first = np.mean([h["loss"] for h in history[:5]])
    last = np.mean([h["loss"] for h in history[-5:]])
    # from ~ln(30000) + ln 2 = 11 at the start; a repetitive corpus is learnt fast
    assert first > 10 and last < first - 3, (first, last)
    assert (latest_checkpoint(tmp_path / "a") / "model.safetensors").exists()
    assert (tmp_path / "a" / "loss.png").stat().st_size > 10_000    # the loss-curve plot
    # the run directory (the finished model) and each checkpoint work on their own with fill-mask: the
    # tokenizer files are written beside the weights, and both give the finished model's answer
    text = "the cat sat on the [MASK] and looked at the dog ."
    finished = pipeline("fill-mask", model=str(tmp_path / "a"))(text, top_k=3)
    last = pipeline("fill-mask", model=str(latest_checkpoint(tmp_path / "a")))(text, top_k=3)
    assert [p["token"] for p in finished] == [p["token"] for p in last]
    assert abs(finished[0]["score"] - last[0]["score"]) < 1e-6     # same float32 weights, same sums
    mine = model.state_dict()
    saved = AlbertForPreTraining.from_pretrained(tmp_path / "a").state_dict()
    assert all(np.array_equal(mine[k], saved[k]) for k in mine)


@pytest.mark.parametrize("optimizer,accum", [("lamb", 1), ("adamw", 2)])
def test_resume_equals_uninterrupted(tmp_path, optimizer, accum):
    kw = dict(steps=12, optimizer=optimizer, grad_accum=accum, save_every=5)
    _, full, _ = pretrain(CFG, tc(tmp_path, "full", **kw), progress=False)
    pretrain(CFG, tc(tmp_path, "cut", **kw), progress=False, stop_after=7)     # "interrupted" after step 7
    state = json.loads((latest_checkpoint(tmp_path / "cut") / "trainer_state.json").read_text())
    assert state["step"] == 7
    model, resumed, _ = pretrain(CFG, tc(tmp_path, "cut", **kw), resume=True, progress=False)
    assert [h["loss"] for h in resumed] == [h["loss"] for h in full]           # exact floats
    assert not list((tmp_path / "cut" / "checkpoints").glob(".partial-*"))


def test_model_learns_to_use_context():
    """A task only context can solve: a sequence repeats one random token, one copy
    is masked. Unigram statistics give chance (1/54); attending to the other
    tokens gives 100 %. Shows the backward pass trains attention, not just biases."""
    import minialbert as ma
    from minialbert.optim import AdamW, clip_grad_norm, warmup_linear_decay
    cfg = AlbertConfig(vocab_size=64, embedding_size=32, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=128, max_position_embeddings=32)
    m = ma.AlbertForMaskedLM(cfg, seed=0).train()
    opt = AdamW(m.params, lr=3e-3, weight_decay=0.0)
    rng = np.random.default_rng(0)

    def batch(B, n=8):
        a = np.repeat(rng.integers(10, 64, size=(B, 1)), n, axis=1)
        ids = np.concatenate([np.full((B, 1), 2), a, np.full((B, 1), 3), a, np.full((B, 1), 3)], 1)
        lab = np.full(ids.shape, -100)
        pos = rng.integers(1, 2 * n + 2, size=B)
        pos[pos == n + 1] += 1                          # never the [SEP]
        lab[np.arange(B), pos] = ids[np.arange(B), pos]
        ids[np.arange(B), pos] = 4                      # [MASK]
        return ids, lab

    steps = 300
    for s in range(steps):
        ids, lab = batch(32)
        m.zero_grad()
        m(ids, labels=lab)
        m.backward()
        clip_grad_norm(m.grads(), 1.0)
        opt.step(m.grads(), lr=warmup_linear_decay(s, steps, 30, 3e-3, decay_after_warmup=True))
    m.eval()
    ids, lab = batch(256)
    sel = lab != -100
    acc = (np.asarray(m(ids)["logits"]).argmax(-1)[sel] == lab[sel]).mean()
    assert acc > 0.95, acc


def test_sinusoidal_position_init(tmp_path):
    """--position-init sinusoidal: the position table starts as sinusoids of RMS initializer_range
    (then is learned as usual). With lr 0 and no decay the table stays as initialised."""
    from minialbert.training.pretrain import sinusoidal_positions
    table = sinusoidal_positions(64, 16, 0.02)
    assert table.shape == (64, 16) and abs(np.sqrt((table ** 2).mean()) - 0.02) < 1e-12
    # relative position structure: <p_i, p_j> depends on i - j only (the sin/cos angle identity)
    g = table @ table.T
    np.testing.assert_allclose(np.diagonal(g, 1), np.full(63, g[0, 1]), rtol=1e-10)
    model, _, _ = pretrain(CFG, tc(tmp_path, "s", steps=1, lr=0.0, weight_decay=0.0, position_init="sinusoidal"),
                           progress=False)
    w = np.asarray(model.params["albert.embeddings.position_embeddings.weight"], dtype=np.float64)
    np.testing.assert_allclose(w, table, atol=1e-8)       # float32 storage of the table
    with pytest.raises(ValueError, match="position_init"):
        pretrain(CFG, tc(tmp_path, "t", steps=1, position_init="learned"), progress=False)


def test_cli_stop_at_then_resume_equals_uninterrupted(tmp_path, capsys):
    """`pretrain --stop-at N` saves and stops as an interruption would; `--resume` carries on, and
    the two CLI runs give the uninterrupted run's losses exactly (the way a long run is split
    across sessions: scripts/train_default_model.sh)."""
    from minialbert.cli import main
    kw = dict(steps=10, save_every=0)
    _, full, _ = pretrain(CFG, tc(tmp_path, "full", **kw), progress=False)
    t = tc(tmp_path, "cli", **kw)
    CFG.to_json_file(tmp_path / "config.json")
    args = ["pretrain", "--corpus", t.corpus, "--config", str(tmp_path / "config.json"), "--out", t.out,
            "--tokenizer", str(SPM), "--steps", "10", "--batch-size", "8", "--seq-len", "48",
            "--max-predictions", "8", "--optimizer", "adamw", "--lr", "3e-3", "--warmup", "4",
            "--eval-every", "0", "--save-every", "0", "--seed", "3"]
    assert main(args + ["--stop-at", "6"]) in (None, 0)
    state = json.loads((latest_checkpoint(tmp_path / "cli") / "trainer_state.json").read_text())
    assert state["step"] == 6
    assert main(args + ["--resume", "--stop-at", "6"]) == 2          # already there: one-line error
    assert "the run is at step 6" in capsys.readouterr().err
    assert main(args + ["--resume"]) in (None, 0)
    state = json.loads((latest_checkpoint(tmp_path / "cli") / "trainer_state.json").read_text())
    assert [h["loss"] for h in state["history"]] == [h["loss"] for h in full]


def test_init_from_continues_a_saved_model(tmp_path):
    """--init-from: a new run starts from a saved model's weights (a fresh optimiser), as HF's run_mlm.py
    with --model_name_or_path; its first loss is the saved model's loss on that batch, not a fresh
    model's ~11, and a config that differs is refused naming the field."""
    model, history, _ = pretrain(CFG, tc(tmp_path, "a", lr=1e-2), progress=False)
    _, cont, _ = pretrain(CFG, tc(tmp_path, "b", lr=1e-3, steps=3, init_from=str(tmp_path / "a")), progress=False)
    _, fresh, _ = pretrain(CFG, tc(tmp_path, "c", lr=1e-3, steps=3), progress=False)
    assert fresh[0]["loss"] > 10 and cont[0]["loss"] < history[0]["loss"] - 3, (fresh[0], cont[0], history[0])
    with pytest.raises(ValueError, match="hidden_size"):
        pretrain(CFG.replace(hidden_size=64, num_attention_heads=2), tc(tmp_path, "d", init_from=str(tmp_path / "a")),
                 progress=False)
