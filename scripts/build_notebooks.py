"""Build notebooks/NN_name.ipynb from notebooks/src/NN_name.py and execute them in place.

The sources are plain Python in the "percent" format, so they diff and review like code:

    # %% [markdown]
    # # A title
    # Some *markdown*, each line behind "# ".

    # %%
    x = 1 + 1          # a code cell

    python3 scripts/build_notebooks.py                  # build and execute every notebook
    python3 scripts/build_notebooks.py 03 04            # only those whose name starts with 03 or 04
    python3 scripts/build_notebooks.py --no-execute     # cells only, no outputs

Execution uses nbclient with the notebook's folder as working directory; outputs (figures
included) are stored in the .ipynb, so they show when the repository is browsed.
tests/test_notebooks.py checks that each committed .ipynb matches its source and re-runs it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
SRC_DIR = NB_DIR / "src"


def parse_percent(text: str) -> list[tuple[str, str]]:
    """[(kind, source)] with kind "markdown" or "code", from percent-format text."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
            continue
        if not cells:
            if line.strip():          # a module docstring or comment before the first cell
                cells.append(("code", []))
            else:
                continue
        cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines]
        src = "\n".join(lines).strip("\n")
        if src.strip():
            out.append((kind, src))
    return out


def build(src: Path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, text in parse_percent(src.read_text(encoding="utf-8")):
        nb.cells.append(nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text))
    return nb


def execute(nb, cwd: Path, timeout: int = 900):
    from nbclient import NotebookClient
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def notebook_path(src: Path) -> Path:
    return NB_DIR / (src.stem + ".ipynb")


def main(argv=None) -> int:
    import nbformat
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("only", nargs="*", help="name prefixes (e.g. 03)")
    ap.add_argument("--no-execute", action="store_true")
    a = ap.parse_args(argv)
    srcs = sorted(p for p in SRC_DIR.glob("[0-9]*.py") if not a.only or any(p.name.startswith(o) for o in a.only))
    if not srcs:
        print("no notebook sources matched", file=sys.stderr)
        return 2
    for src in srcs:
        nb = build(src)
        if not a.no_execute:
            print(f"executing {src.name} ...", flush=True)
            execute(nb, NB_DIR)
        dst = notebook_path(src)
        tmp = dst.with_suffix(".ipynb.tmp")
        nbformat.write(nb, str(tmp))
        tmp.replace(dst)
        print(f"wrote {dst.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
