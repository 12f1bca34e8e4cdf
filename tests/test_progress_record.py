"""A long run carried across stops: its progress is recorded *in progress* (history so far, no test score), the
book shows its curve and never reads it as a result, and its finished record replaces it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from resemote.book import records
from resemote.book.engine import Workflow
from resemote.book import run_index
from resemote.errors import ResEmoteError
from tests.conftest import run_cli

COMMIT = "abcdef1234567"
SETTINGS = dict(config="C1", batch_size=16, lr=0.01, seed=0, device="cpu")
PLAN = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 3, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "auto"},
        "reduced": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 48, "n_val": 24, "n_test": 24, "seed": 0}},
    },
    "experiments": {"table3": {"datasets": ["fer2013"], "configs": ["C1"]}},
}


def _real(d: Path) -> Path:
    """Relabel a run on the synthetic set as a FER2013 run (FAKE: only its files' shape matters here)."""
    for name in ("params.json", "metrics.json"):
        if (d / name).is_file():
            p = json.loads((d / name).read_text())
            p.update(synthetic=None, data_fingerprint="FP1")
            (d / name).write_text(json.dumps(p))
    return d


@pytest.fixture(scope="module")
def runs(tmp_path_factory, synth_root):
    """Three run directories of C1 on the synthetic set, one seed, the same settings: `cut`, a 3-epoch run
    stopped in its third epoch (resume state after epoch 2); `done`, the same run carried to its end; and
    `short`, a finished 1-epoch run (the shorter record of the same run)."""
    import resemote.training.loop as T
    from resemote.training import RunSpec, train
    base = tmp_path_factory.mktemp("progress")
    mp = pytest.MonkeyPatch()
    mp.setattr(T, "git_commit", lambda: COMMIT)
    real, calls = T.evaluate, {"n": 0}

    def stop_in_epoch_3(model, data, **kw):
        if kw.get("ci") is False:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
        return real(model, data, **kw)
    mp.setattr(T, "evaluate", stop_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train(RunSpec("fer2013", root=synth_root, epochs=3, **SETTINGS), base / "done", state_interval=0, progress=False)
    mp.setattr(T, "evaluate", real)
    shutil.copytree(base / "done", base / "cut")
    train(RunSpec("fer2013", root=synth_root, epochs=3, **SETTINGS), base / "done", progress=False)   # resumed to its end
    train(RunSpec("fer2013", root=synth_root, epochs=1, **SETTINGS), base / "short", progress=False)
    mp.undo()
    return {k: _real(base / k) for k in ("cut", "done", "short")}


def test_an_unfinished_run_is_recorded_only_when_asked_for_its_progress(runs, tmp_path):
    cut, rec = runs["cut"], tmp_path / "rec"
    with pytest.raises(ResEmoteError, match="has not finished.*--in-progress"):
        records.publish_run(cut, rec)
    rc, out, err = run_cli("publish", str(cut), "--records", str(rec))
    assert rc == 2 and "--in-progress" in err and "Traceback" not in err and not rec.exists()

    rc, out, err = run_cli("publish", str(cut), "--records", str(rec), "--in-progress",
                           "--device", "cpu (FAKE CPU, 2 threads)")
    assert rc == 0, err
    dest = rec / "runs" / f"fer2013-C1-s0-3ep-cpu-{COMMIT[:7]}"     # the id its finished record will have
    assert "in progress, epoch 2 of 3" in out
    assert sorted(p.name for p in dest.iterdir()) == ["history.csv", "params.json", "record.json"]
    r = json.loads((dest / "record.json").read_text())
    assert r["status"] == "in progress" and r["epochs_done"] == 2 and r["epochs"] == 3
    assert r["commit"] == COMMIT and r["device"] == "cpu (FAKE CPU, 2 threads)"
    assert [p["epochs_done"] for p in r["progress"]] == [2]
    assert not any("test" in k for k in r)                                   # nothing of the test split
    assert pd.read_csv(dest / "history.csv")["epoch"].tolist() == [1, 2]
    assert str(tmp_path) not in (dest / "params.json").read_text()           # no path of this machine

    records.publish_progress(cut, rec, device="cpu (FAKE CPU, 2 threads)")  # the next stop: one more publication
    r = json.loads((dest / "record.json").read_text())
    assert len(r["progress"]) == 2


def test_the_finished_record_replaces_the_progress_and_keeps_its_stops(runs, tmp_path):
    rec = tmp_path / "rec"
    records.publish_progress(runs["cut"], rec, device="cpu (FAKE CPU, 2 threads)")
    dest = records.publish_run(runs["done"], rec)
    assert dest.name == f"fer2013-C1-s0-3ep-cpu-{COMMIT[:7]}"
    r = json.loads((dest / "record.json").read_text())
    assert "status" not in r and (dest / "metrics.json").is_file()
    assert [p["epochs_done"] for p in r["progress"]] == [2]
    assert len(pd.read_csv(dest / "history.csv")) == 3
    with pytest.raises(ResEmoteError, match="finished record of this run is already there"):
        records.publish_progress(runs["cut"], rec, device="cpu (FAKE CPU, 2 threads)")
    with pytest.raises(ResEmoteError, match="has finished; record it without --in-progress"):
        records.publish_progress(runs["done"], tmp_path / "other")


def _index(tmp_path: Path) -> list:
    from resemote.book import report
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(PLAN))
    (tmp_path / "data").mkdir(exist_ok=True)
    w = Workflow(str(tmp_path / "plan.yml"), str(tmp_path / "runs"), str(tmp_path / "data"), str(tmp_path / "b"),
                 str(tmp_path / "rec"), "auto", 0)
    entries, meta = run_index.index_entries(w)
    (tmp_path / "runs").mkdir(exist_ok=True)
    records.write_index(tmp_path / "runs" / "index.json", entries, **meta)
    return report.load_entries(tmp_path / "runs")


def test_the_book_shows_the_curve_of_a_run_in_progress_and_never_its_result(runs, tmp_path):
    from resemote.book import report
    records.publish_run(runs["short"], tmp_path / "rec")                     # the reduced budget's record
    records.publish_progress(runs["cut"], tmp_path / "rec", device="cpu (FAKE CPU, 2 threads)")
    entries = _index(tmp_path)
    going = report.in_progress(entries)
    assert [e.id for e in going] == [f"fer2013-C1-s0-3ep-cpu-{COMMIT[:7]}"]
    assert going[0].info.profile == "paper" and not going[0].finished and going[0].metrics == {}
    # not a result: the paper row stays empty, the reduced row holds the 1-epoch record
    t = report.results_table(entries)
    assert t.loc["this companion, paper protocol (80 epochs)", "FER2013"] == report.NOT_RUN
    assert t.loc["this companion, reduced budget", "FER2013"].endswith("(recorded, CPU)")
    assert going[0] not in report.select(entries, experiment="table3", synthetic=False)
    text = report.progress_markdown(entries)
    assert "in progress: epoch 2 of 3" in text and "No test accuracy exists yet" in text
    secs = pd.read_csv(runs["cut"] / "history.csv")["seconds"]
    assert f"{secs.sum() / 3600:.1f} h of training so far" in text
    # its first epoch retraces the 1-epoch record of the same run: computed here from the two histories
    a = pd.read_csv(runs["cut"] / "history.csv").set_index("epoch")
    b = pd.read_csv(runs["short"] / "history.csv").set_index("epoch")
    d = (a.loc[[1]] - b.loc[[1]]).abs()
    assert f"within {d['val_acc'].iloc[0] * 100:.2f} points of validation accuracy" in text
    assert "1-epoch record of the same run (`fer2013-C1-s0-1ep-cpu-" in text
    line = report.progress_sentence(entries)                                 # page one's line
    assert "FER2013 C1 at the paper's 3 epochs is at epoch 2 of 3" in line and "%" not in line
    verdict = report.verdict_markdown(report.Findings(entries, []))
    assert line in verdict and verdict.startswith("None of the paper's four accuracy claims has been tested")
    fig = report.progress_figure(going[0], entries)
    assert "epoch 2 of 3" in fig._suptitle.get_text()
    assert fig.axes[1].get_xlim()[1] == pytest.approx(3.5)                   # the axis runs to the last epoch
    # the run lists name it without a score
    prov = report.provenance_table(entries).set_index("run")
    assert prov.loc[going[0].id, "status"].startswith("in progress")
    assert going[0].id not in report.commands_table(entries).get("run", pd.Series(dtype=str)).tolist()


def test_a_finished_record_of_the_same_cell_supersedes_the_progress(runs, tmp_path):
    """A GPU's finished record of the same run (another id: its device) fills the cell; the CPU run's progress
    becomes history and is no longer shown as in progress."""
    from resemote.book import report
    records.publish_progress(runs["cut"], tmp_path / "rec", device="cpu (FAKE CPU, 2 threads)")
    gpu = shutil.copytree(runs["done"], tmp_path / "gpu")
    m = json.loads((gpu / "metrics.json").read_text())
    (gpu / "metrics.json").write_text(json.dumps({**m, "device": "cuda (FAKE GPU)"}))
    records.publish_run(gpu, tmp_path / "rec")
    entries = _index(tmp_path)
    assert report.in_progress(entries) == []
    assert [e.status for e in entries if e.id.endswith("-cpu-abcdef1")] == ["superseded"]
    assert report.progress_markdown(entries) == "" and report.progress_sentence(entries) == ""
    assert not [r for r in report.commands_table(entries).get("run", []) if r.endswith("-cpu-abcdef1")]
