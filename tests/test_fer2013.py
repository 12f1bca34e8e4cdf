"""FER2013 in every release: splits, label map, exact pixels, and the errors a user meets."""
import csv

import numpy as np
import pytest

from layouts import make_fer2013
from resemote.data import get_dataset
from resemote.data.cache import decode
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError

from conftest import run_cli

THREE = {"train": [9, 10, 11, 12, 13, 14, 15], "val": [2, 3, 4, 5, 6, 7, 8], "test": [16, 17, 18, 19, 20, 21, 22]}


@pytest.mark.parametrize("variant,subdir", [("fer2013.csv", False), ("fer2013.csv", True),
                                            ("icml_face_data.csv", False), ("folders", True)])
def test_three_way_split_and_label_map(tmp_path, variant, subdir):
    make_fer2013(tmp_path, THREE, variant, subdir=subdir)
    for split, counts in THREE.items():
        ds = get_dataset("fer2013", tmp_path, split)
        assert ds.class_counts() == dict(zip(CLASSES, counts)), (variant, split)


def test_pixels_are_read_exactly(tmp_path):
    """Row 2 of fer2013.csv, decoded at 48 x 48, is exactly its pixel string (row-major)."""
    make_fer2013(tmp_path, THREE)
    with open(tmp_path / "fer2013.csv") as f:
        rows = list(csv.DictReader(f))
    first_train = next(r for r in rows if r["Usage"] == "Training")
    expected = np.array(first_train["pixels"].split(), dtype=np.uint8).reshape(48, 48)
    ds = get_dataset("fer2013", tmp_path, "train")
    img, label = ds[0]
    assert np.array_equal(np.asarray(img), expected)
    assert CLASSES[label] == {0: "Angry", 1: "Disgust", 2: "Fear", 3: "Happy", 4: "Sad", 5: "Surprise",
                              6: "Neutral"}[int(first_train["emotion"])]
    d = decode(ds, 48)
    assert np.array_equal(d.images[0], expected) and len(d) == len(ds)
    assert decode(ds, 48).fingerprint == d.fingerprint  # the second call reads the cache


def test_later_kaggle_release_has_only_train(tmp_path):
    make_fer2013(tmp_path, THREE, "train.csv")
    assert len(get_dataset("fer2013", tmp_path, "train")) == sum(THREE["train"])
    with pytest.raises(ResEmoteError, match="test.csv has no labels"):
        get_dataset("fer2013", tmp_path, "test")


def test_malformed_rows_are_skipped_or_fatal(tmp_path):
    lay = make_fer2013(tmp_path, THREE, malformed=2)
    ds = get_dataset("fer2013", tmp_path, "train")
    assert len(ds) == sum(THREE["train"]) and [s["path"] for s in ds.skipped] == lay.malformed
    assert ds.skipped[0]["reason"] == "expected 2,304 pixel values (48 x 48), found 2,303"
    with pytest.raises(ResEmoteError, match=r"fer2013.csv:line \d+: expected 2,304 pixel values"):
        get_dataset("fer2013", tmp_path, "train", strict=True)


def test_bad_labels_and_header(tmp_path):
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n9," + " ".join(["1"] * 2304) + ",Training\n")
    ds = get_dataset("fer2013", tmp_path, "train")
    assert len(ds) == 0 and ds.skipped[0] == {"path": "fer2013.csv:line 2",
                                              "reason": "expected an emotion label 0-6, found '9'"}
    (tmp_path / "fer2013.csv").write_text("label,image\n")
    with pytest.raises(ResEmoteError, match="expected a header with columns emotion, pixels, Usage"):
        get_dataset("fer2013", tmp_path, "train")


def test_cli_errors_are_one_line(tmp_path):
    code, out, err = run_cli("train", "--dataset", "fer2013", "--root", str(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 2 and "expected fer2013.csv" in err and "Kaggle" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing is written before the data is found
    code, out, err = run_cli("train", "--dataset", "ferr2013", "--root", str(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 2 and "unknown dataset 'ferr2013': expected one of fer2013, rafdb, affectnet, expw" in err
    make_fer2013(tmp_path, THREE)
    code, out, err = run_cli("train", "--dataset", "fer2013", "--root", str(tmp_path), "--out", str(tmp_path / "o"),
                             "--config", "C7")
    assert code == 2 and "unknown configuration 'C7': expected one of C1, C2, C3, C4, C5, C6" in err
    code, out, err = run_cli("train", "--dataset", "fer2013", "--root", str(tmp_path / "missing"), "--out",
                             str(tmp_path / "o"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    code, out, err = run_cli("--debug", "train", "--dataset", "nope", "--root", ".", "--out", str(tmp_path / "o"))
    assert code != 0 and "Traceback" in err  # --debug shows it
