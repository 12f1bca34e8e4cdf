"""resemote.plan: resolving runs.yml, deduplicating stand-ins, deciding what is current (no training)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from resemote import plan

TINY = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0, 1, 2], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 2, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 40, "n_val": 20, "n_test": 20, "seed": 0}},
    },
    "experiments": {
        "table3": {"datasets": ["fer2013", "rafdb", "affectnet", "expw"], "configs": ["C1"]},
        "table4": {"datasets": ["rafdb"], "configs": ["C1", "C2"], "demo": {"C2": {"epochs": 1}}},
    },
}


def test_the_repository_plan_resolves_to_demo_runs_without_data(tmp_path: Path):
    runs = plan.resolve(plan.load_plan(), tmp_path / "nodata", tmp_path / "runs")
    assert runs and all(r.synthetic and r.profile == "demo" for r in runs)
    c1 = [r for r in runs if r.config == "C1"]
    assert len(c1) == 1                                                 # one stand-in for all of them
    assert set(c1[0].stands_in_for) == {"fer2013", "rafdb", "affectnet", "expw"}
    assert set(c1[0].experiments) == {"table3", "table4"}
    assert sorted(r.config for r in runs) == ["C1", "C2", "C3", "C4", "C5", "C6"]


def test_present_dataset_gets_the_paper_profile_and_seeds(tmp_path: Path):
    (tmp_path / "data" / "rafdb").mkdir(parents=True)
    (tmp_path / "data" / "rafdb" / "basic").mkdir()
    runs = plan.resolve(TINY, tmp_path / "data", tmp_path / "runs")
    real = [r for r in runs if not r.synthetic]
    assert {(r.config, r.seed) for r in real} == {(c, s) for c in ("C1", "C2") for s in (0, 1, 2)}
    assert all(r.profile == "paper" and r.epochs == 80 and r.dataset == "rafdb" for r in real)
    assert all(r.root.endswith("data/rafdb") for r in real)
    synth = [r for r in runs if r.synthetic]
    assert len(synth) == 1 and set(synth[0].stands_in_for) == {"fer2013", "affectnet", "expw"}
    assert len({r.id for r in runs}) == len(runs)


def test_demo_overrides_and_ids(tmp_path: Path):
    runs = {r.config: r for r in plan.resolve(TINY, tmp_path, tmp_path / "runs")}
    assert runs["C1"].epochs == 2 and runs["C2"].epochs == 1
    assert runs["C1"].id.startswith("synthetic-C1-s0-")
    assert runs["C1"].notebook_params("OUT")["lr"] == 0.01
    assert plan.resolve(TINY, tmp_path, tmp_path / "runs")[0].id == runs["C1"].id   # stable ids


def test_is_current(tmp_path: Path):
    r = plan.resolve(TINY, tmp_path, tmp_path / "runs")[0]
    d, stamp_file = tmp_path / "runs" / r.id, tmp_path / "stamp.json"
    stamp = {"params": r.train_params(), "code": "abc", "data": "def"}
    assert not plan.is_current(d, stamp_file, stamp)                   # nothing yet
    d.mkdir(parents=True)
    (d / "params.json").write_text(json.dumps(r.train_params()))
    (d / "metrics.json").write_text("{}")
    assert plan.is_current(d, stamp_file, stamp)                        # made by hand: adopted
    stamp_file.write_text(json.dumps({"run": stamp}))
    assert plan.is_current(d, stamp_file, stamp)
    assert not plan.is_current(d, stamp_file, {**stamp, "code": "changed"})
    assert not plan.is_current(d, stamp_file, {**stamp, "data": "changed"})


def test_code_fingerprint_ignores_the_book_code():
    files = [p.name for p in (plan.ROOT / "resemote").rglob("*.py") if p.name not in plan.NOT_TRAINING_CODE]
    assert "model.py" in files and "report.py" not in files and "plan.py" not in files
    assert plan.code_fingerprint() == plan.code_fingerprint()


def test_paper_commands_match_the_plan():
    cmds = plan.paper_commands("rafdb", "C3")
    assert len(cmds) == len(plan.load_plan()["profiles"]["paper"]["seeds"])
    assert all("-p dataset rafdb" in c and "-p config C3" in c and "-p epochs 80" in c for c in cmds)


def test_runs_yml_is_valid():
    p = yaml.safe_load((plan.ROOT / "runs.yml").read_text())
    assert set(p["profiles"]) == {"paper", "demo"}
    assert p["profiles"]["paper"]["epochs"] == 80 and p["profiles"]["paper"]["batch_size"] == 16
    assert set(p["experiments"]["table4"]["configs"]) == {"C1", "C2", "C3", "C4", "C5", "C6"}


def test_paper_commands_never_point_at_synthetic_data():
    assert all("_data/synthetic" not in c and "-p root data/fer2013" in c for c in plan.paper_commands("fer2013", "C1"))
