"""The notebooks' exercise checkers (notebooks/exercises): every checker accepts its reference solution and
rejects every plausible wrong answer registered with it, with a verdict that says what is wrong; and every
registered exercise is graded in its notebook, on the reference solution as committed."""
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
EX_DIR = NB_DIR / "exercises"

sys.path.insert(0, str(NB_DIR))          # the notebooks import `exercises` from their own folder
import exercises.check as check  # noqa: E402

EX_MODULES = sorted(p.stem for p in EX_DIR.glob("ex[0-9][0-9].py"))
for _name in EX_MODULES:
    __import__(f"exercises.{_name}")      # importing an exNN module registers its exercises
EXERCISES = check.registry()
WRONG = [(key, desc) for key, ex in EXERCISES.items() for desc in ex.wrong]


def test_there_are_exercises():
    assert "ex04" in EX_MODULES
    assert len([k for k in EXERCISES if k.startswith("04.")]) >= 2


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_checker_accepts_the_reference_solution(key, capsys):
    ex = EXERCISES[key]
    report = check.run(ex, ex.solution)
    assert report.passed, str(report)
    assert len(report.verdicts) >= 2
    check.grade(ex, ex.solution)                    # does not raise
    out = capsys.readouterr().out
    assert f"PASSED  {key}" in out and "WRONG" not in out


@pytest.mark.parametrize("key,desc", WRONG, ids=[f"{k}: {d}" for k, d in WRONG])
def test_checker_rejects_a_plausible_wrong_answer(key, desc, capsys):
    ex = EXERCISES[key]
    report = check.run(ex, ex.wrong[desc])
    assert not report.passed, f"{key} accepted the wrong answer {desc!r}:\n{report}"
    assert report.failures and all(v.line().startswith("WRONG") for v in report.failures)
    with pytest.raises(check.ExerciseFailed) as err:
        check.grade(ex, ex.wrong[desc])
    msg = str(err.value)
    assert msg.startswith(f"NOT YET {key}") and report.failures[0].name in msg
    assert isinstance(err.value, AssertionError)    # a failed grade reads as a failed assertion


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_every_exercise_has_a_wrong_answer_the_tests_reject(key):
    assert len(EXERCISES[key].wrong) >= 1


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_an_unattempted_or_broken_answer_gets_a_clear_verdict(key):
    def stub(*args, **kwargs):
        raise NotImplementedError

    def broken(*args, **kwargs):
        return {}["typo"]

    report = check.run(key, stub)
    assert not report.passed and "not attempted yet" in report.failures[0].detail
    report = check.run(key, broken)
    assert not report.passed and "raised KeyError" in report.failures[0].detail
    assert not check.run(key, None).passed


def test_cmp_verdicts():
    r = np.arange(6.0).reshape(2, 3)
    assert check.cmp("same", r.copy(), r).ok
    assert check.cmp("rounding", r + 1e-12, r).ok
    v = check.cmp("off", r + 0.1, r)
    assert not v.ok and "rel. error" in v.detail and v.line().startswith("WRONG")
    assert "shape (3, 2), expected (2, 3)" in check.cmp("shape", r.T, r).detail
    assert "got None" in check.cmp("none", None, r).detail
    assert "nan" in check.cmp("nan", r * np.nan, r).detail


def test_registry_refuses_an_exercise_without_a_wrong_answer_or_a_bad_key():
    with pytest.raises(ValueError, match="wrong answer"):
        check.exercise("99.x", "x", solution=len, wrong={})
    with pytest.raises(ValueError, match="NN.name"):
        check.exercise("x", "x", solution=len, wrong={"w": len})
    with pytest.raises(KeyError, match="no exercise"):
        check.run("99.nothing", len)


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_the_notebook_grades_the_exercise_on_the_reference_solution(key):
    # the committed notebook must run clean: its answer cell assigns the reference solution, and the
    # checker cell that follows grades it (tests/test_notebooks.py re-runs the notebook)
    ex = EXERCISES[key]
    srcs = sorted((NB_DIR / "src").glob(f"{ex.notebook}_*.py"))
    assert len(srcs) == 1, srcs
    src = srcs[0].read_text(encoding="utf-8")
    name = key.split(".", 1)[1]
    graded = re.search(rf"^answer = solutions\.{name}\b.*\n\n# %%\ncheck\.grade\(ex{ex.notebook}\.{name}, answer\)$",
                       src, re.M)
    assert graded, f"{srcs[0].name} has no answer cell with the reference solution followed by its checker cell"
    assert ex.solution is getattr(sys.modules[f"exercises.solutions_{ex.notebook}"], name)
