"""Cross-dataset evaluation: metrics of a checkpoint on another dataset's split, with class coverage stated."""
from __future__ import annotations

import json
import os

import numpy as np

from layouts import make_ckplus
from resemote.checkpoint import sidecar
from resemote.cli import main
from resemote.analysis.crosseval import class_coverage, cross_evaluate
from resemote.data import get_dataset
from resemote.data.classes import CLASSES

KEYS = {"checkpoint", "config", "trained_on", "trained_on_title", "provenance", "dataset", "dataset_title", "split",
        "cross_dataset", "n", "data_fingerprint", "device", "skipped", "synthetic", "accuracy", "accuracy_ci95",
        "balanced_accuracy", "macro_f1", "per_class", "confusion_matrix", "loss", "coverage"}


CK_COUNTS = [13, 14, 15, 16, 0, 17, 18]


def _split_with_contempt(root) -> str:
    """The split that got contempt images (the subject split decides; the tests need one with some)."""
    return "test" if get_dataset("ckplus", root, "test").dropped else "train"


def _with_sidecar(tmp_path, checkpoint, name: str, meta: dict):
    """The same weights under another name with another sidecar (a hard link: no 185 MB copy)."""
    dest = tmp_path / f"{name}.safetensors"
    os.link(checkpoint, dest)
    (tmp_path / f"{name}.json").write_text(json.dumps(meta))
    return dest


def test_synthetic_same_dataset(tiny_checkpoint, synth_root):
    r = cross_evaluate(tiny_checkpoint, "fer2013", synth_root, device="cpu", progress=False)
    assert KEYS <= set(r)
    json.dumps(r)
    assert r["config"] == "C6" and r["trained_on"] == "fer2013" and r["cross_dataset"] is False
    assert r["n"] == 24 and r["synthetic"] and r["split"] == "test" and len(r["data_fingerprint"]) == 16
    cm = np.array(r["confusion_matrix"])
    assert cm.sum() == 24 and abs(r["accuracy"] - np.trace(cm) / 24) < 1e-9
    lo, hi = r["accuracy_ci95"]
    assert lo <= r["accuracy"] <= hi
    cov = r["coverage"]
    assert cov["absent_from_training"] == [] and cov["dropped"] == {} and cov["skipped"] == 0
    assert cov["absent_from_test"] == [c for c, n in zip(CLASSES, cm.sum(1)) if not n]


def test_ckplus_states_absent_neutral_and_contempt(tmp_path, tiny_checkpoint, synth_root):
    make_ckplus(tmp_path / "ck", CK_COUNTS, contempt=9, subjects=15, stray=0)
    split = _split_with_contempt(tmp_path / "ck")
    test = get_dataset("ckplus", tmp_path / "ck", split)
    r = cross_evaluate(tiny_checkpoint, "ckplus", tmp_path / "ck", split, device="cpu", progress=False)
    assert r["cross_dataset"] is True and r["dataset_title"] == "CK+" and r["trained_on_title"] == "FER2013"
    cm = np.array(r["confusion_matrix"])
    assert r["n"] + r["skipped"] == len(test)                                 # the corrupt image, if here
    cov = r["coverage"]
    assert "Neutral" in cov["absent_from_test"] and "Neutral" not in cov["present_classes"]
    assert cov["dropped"] == {"Contempt": test.dropped["Contempt"]} and cov["dropped_total"] > 0
    support = cm.sum(1)
    recall = np.diag(cm)[support > 0] / support[support > 0]
    assert abs(r["balanced_accuracy"] - recall.mean()) < 1e-9                  # over the present classes only
    notes = " | ".join(cov["notes"])
    assert "no Neutral" in notes and "Contempt" in notes and "present classes" in notes

    # a model trained on CK+ (the sidecar says so) never learnt Neutral; FER2013-layout test data has it
    ck_model = _with_sidecar(tmp_path, tiny_checkpoint, "ck", sidecar("C6", dataset="ckplus"))
    r = cross_evaluate(ck_model, "fer2013", synth_root, device="cpu", progress=False)
    cov = r["coverage"]
    assert r["trained_on"] == "ckplus" and r["cross_dataset"] is True and cov["absent_from_training"] == ["Neutral"]
    assert any("(CK+) had no Neutral" in n for n in cov["notes"])
    cm = np.array(r["confusion_matrix"])
    if cm[4].sum():                                                           # Neutral among the test faces
        shared = [i for i in range(7) if i != 4]
        assert cov["accuracy_on_shared_classes"] == np.trace(cm[np.ix_(shared, shared)]) / cm[shared].sum()


def test_evaluate_cli_prints_the_notes(tmp_path, tiny_checkpoint, capsys):
    make_ckplus(tmp_path / "ck", CK_COUNTS, contempt=9, subjects=15, stray=0)
    split = _split_with_contempt(tmp_path / "ck")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--dataset", "ckplus", "--root",
                 str(tmp_path / "ck"), "--split", split, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ckplus/{split} (") and "note: CK+ has no Neutral samples here" in out
    assert "have no canonical class and were left out (Contempt" in out


def test_class_coverage_training_side():
    cm = np.diag([5, 4, 3, 6, 7, 2, 1])
    cm[4, 3] = 3                                          # three Neutral faces called Happy
    # the sidecar records the training counts: Neutral had none
    counts = dict(zip(CLASSES, [9, 9, 9, 9, 0, 9, 9]))
    cov = class_coverage(cm, "ckplus", counts, test_title="FER2013")
    assert cov["absent_from_training"] == ["Neutral"] and cov["absent_from_training_source"].startswith("sidecar")
    assert cov["accuracy_on_shared_classes"] == (5 + 4 + 3 + 6 + 2 + 1) / (5 + 4 + 3 + 6 + 2 + 1)
    assert any("never learnt that class" in n for n in cov["notes"])
    # no counts: the training dataset's loader says what its release lacks
    cov = class_coverage(cm, "ckplus", None)
    assert cov["absent_from_training"] == ["Neutral"] and "CK+ loader" in cov["absent_from_training_source"]
    cov = class_coverage(cm, "rafdb", None)
    assert cov["absent_from_training"] == [] and "accuracy_on_shared_classes" not in cov
    # a released checkpoint names no training dataset
    cov = class_coverage(cm, None, None, dropped={"Contempt": 0}, skipped=2)
    assert cov["absent_from_training"] is None and cov["dropped"] == {} and cov["skipped"] == 2
    assert any("unknown" in n for n in cov["notes"]) and any("2 damaged" in n for n in cov["notes"])
