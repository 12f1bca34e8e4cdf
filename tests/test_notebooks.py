"""nbval over notebooks/ with small settings injected into copies (notebooks/nbval_check.py): every cell
runs without error, and cells marked `# NBVAL_CHECK_OUTPUT` (dataset tables, layer tables) reproduce their
stored output. The notebooks' own defaults stay the protocol's."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
import nbval_check  # noqa: E402


def test_notebooks_pass_nbval(tmp_path: Path):
    copies = nbval_check.prepare(tmp_path)
    shutil.copy(ROOT / "notebooks" / "sanitize.cfg", tmp_path / "sanitize.cfg")
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-sanitize-with",
         str(tmp_path / "sanitize.cfg"), "--rootdir", str(tmp_path), *map(str, copies)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_notebooks_are_paired_and_their_defaults_are_the_protocols():
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert nb.with_suffix(".py").is_file(), f"{nb.name} has no jupytext .py pair"
        assert '"parameters"' in nb.read_text(), f"{nb.name} has no cell tagged parameters"
    train = (ROOT / "notebooks" / "train.py").read_text()
    assert 'epochs = -1' in train and 'lr = -1.0' in train and 'out = ""' in train and 'root = ""' in train
