import os
import sys
from pathlib import Path

import pytest

# every test gets its own decode cache, so no test sees another's files
@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A small synthetic FER2013-layout dataset shared by the tests that only read it."""
    from resemote.data.synthetic import write_synthetic
    root = tmp_path_factory.mktemp("synth")
    write_synthetic(root, n_train=64, n_val=24, n_test=24, seed=0)
    return root


def run_cli(*args: str, cwd=None, env=None):
    """Run `python -m resemote ARGS` in a subprocess: (returncode, stdout, stderr)."""
    import subprocess
    e = dict(os.environ, **(env or {}))
    p = subprocess.run([sys.executable, "-m", "resemote", *args], capture_output=True, text=True, cwd=cwd, env=e)
    return p.returncode, p.stdout, p.stderr
