"""resemote.gpuplan: which runs one GPU call starts, how many side by side, and when each should end.

Every timing here is MADE UP (a calibration written by hand); the expected durations are worked out by hand
from the formula in the module docstring, not by calling the code under test.
"""
from __future__ import annotations

import pytest

from resemote import gpuplan as G
from resemote import plan as P
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
    return P.PlannedRun(id=f"{config}-s{seed}", dataset="fer2013", config=config, protocol="paper", epochs=epochs,
                        batch_size=batch_size, lr=None, seed=seed, device="auto", image_size=64, profile="paper")


C1 = [run("C1", s) for s in (0, 1, 2)]


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
    assert [x["id"] for x in p["runs"]] == ["C1-s0", "C1-s1", "C1-s2", "cnn-s0"]
    assert all(x["start_s"] == 0 for x in p["runs"]) and p["not_started"] == []


def test_a_run_predicted_not_to_finish_is_not_started():
    runs = C1 + [run("cnn", 0)]
    p = G.plan(CAL, runs, 40.0, SPLITS)
    # k=2: seeds 0 and 1 end at 36.3 s; seed 2 (36.3 s more) and cnn (20.46 s more) would end after 40 s
    assert p["k"] == 2 and [x["id"] for x in p["runs"]] == ["C1-s0", "C1-s1"]
    assert [x["id"] for x in p["not_started"]] == ["C1-s2", "cnn-s0"]
    assert "would end after the budget (40 s)" in p["not_started"][0]["reason"]
    assert all(x["finish_s"] <= 40.0 for x in p["runs"])
    # with three side by side no C1 fits (42.9 s each) but the shorter, later cnn run does
    k3 = G.simulate(CAL, runs, 3, 40.0, SPLITS)
    assert [x["id"] for x in k3["runs"]] == ["cnn-s0"] and k3["runs"][0]["finish_s"] == pytest.approx(19.8 * 1.1)
    # nothing fits: nothing starts
    assert G.plan(CAL, runs, 10.0, SPLITS)["runs"] == []


def test_priority_beats_the_number_of_runs():
    cal = {"startup_s": 10.0, "keys": {"C1@16": {"step_s": {"1": 0.002}, "val_s": 1.0, "final_s": 5.0},
                                       "cnn@16": CAL["keys"]["cnn@16"]}}
    runs = [run("C1", 0)] + [run("cnn", s) for s in (0, 1, 2)]
    p = G.plan(cal, runs, 30.0, SPLITS)
    # k=1: C1 seed 0 alone (29.7 s); k=4: the three cnn runs (C1 not calibrated side by side): C1 comes first
    assert {a["k"]: a["started"] for a in p["alternatives"]}[4] == 3
    assert p["k"] == 1 and [x["id"] for x in p["runs"]] == ["C1-s0"]
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
    assert [r.config for r in rs[3:7]] == ["resnet18", "vgg", "cnn", "cnn-se"]
    assert [r.config for r in rs[7:12]] == ["C2", "C3", "C4", "C5", "C6"]
    assert [r.batch_size for r in rs[12:]] == [32, 64, 128]
