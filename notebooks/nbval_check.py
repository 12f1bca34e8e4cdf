"""The small, fast settings nbval checks the notebooks with, kept out of their user-facing defaults (which
are the protocol's: 80 epochs on data/<dataset>).

`prepare(DIR)` writes a tiny synthetic dataset and a copy of each notebook whose parameters cell ends with
these settings (what papermill's injection would do), for `pytest --nbval-lax` to execute
(tests/test_notebooks.py). After changing a notebook, refresh the outputs nbval compares (cells marked
`# NBVAL_CHECK_OUTPUT`) with `.venv/bin/python notebooks/nbval_check.py --refresh`.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SYNTHETIC = (100, 40, 60, 0)  # train, val, test, seed


def settings(d: Path) -> dict[str, dict]:
    root = str(d / "synthetic")
    return {
        "train.ipynb": {"root": root, "epochs": 1, "lr": 0.01, "device": "cpu", "out": str(d / "run")},
        "datasets.ipynb": {"root": root, "name": "synthetic-100-40-60-s0", "out": str(d / "datasets.json"),
                           "per_class": 2},
        "model.ipynb": {},
    }


def prepare(d: Path) -> list[Path]:
    """The synthetic data and the parameterised copies of every notebook in `d`."""
    from resemote.data.synthetic import write_synthetic
    d.mkdir(parents=True, exist_ok=True)
    write_synthetic(d / "synthetic", *SYNTHETIC[:3], seed=SYNTHETIC[3])
    out = []
    for name, params in settings(d).items():
        nb = nbformat.read(str(HERE / name), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        if params:
            cell.source += "\n# settings for the nbval check (notebooks/nbval_check.py)\n" + "\n".join(
                f"{k} = {v!r}" for k, v in params.items())
        nbformat.write(nb, str(d / name))
        out.append(d / name)
    return out


def refresh() -> None:
    """Execute the parameterised copies and store the outputs of their checked cells in notebooks/."""
    from nbclient import NotebookClient
    with tempfile.TemporaryDirectory() as tmp:
        for copy in prepare(Path(tmp)):
            nb = nbformat.read(str(copy), as_version=4)
            NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(HERE.parent)}}).execute()
            original = nbformat.read(str(HERE / copy.name), as_version=4)
            for c, o in zip(nb.cells, original.cells):
                if o.cell_type == "code":
                    checked = "NBVAL_CHECK_OUTPUT" in o.source
                    o.outputs, o.execution_count = (c.outputs, c.execution_count) if checked else ([], None)
                    o.metadata.pop("execution", None)
            nbformat.write(original, str(HERE / copy.name))
            print(f"refreshed {copy.name}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--refresh"]:
        refresh()
    else:
        sys.exit(__doc__)
