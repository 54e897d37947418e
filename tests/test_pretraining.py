"""The pretraining loop: the loss falls, and an interrupted-and-resumed run is
bit-for-bit the uninterrupted one."""
import json

import numpy as np
import pytest

from minialbert.config import AlbertConfig
from minialbert.pretraining.trainer import TrainConfig, pretrain
from conftest import shared_dir

SPM = shared_dir() / "albert-vocab" / "spiece.model"
pytestmark = pytest.mark.skipif(not SPM.exists(), reason=f"official vocabulary not found at {SPM}")

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
    assert (tmp_path / "a" / "checkpoint" / "model.safetensors").exists()
    assert (tmp_path / "a" / "loss.png").stat().st_size > 10_000    # the loss-curve plot


@pytest.mark.parametrize("optimizer,accum", [("lamb", 1), ("adamw", 2)])
def test_resume_equals_uninterrupted(tmp_path, optimizer, accum):
    kw = dict(steps=12, optimizer=optimizer, grad_accum=accum, save_every=5)
    _, full, _ = pretrain(CFG, tc(tmp_path, "full", **kw), progress=False)
    pretrain(CFG, tc(tmp_path, "cut", **kw), progress=False, stop_after=7)     # "interrupted" after step 7
    state = json.loads((tmp_path / "cut" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 7
    model, resumed, _ = pretrain(CFG, tc(tmp_path, "cut", **kw), resume=True, progress=False)
    assert [h["loss"] for h in resumed] == [h["loss"] for h in full]           # exact floats
    assert not (tmp_path / "cut" / "checkpoint.tmp").exists()
