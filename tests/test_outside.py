"""Beyond the paper's four datasets, on FAKE runs (made-up numbers marked FAKE; none reaches the book): a record
carries its cross-dataset results and FER+ score; the book's cross-dataset matrix, outside-claims table, FER+
row, label-agreement tables and dataset notes read them."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import yaml

from resemote import paper
from resemote.book import report, records as results
from resemote.data.classes import CLASSES
from resemote.analysis.ferplus_agreement import OUTCOMES
from resemote.book.engine import Workflow
from resemote.book import run_index
from test_report import fake_run

PLAN = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0], "device": "auto"},
        "reduced": {"protocol": "paper", "epochs": 2, "batch_size": 16, "seeds": [0], "device": "auto"},
        "demo": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 48, "n_val": 24, "n_test": 24, "seed": 0}},
    },
    "experiments": {"table3": {"datasets": ["fer2013", "ferplus"], "configs": ["C1"]}},
}


def cross_result(name: str, acc: float, n: int, **coverage) -> dict:
    return {"dataset": name, "split": "test", "trained_on": "fer2013", "accuracy": acc,
            "accuracy_ci95": [acc - 0.05, acc + 0.05], "n": n,
            "coverage": {"present_classes": [c for c in CLASSES if c not in coverage.get("absent", [])],
                         "absent_from_test": coverage.get("absent", []), "dropped": coverage.get("dropped", {})}}


def test_a_record_carries_cross_results_and_the_ferplus_score(tmp_path):
    made = tmp_path / "checkout" / "runs"
    fake_run(made, "fer2013-C1-s0-FAKE", dataset="fer2013", config="C1", acc=0.6, synthetic=False,
             experiments=["table3"], stands_in_for=["fer2013"])
    run = made / "fer2013-C1-s0-FAKE"
    params = json.loads((run / "params.json").read_text())
    params["lr"] = 1e-3
    (run / "params.json").write_text(json.dumps(params))
    (run / "cross").mkdir()
    (run / "cross" / "ckplus.json").write_text(json.dumps({**cross_result("ckplus", 0.45, 190, absent=["Neutral"],
                                                                          dropped={"Contempt": 11}),
                                                           "note": f"made in {run}"}))
    acc = {"n": 10, "correct": 5, "accuracy": 0.5, "accuracy_ci95": [0.2, 0.8]}
    score = {"faces": 12, "comparable": 10, "fer2013_labels_all": {**acc, "n": 12, "correct": 6},
             "common": {"fer2013_labels": acc, "ferplus_labels": {**acc, "correct": 7, "accuracy": 0.7}}}
    (run / "ferplus-labels.json").write_text(json.dumps(score))
    dest = results.publish_run(run, tmp_path / "rec", release="FAKE")
    assert json.loads((dest / "cross" / "ckplus.json").read_text())["note"] == "made in runs/fer2013-C1-s0-FAKE"
    assert json.loads((dest / "ferplus-labels.json").read_text()) == score
    assert json.loads((dest / "record.json").read_text())["extras"] == ["cross/ckplus.json", "ferplus-labels.json"]
    # the engine places the record in its cell with its cross results, and the matrix shows them
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(PLAN))
    (tmp_path / "data").mkdir()
    w = Workflow(str(tmp_path / "plan.yml"), str(tmp_path / "runs"), str(tmp_path / "data"), str(tmp_path / "b"),
                 str(tmp_path / "rec"), "auto", 0)
    entries, meta = run_index.index_entries(w)
    rec = [e for e in entries if e.kind == "recorded"]
    assert len(rec) == 1 and rec[0].profile == "reduced" and list(rec[0].cross) == ["ckplus"]
    (tmp_path / "runs").mkdir()
    results.write_index(tmp_path / "runs" / "index.json", entries, **meta)
    m = report.cross_matrix(report.load_entries(tmp_path / "runs"), root=tmp_path / "runs")
    assert m.loc["FER2013, reduced budget, recorded", "FER2013"] == 60.0
    assert m.loc["FER2013, reduced budget, recorded", "CK+"] == 45.0
    scores = report.ferplus_scores(report.load_entries(tmp_path / "runs"))
    assert len(scores) == 1 and scores.iloc[0]["command"] == ""              # the record's score is shown
    assert scores.iloc[0]["same faces, FER+ majority (%)"] == "70.00 (20.00-80.00)"
    assert scores.iloc[0]["faces"] == "10 of 12"


def _index(tmp_path: Path) -> list:
    runs = tmp_path / "runs"
    fer = fake_run(runs, "fer2013-C1-s0-FAKE", dataset="fer2013", config="C1", acc=0.62, synthetic=False,
                   experiments=["table3"], stands_in_for=["fer2013"], profile="reduced")
    for name, r in (("ckplus", cross_result("ckplus", 0.45, 190, absent=["Neutral"], dropped={"Contempt": 11})),
                    ("jaffe", cross_result("jaffe", 0.3, 213))):
        (runs / "fer2013-C1-s0-FAKE" / "cross").mkdir(exist_ok=True)
        (runs / "fer2013-C1-s0-FAKE" / "cross" / f"{name}.json").write_text(json.dumps(r))
    fer["cross"] = {n: f"fer2013-C1-s0-FAKE/cross/{n}.json" for n in ("ckplus", "jaffe")}
    plus = {"id": "ferplus-C1-s0-FAKE", "kind": "live", "status": "not run", "error": None, "dataset": "ferplus",
            "config": "C1", "seed": 0, "profile": "reduced", "synthetic": None, "experiments": ["table3"],
            "stands_in_for": ["ferplus"], "params": {}, "command": "FAKE papermill command", "path": "x"}
    (runs / "index.json").write_text(json.dumps({"runs": [fer, plus], "datasets": []}))
    return report.load_entries(runs)


def test_outside_claims_and_the_ferplus_row(tmp_path):
    entries = _index(tmp_path)
    t = report.outside_claims_table(entries, root=tmp_path / "runs").set_index("test set")
    ck = t.loc["CK+"]
    assert ck["released repository's README (claim)"].startswith(f"{paper.RELEASED_README['ckplus'][0]:.2f}% (7 classes")
    assert ck["this companion"].startswith("45.00 (95% CI 40.00-50.00, n=190")
    assert ck["classes"] == "6 classes tested; no Neutral; dropped: Contempt 11"
    assert "C1 trained on FER2013" in ck["model"] and "reduced budget" in ck["model"]
    assert t.loc["JAFFE", "released repository's README (claim)"] == "- (no claim)"
    assert t.loc["JAFFE", "classes"] == "7 classes tested"
    # no cross result yet: the command that makes it
    no_cross = [e for e in entries if e.info.cross]
    for e in no_cross:
        e.info = replace(e.info, cross={})
    t = report.outside_claims_table(entries, root=tmp_path / "runs").set_index("test set")
    assert t.loc["CK+", "this companion"] == report.NOT_RUN
    assert "python -m resemote.book.engine_jobs cross fer2013-C1-s0-FAKE --name ckplus" in t.loc["CK+", "model"]
    assert "python -m resemote.book.engine_jobs cross ferplus-C1-s0-FAKE --name jaffe" in t.loc["JAFFE", "model"]
    plus = t.loc[report.TITLES["ferplus"]]
    assert plus["released repository's README (claim)"].startswith("91.64% (8 classes")
    assert plus["this companion"] == report.NOT_RUN
    f = report.ferplus_table(entries)
    assert f.loc["this companion, reduced budget (7 classes)", "command"] == "FAKE papermill command"
    assert f.loc["this companion, reduced budget (7 classes)", "test accuracy (%)"] == report.NOT_RUN
    assert f.loc["released repository's README (claim; 8 classes)", "test accuracy (%)"] == "91.64"
    s = report.ferplus_scores(entries)
    assert s.iloc[0]["command"].startswith("resemote ferplus-score --checkpoint runs/fer2013-C1-s0-FAKE")


def test_agreement_tables_from_a_record(tmp_path):
    def part(faces, agree, comparable):
        by = {c: {"comparable": 0, "agree": 0, "ferplus": {o: 0 for o in OUTCOMES}} for c in CLASSES}
        by["Happy"].update(comparable=comparable, agree=agree)
        by["Happy"]["ferplus"]["Happy"] = agree
        return {"faces": faces, "matched": faces - 2, "ambiguous": 2, "ambiguous_one_label": 2, "ambiguous_comparable": 1,
                "ambiguous_agree": 1, "unmatched": 0, "split_mismatch": 0, "comparable": comparable, "agree": agree,
                "ferplus": {o: 0 for o in OUTCOMES}, "by_class": by}
    a = {"splits": {"train": part(10, 6, 8), "val": part(5, 1, 4), "test": part(6, 3, 4)}, "all": part(21, 10, 16)}
    (tmp_path / "datasets" / "ferplus").mkdir(parents=True)
    (tmp_path / "datasets" / "ferplus" / "label-agreement.json").write_text(json.dumps(a))
    assert report.load_agreement(tmp_path) == a and report.load_agreement(tmp_path / "none") is None
    s = report.agreement_summary(a)
    assert s.loc["PrivateTest", "FER2013 label = FER+ majority (%)"] == "75.0 (n=4)"
    assert s.loc["all", "several files (FER2013 duplicates)"] == 2
    c = report.agreement_by_class(a)
    assert c.loc["Happy", "PublicTest (%)"] == "25.0 (n=4)" and c.loc["Angry", "all (%)"] == "-"
    outcomes = report.agreement_outcomes(a)
    assert outcomes.loc["Happy", ("FER2013 label", "Happy")] == 10 and outcomes.index.name == "FER+ majority"
    assert outcomes.shape == (len(OUTCOMES), len(CLASSES))          # seven columns, not eleven


def test_dataset_notes_and_dropped_rows():
    summary = {"stats": {"dropped": {"test": {"Contempt": 15, "no majority": 425}},
                         "ignored": {"test": [{"path": "Data/3 - Surprise/YM.SU3.60.jpg", "reason": "a JPG copy"}]},
                         "grouping": {"copy_links": 5, "links_across_photo_split": 2, "faces_moved": 4, "faces": 100}}}
    notes = report.dataset_notes(summary)
    assert notes[0] == "test: dropped, no canonical class: Contempt 15, no majority 425"
    assert "YM.SU3.60.jpg (a JPG copy)" in notes[1] and "moved 4 of 100 faces" in notes[2]
    d = {"name": "ferplus", "kind": "recorded", "synthetic": False,
         "summary": {"title": "FER+", "dataset": "ferplus", "stats": {
             "splits": {"test": dict(zip(CLASSES, range(1, 8)))}, "dropped": summary["stats"]["dropped"]},
             "decoded": {"splits": {"test": dict(zip(CLASSES, range(1, 8)))}}}}
    t = report.computed_table2([d])
    assert t.loc["dropped: Contempt", ("FER+ (recorded)", "test (label files)")] == 15
    assert t.loc["Total", ("FER+ (recorded)", "test (label files)")] == 28


def test_the_ferplus_row_gives_the_clean_test_score_beside_the_claim(tmp_path):
    """A finished FER+ run: its accuracy, and on its own column the clean-test score with interval and n."""
    runs = tmp_path / "runs"
    plus = fake_run(runs, "ferplus-C1-s0-FAKE", dataset="ferplus", config="C1", acc=0.6, synthetic=False,
                    experiments=["table3"], stands_in_for=["ferplus"], profile="reduced")
    m = json.loads((runs / "ferplus-C1-s0-FAKE" / "metrics.json").read_text())
    m["clean_test"] = {"accuracy": 0.55, "ci95": [0.5, 0.6], "n": 80, "n_test": 100, "with_copy": 20, "leaked": 0}
    (runs / "ferplus-C1-s0-FAKE" / "metrics.json").write_text(json.dumps(m))
    (runs / "index.json").write_text(json.dumps({"runs": [plus], "datasets": []}))
    f = report.ferplus_table(report.load_entries(runs))
    ours = f.loc["this companion, reduced budget (7 classes)"]
    assert ours["test accuracy (%)"].startswith("60.00")
    assert ours[report.other_datasets.CLEAN] == "55.00 (95% CI 50.00-60.00; n=80)"
    assert ours["command"] == ""
    assert f.loc["released repository's README (claim; 8 classes)", report.other_datasets.CLEAN] == "-"


def test_fer2013_and_ferplus_scored_on_each_others_labels_are_no_cross_dataset_test(tmp_path):
    """FAKE FER2013 and FER+ runs, each scored on the other's test split (the same faces, relabelled) and on CK+:
    the cross-dataset matrix leaves the pair out; the relabelled matrix holds it alone."""
    runs = tmp_path / "runs"
    index = []
    for d, other, acc, x in (("fer2013", "ferplus", 0.61, 0.52), ("ferplus", "fer2013", 0.71, 0.43)):
        rid = f"{d}-C1-s0-FAKE"
        e = fake_run(runs, rid, dataset=d, config="C1", acc=acc, synthetic=False, experiments=["table3"],
                     stands_in_for=[d], profile="reduced")
        (runs / rid / "cross").mkdir()
        for name, a in ((other, x), ("ckplus", 0.33)):
            (runs / rid / "cross" / f"{name}.json").write_text(json.dumps({**cross_result(name, a, 100),
                                                                           "trained_on": d}))
        e["cross"] = {n: f"{rid}/cross/{n}.json" for n in (other, "ckplus")}
        index.append(e)
    (runs / "index.json").write_text(json.dumps({"runs": index, "datasets": []}))
    entries = report.load_entries(runs)
    fer, plus = "FER2013, reduced budget", "FER+ (majority vote, 7 classes), reduced budget"
    m = report.cross_matrix(entries, root=runs)
    assert m.loc[fer, "FER2013"] == 61.0 and m.loc[plus, "FER+ (majority vote, 7 classes)"] == 71.0
    assert m.loc[fer, "CK+"] == m.loc[plus, "CK+"] == 33.0
    # the pair's cross cells are not in it: a run's score under the other label set shows nowhere here
    assert m.loc[fer].isna().sum() == 1 and m.loc[plus].isna().sum() == 1
    assert 52.0 not in m.values and 43.0 not in m.values
    shown = report.cross_cells(m)                                       # as the chapter shows it
    assert shown.loc[fer, "FER+ (majority vote, 7 classes)"] == shown.loc[plus, "FER2013"] == report.SAME_FACES_CELL
    assert shown.loc[fer, "CK+"] == 33.0
    r = report.cross_matrix(entries, root=runs, relabelled=True)
    assert list(r.columns) == ["FER+ (majority vote, 7 classes) labels", "FER2013 labels"]
    assert r.loc[fer, "FER2013 labels"] == 61.0 and r.loc[fer, "FER+ (majority vote, 7 classes) labels"] == 52.0
    assert r.loc[plus, "FER2013 labels"] == 43.0 and r.loc[plus, "FER+ (majority vote, 7 classes) labels"] == 71.0
    assert "CK+" not in r.columns
