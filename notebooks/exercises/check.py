"""The exercise machinery shared by every notebook.

A checker grades a learner's function: it calls it on fixed, seeded inputs and compares each result with
the library's own op and, for gradients, with central finite differences of a random upstream gradient.
Every comparison is one line (``cmp``): the name of what was compared, whether it matches exactly, its
relative error and its largest absolute difference, and OK or WRONG. ``grade`` prints the lines and
raises ``ExerciseFailed`` (an AssertionError) when any is wrong, so a failing answer shows in red in the
notebook and the lines say what is wrong; ``run`` returns the same ``Report`` without raising (the tests
use it).

To add an exercise to notebook NN: write its checker in ``exNN.py`` and register it with
``@exercise("NN.name", "title", solution=..., wrong={...})``; the reference solution and at least one
plausible wrong answer live in ``solutions_NN.py``. tests/test_exercises.py then proves that the checker
accepts the solution and rejects every wrong answer. See README.md in this folder.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Union

import numpy as np

from minialbert.gradcheck import numeric_grad, rel_error

RTOL = 1e-6          # relative error allowed against the library / finite differences (float64)


class ExerciseFailed(AssertionError):
    """The answer did not pass its checker; the message lists the failing comparisons."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One comparison of the learner's result with a reference."""
    name: str
    ok: bool
    detail: str

    def line(self, width: int = 0) -> str:
        return f"{'OK   ' if self.ok else 'WRONG'} {self.name:<{width}s} | {self.detail}"


def _as_array(a):
    return np.asarray(a) if isinstance(a, (np.ndarray, list, tuple, float, int, np.generic)) else a


def cmp(name: str, answer, reference, rtol: float = RTOL) -> Verdict:
    """Compare the learner's array with the reference array: exact equality, relative error
    ‖a − r‖ / max(‖a‖, ‖r‖) against rtol, and the largest absolute difference. A missing result, a
    wrong shape or a non-finite value is a WRONG verdict that says so."""
    if answer is None:
        return Verdict(name, False, "got None: did the function return its result?")
    a, r = _as_array(answer), np.asarray(reference)
    if not isinstance(a, np.ndarray):
        return Verdict(name, False, f"got a {type(answer).__name__}, expected an array of shape {r.shape}")
    if a.shape != r.shape:
        return Verdict(name, False, f"shape {a.shape}, expected {r.shape}")
    if not np.all(np.isfinite(a)):
        return Verdict(name, False, "holds nan or inf")
    exact = bool(np.array_equal(a, r))
    err = rel_error(a, r)
    maxdiff = float(np.max(np.abs(a - r))) if a.size else 0.0
    return Verdict(name, exact or err <= rtol,
                   f"exact {str(exact):5s} | rel. error {err:7.1e} | max|diff| {maxdiff:7.1e}")


def fact(name: str, ok: bool, detail: str) -> Verdict:
    """A verdict on something other than an array comparison (a buffer left unchanged, ...)."""
    return Verdict(name, bool(ok), detail)


def fd_grad(f: Callable[[], float], x, idx=None):
    """Central finite differences of the scalar f() with respect to x (perturbed in place and restored):
    minialbert.gradcheck.numeric_grad, as notebook 04 and the test suite use it."""
    return numeric_grad(f, x, idx)


@dataclasses.dataclass
class Report:
    """The verdicts of one exercise on one answer."""
    exercise: "Exercise"
    verdicts: List[Verdict]

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(v.ok for v in self.verdicts)

    @property
    def failures(self) -> List[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    def summary(self) -> str:
        if self.passed:
            return f"PASSED  {self.exercise.key}: {self.exercise.title} ({len(self.verdicts)} checks)"
        return (f"NOT YET {self.exercise.key}: {self.exercise.title}: {len(self.failures)} of "
                f"{len(self.verdicts)} checks wrong")

    def __str__(self) -> str:
        width = max(len(v.name) for v in self.verdicts)
        return "\n".join([v.line(width) for v in self.verdicts] + [self.summary()])


@dataclasses.dataclass(frozen=True)
class Exercise:
    """key "NN.name" (NN: the notebook), a title, the checker (answer -> list of Verdicts), the reference
    solution and the plausible wrong answers ({description: function}) the checker must reject."""
    key: str
    title: str
    checker: Callable[[Callable], List[Verdict]]
    solution: Callable
    wrong: Dict[str, Callable]

    @property
    def notebook(self) -> str:
        return self.key.split(".", 1)[0]


_REGISTRY: Dict[str, Exercise] = {}


def exercise(key: str, title: str, solution: Callable, wrong: Dict[str, Callable]):
    """Decorator: register the decorated checker as exercise `key` and return the Exercise."""
    if "." not in key or not key.split(".", 1)[0].isdigit():
        raise ValueError(f"exercise key {key!r}: expected 'NN.name', NN the notebook's number")
    if not wrong:
        raise ValueError(f"exercise {key}: give at least one plausible wrong answer the checker must reject")

    def register(checker):
        if key in _REGISTRY and _REGISTRY[key].checker.__qualname__ != checker.__qualname__:
            raise ValueError(f"exercise {key} is registered twice")
        ex = Exercise(key, title, checker, solution, dict(wrong))
        _REGISTRY[key] = ex
        return ex
    return register


def registry() -> Dict[str, Exercise]:
    """Every registered exercise (those of the exNN modules imported so far), by key."""
    return dict(_REGISTRY)


def _lookup(ex: Union[str, Exercise]) -> Exercise:
    if isinstance(ex, Exercise):
        return ex
    if ex not in _REGISTRY:
        raise KeyError(f"no exercise {ex!r}; registered: {sorted(_REGISTRY)} (import its exNN module first)")
    return _REGISTRY[ex]


def run(ex: Union[str, Exercise], answer: Optional[Callable]) -> Report:
    """Grade answer without raising: an exception inside the answer becomes a WRONG verdict."""
    ex = _lookup(ex)
    if not callable(answer):
        return Report(ex, [fact("answer", False, f"expected a function, got {type(answer).__name__}")])
    try:
        verdicts = list(ex.checker(answer))
    except NotImplementedError:
        verdicts = [fact("answer", False, "not attempted yet: the function still raises NotImplementedError")]
    except Exception as e:   # the learner's code failed: say how, as a verdict
        verdicts = [fact("answer", False, f"raised {type(e).__name__}: {e}")]
    return Report(ex, verdicts)


def grade(ex: Union[str, Exercise], answer: Optional[Callable]) -> None:
    """The notebooks' checker cell: grade answer, print one line per comparison and the verdict, and
    raise ExerciseFailed (naming the wrong comparisons) unless it passes. Returns nothing, so that the
    cell shows only the printed lines; run() returns the Report."""
    report = run(ex, answer)
    print(report)
    if not report.passed:
        raise ExerciseFailed("\n".join([report.summary()] + [v.line() for v in report.failures]))
