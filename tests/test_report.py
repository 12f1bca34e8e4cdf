"""resemote.report on FAKE run directories: hand-made here only to test the tables' logic.

Every number below is a made-up test fixture (marked "FAKE" in its run); none reaches the book.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from resemote import report
from resemote.data.classes import CLASSES
from resemote.model import ResEmoteNet, count_parameters


def fake_run(root: Path, rid: str, *, dataset: str, config: str, acc: float, synthetic: bool,
             experiments: list[str], stands_in_for: list[str], seed: int = 0) -> dict:
    d = root / rid
    d.mkdir(parents=True)
    synth = {"generator": "FAKE", "n_train": 10, "n_val": 5, "n_test": 7, "seed": 0} if synthetic else None
    params = {"dataset": dataset, "config": config, "protocol": "paper", "epochs": 2, "batch_size": 16,
              "lr": 0.01, "seed": seed, "image_size": 64, "synthetic": synth}
    (d / "params.json").write_text(json.dumps(params))
    (d / "history.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n"
                                   "1,0.01,2.0,0.2,1.9,0.25,1.0\n2,0.01,1.5,0.4,1.6,0.35,1.0\n")
    cm = [[1 if i == j else 0 for j in range(7)] for i in range(7)]
    metrics = {"dataset": dataset, "config": config, "protocol": "paper", "seed": seed, "epochs": 2,
               "best_epoch": 2, "classes": list(CLASSES), "test_accuracy": acc, "test_accuracy_ci95": [acc - .1, acc + .1],
               "balanced_accuracy": acc, "macro_f1": acc, "test_loss": 1.234,
               "per_class": {c: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1} for c in CLASSES},
               "confusion_matrix": cm, "train_seconds": 12.0, "inference_ms_per_image": 3.0,
               "device": "FAKE CPU", "git_commit": "fakefakefake1234", "torch_version": "FAKE",
               "data_fingerprint": "FAKEFP", "finished_at": "2026-01-01T00:00:00+00:00", "synthetic": synth}
    (d / "metrics.json").write_text(json.dumps(metrics))
    return {"id": rid, "config": config, "seed": seed, "profile": "demo" if synthetic else "paper",
            "synthetic": synth, "experiments": experiments, "stands_in_for": stands_in_for,
            "params": params, "command": "FAKE"}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    index = [
        fake_run(tmp_path, "synthetic-C1-FAKE", dataset="fer2013", config="C1", acc=0.5, synthetic=True,
                 experiments=["table3", "table4"], stands_in_for=["fer2013", "rafdb", "affectnet", "expw"]),
        fake_run(tmp_path, "rafdb-C1-s0-FAKE", dataset="rafdb", config="C1", acc=0.8, synthetic=False,
                 experiments=["table3", "table4"], stands_in_for=["rafdb"]),
        fake_run(tmp_path, "rafdb-C1-s1-FAKE", dataset="rafdb", config="C1", acc=0.7, synthetic=False,
                 experiments=["table3", "table4"], stands_in_for=["rafdb"], seed=1),
    ]
    index.append({"id": "rafdb-C2-s0-FAKE", "config": "C2", "seed": 0, "profile": "paper", "synthetic": None,
                  "experiments": ["table4"], "stands_in_for": ["rafdb"], "params": {}, "command": "FAKE"})
    (tmp_path / "index.json").write_text(json.dumps({"runs": index}))
    return tmp_path


def test_results_table_keeps_synthetic_out_of_real_cells(runs: Path):
    entries = report.load_entries(runs)
    t = report.results_table(entries)
    real = t.loc["ResEmoteNet, this companion (real data)"]
    synth = t.loc[f"ResEmoteNet, stand-in ({report.SYNTHETIC_TAG})"]
    assert real["FER2013"].startswith(report.NOT_RUN)          # only a synthetic run stands in for it
    assert real["RAF-DB"].startswith("75.00 ± 7.07 (n=2)")       # mean ± sd of the two FAKE seeds
    assert "rafdb-C1-s0-FAKE (commit fakefakefa)" in real["RAF-DB"]
    assert "synthetic" not in real["RAF-DB"]
    assert synth["FER2013"].startswith("50.00") and "synthetic-C1-FAKE" in synth["ExpW"]
    assert t.loc["ResEmoteNet, paper's claim (Roy et al. 2024)", "RAF-DB"] == "94.76"


def test_missing_runs_get_a_papermill_command(runs: Path):
    entries = report.load_entries(runs)
    miss = report.missing_table(entries, "table3", report.DATASETS, ["C1"])
    assert set(miss["dataset"]) == {"FER2013", "AffectNet-7", "ExpW"}
    assert all(c.startswith("papermill notebooks/train.ipynb") and "-p dataset" in c for c in miss["command"])


def test_ablation_table(runs: Path):
    t = report.ablation_table(report.load_entries(runs)).set_index("config")
    assert t.loc["C1", "paper acc. (%)"] == "94.76"
    assert t.loc["C2", "ours acc. (%), RAF-DB"].startswith(report.NOT_RUN)   # planned, unfinished
    assert t.loc["C1", f"ours acc. (%), {report.SYNTHETIC_TAG}"] == "50.00"
    assert t.loc["C1", f"budget, {report.SYNTHETIC_TAG}"].startswith("2 ep.")


def test_provenance_and_compute(runs: Path):
    entries = report.load_entries(runs)
    p = report.provenance_table(entries).set_index("run")
    assert p.loc["rafdb-C2-s0-FAKE", "status"] == report.NOT_RUN
    assert report.SYNTHETIC_TAG in p.loc["synthetic-C1-FAKE", "data"]
    c = report.compute_table(entries)
    assert (c["source"] == "paper's claim (M2 Pro / P100)").sum() == 4
    assert c["training"].str.contains("0.2 min").sum() == 3


def test_figures_render(runs: Path):
    entries = report.load_entries(runs)
    assert report.confusion_grid(report.select(entries, experiment="table3")) is not None
    assert report.plot_history(entries[0].run) is not None


def test_layer_table_matches_the_model():
    lt = report.layer_table("C1")
    assert lt["parameters"].iloc[-1] == count_parameters(ResEmoteNet("C1")) == 80_238_599
    assert abs(lt["MFLOPs"].iloc[-1] - 674.0) < 1.0                    # about 0.67 GFLOPs per image
    assert lt.set_index("stage").loc["res_block3 (residual, stride 2)", "output shape"] == "2048 x 1 x 1"
    ct = report.config_table().set_index("config")
    assert 8 < ct.loc["C4", "GFLOPs"] / ct.loc["C1", "GFLOPs"] < 9


def test_paper_tables_and_fer2013_permutation():
    t2 = report.paper_table2()
    assert t2.loc["Total", ("FER2013", "train")] == 28709 and t2.loc["Total", ("ExpW", "test")] == 9091
    perm = report.fer2013_permutation()
    assert report.is_permutation(perm.iloc[:, 0], perm.iloc[:, 1])
    assert list(perm.index[perm["paper = cited?"] == "yes"]) == ["Angry"]


def test_setup_table_marks_differences():
    t = report.setup_table("paper").set_index("setting")
    assert t.loc["loss", "differs"] == "◆" and t.loc["batch size", "differs"] == ""
    assert t.loc["momentum", "paper"] == "not stated"


def test_table_html_is_stable():
    df = report.paper_table1()
    assert report.table(df, "x").to_html() == report.table(df, "x").to_html()


def test_computed_tables_mark_disagreements_with_the_paper():
    paper = report.PAPER_TABLE_II["rafdb"]
    train = {c: n for c, (n, _) in zip(report.CLASSES, paper)}
    test = {c: n for c, (_, n) in zip(report.CLASSES, paper)}
    test["Fear"] += 1                                                   # FAKE disagreement
    stats = {"RAF-DB": {"name": "rafdb", "dataset": "RAF-DB", "channels": 3, "image_size": [100, 100],
                        "total": 15340, "classes": list(report.CLASSES), "splits": {"train": train, "test": test},
                        "synthetic": None}}
    t2 = report.computed_table2(stats)
    assert t2.loc["Fear", ("RAF-DB", "paper test")] == "74 ≠"
    assert t2.loc["Happy", ("RAF-DB", "paper train")] == "4772"
    t1 = report.computed_table1(stats)
    assert t1.loc["paper: channels / size / total", "RAF-DB"] == "3 / 100 x 100 / 15,339"
