"""Recorded runs (results/): what `resemote publish` accepts, and which cell of the plan a record fills -
only the one it was made for (same settings, same data fingerprint), never a synthetic one."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from resemote import results
from resemote.engine import Workflow
from resemote.errors import ResEmoteError

PLAN = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0, 1, 2], "device": "auto"},
        "reduced": {"protocol": "paper", "epochs": 3, "batch_size": 16, "seeds": [0], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 48, "n_val": 24, "n_test": 24, "seed": 0}},
    },
    "experiments": {"table3": {"datasets": ["fer2013", "rafdb"], "configs": ["C1"]}},
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory, synth_root) -> Path:
    """A real finished run directory, made by training on the synthetic set and then relabelled as a FER2013
    run (FAKE: only its files' shape matters here)."""
    from resemote.training import train
    out = tmp_path_factory.mktemp("run") / "r"
    train("fer2013", synth_root, out, epochs=1, batch_size=16, lr=0.01, device="cpu", progress=False)
    return out


def as_real(src: Path, dest: Path, *, epochs: int = 3, commit: str = "abcdef1234567", fingerprint: str = "FP1") -> Path:
    shutil.copytree(src, dest)
    for name in ("params.json", "metrics.json"):
        d = json.loads((dest / name).read_text())
        d.update(synthetic=None, epochs=epochs, lr=1e-3, data_fingerprint=fingerprint)
        if name == "metrics.json":
            d.update(git_commit=commit, epochs_run=1)
        (dest / name).write_text(json.dumps(d))
    return dest


def test_publish_validates_and_copies_only_small_text_files(finished, tmp_path):
    with pytest.raises(ResEmoteError, match="synthetic data is not recorded"):
        results.publish_run(finished, tmp_path / "rec")
    with pytest.raises(ResEmoteError, match="must name a clean commit"):
        results.publish_run(as_real(finished, tmp_path / "dirty", commit="abc-dirty"), tmp_path / "rec")
    with pytest.raises(ResEmoteError, match="has not finished"):
        d = as_real(finished, tmp_path / "unfinished")
        (d / "metrics.json").unlink()
        results.publish_run(d, tmp_path / "rec")
    with pytest.raises(ResEmoteError, match="expected a run directory"):
        results.publish_run(tmp_path / "nothing", tmp_path / "rec")
    ok = as_real(finished, tmp_path / "ok")
    root = json.loads((ok / "params.json").read_text())["root"]
    warning = f"{sys.prefix}/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning"   # seen on a real page
    elsewhere = tmp_path / "checkout" / "runs" / "ok"           # made in another checkout, as papermill says
    shutil.copytree(ok, elsewhere)
    ok = elsewhere
    papermill = {"input_path": str(tmp_path / "checkout" / "notebooks" / "train.ipynb"),
                 "output_path": str(tmp_path / "checkout" / "runs" / "_pages" / "ok.partial.ipynb")}
    (ok / "page.ipynb").write_text(json.dumps({"cells": [], "out": str(ok), "root": root, "stderr": warning,
                                               "papermill": papermill}))
    dest = results.publish_run(ok, tmp_path / "rec", release="FAKE release")
    assert dest.name == "fer2013-C1-s0-3ep-cpu-abcdef1"
    assert sorted(p.name for p in dest.iterdir()) == ["history.csv", "metrics.json", "page.ipynb", "params.json",
                                                      "record.json", "test_predictions.csv"]
    assert json.loads((dest / "page.ipynb").read_text())["out"] == "runs/ok"
    page = json.loads((dest / "page.ipynb").read_text())
    assert page["stderr"].startswith("<python>/lib/python3.11/")
    assert page["papermill"] == {"input_path": "notebooks/train.ipynb", "output_path": "runs/_pages/ok.partial.ipynb"}
    for f in dest.iterdir():                                   # no path of the machine that made it
        assert str(tmp_path) not in f.read_text() and "/tmp/" not in f.read_text(), f.name
        assert sys.prefix not in f.read_text(), f.name
    assert json.loads((dest / "params.json").read_text())["root"] == "data/fer2013"
    rec = json.loads((dest / "record.json").read_text())
    assert rec["commit"] == "abcdef1234567" and rec["data_fingerprint"] == "FP1" and rec["release"] == "FAKE release"
    assert rec["device"].startswith("cpu (")


def _workflow(tmp_path: Path, present: bool = False) -> Workflow:
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(PLAN))
    (tmp_path / "data").mkdir(exist_ok=True)
    if present:
        (tmp_path / "data" / "fer2013").mkdir(exist_ok=True)
        (tmp_path / "data" / "fer2013" / "fer2013.csv").write_text("emotion,pixels,Usage\n")
    return Workflow(str(tmp_path / "plan.yml"), str(tmp_path / "runs"), str(tmp_path / "data"), str(tmp_path / "b"),
                    str(tmp_path / "rec"), "auto", 0)


def test_a_record_fills_only_the_cell_it_was_made_for(finished, tmp_path):
    results.publish_run(as_real(finished, tmp_path / "r3"), tmp_path / "rec")             # the reduced budget
    results.publish_run(as_real(finished, tmp_path / "r5", epochs=5, commit="5555555aaaaaa"), tmp_path / "rec")
    entries, meta = _workflow(tmp_path).index_entries()
    rec = [e for e in entries if e["kind"] == "recorded"]
    assert len(rec) == 1 and rec[0]["profile"] == "reduced" and rec[0]["stands_in_for"] == ["fer2013"]
    assert rec[0]["experiments"] == ["table3"] and rec[0]["status"] == "current" and rec[0]["synthetic"] is None
    assert [u["id"] for u in meta["unplaced_records"]] == ["fer2013-C1-s0-5ep-cpu-5555555"]
    assert "match no run of the plan" in meta["unplaced_records"][0]["reason"]
    from resemote import report
    (tmp_path / "runs").mkdir(exist_ok=True)
    results.write_index(tmp_path / "runs" / "index.json", entries, **meta)
    t = report.results_table(report.load_entries(tmp_path / "runs"))
    assert t.loc["this companion, reduced budget", "FER2013"].endswith("(recorded, CPU)")
    assert t.loc["this companion, paper protocol (80 epochs)", "FER2013"] == report.NOT_RUN
    assert t.loc[f"stand-in ({report.SYNTHETIC_TAG})", "RAF-DB"] == report.NOT_RUN   # the stand-in never ran


def test_a_record_made_on_other_data_fills_no_cell(finished, tmp_path):
    results.publish_run(as_real(finished, tmp_path / "r3", fingerprint="FP-RECORDED"), tmp_path / "rec")
    w = _workflow(tmp_path, present=True)
    (tmp_path / "runs" / "_datasets").mkdir(parents=True)
    (tmp_path / "runs" / "_datasets" / "fer2013.json").write_text(json.dumps({"fingerprint": "FP-HERE"}))
    entries, meta = w.index_entries()
    assert not [e for e in entries if e["kind"] == "recorded"]
    assert "made on other data" in meta["unplaced_records"][0]["reason"]
    assert "FP-RECORDED" in meta["unplaced_records"][0]["reason"] and "FP-HERE" in meta["unplaced_records"][0]["reason"]
    (tmp_path / "runs" / "_datasets" / "fer2013.json").write_text(json.dumps({"fingerprint": "FP-RECORDED"}))
    entries, _ = w.index_entries()                                   # the same data: shown beside the live run
    assert [e["profile"] for e in entries if e["kind"] == "recorded"] == ["reduced"]
