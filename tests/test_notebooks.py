"""The teaching notebooks: each committed .ipynb matches its source, carries its outputs
(figures included), and runs top to bottom without error (its parity assertions included)."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRCS = sorted((ROOT / "notebooks" / "src").glob("[0-9]*.py"))

nbformat = pytest.importorskip("nbformat", reason="nbformat is installed by the [test] extra")
pytest.importorskip("nbclient", reason="nbclient is installed by the [test] extra")

_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_notebooks)


def test_there_are_notebooks():
    assert len(SRCS) >= 7, [p.name for p in SRCS]


@pytest.mark.parametrize("src", SRCS, ids=[p.stem for p in SRCS])
def test_committed_notebook_matches_source_and_has_outputs(src):
    path = build_notebooks.notebook_path(src)
    assert path.exists(), f"{path.name} not built: run python3 scripts/build_notebooks.py {src.stem[:2]}"
    committed = nbformat.read(str(path), as_version=4)
    fresh = build_notebooks.build(src)
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in fresh.cells], \
        f"{path.name} is stale: rebuild it from {src.name}"
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name} was committed without running every cell"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name} holds an error output: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, f"{path.name} shows no figure"


@pytest.mark.slow
@pytest.mark.parametrize("src", SRCS, ids=[p.stem for p in SRCS])
def test_notebook_runs(src):
    # nbclient raises CellExecutionError (with the cell and its traceback) on any failing cell,
    # which is how a failed parity assertion inside a notebook fails CI.
    build_notebooks.execute(build_notebooks.build(src), ROOT / "notebooks", timeout=600)
