"""Pretraining under faults: a crash at any instant of a save loses nothing already saved, a real
SIGKILL at random moments is survived, inconsistent resumes and non-finite losses are refused with one
clear message, and the last good checkpoint is kept. (Seeded and bounded: a few seconds each.)"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minialbert.training.checkpoints as ckmod
from minialbert.training.checkpoints import latest_checkpoint
from minialbert.training.pretrain import pretrain
from test_pretraining import CFG, SPM, tc

KW = dict(steps=8, save_every=2)


def losses(run):
    return [h["loss"] for h in run]


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The uninterrupted run every interrupted one must reproduce exactly."""
    d = tmp_path_factory.mktemp("full")
    _, hist, _ = pretrain(CFG, tc(d, "run", **KW), progress=False)
    return losses(hist)


class Kill(BaseException):
    """Stands for SIGKILL inside the process: nothing after it runs, no cleanup."""


def test_a_crash_at_every_filesystem_step_of_a_save_loses_nothing(tmp_path, monkeypatch, full):
    """Kill the save of step 4 at its k-th file-system operation (every rename, fsync, removal and
    write), for every k; --resume must then continue from the newest complete checkpoint (step 2 or
    4) and give the uninterrupted losses exactly."""
    ops = {"rename": os.rename, "replace": os.replace, "rmtree": shutil.rmtree, "fsync": os.fsync}
    k, seen_kill_points = 0, 0
    while True:
        d = tmp_path / f"k{k}"
        d.mkdir()
        pretrain(CFG, tc(d, "run", **KW), progress=False, stop_after=2)          # a complete checkpoint at 2
        count = [0]

        def wrap(name):
            def f(*a, **kw):
                count[0] += 1
                if count[0] == k + 1:
                    raise Kill(name)
                return ops[name](*a, **kw)
            return f
        with monkeypatch.context() as m:
            m.setattr(ckmod.os, "rename", wrap("rename"))
            m.setattr(ckmod.os, "replace", wrap("replace"))
            m.setattr(ckmod.os, "fsync", wrap("fsync"))
            m.setattr(ckmod.shutil, "rmtree", wrap("rmtree"))
            try:
                pretrain(CFG, tc(d, "run", **KW), resume=True, progress=False, stop_after=4)
                killed = False
            except Kill:
                killed = True
        if not killed:
            break                                          # k is past the last operation of the save
        seen_kill_points += 1
        ck = latest_checkpoint(d / "run")
        assert ck is not None and json.loads((ck / "trainer_state.json").read_text())["step"] in (2, 4)
        _, rest, _ = pretrain(CFG, tc(d, "run", **KW), resume=True, progress=False)
        assert losses(rest) == full, f"kill at file-system operation {k}"
        k += 1
    assert seen_kill_points >= 8      # the save really has that many instants, and each was tried


def test_an_old_layout_left_half_swapped_is_resumed(tmp_path, full):
    """The layout before versioned checkpoints: a kill between its two renames left only
    checkpoint.old and checkpoint.tmp. --resume picks the newest complete one."""
    pretrain(CFG, tc(tmp_path, "run", **KW), progress=False, stop_after=4)
    run = tmp_path / "run"
    ck = latest_checkpoint(run)
    shutil.copytree(ck, run / "checkpoint.tmp")
    older = run / "checkpoints" / "step-00000002"
    assert older.is_dir()                                  # KEEP = 2: the previous one is still there
    shutil.copytree(older, run / "checkpoint.old")
    shutil.rmtree(run / "checkpoints")
    (run / "LATEST").unlink()
    assert latest_checkpoint(run) == run / "checkpoint.tmp"
    _, rest, _ = pretrain(CFG, tc(tmp_path, "run", **KW), resume=True, progress=False)
    assert losses(rest) == full
    assert not (run / "checkpoint.old").exists() and not (run / "checkpoint.tmp").exists()


def test_sigkill_at_random_moments(tmp_path, full):
    """A real `minialbert pretrain` process killed with SIGKILL at seeded random moments, then resumed:
    the finished run equals the uninterrupted one."""
    t = tc(tmp_path, "run", **KW)
    CFG.to_json_file(tmp_path / "config.json")
    args = [sys.executable, "-m", "minialbert", "pretrain", "--corpus", t.corpus, "--config",
            str(tmp_path / "config.json"), "--out", t.out, "--tokenizer", str(SPM), "--steps", "8",
            "--batch-size", "8", "--seq-len", "48", "--max-predictions", "8", "--optimizer", "adamw",
            "--lr", "3e-3", "--warmup", "4", "--eval-every", "0", "--save-every", "1", "--seed", "3"]
    rng = np.random.default_rng(0)
    for attempt in range(3):
        cmd = args + (["--resume"] if latest_checkpoint(t.out) else [])
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(rng.uniform(2.0, 6.0)))
        p.send_signal(signal.SIGKILL)
        p.wait()
    cmd = args + (["--resume"] if latest_checkpoint(t.out) else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode == 2 and "already at step 8" in r.stderr:
        pass                                                # a kill came after the last save
    else:
        assert r.returncode == 0, r.stderr
    state = json.loads((latest_checkpoint(t.out) / "trainer_state.json").read_text())
    assert state["step"] == 8 and [h["loss"] for h in state["history"]] == full


@pytest.mark.parametrize("change,needle", [
    (dict(batch_size=4), "batch_size 8 -> 4"),
    (dict(max_seq_length=40), "max_seq_length 48 -> 40"),
    (dict(optimizer="lamb"), "optimizer 'adamw' -> 'lamb'"),
    (dict(steps=3), "already at step 4"),
])
def test_inconsistent_resume_is_refused(tmp_path, change, needle):
    pretrain(CFG, tc(tmp_path, "run", **KW), progress=False, stop_after=4)
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        pretrain(CFG, tc(tmp_path, "run", **dict(KW, **change)), resume=True, progress=False)


def test_resume_with_another_corpus_or_model_is_refused(tmp_path):
    pretrain(CFG, tc(tmp_path, "run", **KW), progress=False, stop_after=4)
    other = tmp_path / "other.txt"
    other.write_text("a different corpus .\nwith two lines .\n\n" * 50)
    with pytest.raises(ValueError, match="corpus .*different contents"):
        pretrain(CFG, tc(tmp_path, "run", **dict(KW, corpus=str(other))), resume=True, progress=False)
    with pytest.raises(ValueError, match="model intermediate_size 48 -> 64"):
        pretrain(CFG.replace(intermediate_size=64), tc(tmp_path, "run", **KW), resume=True, progress=False)


def test_a_run_is_not_overwritten_without_asking(tmp_path):
    pretrain(CFG, tc(tmp_path, "run", **KW), progress=False, stop_after=2)
    with pytest.raises(FileExistsError, match="--resume .* --overwrite"):
        pretrain(CFG, tc(tmp_path, "run", **KW), progress=False)
    _, hist, _ = pretrain(CFG, tc(tmp_path, "run", **KW), progress=False, overwrite=True, stop_after=2)
    assert len(hist) == 2


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    """An absurd learning rate makes the loss non-finite within a few steps: training stops naming the
    step, nothing non-finite is saved, and the last good checkpoint stays resumable."""
    kw = dict(KW, steps=40, lr=1e6, warmup_steps=0, clip_norm=0.0, save_every=1)
    with pytest.raises(FloatingPointError, match=r"step \d+: the loss is (nan|inf)"):
        pretrain(CFG, tc(tmp_path, "run", **kw), progress=False)
    ck = latest_checkpoint(tmp_path / "run")
    assert ck is not None
    from minialbert.io import read_safetensors
    assert all(np.isfinite(a).all() for a in read_safetensors(ck / "model.safetensors").values())


@pytest.mark.parametrize("field,value", [("lr", float("nan")), ("lr", -1e-3), ("steps", 0), ("batch_size", "8"),
                                         ("warmup_steps", -1), ("clip_norm", float("inf")),
                                         ("position_init", "sinusoid"), ("init_from", 3)])
def test_bad_training_settings_are_one_clear_error(tmp_path, field, value):
    with pytest.raises(ValueError, match=field):
        tc(tmp_path, "run", **{field: value})


def test_resume_refuses_nan_weights(tmp_path):
    pretrain(CFG, tc(tmp_path, "run", **KW), progress=False, stop_after=2)
    ck = latest_checkpoint(tmp_path / "run")
    from minialbert.io import read_safetensors, write_safetensors
    w = dict(read_safetensors(ck / "model.safetensors"))
    name = sorted(w)[0]
    w[name] = np.array(w[name], copy=True)
    w[name].flat[0] = np.nan
    write_safetensors(w, ck / "model.safetensors")
    with pytest.raises(ValueError, match="NaN or infinite"):
        pretrain(CFG, tc(tmp_path, "run", **KW), resume=True, progress=False)


@pytest.mark.parametrize("text", ["hello\n", "one\n\ntwo\n\nthree\n\n" * 20, "\n\n\n"])
def test_a_corpus_without_a_usable_example_is_an_error_not_a_hang(tmp_path, text):
    """One short line, only one-word documents, or nothing: one clear error, at once."""
    c = tmp_path / "tiny.txt"
    c.write_text(text)
    t0 = time.time()
    with pytest.raises(ValueError, match="tiny.txt: no document .* yields a training example|no documents"):
        pretrain(CFG, tc(tmp_path, "run", **dict(KW, corpus=str(c))), progress=False)
    assert time.time() - t0 < 60


def test_a_huge_single_line_is_cut_into_segments(tmp_path):
    """A 2 MB line (no line breaks at all) trains at the usual speed: it is cut into segments at spaces."""
    from minialbert.training.examples import MAX_LINE_CHARS, split_long_line
    rng = np.random.default_rng(0)
    words = np.array("the cat sat on a mat and a dog ran far away from it".split())
    line = " ".join(rng.choice(words, size=400_000))
    parts = split_long_line(line)
    assert all(len(p) <= MAX_LINE_CHARS for p in parts) and " ".join(parts) == line
    c = tmp_path / "oneline.txt"
    c.write_text(line + "\n")
    t0 = time.time()
    _, hist, _ = pretrain(CFG, tc(tmp_path, "run", **dict(KW, corpus=str(c), steps=3)), progress=False)
    assert len(hist) == 3 and time.time() - t0 < 120
