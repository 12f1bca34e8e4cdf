"""resemote.perf.gpuplan: which runs one GPU call starts, how many side by side, and when each should end.

Every timing here is MADE UP (a calibration written by hand); the expected durations are worked out by hand
from the formula in the module docstring, not by calling the code under test.
"""
from __future__ import annotations

import pytest

from resemote.perf import gpuplan as G
from resemote.book import plan as P
from resemote.training import RunSpec
from resemote.errors import ResEmoteError

SPLITS = {"train": 1600, "val": 100, "test": 100}          # 100 steps per epoch at batch 16
CAL = {  # MADE UP: seconds per step alone and side by side
    "startup_s": 10.0,
    "keys": {
        "C1@16": {"step_s": {"1": 0.002, "2": 0.003, "4": 0.005}, "val_s": 1.0, "final_s": 5.0},
        "cnn@16": {"step_s": {"1": 0.001, "2": 0.0011, "4": 0.0015}, "val_s": 0.5, "final_s": 2.0},
    },
}


def run(config: str, seed: int, epochs: int = 10, batch_size: int = 16) -> P.PlannedRun:
    return P.PlannedRun(RunSpec("fer2013", config, "paper", epochs, batch_size, seed=seed), "paper")


C1 = [run("C1", s) for s in (0, 1, 2)]


def names(p: dict, key: str = "runs") -> list[str]:
    """The planned (or not started) runs' config and seed, in order ('C1-s0'): an id ends in a digest."""
    return [x["id"].split("-", 1)[1].rsplit("-", 1)[0] for x in p[key]]


def test_steps_and_interpolated_step_times():
    assert G.steps_per_epoch(28709, 16) == 1795          # 1794 full batches and one of 5
    assert G.steps_per_epoch(17, 16) == 1                # a last batch of one joins the one before
    assert G.steps_per_epoch(18, 16) == 2 and G.steps_per_epoch(5, 16) == 1
    e = CAL["keys"]["C1@16"]
    assert G.step_seconds(e, 1) == 0.002 and G.step_seconds(e, 3) == pytest.approx(0.004)
    assert G.step_seconds(e, 5) is None                  # beyond what was measured: no guess


def test_run_seconds_follows_the_documented_model():
    # C1, 10 epochs, 2 side by side: step 3 ms, validation 1.0 s x 3/2; (10 + 10 x (100 x 0.003 + 1.5) + 5) x 1.1
    assert G.run_seconds(CAL, C1[0], 2, SPLITS) == pytest.approx(33.0 * 1.1)
    assert G.run_seconds(CAL, C1[0], 1, SPLITS, margin=0) == pytest.approx(27.0)
    assert G.run_seconds(CAL, run("vgg", 0), 1, SPLITS) is None          # never calibrated
    assert G.run_seconds(CAL, run("C1", 0, batch_size=32), 1, SPLITS) is None


def test_the_plan_packs_the_gpu_and_chooses_the_earliest_finish():
    runs = C1 + [run("cnn", 0)]
    p = G.plan(CAL, runs, 75.0, SPLITS)
    # k=1 starts two C1 seeds; k=2, 3 and 4 start all four; k=4 ends first (49.5 s: C1 at 4 side by side)
    assert {a["k"]: a["started"] for a in p["alternatives"]} == {1: 2, 2: 4, 3: 4, 4: 4}
    assert p["k"] == 4 and p["makespan_s"] == pytest.approx(45.0 * 1.1)
    assert names(p) == ["C1-s0", "C1-s1", "C1-s2", "cnn-s0"]
    assert all(x["start_s"] == 0 for x in p["runs"]) and p["not_started"] == []


def test_a_run_predicted_not_to_finish_is_not_started():
    runs = C1 + [run("cnn", 0)]
    p = G.plan(CAL, runs, 40.0, SPLITS)
    # k=2: seeds 0 and 1 end at 36.3 s; seed 2 (36.3 s more) and cnn (20.46 s more) would end after 40 s
    assert p["k"] == 2 and names(p) == ["C1-s0", "C1-s1"]
    assert names(p, "not_started") == ["C1-s2", "cnn-s0"]
    assert "would end after the budget (40 s)" in p["not_started"][0]["reason"]
    assert all(x["finish_s"] <= 40.0 for x in p["runs"])
    # with three side by side no C1 fits (42.9 s each) but the shorter, later cnn run does
    k3 = G.simulate(CAL, runs, 3, 40.0, SPLITS)
    assert names(k3) == ["cnn-s0"] and k3["runs"][0]["finish_s"] == pytest.approx(19.8 * 1.1)
    # nothing fits: nothing starts
    assert G.plan(CAL, runs, 10.0, SPLITS)["runs"] == []


def test_priority_beats_the_number_of_runs():
    cal = {"startup_s": 10.0, "keys": {"C1@16": {"step_s": {"1": 0.002}, "val_s": 1.0, "final_s": 5.0},
                                       "cnn@16": CAL["keys"]["cnn@16"]}}
    runs = [run("C1", 0)] + [run("cnn", s) for s in (0, 1, 2)]
    p = G.plan(cal, runs, 30.0, SPLITS)
    # k=1: C1 seed 0 alone (29.7 s); k=4: the three cnn runs (C1 not calibrated side by side): C1 comes first
    assert {a["k"]: a["started"] for a in p["alternatives"]}[4] == 3
    assert p["k"] == 1 and names(p) == ["C1-s0"]
    assert "not calibrated" in G.simulate(cal, runs, 2, 30.0, SPLITS)["not_started"][0]["reason"]


def test_memory_caps_the_processes_side_by_side():
    cal = {**CAL, "gpu_memory_gib": 10.0, "keys": {**CAL["keys"], "C1@16": {**CAL["keys"]["C1@16"], "memory_gib": 4.0}}}
    assert G.fits_memory(cal, C1[0], 2) and not G.fits_memory(cal, C1[0], 3)   # 12 GiB > 90% of 10
    s = G.simulate(cal, C1, 4, 1000.0, SPLITS)
    assert s["runs"] == [] and "memory" in s["not_started"][0]["reason"]


def test_pick_takes_the_first_run_that_still_fits():
    rs = [(run("C1", 0), 50.0), (run("cnn", 0), 20.0), (run("cnn", 1), None)]
    assert G.pick(rs, 0.0, 60.0) == 0
    assert G.pick(rs, 20.0, 60.0) == 1          # C1 would end at 70 s
    assert G.pick(rs, 45.0, 60.0) is None       # the uncalibrated run is never picked


PLAN = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0, 1, 2], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 40, "n_val": 20, "n_test": 20, "seed": 0}},
    },
    "experiments": {
        "table3": {"datasets": ["fer2013"], "configs": ["C1"]},
        "baselines": {"datasets": ["fer2013"], "configs": ["C1", "cnn"], "profiles": ["paper"]},
        "sensitivity": {"datasets": ["fer2013"], "configs": ["C1"], "vary": {"batch_size": [16, 64, 32]}},
    },
    "gpu": {"dataset": "fer2013", "profile": "paper", "priority": [
        {"experiment": "table3", "configs": ["C1"]},
        {"experiment": "baselines", "configs": ["cnn"], "seeds": [0]},
        {"experiment": "sensitivity", "configs": ["C1"], "batch_size": [32, 64], "seeds": [0]}]},
}


def test_candidates_come_from_the_plan_in_priority_order(tmp_path):
    rs = G.candidates(PLAN, tmp_path / "data", tmp_path / "runs")
    assert [(r.config, r.seed, r.batch_size) for r in rs] == [("C1", 0, 16), ("C1", 1, 16), ("C1", 2, 16),
                                                               ("cnn", 0, 16), ("C1", 0, 32), ("C1", 0, 64)]
    planned = {r.id for r in P.resolve(PLAN, {"fer2013"}, "paper", tmp_path / "data", tmp_path / "runs")}
    assert {r.id for r in rs} <= planned                    # the ids `make book PROFILE=paper` gives them
    assert rs[0].epochs == 80 and G.train_args(rs[4])[-6:] == ["--batch-size", "32", "--seed", "0",
                                                                 "--image-size", "64"]
    short = G.candidates(PLAN, tmp_path / "data", tmp_path / "runs", epochs=1)
    assert short[0].epochs == 1 and short[0].id != rs[0].id  # another budget is another run
    bad = {**PLAN, "gpu": {"priority": [{"experiment": "leakage", "configs": ["C1"]}]}}
    with pytest.raises(ResEmoteError, match="item 1: expected an experiment of the plan, got 'leakage'"):
        G.candidates(bad)
    none = {**PLAN, "gpu": {"priority": [{"experiment": "baselines", "configs": ["vgg"]}]}}
    with pytest.raises(ResEmoteError, match="plans no such run on fer2013"):
        G.candidates(none)


def test_the_repository_plan_lists_c1_seeds_first():
    rs = G.candidates(P.load_plan())
    assert [(r.config, r.seed) for r in rs[:3]] == [("C1", 0), ("C1", 1), ("C1", 2)]
    assert all(r.epochs == 80 and r.dataset == "fer2013" and r.profile == "paper" for r in rs)
    # then the leak doses (the fraction 0 run is C1's seed 0 itself), each leaking the test images as-is
    assert [(r.config, r.seed, r.spec.experiment().get("leak_test_fraction", 0), r.spec.experiment().get("leak_copies")) for r in rs[3:6]] == [
        ("C1", 0, 0.1, "as-is"), ("C1", 0, 0.25, "as-is"), ("C1", 0, 0.5, "as-is")]
    assert [r.config for r in rs[6:10]] == ["resnet18", "vgg", "cnn", "cnn-se"]
    assert [r.config for r in rs[10:15]] == ["C2", "C3", "C4", "C5", "C6"]
    assert [r.batch_size for r in rs[15:]] == [32, 64, 128]
    assert all(not r.spec.experiment().get("leak_test_fraction", 0) for r in rs[6:])
    # the launcher's command makes the leak run, and the planner times its larger training split
    assert G.train_args(rs[4])[-4:] == ["--leak-test-fraction", "0.25", "--leak-copies", "as-is"]
    assert "--leak-test-fraction" not in G.train_args(rs[0])
    cal = {"keys": {G.run_key(r): {"step_s": {"1": 0.01}, "val_s": 0.0} for r in rs}}
    sizes = {"train": 1600, "val": 0, "test": 640}
    base, leak = (G.run_seconds(cal, r, 1, sizes, margin=0) for r in (rs[0], rs[4]))
    assert abs(base - 80 * 100 * 0.01) < 1e-6 and abs(leak - 80 * 110 * 0.01) < 1e-6


def test_calibration_times_each_network_alone_and_side_by_side_on_the_cpu():
    """resemote.perf.gpucalib on two CPU worker processes (one spawn: ~15 s on two quiet cores): the figures the
    planner reads, and a failing network recorded with its error while the next is still timed."""
    from resemote.perf.gpucalib import calibrate
    lines: list[str] = []
    cal = calibrate([("no-such-net", 2), ("cnn", 2)], [1, 2], device="cpu", sizes={"train": 8, "val": 4, "test": 4},
                    image_size=32, seconds=0.02, warmup=1, threads=1, log=lines.append)
    assert cal["workers"] == 2 and cal["split_sizes"] == {"train": 8, "val": 4, "test": 4}
    assert cal["startup_s"] > 0 and cal["device"].startswith("cpu") and cal["not_calibrated"] == []
    assert "no-such-net" in cal["keys"]["no-such-net@2"]["error"]
    cnn = cal["keys"]["cnn@2"]
    assert set(cnn["step_s"]) == {"1", "2"} and all(s > 0 for s in cnn["step_s"].values())
    assert cnn["val_s"] > 0 and cnn["final_s"] > 0 and cnn["compiled"] is False
    r = run("cnn", 0, epochs=1, batch_size=2)
    assert G.run_seconds(cal, r, 2, cal["split_sizes"]) > G.run_seconds(cal, r, 2, cal["split_sizes"], margin=0) > 0
    assert G.run_seconds(cal, run("no-such-net", 0, batch_size=2), 1, cal["split_sizes"]) is None
    assert any(line.startswith("calibration: cnn@2 in") for line in lines)


FAKE_TRAIN = '''#!{python}
"""A FAKE `python -m resemote train`: seed 0 ends at once, seed 1 trains until it is interrupted."""
import json, sys, time
from pathlib import Path
args = sys.argv[4:]                                  # after -m resemote train
opt = dict(zip(args[::2], args[1::2]))
out = Path(opt["--out"])
out.mkdir(parents=True, exist_ok=True)
(out / "params.json").write_text(json.dumps({{"config": opt["--model"], "seed": int(opt["--seed"]),
    "epochs": int(opt["--epochs"]), "batch_size": int(opt["--batch-size"]), "split_sizes": {{"train": 16}}}}))
(out / "history.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\\n1,0.001,1,0.5,1,0.5,0.1\\n")
print("FAKE training", opt["--model"], "seed", opt["--seed"], flush=True)
if opt["--seed"] == "0":
    (out / "metrics.json").write_text(json.dumps({{"train_seconds": 0.1, "test_accuracy": 0.5}}))
    sys.exit(0)
try:
    time.sleep(600)
except KeyboardInterrupt:                            # SIGINT: resemote train stops cleanly, exit 130
    (out / "state.pt").write_bytes(b"resume state")
    sys.exit(130)
'''


def test_the_launcher_runs_the_plan_side_by_side_and_stops_at_the_budget(tmp_path):
    """benchmarks/gpu_check.py launch with a FAKE trainer and a MADE-UP calibration: two runs side by side,
    the one predicted to end after the budget never starts, the one still going at the budget's end is
    interrupted and recorded as unfinished; then pack and summary."""
    import importlib.util
    import json
    import sys
    from pathlib import Path

    import yaml
    spec = importlib.util.spec_from_file_location("gpu_check", Path(__file__).parents[1] / "benchmarks" / "gpu_check.py")
    gc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gc)
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(PLAN))
    cal = {"startup_s": 0.0, "split_sizes": {"train": 16, "val": 8, "test": 8},
           "keys": {"C1@16": {"step_s": {"1": 1.0, "2": 1.0}, "val_s": 0.0, "final_s": 0.0},   # 1.1 s each
                    "cnn@16": {"step_s": {"1": 100.0, "2": 100.0}, "val_s": 0.0, "final_s": 0.0}}}  # 110 s
    (tmp_path / "cal.json").write_text(json.dumps(cal))
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_TRAIN.format(python=sys.executable))
    fake.chmod(0o755)
    common = ["--plan", str(tmp_path / "plan.yml"), "--epochs", "1", "--calibration", str(tmp_path / "cal.json")]
    gc.main(["launch", *common, "--budget", "6", "--root", str(tmp_path / "data"), "--runs", str(tmp_path / "runs"),
             "--log", str(tmp_path / "launch.json"), "--device", "cpu", "--grace", "10", "--python", str(fake)])
    log = json.loads((tmp_path / "launch.json").read_text())
    assert log["k"] == 2        # seeds 0 and 1 at once, then seed 2: ends at 2.2 s, not 3.3 s one by one
    by_key: dict = {}
    for r in log["runs"]:
        by_key.setdefault(r["key"], []).append(r)
    s0, s1, s2 = sorted(by_key["C1@16"], key=lambda r: r["started_s"])
    assert s0["status"] == "finished" and s0["exit"] == 0 and s0["started_s"] < 2 and s1["started_s"] < 2
    assert {s0["slot"], s1["slot"]} == {0, 1} and s2["slot"] == s0["slot"] and s2["started_s"] >= s0["ended_s"]
    for r in (s1, s2):
        assert r["status"] == "stopped at the budget (unfinished)" and r["exit"] == 130 and r["ended_s"] >= 6
    # C1 at batch 32 and 64 were never calibrated; cnn would end long after the budget
    assert {r["key"]: r["status"] for r in log["runs"] if r["key"] != "C1@16"} == \
        {"cnn@16": "not started", "C1@32": "not started", "C1@64": "not started"}
    assert by_key["cnn@16"][0]["reason"] == "predicted to end after the budget"
    runs = tmp_path / "runs"
    assert (runs / s1["id"] / "state.pt").is_file() and not (runs / s1["id"] / "metrics.json").exists()
    assert "FAKE training C1 seed 1" in (runs / s1["id"] / "train.log").read_text()

    gc.main(["pack", "--runs", str(runs), "--out", str(tmp_path / "out" / "runs.tar.gz")])
    import tarfile
    with tarfile.open(tmp_path / "out" / "runs.tar.gz") as tar:
        names = set(tar.getnames())
    assert f"runs/{s1['id']}/history.csv" in names and f"runs/{s0['id']}/metrics.json" in names
    assert not any(n.endswith("state.pt") for n in names)
    gc.main(["summary", "--out", str(tmp_path / "s.json"), "--runs", str(runs), "--launch", str(tmp_path / "launch.json"),
             "--calibration", str(tmp_path / "cal.json"), "--started", "0"])
    s = json.loads((tmp_path / "s.json").read_text())
    got = {r["name"]: r for r in s["runs"]}
    assert got[s0["id"]]["finished"] and got[s0["id"]]["predicted_s"] == pytest.approx(1.1)
    assert not got[s1["id"]]["finished"] and got[s1["id"]]["status"].startswith("stopped")
    assert [t["met"] for t in s["targets"]][:2] == [None, None]   # 16 training images, 1 epoch: not judged
    assert {r["id"] for r in s["not_started"]} == {r["id"] for r in log["runs"] if r["key"] != "C1@16"}


def test_a_rehearsal_may_insist_on_runs_side_by_side():
    runs = C1 + [run("cnn", 0)]
    p = G.plan(CAL, runs, 75.0, SPLITS, min_k=2, max_k=2)
    assert p["k"] == 2 and [a["k"] for a in p["alternatives"]] == [2]
