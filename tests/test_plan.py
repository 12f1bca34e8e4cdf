"""resemote.book.plan: resolving runs.yml (pure), ids shared with by-hand runs, profiles, estimates."""
from __future__ import annotations

import yaml

from resemote.book import plan
from resemote.training import RunSpec
from resemote.data.synthetic import write_synthetic

TINY = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0, 1, 2], "device": "auto"},
        "reduced": {"protocol": "paper", "epochs": 3, "batch_size": 16, "seeds": [0], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 2, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 40, "n_val": 20, "n_test": 20, "seed": 0}},
    },
    "experiments": {
        "table3": {"datasets": ["fer2013", "rafdb", "affectnet", "expw"], "configs": ["C1"]},
        "table4": {"datasets": ["rafdb"], "configs": ["C1", "C2"], "demo": {"C2": {"epochs": 1}}},
        "sensitivity": {"datasets": ["rafdb"], "configs": ["C1"], "vary": {"batch_size": [16, 32]}},
    },
}


def test_the_repository_plan_resolves_to_demo_runs_without_data():
    runs = plan.resolve(plan.load_plan(), frozenset())
    assert runs and all(r.synthetic and r.profile == "demo" for r in runs)
    c1 = [r for r in runs if r.config == "C1" and r.batch_size == 16 and {"table3", "table4"} <= set(r.experiments)]
    assert len(c1) == 1                                                 # one stand-in for all of them
    assert set(c1[0].stands_in_for) == {"fer2013", "rafdb", "affectnet", "expw", "ferplus"}  # FER+: own row
    assert {"C1", "C2", "C3", "C4", "C5", "C6"} <= {r.config for r in runs}


def test_present_dataset_gets_the_chosen_real_profile_and_seeds():
    runs = plan.resolve(TINY, {"rafdb"}, "paper")
    real = [r for r in runs if not r.synthetic]
    assert {(r.config, r.seed, r.batch_size) for r in real} == {(c, s, 16) for c in ("C1", "C2") for s in (0, 1, 2)} | \
        {("C1", s, 32) for s in (0, 1, 2)}                                 # sensitivity varies the batch size
    assert all(r.profile == "paper" and r.epochs == 80 and r.dataset == "rafdb" for r in real)
    assert all(r.root.endswith("data/rafdb") for r in real)
    synth = [r for r in runs if r.synthetic]
    assert {d for r in synth for d in r.stands_in_for} == {"fer2013", "affectnet", "expw"}
    assert len({r.id for r in runs}) == len(runs)
    reduced = [r for r in plan.resolve(TINY, {"rafdb"}, "reduced") if not r.synthetic]
    assert {(r.epochs, r.seed) for r in reduced} == {(3, 0)}


def test_demo_overrides_and_stable_ids():
    runs = {(r.config, r.batch_size): r for r in plan.resolve(TINY, frozenset())}
    assert runs["C1", 16].epochs == 2 and runs["C2", 16].epochs == 1
    assert runs["C1", 16].id.startswith("synthetic-C1-s0-")
    assert runs["C1", 16].spec.scalars("OUT")["lr"] == 0.01
    assert plan.resolve(TINY, frozenset())[0].id == plan.resolve(TINY, frozenset())[0].id


def test_a_by_hand_run_gets_the_id_the_plan_gives_the_same_settings(tmp_path):
    """The notebook's typed defaults are the protocol's, and its run directory is the one the book reads."""
    hand = RunSpec.from_scalars("rafdb", "", "C2")
    assert (hand.epochs, hand.batch_size, hand.lr, hand.root) == (80, 16, 1e-3, "data/rafdb")
    planned = next(r for r in plan.resolve(TINY, {"rafdb"}, "paper") if r.config == "C2" and r.seed == 0)
    assert hand.id == planned.id
    assert RunSpec.from_scalars("rafdb", "", "C2", lr=0.001).id == planned.id    # the protocol's lr, spelt out
    assert RunSpec.from_scalars("rafdb", "", "C2", epochs=3).id != planned.id
    assert RunSpec.from_json(planned.spec.to_json()) == planned.spec             # the engine's one parameter
    assert RunSpec.from_scalars(**{k: v for k, v in planned.spec.scalars().items()}) == planned.spec
    root = tmp_path / "synthetic-40-20-20-s0"
    write_synthetic(root, 40, 20, 20, seed=0)
    demo = next(r for r in plan.resolve(TINY, frozenset()) if r.config == "C1" and r.batch_size == 16)
    hand = RunSpec.from_scalars("fer2013", str(root), "C1", epochs=2, lr=0.01, device="cpu")
    assert hand.id == demo.id and hand.synthetic == demo.synthetic


def test_the_printed_command_makes_the_planned_run_where_the_engine_looks():
    r = next(r for r in plan.resolve(TINY, {"rafdb"}, "paper") if r.config == "C2" and r.seed == 1)
    cmd = plan.papermill_command(r)
    assert cmd.startswith(f"papermill notebooks/train.ipynb runs/_pages/{r.id}.ipynb ")
    for part in ("-p dataset rafdb", "-p config C2", "-p epochs 80", "-p lr -1.0", "-p seed 1",
                 f"-p out runs/{r.id}"):
        assert part in cmd


def test_profile_choice_and_estimates():
    assert plan.choose_profile("auto", 0)[0] == "reduced" and plan.choose_profile("auto", 2)[0] == "paper"
    assert plan.choose_profile("paper", 0) == ("paper", "as requested")
    r = next(r for r in plan.resolve(TINY, {"fer2013"}, "reduced") if not r.synthetic)
    # 3 epochs x (28,709 train + 3,589 / 3 val) + 3,589 / 3 test, at 0.05 s per image
    expected = 0.05 * (3 * (28709 + 3589 / 3) + 3589 / 3)
    assert abs(plan.estimate_seconds(r, {"train": 28709, "val": 3589, "test": 3589}, 0.05) - expected) < 1e-6
    assert plan.format_duration(30) == "30 s" and plan.format_duration(600) == "10 min"
    assert plan.format_duration(360000) == "100.0 h"


def test_runs_yml_is_valid():
    p = yaml.safe_load((plan.ROOT / "runs.yml").read_text())
    assert set(p["profiles"]) == {"paper", "reduced", "demo"}
    assert p["profiles"]["paper"]["epochs"] == 80 and p["profiles"]["paper"]["batch_size"] == 16
    assert set(p["experiments"]["table4"]["configs"]) == {"C1", "C2", "C3", "C4", "C5", "C6"}


def test_run_titles_state_the_subset_and_the_leak():
    """A run page's title names what makes the run unlike a reproduction: its training subset and any leak."""
    from pathlib import Path
    from types import SimpleNamespace
    from resemote.book.engine import ROOT
    from resemote.book.engine_jobs import run_title
    runs = plan.resolve(plan.load_plan(ROOT / "runs.yml"), frozenset({"fer2013"}), "reduced", Path("/nonexistent/data"),
                     Path("/nonexistent/runs"))
    w = SimpleNamespace(by_id={r.id: r for r in runs})
    leak = {r.spec.experiment().get("leak_test_fraction", 0): run_title(w, r.id) for r in runs if r.spec.experiment().get("train_subset") and r.spec.protocol == "paper"}
    fitted = [run_title(w, r.id) for r in runs if r.spec.protocol == "fit" and r.spec.experiment().get("leak_test_fraction", 0) == 0.25]
    assert fitted[0].endswith("seed 0 (reduced profile, fit recipe); LEAK EXPERIMENT, stratified training subset of "
                              "1,000 images, 25% of the test images leaked into training (as they are)")
    assert leak[0.0].endswith("seed 0 (reduced profile), stratified training subset of 7,000 images")
    assert "LEAK" not in leak[0.0]
    assert leak[0.5].endswith("(reduced profile); LEAK EXPERIMENT, stratified training subset of 7,000 images, 50% of "
                              "the test images leaked into training (as they are)")
    plain = [run_title(w, r.id) for r in runs if not (r.spec.experiment().get("train_subset") or r.synthetic) and r.config == "C1"]
    assert plain and all(t.endswith("seed 0 (reduced profile)") for t in plain)


def test_a_per_dataset_override_reaches_that_dataset_alone():
    """`reduced: {C1: {ferplus: {epochs: 5}}}` shortens FER+'s run and leaves FER2013's at the profile's budget."""
    tiny = yaml.safe_load(yaml.safe_dump(TINY))
    tiny["experiments"]["table3"]["datasets"].append("ferplus")
    tiny["experiments"]["table3"]["reduced"] = {"C1": {"batch_size": 32, "ferplus": {"epochs": 5}}}
    runs = {r.dataset: r for r in plan.resolve(tiny, {"fer2013", "ferplus"}, "reduced") if not r.synthetic}
    assert (runs["ferplus"].epochs, runs["ferplus"].batch_size) == (5, 32)
    assert (runs["fer2013"].epochs, runs["fer2013"].batch_size) == (3, 32)
    assert runs["ferplus"].id != plan.resolve(TINY | {"experiments": {"t": {"datasets": ["ferplus"], "configs": ["C1"]}}},
                                              {"ferplus"}, "reduced")[0].id


def test_a_label_file_alone_is_not_a_dataset_to_train_on(tmp_path):
    """RAF-DB's label file without its images is counted by `stats --labels-only`, never planned as real runs."""
    labels = tmp_path / "rafdb" / "basic" / "EmoLabel"
    labels.mkdir(parents=True)
    (labels / "list_patition_label.txt").write_text("train_00001.jpg 5\ntest_0001.jpg 1\n")
    (tmp_path / "rafdb" / "README.md").write_text("a note\n")
    assert not plan.dataset_present(tmp_path, "rafdb")
    runs = plan.resolve(TINY, frozenset(d for d in ("rafdb",) if plan.dataset_present(tmp_path, d)), "reduced")
    assert all(r.synthetic for r in runs)
    aligned = tmp_path / "rafdb" / "basic" / "Image" / "aligned"
    aligned.mkdir(parents=True)
    (aligned / "train_00001_aligned.jpg").write_bytes(b"FAKE")
    assert plan.dataset_present(tmp_path, "rafdb")
    (tmp_path / "fer2013").mkdir()
    (tmp_path / "fer2013" / "fer2013.csv").write_text("emotion,pixels,Usage\n")
    assert plan.dataset_present(tmp_path, "fer2013") and not plan.dataset_present(tmp_path, "expw")
