"""The library as a wheel: built from the package's files alone, installed (not editable) into a folder of its
own, and used from a folder outside any checkout. The library's commands work there; the book's say in one
line that they need a checkout."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # only what the wheel is built from: no runs.yml, workflow/, book/ or notebooks/
    shutil.copytree(REPO / "resemote", src / "resemote", ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / f, src / f)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"),
                    str(src)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp / "dist").glob("resemote-*.whl"))
    site = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)], check=True,
                   capture_output=True, timeout=300)
    work = tmp / "work"  # outside any checkout
    work.mkdir()
    # the wheel's package first; its dependencies (torch, ...) from this environment
    env = {**os.environ, "PYTHONPATH": str(site), "RESEMOTE_CACHE": str(tmp / "cache"), "OMP_NUM_THREADS": "1"}
    return {"wheel": wheel, "site": site, "work": work, "env": env}


def _resemote(inst: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resemote", *args], cwd=inst["work"], env=inst["env"],
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_holds_the_package_and_its_command(installed):
    import zipfile
    members = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "resemote/models/resemotenet.py" in members and "resemote/book/report/entries.py" in members
    entry = next(m for m in members if m.endswith("entry_points.txt"))
    assert "resemote = resemote.cli:main" in zipfile.ZipFile(installed["wheel"]).read(entry).decode()
    p = subprocess.run([sys.executable, "-c", "import resemote.models; print(resemote.models.__file__)"],
                       cwd=installed["work"], env=installed["env"], capture_output=True, text=True, check=True)
    assert Path(p.stdout.strip()).is_relative_to(installed["site"])  # the installed copy, not the checkout


def test_synth_train_evaluate_and_predict_work_outside_a_checkout(installed):
    from skimage import data
    from PIL import Image
    p = _resemote(installed, "synth", "--out", "synth", "--n-train", "42", "--n-val", "14", "--n-test", "14",
                  "--seed", "0")
    assert p.returncode == 0, p.stderr
    p = _resemote(installed, "train", "--dataset", "fer2013", "--root", "synth", "--config", "cnn", "--epochs", "1",
                  "--lr", "0.01", "--device", "cpu", "--out", "run")
    assert p.returncode == 0, p.stderr[-2000:]
    metrics = json.loads((installed["work"] / "run" / "metrics.json").read_text())
    assert metrics["config"] == "cnn" and sum(map(sum, metrics["confusion_matrix"])) == 14
    assert metrics["git_commit"] == "unknown"  # no checkout, no commit to name
    p = _resemote(installed, "evaluate", "--checkpoint", "run/model.safetensors", "--dataset", "fer2013",
                  "--root", "synth", "--split", "test", "--json")
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["accuracy"] == pytest.approx(metrics["test_accuracy"])
    Image.fromarray(data.astronaut()).save(installed["work"] / "astronaut.png")
    p = _resemote(installed, "predict", "astronaut.png", "--checkpoint", "run/model.safetensors", "--out", "annotated",
                  "--json")
    assert p.returncode == 0, p.stderr[-2000:]
    assert (installed["work"] / "annotated").is_dir() and "astronaut" in p.stdout


@pytest.mark.parametrize("args", [("book", "--dry-run"), ("publish", "run")])
def test_the_book_commands_say_in_one_line_that_they_need_a_checkout(installed, args):
    p = _resemote(installed, *args)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert "checkout of the companion repository" in p.stderr and "runs.yml" in p.stderr
