"""Build the book from a tiny run set (two one-epoch runs on a few synthetic faces) and check the HTML:
every chapter is there with its tables and figures, run pages exist, and no cell failed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from resemote import plan

TINY = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 48, "n_val": 24, "n_test": 24, "seed": 0}},
    },
    "experiments": {
        "table3": {"datasets": ["fer2013", "rafdb", "affectnet", "expw"], "configs": ["C1"]},
        "table4": {"datasets": ["rafdb"], "configs": ["C1", "C2"]},
    },
}
CHAPTERS = ["index", "introduction", "method", "datasets", "setup", "results", "ablation", "audit", "compute",
            "run-pages", "references", "generated/datasets"]


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("book")
    (tmp / "plan.yml").write_text(yaml.safe_dump(TINY))
    (tmp / "data").mkdir()
    return plan.main(str(tmp / "plan.yml"), str(tmp / "runs"), str(tmp / "data"), str(tmp / "build"))


def page(html: Path, name: str) -> str:
    return (html / "book" / f"{name}.html").read_text()


def test_every_chapter_is_built_without_errors(html: Path):
    for name in CHAPTERS:
        text = page(html, name)
        for bad in ("Traceback", "output_error", "ipythontb", "Error in"):
            assert bad not in text, f"{name}.html shows {bad!r}"
    runs = sorted((html / "book" / "runs").glob("*.html"))
    assert [p.stem.split("-s0-")[0] for p in runs] == ["synthetic-C1", "synthetic-C2"]


def test_tables_and_figures(html: Path):
    results = page(html, "results")
    assert results.count("<table") >= 4
    assert "synthetic - pipeline demonstration" in results and "not run" in results
    assert "papermill notebooks/train.ipynb" in results
    assert re.search(r"synthetic-C1-s0-\w+ \(commit \w+", results)        # captions name runs and commits
    assert "<img" in results                                                 # confusion matrices
    assert "<img" in page(html, "ablation")
    method = page(html, "method")
    assert "80,238,599" in method and "2048 x 1 x 1" in method                 # generated layer table
    assert "Roy" in page(html, "references")
    run = (next((html / "book" / "runs").glob("synthetic-C1*.html"))).read_text()
    assert "<img" in run and "test accuracy" in run


def test_rebuild_skips_current_runs(html: Path, capsys):
    tmp = html.parents[1]
    plan.main(str(tmp / "plan.yml"), str(tmp / "runs"), str(tmp / "data"), build=False)
    out = capsys.readouterr().out
    assert out.count("current, skipped") == 2 and "executed train.ipynb" not in out
