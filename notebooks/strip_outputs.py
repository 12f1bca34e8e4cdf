"""Keep stored outputs only where nbval compares them (cells marked `# NBVAL_CHECK_OUTPUT`).

Run after re-executing a notebook in place (`jupyter execute --inplace notebooks/X.ipynb`):
`.venv/bin/python notebooks/strip_outputs.py notebooks/*.ipynb`.
"""
from __future__ import annotations

import sys

import nbformat


def strip(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "NBVAL_CHECK_OUTPUT" not in cell.source:
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        strip(p)
