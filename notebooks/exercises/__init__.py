"""Exercises for the teaching notebooks (not part of the installed package).

check.py        the machinery: cmp(), Verdict, Report, the Exercise registry, run() and grade()
exNN.py         the checkers of notebook NN's exercises (each registered with @check.exercise)
solutions_NN.py the reference solutions of notebook NN, and plausible wrong answers the checkers must reject

The notebooks run with notebooks/ as working directory, so `from exercises import check` works there;
tests/test_exercises.py puts notebooks/ on sys.path. See README.md in this folder.
"""
