"""nbval over notebooks/ with their small synthetic defaults: every cell runs without error, and cells
marked `# NBVAL_CHECK_OUTPUT` (dataset tables, layer tables) reproduce their stored output."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_notebooks_pass_nbval(tmp_path: Path):
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg"), str(ROOT / "notebooks")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_notebooks_are_paired_with_text_files():
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert nb.with_suffix(".py").is_file(), f"{nb.name} has no jupytext .py pair"
        text = nb.read_text()
        assert '"parameters"' in text, f"{nb.name} has no cell tagged parameters"
