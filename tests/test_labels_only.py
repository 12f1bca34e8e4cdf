"""Counting a dataset from its label file alone (no image present), recording it, and the claims it checks.

Every label file here is a miniature written by the test; the expected counts are worked out by hand from
its rows (RAF-DB's native labels: 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness, 6 Anger, 7 Neutral).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from resemote import paper

from resemote.book import report, records as results
from resemote.cli import main
from resemote.data import get_dataset
from resemote.data.base import LABELS_ONLY
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.analysis.stats import dataset_stats, format_stats, label_summary

LABEL_FILE = "basic/EmoLabel/list_patition_label.txt"
ROWS = ["train_00001.jpg 5", "train_00002.jpg 4", "train_00003.jpg 4", "train_00004.jpg 1",
        "train_00005.jpg 6", "", "test_00001.jpg 7", "test_00002.jpg 4",
        "train_00006.jpg 9",            # line 9: a label out of range
        "test_00003.jpg 2"]
ZERO = dict.fromkeys(CLASSES, 0)
TRAIN = {**ZERO, "Sad": 1, "Happy": 2, "Surprise": 1, "Angry": 1}
TEST = {**ZERO, "Neutral": 1, "Happy": 1, "Fear": 1}


def label_file(root: Path, rows: list[str] = ROWS) -> Path:
    f = root / LABEL_FILE
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("\n".join(rows) + "\n")
    return f


def test_counts_from_the_label_file_alone_when_no_image_is_present(tmp_path):
    f = label_file(tmp_path)
    d = dataset_stats("rafdb", tmp_path, labels_only=True)
    assert d["splits"] == {"train": TRAIN, "test": TEST} and d["total"] == 8
    assert d["labels_only"] is True and d["counted_from"] == LABELS_ONLY
    assert d["label_files"] == [{"path": LABEL_FILE, "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}]
    # the malformed row, with its file:line, listed once although both splits read the file
    assert d["skipped"] == [{"path": f"{LABEL_FILE}:line 9", "reason": "expected a label 1-7, found '9'"}]
    text = format_stats(d)
    assert f"Table I - RAF-DB (RAF-DB) - {LABELS_ONLY}" in text and f"split ({LABELS_ONLY})" in text
    assert "decoded" not in text and "label-file counts" not in text and "missing" not in text
    assert f"{LABEL_FILE}:line 9: expected a label 1-7" in text
    # counted the ordinary way the same copy has no image, and says how to count its label file
    plain = dataset_stats("rafdb", tmp_path)
    assert plain["total"] == 0 and "labels_only" not in plain
    assert "--labels-only counts the label file alone" in format_stats(plain)


def test_the_command_line_says_what_it_counted_and_stops_at_a_malformed_row_when_strict(tmp_path, capsys):
    label_file(tmp_path)
    assert main(["stats", "--dataset", "rafdb", "--root", str(tmp_path), "--labels-only"]) == 0
    out = capsys.readouterr().out
    assert out.count(LABELS_ONLY) == 2 and f"{LABEL_FILE}:line 9" in out
    assert main(["stats", "--dataset", "rafdb", "--root", str(tmp_path), "--labels-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["test"] == TEST
    assert main(["stats", "--dataset", "rafdb", "--root", str(tmp_path), "--labels-only", "--strict"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{LABEL_FILE}:line 9: expected a label 1-7, found '9'" in err
    assert main(["stats", "--dataset", "rafdb", "--root", str(tmp_path), "--labels-only", "--decode"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_missing_label_file_is_one_line_naming_what_and_where(tmp_path, capsys):
    (tmp_path / "basic").mkdir()
    with pytest.raises(ResEmoteError, match="expected basic/EmoLabel/list_patition_label.txt"):
        dataset_stats("rafdb", tmp_path, labels_only=True)
    assert main(["stats", "--dataset", "rafdb", "--root", str(tmp_path), "--labels-only"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "basic/EmoLabel/list_patition_label.txt" in err and str(tmp_path) in err


def test_a_copy_with_images_or_without_a_label_file_is_refused(tmp_path):
    label_file(tmp_path)
    image = tmp_path / "basic" / "Image" / "aligned" / "test_00002_aligned.jpg"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"")  # present is enough: nothing is read
    with pytest.raises(ResEmoteError, match=r"expected no image .* found 1 of the test images .*test_00002"):
        dataset_stats("rafdb", tmp_path, labels_only=True)
    # the Kaggle repack without csv files: its labels are folder names, so nothing is there to count from
    folders = tmp_path / "kaggle" / "DATASET"
    for split in ("train", "test"):
        (folders / split / "4").mkdir(parents=True)
        (folders / split / "4" / f"{split}_1.jpg").write_bytes(b"")
    with pytest.raises(ResEmoteError, match="expected a label file .* folders' names"):
        get_dataset("rafdb", tmp_path / "kaggle", "train", labels_only=True)
    with pytest.raises(ResEmoteError, match="label file alone gives no split"):
        dataset_stats("expw", tmp_path, labels_only=True)


def test_recorded_as_label_counts_never_as_a_dataset_record(tmp_path):
    label_file(tmp_path / "data")
    s = label_summary("rafdb", tmp_path / "data")
    assert s["counted_from"] == LABELS_ONLY and s["stats"]["total"] == 8
    assert not {"decoded", "audit", "clean_test", "fingerprint"} & set(s)
    src = tmp_path / "rafdb.labels.json"
    src.write_text(json.dumps({**s, "commit": "0123456789ab"}))      # as made at a clean commit
    assert main(["publish", str(src), "--records", str(tmp_path / "results")]) == 0
    folder = tmp_path / "results" / "datasets" / "rafdb"
    assert sorted(p.name for p in folder.iterdir()) == ["label-counts.json"]
    assert results.load_records(tmp_path / "results", "datasets") == []   # no audit, no fingerprint to check
    (rec,) = results.load_label_counts(tmp_path / "results")
    assert rec["kind"] == "label-counts" and rec["counted_from"] == LABELS_ONLY
    assert rec["stats"]["splits"] == {"train": TRAIN, "test": TEST} and rec["label_files"] == s["label_files"]
    # a summary carrying anything from the image side is not a label-file count
    src.write_text(json.dumps({**s, "commit": "0123456789ab", "fingerprint": "abc"}))
    with pytest.raises(ResEmoteError, match="expected nothing from the image side"):
        results.publish_dataset(src, tmp_path / "results")
    src.write_text(json.dumps({**s, "commit": "unknown"}))
    with pytest.raises(ResEmoteError, match="clean commit"):
        results.publish_dataset(src, tmp_path / "results")


def fake_record(counts: dict[str, list[int]]) -> dict:
    splits = {s: dict(zip(CLASSES, c)) for s, c in counts.items()}
    return {"id": "rafdb", "kind": "label-counts", "dataset": "rafdb", "counted_from": LABELS_ONLY,
            "label_files": [{"path": LABEL_FILE, "sha256": "f" * 64}], "commit": "0123456789ab",
            "stats": {"total": sum(map(sum, counts.values())), "splits": splits},
            "path": Path("results/datasets/rafdb/label-counts.json")}


def test_the_rafdb_count_claims_get_their_verdicts_from_a_label_count_record():
    train = [t for t, _ in paper.TABLE_II["rafdb"]]
    test = [t for _, t in paper.TABLE_II["rafdb"]]
    rows = report.claims_table([], [], [fake_record({"train": train, "test": test})]).set_index("claim")
    counts = [c for c in rows.index if c.startswith(("Table I:", "Table II:")) and "RAF-DB" in c]
    assert len(counts) == 3
    for c in counts:
        assert rows.loc[c, "verdict"] == "reproduced"
        assert LABELS_ONLY in rows.loc[c, "this companion"]
        assert rows.loc[c, "evidence"] == "results/datasets/rafdb/label-counts.json"
    # one test image fewer in Fear: the total and the test row fail, the train row still holds
    test[2] -= 1
    rows = report.claims_table([], [], [fake_record({"train": train, "test": test})]).set_index("claim")
    v = rows["verdict"]
    assert v["Table I: RAF-DB has 15,339 images"] == "not reproduced"
    assert rows.loc["Table I: RAF-DB has 15,339 images", "this companion"].startswith("15,338 (")
    assert v["Table II: RAF-DB training images per class"] == "reproduced"
    assert v["Table II: RAF-DB test images per class"] == "not reproduced"
    assert "differs in Fear" in rows.loc["Table II: RAF-DB test images per class", "this companion"]
    # other datasets are untouched, and with no record RAF-DB's rows are not checked
    assert v["Table I: FER2013 has 35,887 images"] == "not checked yet"
    assert report.claims_table([], []).set_index("claim")["verdict"]["Table I: RAF-DB has 15,339 images"] \
        == "not checked yet"
