"""resemote.book.book_command: what `make book` says before it trains anything."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from resemote.book import book_command as driver, plan
from resemote.book.engine import Workflow

from test_plan import TINY


def workflow(tmp_path: Path) -> SimpleNamespace:
    runs = plan.resolve(TINY, {"fer2013"}, "reduced", tmp_path / "data", tmp_path / "runs")
    return SimpleNamespace(runs=runs, present={"fer2013"}, profile_used="reduced", why="as requested",
                           runs_dir="runs", data_dir="data", plan=TINY, path=lambda p: tmp_path / p,
                           run_target=lambda rid: Workflow.run_target(SimpleNamespace(runs_dir="runs"), rid))


def test_a_finished_run_is_named_as_kept_and_left_out_of_the_estimate(tmp_path, monkeypatch):
    w = workflow(tmp_path)
    real = [r for r in w.runs if not r.synthetic]
    assert len(real) == 1
    timed_configs = []
    monkeypatch.setattr(driver, "seconds_per_image", lambda *key: timed_configs.append(key) or 0.05)
    monkeypatch.setattr("resemote.analysis.stats.dataset_stats",
                        lambda name, root: {"splits": {"train": {"a": 1000}, "val": {"a": 100}, "test": {"a": 100}}})

    todo = driver.describe(w, driver.estimates(w))
    expected = plan.estimate_seconds(real[0], {"train": 1000, "val": 100, "test": 100}, 0.05)
    assert f"{real[0].id}: FER2013 C1 seed 0, {real[0].budget()}: about {plan.format_duration(expected)} here" in todo
    assert f"the 1 real-data run(s) still to train: {plan.format_duration(expected)}" in todo

    (tmp_path / "runs" / real[0].id).mkdir(parents=True)
    (tmp_path / "runs" / real[0].id / "metrics.json").write_text("{}")
    timed_configs.clear()
    done = driver.describe(w, driver.estimates(w))
    assert f"{real[0].id}: FER2013 C1 seed 0, {real[0].budget()}: finished (runs/{real[0].id}), kept" in done
    assert "the 0 real-data run(s) still to train: 0 s" in done
    assert timed_configs == []  # nothing timed for a finished run
