"""resemote.leakage: the clean test subset on a planted fixture, the leak experiment's copies made the way the
released data_augmentation.py makes them, the leak refused in a reproduction cell, and one tiny leaked run end to end.

The planted fixture is a tiny FER2013 image-folder layout (random pixels, tests/layouts.py) into whose training and
validation folders copies of known test images are put: the expected clean subset is every other test image."""
from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageOps

from conftest import run_cli
from layouts import make_fer2013
from resemote.training import RunSpec
from resemote import leakage
from resemote.book import plan, records as results
from resemote.data import get_dataset, stratified_split
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.analysis.rescore import rescore_run
from resemote.training.rundir import Run

COUNTS = {"train": [5, 3, 4, 6, 5, 4, 3], "val": [2, 1, 2, 3, 2, 2, 1], "test": [3, 2, 3, 4, 3, 3, 2]}


def _pixels(root: Path, ref: str) -> np.ndarray:
    with Image.open(root / ref) as im:
        return np.asarray(im.convert("L"))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(root, {test file: (split it was copied into, kind)}): an exact copy of one test image and a mirror image
    of another in train, a brightness-shifted copy of a third in validation, and a fourth test image whose exact
    copy (another test image) has a mirror image in train - leaked through its exact group."""
    root = tmp_path_factory.mktemp("fer")
    make_fer2013(root, COUNTS, "folders", seed=3)
    refs = [s.ref for s in get_dataset("fer2013", root, "test").samples if "PrivateTest_" in s.ref]
    exact, mirror, near, group, twin = refs[0], refs[5], refs[9], refs[13], refs[14]
    train_dir, test_dir = root / "train" / "happy", root / "test" / "sad"
    shutil.copy(root / exact, train_dir / "Training_9001.jpg")                     # byte-identical
    Image.fromarray(np.ascontiguousarray(_pixels(root, mirror)[:, ::-1])).save(train_dir / "Training_9002.png")
    shifted = np.clip(_pixels(root, near).astype(np.float32) * 0.8 + 30, 0, 255).astype(np.uint8)
    Image.fromarray(shifted).save(test_dir / "PublicTest_9003.png")               # validation = PublicTest
    # `twin` becomes a byte copy of `group` (within test), and `group`'s mirror image goes into train
    shutil.copy(root / group, root / twin)
    Image.fromarray(np.ascontiguousarray(_pixels(root, group)[:, ::-1])).save(train_dir / "Training_9004.png")
    return root, {exact: "exact", mirror: "mirror", near: "near", group: "mirror", twin: "mirror"}


def test_clean_subset_of_a_planted_fixture(planted, monkeypatch):
    root, leaked = planted
    audit = leakage.cached_audit("fer2013", root, progress=False)
    copied = leakage.copied_test_images(audit)
    assert set(copied) == set(leaked), {k: v for k, v in copied.items()}
    assert {k: v["kind"] for k, v in copied.items()} == leaked
    assert all(v["split"] in ("train", "val") for v in copied.values())
    n_test = sum(COUNTS["test"])
    assert leakage.clean_summary(audit) == {"n_test": n_test, "with_copy": 5, "copied": sorted(leaked),
                                            "audit_key": audit["audit_key"]}
    # computed once: a second call reads it back without auditing
    from resemote.data import audit as A
    monkeypatch.setattr(A, "audit_arrays", lambda *a, **k: pytest.fail("audited again"))
    assert leakage.cached_audit("fer2013", root, progress=False) == audit


def test_scores_on_the_clean_and_leaked_subsets(planted):
    root, leaked = planted
    refs = [s.ref for s in get_dataset("fer2013", root, "test").samples]
    labels = np.arange(len(refs)) % 7
    predicted = labels.copy()
    predicted[::3] = (labels[::3] + 1) % 7                                         # every third one wrong
    on_purpose = {1: "as-is", 3: "as-is"}                                          # two leaked by the experiment
    out = leakage.test_subsets("fer2013", root, refs, labels, predicted, on_purpose, progress=False)
    clean = [i for i, r in enumerate(refs) if r not in leaked and i not in on_purpose]
    expected = np.mean([i % 3 != 0 for i in clean])
    c = out["clean_test"]
    assert c["n"] == len(clean) == len(refs) - 5 - 2 and c["accuracy"] == pytest.approx(expected)
    assert c["ci95"][0] <= expected <= c["ci95"][1] and c["with_copy"] == 5 and c["leaked"] == 2
    assert out["leak"]["leaked"] == {"accuracy": 0.5, "ci95": out["leak"]["leaked"]["ci95"], "n": 2}  # 1 right, 2 wrong
    assert out["leak"]["all"]["accuracy"] == pytest.approx(np.mean(labels == predicted))
    # the same figure from a predictions file and a dataset summary's list (what the book re-scores)
    rows = [{"file": r, "label": CLASSES[y], "predicted": CLASSES[p], "leaked": on_purpose.get(i, "")}
            for i, (r, y, p) in enumerate(zip(refs, labels, predicted))]
    again = leakage.rescore_predictions(rows, sorted(leaked))
    assert {k: again[k] for k in ("accuracy", "ci95", "n")} == {k: c[k] for k in ("accuracy", "ci95", "n")}


def test_a_dataset_without_an_audit_says_so(tmp_path):
    out = leakage.test_subsets("rafdb", tmp_path / "none", ["a"], np.array([0]), np.array([0]))
    assert out["clean_test"]["missing"].startswith("no duplicate audit of this dataset (RAF-DB")


# --- the copies -------------------------------------------------------------------------------------------------
def _face() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (48, 40), dtype=np.uint8), "L")  # not square: crops show


def test_copies_are_made_the_way_the_released_script_makes_them():
    img = _face()
    a = np.asarray(img)
    ops, angles, borders = {"rotate": 0, "mirror": 0, "crop": 0}, set(), set()
    for seed in range(3000):
        copy, what = leakage.augment_like_released(img, random.Random(seed))
        # the released script's own sequence of draws: random.choice of three operations, then its parameter
        r = random.Random(seed)
        k = r.choice([0, 1, 2])
        param = r.randint(-30, 30) if k == 0 else r.randint(0, 10) if k == 2 else None
        op, *arg = what.split()
        assert op == ("rotate", "mirror", "crop")[k] and (int(arg[0]) if arg else None) == param
        ops[op] += 1
        c = np.asarray(copy)
        if op == "mirror":
            assert np.array_equal(c, a[:, ::-1])                                   # an exact mirror image
        elif op == "crop":
            b = int(arg[0])
            borders.add(b)
            assert copy.size == (40 - 2 * b, 48 - 2 * b) and np.array_equal(c, a[b:48 - b, b:40 - b])
        else:
            angle = int(arg[0])
            angles.add(angle)
            assert copy.size == img.size and np.array_equal(c, np.asarray(img.rotate(angle)))
            if abs(angle) >= 5:                                                    # turned, corners filled black
                assert not np.array_equal(c, a) and c[0, 0] == c[-1, -1] == 0
    assert angles == set(range(-30, 31)) and borders == set(range(11))             # every value, ends included
    assert all(900 < n < 1100 for n in ops.values()), ops                          # one in three each
    # released_copy: the copy as the script leaves it (JPEG), at the training resolution, fixed per image
    x, what = leakage.released_copy(img, seed=0, index=7, size=64)
    assert x.shape == (64, 64) and x.dtype == np.uint8
    y, what2 = leakage.released_copy(img, seed=0, index=7, size=64)
    assert np.array_equal(x, y) and what == what2


def test_leaked_images_are_a_nested_stratified_fraction():
    labels = np.repeat(np.arange(7), [30, 4, 20, 40, 25, 22, 15])
    a, b = (leakage.leaked_test_indices(labels, f, seed=1) for f in (0.1, 0.5))
    assert set(a) < set(b)
    assert list(np.bincount(labels[b], minlength=7)) == [round(0.5 * n) for n in (30, 4, 20, 40, 25, 22, 15)]
    assert len(leakage.leaked_test_indices(labels, 0.0, seed=1)) == 0
    sub = leakage.training_subset(labels, 78)
    assert list(np.bincount(labels[sub], minlength=7)) == [round(n / 2) for n in (30, 4, 20, 40, 25, 22, 15)]
    with pytest.raises(ResEmoteError, match="training subset of 1 to 155"):
        leakage.training_subset(labels, 156)


# --- the plan ---------------------------------------------------------------------------------------------------
PLAN = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0, 1], "device": "auto"},
        "reduced": {"protocol": "paper", "epochs": 9, "batch_size": 16, "seeds": [0], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 48, "n_val": 24, "n_test": 24, "seed": 0}},
    },
    "experiments": {
        "table3": {"datasets": ["fer2013"], "configs": ["C1"]},
        "leakage": {"leak": True, "datasets": ["fer2013"], "configs": ["C1"],
                    "vary": {"leak_test_fraction": [0, 0.1, 0.5]},
                    "paper": {"C1": {"seeds": [0]}}, "reduced": {"C1": {"train_subset": 7000}}},
        "leakage_copies": {"leak": True, "datasets": ["fer2013"], "configs": ["C1"], "profiles": ["paper"],
                           "vary": {"leak_test_fraction": [0, 0.5]},
                           "paper": {"C1": {"seeds": [0], "leak_copies": "released"}}},
    },
}


def test_leak_runs_are_planned_apart_from_the_reproduction_cells():
    paper = plan.resolve(PLAN, {"fer2013"}, "paper")
    leak = [r for r in paper if r.spec.leak]
    assert {(r.spec.leak.leak_test_fraction, r.spec.leak.leak_copies) for r in leak} == \
        {(0.1, "as-is"), (0.5, "as-is"), (0.5, "released")}
    assert all(r.experiments in (["leakage"], ["leakage_copies"]) for r in leak)   # never a Table III run
    clean = [r for r in paper if "leakage" in r.experiments and not r.spec.leak]
    assert len(clean) == 1 and clean[0].experiments == ["table3", "leakage", "leakage_copies"]  # the clean run is Table III's
    assert clean[0].id == RunSpec("fer2013", "C1", "paper", 80, 16).id == "fer2013-C1-s0-6c8a46"  # an ordinary run's id
    reduced = [r for r in plan.resolve(PLAN, {"fer2013"}, "reduced") if "leakage" in r.experiments]
    fraction = lambda r: r.spec.leak.leak_test_fraction  # noqa: E731
    assert sorted(map(fraction, reduced)) == [0, 0.1, 0.5] and all(r.spec.leak.train_subset == 7000 for r in reduced)
    assert all("stratified training subset of 7,000 images" in r.budget() for r in reduced)
    assert "50% of the test images leaked into training (as they are)" in max(reduced, key=fraction).budget()
    # the estimate counts the subset and the leaked images, not the whole training split
    r = max(reduced, key=fraction)
    assert plan.estimate_seconds(r, {"train": 28709, "val": 3589, "test": 3589}, 1.0) == \
        9 * (7000 + 1794 + 3589 / 3) + 3589 / 3                                     # round(0.5 * 3589) = 1794
    # by hand (the notebook): the same settings, the same run directory
    hand = RunSpec.from_scalars("fer2013", "data/fer2013", "C1", epochs=9, seed=0, train_subset=7000,
                                leak_test_fraction=0.5)
    assert hand.id == r.id and hand.scalars("x")["leak_copies"] == "as-is"


def test_the_leak_is_refused_in_a_reproduction_cell(tmp_path):
    bad = yaml.safe_load(yaml.safe_dump(PLAN))
    bad["experiments"]["table3"]["reduced"] = {"C1": {"leak_test_fraction": 0.25}}
    with pytest.raises(ResEmoteError, match="experiment table3 asks to leak test images into training"):
        plan.resolve(bad, {"fer2013"}, "reduced")
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(bad))
    (tmp_path / "data" / "fer2013").mkdir(parents=True)
    (tmp_path / "data" / "fer2013" / "fer2013.csv").write_text("emotion,pixels,Usage\n")
    rc, out, err = run_cli("book", "--plan", str(tmp_path / "bad.yml"), "--data", str(tmp_path / "data"), "--runs",
                           str(tmp_path / "runs"), "--profile", "reduced", "--dry-run", "--no-estimate")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "only an experiment marked `leak: true`" in err


def test_the_repository_plan_has_the_four_cpu_doses():
    reduced = [r for r in plan.resolve(plan.load_plan(), {"fer2013"}, "reduced")
               if {"leakage", "leakage_copies"} & set(r.experiments)]
    assert sorted(r.spec.experiment().get("leak_test_fraction", 0) for r in reduced) == [0, 0.1, 0.25, 0.5]
    assert all(r.spec.experiment().get("train_subset") == 7000 and r.profile == "reduced" and r.experiments == ["leakage"] for r in reduced)
    for name, exp in plan.load_plan()["experiments"].items():
        assert bool(exp.get("leak")) == name.startswith("leakage"), name


# --- a leaked run, end to end -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def leaked_run(tmp_path_factory, synth_root):
    from resemote.leakage import LeakExperiment
    from resemote.training import RunSpec, train
    out = tmp_path_factory.mktemp("leak") / "r"
    with pytest.MonkeyPatch.context() as mp:  # made before the per-test cache is set: a cache of its own
        mp.setenv("RESEMOTE_CACHE", str(tmp_path_factory.mktemp("leak-cache")))
        m = train(RunSpec("fer2013", root=synth_root, epochs=1, batch_size=16, lr=0.01, device="cpu", leak=LeakExperiment(train_subset=40, leak_test_fraction=0.5)), out, progress=False)
    return out, m


def test_a_leaked_run_writes_its_predictions_and_three_scores(leaked_run, synth_root):
    out, m = leaked_run
    test = get_dataset("fer2013", synth_root, "test")
    expected_leaked = set(stratified_split(test.labels, 0.5, 0)[1])                # seeded by the run's seed 0
    with open(out / "test_predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == [s.ref for s in test.samples] and len(rows) == 24
    assert {int(r["index"]) for r in rows if r["leaked"]} == expected_leaked
    assert all(r["leaked"] in ("", "as-is") and r["label"] in CLASSES and r["predicted"] in CLASSES for r in rows)
    right = np.array([r["label"] == r["predicted"] for r in rows])
    leaked = np.array([bool(r["leaked"]) for r in rows])
    assert m["test_accuracy"] == pytest.approx(right.mean())
    k = len(expected_leaked)                                                         # 0.5 of each class, rounded
    assert m["leak"]["leaked"]["accuracy"] == pytest.approx(right[leaked].mean()) and m["leak"]["leaked"]["n"] == k
    assert m["clean_test"]["n"] == 24 - k - m["clean_test"]["with_copy"]
    params = json.loads((out / "params.json").read_text())
    train_counts = np.bincount(get_dataset("fer2013", synth_root, "train").labels, minlength=7)
    subset = sum(round(n * 40 / 64) for n in train_counts)
    assert params["split_sizes"] == {"train": subset + k, "val": 24, "test": 24, "leaked_into_train": k}
    assert (params["train_subset"], params["leak_test_fraction"], params["leak_copies"]) == (40, 0.5, "as-is")
    assert Run(out, params, m, []).leaked


def test_a_leaked_run_is_recorded_apart_and_rescored_the_same(leaked_run, tmp_path):
    out, m = leaked_run
    real = tmp_path / "real"
    shutil.copytree(out, real)
    for name in ("params.json", "metrics.json"):
        d = json.loads((real / name).read_text())
        d.update(synthetic=None, git_commit="abcdef1234567")
        (real / name).write_text(json.dumps(d))
    dest = results.publish_run(real, tmp_path / "rec", release="FAKE")
    assert dest.name == "fer2013-C1-s0-1ep-cpu-abcdef1-sub40-leak0.5-as-is"
    assert (dest / "test_predictions.csv").read_text() == (out / "test_predictions.csv").read_text()
    assert json.loads((dest / "record.json").read_text())["leak_test_fraction"] == 0.5
    # a run made before runs wrote predictions: `rescore` writes the same file and figures from its weights
    old = tmp_path / "old"
    shutil.copytree(out, old)
    (old / "test_predictions.csv").unlink()
    d = json.loads((old / "metrics.json").read_text())
    for k in ("clean_test", "leak"):
        d.pop(k)
    (old / "metrics.json").write_text(json.dumps(d))
    again = rescore_run(old, progress=False)
    assert (old / "test_predictions.csv").read_text() == (out / "test_predictions.csv").read_text()
    assert again["clean_test"] == m["clean_test"] and again["leak"] == m["leak"]


def test_cli_train_refuses_bad_leak_settings(synth_root, tmp_path):
    rc, _, err = run_cli("train", "--dataset", "fer2013", "--root", str(synth_root), "--out", str(tmp_path / "r"),
                         "--epochs", "1", "--device", "cpu", "--train-subset", "500")
    assert rc == 2 and "expected a training subset of 1 to 63 images" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
    rc, _, err = run_cli("train", "--dataset", "fer2013", "--root", str(synth_root), "--out", str(tmp_path / "r"),
                         "--epochs", "1", "--device", "cpu", "--leak-test-fraction", "1.5")
    assert rc == 2 and "expected a leak fraction from 0 to 1" in err and len(err.strip().splitlines()) == 1


# --- the book's side: clean cells, the leak section, and the claims left alone ---------------------------------------
def _edit(d: Path, **extra) -> None:
    """Add keys to a FAKE run's params.json and metrics.json."""
    for name in ("params.json", "metrics.json"):
        j = json.loads((d / name).read_text())
        j.update(extra)
        (d / name).write_text(json.dumps(j))


def _leak_runs(tmp_path: Path) -> list[dict]:
    """FAKE reduced-budget FER2013 runs of the leak experiment: fractions 0, 0.1 and 0.5 finished, 0.25 not run."""
    from test_report import fake_run
    out = []
    for f, acc, leaked_acc, clean_acc in ((0.0, 0.40, None, 0.38), (0.1, 0.45, 0.90, 0.39), (0.5, 0.65, 0.95, 0.37)):
        e = fake_run(tmp_path, f"fer2013-leak-{f}-FAKE", dataset="fer2013", config="C1", acc=acc, ci=0.01,
                     synthetic=False, experiments=["leakage"], stands_in_for=["fer2013"], profile="reduced", epochs=9)
        x = {"train_subset": 7000, **({"leak_test_fraction": f, "leak_copies": "as-is"} if f else {})}
        clean = {"accuracy": clean_acc, "ci95": [clean_acc - 0.02, clean_acc + 0.02], "n": 3000 - int(3589 * f),
                 "n_test": 3589, "with_copy": 560, "leaked": int(3589 * f)}
        leak = {"leak": {"all": {"accuracy": acc, "ci95": [acc - 0.01, acc + 0.01], "n": 3589},
                         "leaked": {"accuracy": leaked_acc, "ci95": [leaked_acc - 0.03, leaked_acc + 0.03],
                                    "n": int(3589 * f)},
                         "clean": {k: clean[k] for k in ("accuracy", "ci95", "n")}}} if f else {}
        _edit(Path(e["path"]), **x, clean_test=clean, **leak)
        e["params"].update(x)
        out.append(e)
    out.append({"id": "fer2013-leak-0.25-FAKE", "kind": "live", "status": "not run", "error": None,
                "dataset": "fer2013", "config": "C1", "seed": 0, "profile": "reduced", "synthetic": None,
                "experiments": ["leakage"], "stands_in_for": ["fer2013"], "command": "FAKE command 0.25",
                "params": {"dataset": "fer2013", "config": "C1", "protocol": "paper", "epochs": 9, "batch_size": 16,
                           "lr": 0.001, "seed": 0, "image_size": 64, "train_subset": 7000,
                           "leak_test_fraction": 0.25, "leak_copies": "as-is"}, "path": "x"})
    # an old record superseded by a newer budget: the index lists it under every experiment, leakage included
    out.append(fake_run(tmp_path, "fer2013-3ep-old-FAKE", dataset="fer2013", config="C1", acc=0.46, synthetic=False,
                        experiments=["table3", "leakage", "leakage_copies"], stands_in_for=["fer2013"],
                        profile="history", kind="recorded", status="superseded", epochs=3))
    return out


# the FAKE runs' history.csv (tests/test_report.py): training accuracy 20% then 40% in their two epochs
FITTED_2 = ("In the last of their 2 epochs, the runs classified 40.0% of their own training images correctly "
            "(history.csv; in a leaked run, the leaked ones among them): the network had not fitted its training "
            "images, so it had not learnt the leaked ones by heart either, and a leak could buy little. ")


# wherever a dose is told apart from the clean run by its interval, the reading says what the interval leaves out
SEED_CAVEAT = ("but each interval is the test set's bootstrap of one run, and with one seed per dose the spread from "
               "seed to seed is not measured, so a dose told apart this way may still be within what another seed "
               "gives")


def test_the_leak_section_reads_its_runs(tmp_path):
    from resemote.book import report
    (tmp_path / "index.json").write_text(json.dumps({"runs": _leak_runs(tmp_path), "datasets": [],
                                                     "present": ["fer2013"]}))
    entries = report.load_entries(tmp_path)
    points = report.leak_points(entries)
    groups = report.leak_groups(entries)
    assert groups == ["FER2013, reduced budget (9 epochs, batch 16), stratified training subset of 7,000 images"]
    g = groups[0]
    assert report.missing_fractions(entries, g) == [0.25]
    all_ = points[points["subset"] == "all"].sort_values("fraction")
    assert list(all_["fraction"]) == [0, 0.1, 0.5] and list(all_["accuracy"].round(2)) == [40, 45, 65]
    assert list(points[points["subset"] == "leaked"]["accuracy"].round(2)) == [90, 95]
    t = report.leak_table(points).set_index("leaked fraction")
    assert t.loc["50%", "leaked test images (%)"] == "95.00 (92.00-98.00; n=1,794)"
    assert t.loc["0%", "leaked test images (%)"] == "-"
    assert t.loc["0%", "clean test images (%)"] == "38.00 (36.00-40.00; n=3,000)"
    assert list(t["training images right, last epoch (%)"]) == [f"{h[-1]['train_acc'] * 100:.1f}"
                                                              for h in (e.run.history for e in sorted(
                                                                  (e for e in entries if e.id in set(points["run"])),
                                                                  key=lambda e: e.params.get("leak_test_fraction", 0)))]
    assert report.dose_response_figure(points, g, [0.25]) is not None
    # fractions 0, 0.1 and 0.5: all test images 40, 45, 65 (+-1), leaked 90 and 95, clean 39 and 37 (+-2)
    reading = report.leak_reading(points, g)
    assert reading == ("Leaking 10% and 50% of the test images into training as they are moved the accuracy on all "
                       "test images from 40.00% (nothing leaked) to 45.00% (+5.00 points) and 65.00% (+25.00 points): "
                       "it rose with every larger dose. On the leaked images themselves the runs scored 90.00% and "
                       "95.00%, on their clean ones 39.00% and 37.00%; every run did better on what it had seen. "
                       + FITTED_2 +
                       "No leaked run's 95% interval on all test images overlaps the clean run's (39.00-41.00%); "
                       + SEED_CAVEAT + ".")
    near = points.copy()
    top = (near["fraction"] == 0.5) & (near["subset"] == "all")
    near.loc[top, ["accuracy", "low", "high"]] = [40.5, 39.5, 41.5]       # up at 10%, back near the start at 50%
    assert ": it did not rise steadily with the dose." in report.leak_reading(near, g)
    assert report.leak_reading(near, g).endswith(
        "On all test images, the 95% interval of the 50% run overlaps the clean run's (39.00-41.00%): with one run "
        "per fraction, that change is not told apart from run-to-run noise; that of the 10% run does not; "
        + SEED_CAVEAT + ".")
    one = near[near["fraction"] != 0.1]                                   # a single leaked fraction
    assert report.leak_reading(one, g) == (
        "Leaking 50% of the test images into training as they are moved the accuracy on all test images from "
        "40.00% (nothing leaked) to 40.50% (+0.50 points). On the leaked images themselves it was 95.00%, on the "
        "clean ones 37.00%. " + FITTED_2 + "The two runs' 95% intervals on all test images (39.00-41.00% and 39.50-41.50%) overlap: "
        "with one run each, this change is not told apart from run-to-run noise.")
    cmds = report.commands_table(entries, experiment="leakage")
    assert list(cmds["status"]) == ["not run"]
    assert list(cmds["command"]) == ["FAKE command 0.25"]


def test_leaked_runs_change_no_reproduction_table_and_no_claim(tmp_path):
    from resemote.book import report
    from test_report import fake_run
    base = [fake_run(tmp_path, "fer-C1", dataset="fer2013", config="C1", acc=0.6, ci=0.02, synthetic=False,
                     experiments=["table3"], stands_in_for=["fer2013"], epochs=80),
            fake_run(tmp_path, "raf-C1", dataset="rafdb", config="C1", acc=0.8, ci=0.02, synthetic=False,
                     experiments=["table3", "table4"], stands_in_for=["rafdb"], epochs=80)]

    def tables(index):
        (tmp_path / "index.json").write_text(json.dumps({"runs": index, "datasets": []}))
        e = report.load_entries(tmp_path)
        return (report.results_table(e).to_dict(), report.ablation_table(e).to_dict(),
                report.claims_table(e, []).to_dict(), report.baselines_table(e, "rafdb", False).to_dict())

    before = tables(base)
    # leaked runs, even ones wrongly listed under the reproduction experiments, live and recorded
    bad = []
    for i, kind in enumerate(("live", "recorded")):
        for d in ("fer2013", "rafdb"):
            e = fake_run(tmp_path, f"leak-{d}-{kind}", dataset=d, config="C1", acc=0.97, ci=0.01, synthetic=False,
                         experiments=["table3", "table4", "baselines", "leakage"], stands_in_for=[d], epochs=80,
                         kind=kind)
            _edit(Path(e["path"]), leak_test_fraction=0.5, leak_copies="as-is")
            bad.append(e)
    assert tables(base + bad) == before
    e = report.load_entries(tmp_path)
    assert {x.id for x in report.select(e, experiment="leakage")} == {b["id"] for b in bad}


def test_clean_cells_rescore_or_say_what_is_missing(tmp_path):
    from resemote.book import report
    from test_report import fake_run
    live = fake_run(tmp_path, "fer-live", dataset="fer2013", config="C1", acc=0.6, synthetic=False,
                    experiments=["table3"], stands_in_for=["fer2013"], profile="reduced", epochs=9)
    _edit(Path(live["path"]), clean_test={"accuracy": 0.55, "ci95": [0.53, 0.57], "n": 3000, "n_test": 3589})
    rec = fake_run(tmp_path, "fer-rec", dataset="fer2013", config="C1", acc=0.59, synthetic=False,
                   experiments=["table3"], stands_in_for=["fer2013"], profile="reduced", epochs=9, kind="recorded")
    # a recorded run with predictions (FAKE: 10 test images, 6 right; 3 of them have a copy, 2 right)
    rafrec = fake_run(tmp_path, "raf-rec", dataset="rafdb", config="C1", acc=0.6, synthetic=False,
                      experiments=["table3"], stands_in_for=["rafdb"], profile="reduced", epochs=9, kind="recorded")
    right = [1, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    lines = ["index,file,label,predicted,leaked"] + [f"{i},img{i}.jpg,Happy,{'Happy' if r else 'Sad'},"
                                                     for i, r in enumerate(right)]
    (Path(rafrec["path"]) / "test_predictions.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "index.json").write_text(json.dumps({"runs": [live, rec, rafrec], "datasets": []}))
    entries = report.load_entries(tmp_path)
    copied = ["img0.jpg", "img1.jpg", "img2.jpg"]
    summaries = [{"name": "rafdb", "kind": "live", "synthetic": False,
                  "summary": {"dataset": "rafdb", "fingerprint": "FAKEFP",
                              "clean_test": {"n_test": 10, "with_copy": 3, "copied": copied}}}]
    t = report.results_table(entries, datasets=summaries)
    row = t.loc["this companion, reduced budget: clean test images only: accuracy (%), 95% CI, n"]
    assert row["FER2013"].startswith("55.00 (95% CI 53.00-57.00; n=3,000)")
    assert "recorded run fer-rec has no test predictions (test_predictions.csv) and, like every record, no " \
           "weights" in row["FER2013"]
    s = report.clean_score(next(e for e in entries if e.id == "raf-rec"), summaries)
    assert s["n"] == 7 and s["accuracy"] == pytest.approx(4 / 7) and s["source"].startswith("re-scored")
    assert row["RAF-DB"].startswith(f"{400 / 7:.2f} (95% CI ") and row["RAF-DB"].endswith("(recorded, CUDA)")
    # without an audited copy of the same data here, the cell says so
    assert "no audited copy of RAF-DB with data FAKEFP" in report.results_table(entries).loc[
        "this companion, reduced budget: clean test images only: accuracy (%), 95% CI, n", "RAF-DB"]


def test_the_reading_says_how_far_the_runs_fitted_their_training_images(tmp_path):
    """The CPU doses hardly moved the score; the runs' own training accuracy (history.csv) says why."""
    from resemote.book import report
    runs = _leak_runs(tmp_path)
    last = {0.0: 0.407, 0.1: 0.4046, 0.5: 0.4311}          # FAKE last-epoch training accuracies
    for e in runs:
        f = e.get("params", {}).get("leak_test_fraction", 0.0)
        if e["status"] == "current" and e["kind"] == "live":
            (Path(e["path"]) / "history.csv").write_text(
                "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n"
                + "".join(f"{k},0.001,1.9,{last[f] - 0.01 * (9 - k):.4f},1.8,0.3,1.0\n" for k in range(1, 10)))
    (tmp_path / "index.json").write_text(json.dumps({"runs": runs, "datasets": [], "present": []}))
    entries = report.load_entries(tmp_path)
    points = report.leak_points(entries)
    assert sorted(points.loc[points["subset"] == "all", "train_acc"].round(2)) == [40.46, 40.7, 43.11]
    g = report.leak_groups(entries)[0]
    reading = report.leak_reading(points, g)
    assert ("In the last of their 9 epochs, the runs classified 40.5-43.1% of their own training images correctly "
            "(history.csv; in a leaked run, the leaked ones among them): the network had not fitted its training "
            "images") in reading
    fitted = points.copy()
    fitted["train_acc"] = 97.5                              # had they fitted them, the sentence says that instead
    assert ("the runs classified 97.5% of their own training images correctly (history.csv; in a leaked run, the "
            "leaked ones among them): the network had fitted its training images, the leaked ones among them."
            ) in report.leak_reading(fitted, g)
    assert "training images correctly" not in report.leak_reading(points.assign(train_acc=None), g)


def test_the_leak_section_says_which_doses_are_recorded(tmp_path):
    from resemote.book import report
    from test_report import fake_run
    runs = _leak_runs(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"runs": runs, "datasets": []}))
    live = report.leak_plan_text(report.load_entries(tmp_path), present=False)
    assert live.startswith("FER2013 is not under data/fer2013 here, so this build plans no real-data dose of its own")
    rec = fake_run(tmp_path, "fer2013-leak-0.25-rec-FAKE", dataset="fer2013", config="C1", acc=0.46, synthetic=False,
                   experiments=["leakage"], stands_in_for=["fer2013"], profile="reduced", epochs=9, kind="recorded")
    _edit(Path(rec["path"]), train_subset=7000, leak_test_fraction=0.25, leak_copies="as-is")
    (tmp_path / "index.json").write_text(json.dumps({"runs": runs + [rec], "datasets": []}))
    text = report.leak_plan_text(report.load_entries(tmp_path), present=False)
    assert text.startswith("The real-data doses shown above (25% leaked) are recorded runs, made elsewhere and named "
                           "in their captions. FER2013 is not under data/fer2013 here, so this build plans no "
                           "real-data dose of its own")
    assert "the real-data doses are not planned" not in text
    assert report.leak_plan_text(report.load_entries(tmp_path), present=True).endswith(
        "Every planned real-data run of the leak experiment has finished.")
