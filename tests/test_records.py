"""Recorded runs (results/): what `resemote publish` accepts, and which cell of the plan a record fills -
only the one it was made for (same settings, same data fingerprint), never a synthetic one."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from resemote.book import records as results
from resemote.book.engine import Workflow
from resemote.book import run_index
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
    from resemote.training import RunSpec, train
    out = tmp_path_factory.mktemp("run") / "r"
    train(RunSpec("fer2013", root=synth_root, epochs=1, batch_size=16, lr=0.01, device="cpu"), out, progress=False)
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
    b32 = as_real(finished, tmp_path / "b32", epochs=3, commit="3232323aaaaaa")      # a batch size never planned
    for f in ("params.json", "metrics.json"):
        (b32 / f).write_text(json.dumps({**json.loads((b32 / f).read_text()), "batch_size": 32}))
    results.publish_run(b32, tmp_path / "rec")
    entries, meta = run_index.index_entries(_workflow(tmp_path))
    rec = [e for e in entries if e.kind == "recorded" and e.status == "current"]
    assert len(rec) == 1 and rec[0].profile == "reduced" and rec[0].stands_in_for == ["fer2013"]
    assert rec[0].experiments == ["table3"] and rec[0].status == "current" and rec[0].synthetic is None
    # another budget of a planned run is history (below); other settings fill no cell at all
    assert [e.id for e in entries if e.status == "superseded"] == ["fer2013-C1-s0-5ep-cpu-5555555"]
    assert [u["id"] for u in meta["unplaced_records"]] == ["fer2013-C1-s0-3ep-b32-cpu-3232323"]
    assert "match no run of the plan" in meta["unplaced_records"][0]["reason"]
    from resemote.book import report
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
    entries, meta = run_index.index_entries(w)
    assert not [e for e in entries if e.kind == "recorded"]
    assert "made on other data" in meta["unplaced_records"][0]["reason"]
    assert "FP-RECORDED" in meta["unplaced_records"][0]["reason"] and "FP-HERE" in meta["unplaced_records"][0]["reason"]
    (tmp_path / "runs" / "_datasets" / "fer2013.json").write_text(json.dumps({"fingerprint": "FP-RECORDED"}))
    entries, meta = run_index.index_entries(w)                                # the same data: shown beside the live run
    rec = [e for e in entries if e.kind == "recorded"]
    assert [e.profile for e in rec] == ["reduced"]
    # the live run of that cell is missing from this build only, and its line in the commands says so
    from resemote.book import report
    results.write_index(tmp_path / "runs" / "index.json", entries, **meta)
    cmds = report.commands_table(report.load_entries(tmp_path / "runs")).set_index("command")
    assert cmds.loc[rec[0].command, "status"] == f"not run here (recorded elsewhere: {rec[0].id})"
    assert cmds["status"].str.contains("recorded elsewhere").sum() == 1
    # and so does its row in the provenance table, while the record's own row reads current
    prov = report.provenance_table(report.load_entries(tmp_path / "runs")).set_index("run")
    live = [e.id for e in entries if e.kind != "recorded" and e.command == rec[0].command]
    assert prov.loc[live[0], "status"] == f"not run here (recorded elsewhere: {rec[0].id})"
    assert prov.loc[rec[0].id, "status"] == "current"


def _plan_with_reduced(tmp_path: Path, epochs: int) -> Workflow:
    plan = {**PLAN, "profiles": {**PLAN["profiles"], "reduced": {**PLAN["profiles"]["reduced"], "epochs": epochs}}}
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(plan))
    (tmp_path / "data").mkdir(exist_ok=True)
    return Workflow(str(tmp_path / "plan.yml"), str(tmp_path / "runs"), str(tmp_path / "data"), str(tmp_path / "b"),
                    str(tmp_path / "rec"), "auto", 0)


def _finished_at(run: Path, when: str) -> Path:
    m = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**m, "finished_at": when}))
    return run


def test_a_record_of_an_older_budget_is_kept_as_history_not_in_the_cell(finished, tmp_path):
    """The reduced profile went from 3 to 9 epochs: the 9-epoch record fills the cell, the 3-epoch one stays
    in the run list with its numbers, marked superseded; a newer record of the same run replaces an older."""
    from resemote.book import report
    old = as_real(finished, tmp_path / "r3", epochs=3, commit="3333333aaaaaa")
    _finished_at(old, "2026-01-01T00:00:00+00:00")
    results.publish_run(old, tmp_path / "rec")
    w = _plan_with_reduced(tmp_path, 9)
    entries, meta = run_index.index_entries(w)
    hist = [e for e in entries if e.kind == "recorded"]
    assert meta["unplaced_records"] == [] and [e.status for e in hist] == ["superseded"]
    assert hist[0].note == "history: made at 3 epochs; the plan now trains this run for 80 (paper), 9 (reduced) epochs"

    for name, commit, when in (("r9a", "9a9a9a9aaaaaa", "2026-02-01T00:00:00+00:00"),
                               ("r9b", "9b9b9b9bbbbbb", "2026-03-01T00:00:00+00:00")):
        run = _finished_at(as_real(finished, tmp_path / name, epochs=9, commit=commit), when)
        m = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**m, "test_accuracy": 0.25 if name == "r9a" else 0.75}))
        results.publish_run(run, tmp_path / "rec")
    entries, meta = run_index.index_entries(w)
    (tmp_path / "runs").mkdir(exist_ok=True)
    results.write_index(tmp_path / "runs" / "index.json", entries, **meta)
    loaded = report.load_entries(tmp_path / "runs")
    by_id = {e.info.record["commit"]: e for e in loaded if e.recorded}
    assert by_id["9b9b9b9bbbbbb"].status == "current"                      # the newest record of the cell
    assert by_id["9a9a9a9aaaaaa"].status == "superseded" and by_id["3333333aaaaaa"].status == "superseded"
    assert "newer record fer2013-C1-s0-9ep-cpu-9b9b9b9" in by_id["9a9a9a9aaaaaa"].info.note
    t = report.results_table(loaded)
    assert t.loc["this companion, reduced budget", "FER2013"] == "75.00 (recorded, CPU)"   # one seed, counted once
    prov = report.provenance_table(loaded).set_index("status")
    old_row = prov.loc[[s for s in prov.index if s.startswith("superseded: history: made at 3 epochs")][0]]
    assert old_row["kind"] == "recorded (history)" and old_row["test acc. (%)"] != ""
    assert not report.commands_table(loaded).get("status", []).__contains__("superseded")


def _dataset_record(records: Path, fingerprint: str) -> None:
    d = records / "datasets" / "fer2013"
    d.mkdir(parents=True)
    (d / "summary.json").write_text("{}")
    (d / "record.json").write_text(json.dumps({"id": "fer2013", "kind": "dataset", "dataset": "fer2013",
                                               "release": "FAKE release", "data_fingerprint": fingerprint}))


def test_publishing_a_gpu_calls_archive_records_the_valid_runs_and_refuses_the_rest(finished, tmp_path):
    import subprocess
    import tarfile
    from conftest import run_cli
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                          cwd=Path(results.__file__).parents[1]).stdout.strip()
    runs = tmp_path / "device" / "runs"
    ok = as_real(finished, runs / "fer2013-C1-s0-x", epochs=80, commit=head)
    b32 = as_real(finished, runs / "fer2013-C1-s0-b32", epochs=80, commit=head)
    for f in ("params.json", "metrics.json"):
        p = b32 / f
        p.write_text(json.dumps({**json.loads(p.read_text()), "batch_size": 32}))
    unfinished = as_real(finished, runs / "fer2013-C1-s1-x", epochs=80, commit=head)
    (unfinished / "metrics.json").unlink()
    (unfinished / "state.pt").write_bytes(b"resume state")             # never packed
    subset = as_real(finished, runs / "fer2013-C1-s2-x", epochs=80, commit=head, fingerprint="FP-SUBSET")
    stranger = as_real(finished, runs / "fer2013-vgg-s0-x", epochs=80, commit="0123456789ab")
    synthetic = runs / "fer2013-cnn-s0-x"
    shutil.copytree(finished, synthetic)
    archive = tmp_path / "out" / "runs.tar.gz"
    members = results.pack_runs([ok, b32, unfinished, subset, stranger, synthetic], archive)
    assert "runs/fer2013-C1-s1-x/history.csv" in members and "runs/fer2013-C1-s1-x/params.json" in members
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert not [n for n in names if n.endswith((".safetensors", ".pt"))]   # no weights, no resume state

    records = tmp_path / "results"
    _dataset_record(records, "FP1")
    code, out, err = run_cli("publish", str(archive), "--records", str(records))
    assert code == 1
    made = sorted(p.name for p in (records / "runs").iterdir())
    assert made == [f"fer2013-C1-s0-80ep-b32-cpu-{head[:7]}", f"fer2013-C1-s0-80ep-cpu-{head[:7]}"]
    rec = json.loads((records / "runs" / made[1] / "record.json").read_text())
    assert rec["release"] == "FAKE release" and rec["source"] == "fer2013-C1-s0-x" and rec["commit"] == head
    lines = err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("resemote: not recorded: runs.tar.gz:runs/") for line in lines)
    why = {line.split(":")[3].split("/")[1]: line for line in lines}
    assert "has not finished (no metrics.json; 1 of 80 epochs in history.csv)" in why["fer2013-C1-s1-x"]
    assert "fingerprint FP-SUBSET, not the recorded FAKE release (FP1)" in why["fer2013-C1-s2-x"]
    assert "commit 0123456789ab, which this repository does not have" in why["fer2013-vgg-s0-x"]
    assert "synthetic data is not recorded" in why["fer2013-cnn-s0-x"]
    assert str(tmp_path) not in err and "/tmp/" not in err                  # one line each, no local paths
    assert f"recorded runs.tar.gz:fer2013-C1-s0-x in {records}/runs/{made[1]}" in out

    # nothing valid: nothing written, nothing already there lost; a broken archive is one line, exit 2
    before = sorted(p.name for p in (records / "runs").iterdir())
    only_bad = results.pack_runs([unfinished, subset], tmp_path / "bad.tar.gz")
    assert only_bad and run_cli("publish", str(tmp_path / "bad.tar.gz"), "--records", str(records))[0] == 1
    assert sorted(p.name for p in (records / "runs").iterdir()) == before
    (tmp_path / "junk.tar.gz").write_text("not an archive")
    code, _, err = run_cli("publish", str(tmp_path / "junk.tar.gz"), "--records", str(records))
    assert code == 2 and err.count("\n") == 1 and "expected a tar archive of run directories" in err
    # without a recorded dataset there is nothing to check the data against
    with pytest.raises(ResEmoteError, match="expected run directories"):
        results.publish_archive(_empty_tar(tmp_path / "empty.tar.gz"), records)
    written, refused = results.publish_archive(archive, tmp_path / "no-datasets")
    assert written == [] and all("no recorded FER2013 in" in r for r in refused[:1])


def _empty_tar(path: Path) -> Path:
    import tarfile
    with tarfile.open(path, "w:gz"):
        pass
    return path


def test_an_index_entry_round_trips_and_an_older_index_still_loads():
    e = results.IndexEntry(id="x", kind=results.RECORDED, status=results.CURRENT, params={"epochs": 9},
                           cross={"ckplus": "x/cross/ckplus.json"}, record={"id": "x", "commit": "abc"})
    assert results.IndexEntry.from_json(json.loads(json.dumps(e.to_json()))) == e
    # an index written before the entries were typed: flat settings beside the entry's keys, left out
    old = {"id": "y", "kind": "live", "status": "not run", "epochs": 80, "protocol": "paper", "leak_copies": 1}
    assert results.IndexEntry.from_json(old) == results.IndexEntry(id="y", kind="live", status="not run")
