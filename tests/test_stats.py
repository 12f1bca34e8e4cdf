"""`dataset_stats` / `format_stats` on tiny native layouts, and the CLI's one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from layouts import make_affectnet, make_expw, make_fer2013, make_rafdb
from resemote.cli import main
from resemote.data.classes import CLASSES
from resemote.analysis.stats import dataset_stats, format_stats

TWO = {"train": [9, 10, 11, 12, 13, 14, 15], "test": [2, 3, 4, 5, 6, 7, 8]}
THREE = {"train": [9, 10, 11, 12, 13, 14, 15], "val": [2, 3, 4, 5, 6, 7, 8], "test": [16, 17, 18, 19, 20, 21, 22]}
KEYS = {"name", "dataset", "release", "classes", "channels", "image_size", "total", "splits", "skipped", "dropped"}


def test_rafdb_stats(tmp_path):
    lay = make_rafdb(tmp_path, TWO)
    d = dataset_stats("rafdb", tmp_path)
    assert set(d) == KEYS
    assert d["dataset"] == "RAF-DB" and d["classes"] == list(CLASSES)
    assert d["channels"] == 3 and d["image_size"] == [100, 100]
    assert d["splits"] == lay.counts                      # the corrupt image counts: stats does not decode
    assert d["total"] == sum(TWO["train"]) + sum(TWO["test"])
    paths = [s["path"] for s in d["skipped"]]
    assert sorted(paths) == sorted(lay.missing + lay.malformed)   # a shared malformed row is listed once
    json.dumps(d)
    text = format_stats(d)
    assert "Table I" in text and "Table II" in text and "skipped: 2" in text and "4,772" in text
    assert "label-file counts" in text


def test_label_file_counts_and_decoded_counts_are_told_apart(tmp_path, capsys):
    """The corrupt image is in the label-file counts (stats does not decode) and not in the decoded ones."""
    from resemote.analysis.stats import decoded_counts
    lay = make_rafdb(tmp_path, TWO)
    d = dataset_stats("rafdb", tmp_path)
    dec = decoded_counts("rafdb", tmp_path)
    assert d["splits"] == lay.counts
    corrupt = [s for s in dec["skipped"] if "unreadable" in s["reason"]]
    assert len(corrupt) == 1
    split = "train" if "train_" in corrupt[0]["path"] else "test"
    gone = {c: d["splits"][split][c] - dec["splits"][split][c] for c in CLASSES}
    assert sum(gone.values()) == 1 and dec["splits"][("test" if split == "train" else "train")] == \
        d["splits"]["test" if split == "train" else "train"]
    assert main(["stats", "--dataset", "rafdb", "--root", str(tmp_path), "--decode"]) == 0
    out = capsys.readouterr().out
    assert "then decoded counts" in out and "train decoded" in out


def test_affectnet_and_expw_stats(tmp_path):
    lay = make_affectnet(tmp_path / "a", TWO, header=False)
    d = dataset_stats("affectnet", tmp_path / "a")
    assert d["splits"] == lay.counts and list(d["splits"]) == ["train", "test"]
    assert len(d["skipped"]) == 2                          # codes 7-10 are dropped, not skipped
    lay = make_expw(tmp_path / "e", [30, 31, 32, 33, 34, 35, 36])
    d = dataset_stats("expw", tmp_path / "e")
    assert list(d["splits"]) == ["train", "val", "test"]
    assert {c: sum(d["splits"][s][c] for s in d["splits"]) for c in CLASSES} == lay.counts["all"]
    assert "val" in format_stats(d)


@pytest.mark.parametrize("variant", ["fer2013.csv", "icml_face_data.csv", "train.csv", "folders"])
def test_fer2013_stats(tmp_path, variant):
    lay = make_fer2013(tmp_path, THREE, variant, subdir=variant == "icml_face_data.csv")
    d = dataset_stats("fer2013", tmp_path)
    assert d["splits"] == lay.counts and d["channels"] == 1 and d["image_size"] == [48, 48]


def test_cli_missing_root_names_the_file(tmp_path, capsys):
    assert main(["stats", "--dataset", "affectnet", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Manually_Annotated_file_lists/training.csv" in err and len(err.splitlines()) == 1
    assert main(["stats", "--dataset", "expw", "--root", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and "nowhere" in err and "label/label.lst" in err and len(err.splitlines()) == 1


def test_cli_strict_malformed_fer2013_row(tmp_path):
    lay = make_fer2013(tmp_path, THREE, "fer2013.csv", malformed=1)
    r = subprocess.run([sys.executable, "-m", "resemote", "stats", "--dataset", "fer2013", "--root", str(tmp_path),
                        "--strict"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert lay.malformed[0] in err and "2,304" in err      # where (file:line) and what was expected
    r = subprocess.run([sys.executable, "-m", "resemote", "stats", "--dataset", "fer2013", "--root", str(tmp_path),
                        "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["skipped"] == [{"path": lay.malformed[0], "reason": "expected 2,304 pixel values (48 x 48), found 2,303"}]


def test_what_real_fer2013_showed_on_a_small_real_like_copy(tmp_path):
    """The quirks the Kaggle image-folder release of FER2013 has (seen on the real data): one file name in two
    class folders, pixel-identical images across train and test, duplicates whose labels disagree. The
    dataset summary names the release, counts the leakage and the label conflicts, and shows pairs by name."""
    import shutil
    from resemote.analysis.stats import dataset_summary
    lay = make_fer2013(tmp_path, THREE, "folders")
    train = sorted((tmp_path / "train").rglob("*.jpg"))
    angry = next(p for p in train if p.parent.name == "angry")
    # the same file name in a second class folder (a copy: the release has two such names)
    shutil.copy(angry, tmp_path / "train" / "happy" / angry.name)
    # a training image again in the test split, under another class (leakage with a label conflict)
    shutil.copy(train[5], tmp_path / "test" / ("sad" if train[5].parent.name != "sad" else "fear") / "PrivateTest_999.jpg")
    s = dataset_summary("fer2013", tmp_path)
    assert s["release"] == "FER2013 (Kaggle image-folder release)" and s["synthetic"] is None
    assert s["stats"]["splits"]["train"]["Happy"] == lay.counts["train"]["Happy"] + 1
    audit = s["audit"]
    assert audit["summary"]["within-train"] >= 1 and audit["summary"]["train-test"] >= 1
    assert audit["label_conflicts"] == 2                           # both planted pairs carry two labels
    assert {(p["a"]["split"], p["b"]["split"]) for p in audit["conflicts_shown"]} == {("train", "train"),
                                                                                      ("train", "test")}
    assert audit["pairs_shown"][0]["a"]["split"] != audit["pairs_shown"][0]["b"]["split"]   # leakage first
    assert len(s["fingerprint"]) == 16 and len(s["commit"]) >= 7
    json.dumps(s)
