"""Fine-tuning a sequence classifier end to end on a toy task it must learn."""
import json

import numpy as np
import pytest

from minialbert.cli import main
from conftest import HF_FIXTURES, vocab_file

SPM = vocab_file()
pytestmark = pytest.mark.skipif(not SPM.exists(), reason=f"official vocabulary not found at {SPM}")


def write(path, rows, sep):
    path.write_text(sep.join(["text", "label"]) + "\n" + "".join(f"{t}{sep}{l}\n" for t, l in rows))


def test_finetune_learns_a_separable_task(tmp_path):
    rng = np.random.default_rng(0)
    good = ["great", "lovely", "excellent", "wonderful", "superb"]
    bad = ["awful", "terrible", "horrible", "dreadful", "poor"]
    rows = [(f"the film was {w}", "pos") for w in good] + [(f"the film was {w}", "neg") for w in bad]
    train = [rows[i] for i in rng.permutation(len(rows))] * 4
    write(tmp_path / "train.tsv", train, "\t")
    write(tmp_path / "dev.csv", rows, ",")
    args = ["finetune", "--model", str(HF_FIXTURES / "fillmask"), "--tokenizer", str(SPM),
            "--train", str(tmp_path / "train.tsv"), "--eval", str(tmp_path / "dev.csv"), "--out", str(tmp_path / "out"),
            "--epochs", "8", "--batch-size", "8", "--lr", "3e-3", "--max-length", "16"]
    assert main(args) == 0
    result = json.loads((tmp_path / "out" / "finetune_result.json").read_text())
    assert result["accuracy"] == 1.0
    assert result["train_loss_last"] < 0.7 * result["train_loss_first"]   # from ln 2 = 0.69
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert cfg["id2label"] == {"0": "neg", "1": "pos"} and cfg["architectures"] == ["AlbertForSequenceClassification"]


def test_finetune_bad_table(tmp_path, capsys):
    (tmp_path / "bad.tsv").write_text("sentence\tscore\nhello\t1\n")
    assert main(["finetune", "--model", str(HF_FIXTURES / "fillmask"), "--tokenizer", str(SPM),
                 "--train", str(tmp_path / "bad.tsv"), "--out", str(tmp_path / "o")]) == 2
    assert "needs a header with columns 'text'" in capsys.readouterr().err
