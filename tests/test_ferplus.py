"""The FER+ loader on miniature FER+ layouts (tests/layouts.py): the majority vote, the two label modes, the
official splits, and bad input (a missing label.csv, a malformed vote row)."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli
from layouts import FERPLUS_DROPPED, make_ferplus
from resemote.cli import main
from resemote.data import get_dataset
from resemote.data.cache import decode
from resemote.data.classes import CLASSES
from resemote.data.ferplus import FERPlus, majority_vote
from resemote.errors import ResEmoteError
from resemote.analysis.stats import dataset_stats

# a different count for every class and split
THREE = {"train": [9, 3, 5, 12, 13, 7, 8], "val": [4, 2, 3, 6, 7, 5, 1], "test": [3, 1, 2, 5, 6, 4, 7]}


@pytest.mark.parametrize("votes,expected", [
    ([7, 3, 0, 0, 0, 0, 0, 0, 0, 0], 0),
    ([4, 3, 1, 1, 1, 0, 0, 0, 0, 0], 0),      # 4 of 7 once the three single votes are dropped
    ([4, 4, 0, 0, 0, 0, 0, 0, 2, 0], None),   # a tie: no majority
    ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], None),   # half is not more than half
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], None),   # nothing left once single votes go
    ([0, 0, 0, 0, 0, 0, 0, 6, 2, 2], 7),      # contempt
    ([0, 0, 0, 0, 0, 0, 0, 0, 3, 7], 9),      # not a face
])
def test_majority_vote_is_the_ferplus_rule(votes, expected):
    assert majority_vote(votes) == expected


@pytest.mark.parametrize("in_data", [False, True])
def test_counts_splits_and_dropped(tmp_path, in_data):
    lay = make_ferplus(tmp_path, THREE, in_data=in_data, dropped={"Contempt": 2, "no majority": 3, "unknown": 1,
                                                                  "not a face": 1})
    d = dataset_stats("ferplus", tmp_path)
    assert list(d["splits"]) == ["train", "val", "test"] and d["splits"] == lay.counts
    assert d["dropped"] == {s: lay.dropped for s in ("train", "val", "test")}
    assert d["channels"] == 1 and d["image_size"] == [48, 48]
    assert "majority vote, 7 classes (contempt dropped)" in d["release"]
    ds = get_dataset("ferplus", tmp_path, "val")
    assert all(s.ref.startswith(("data/" if in_data else "") + "FER2013Valid/") for s in ds.samples)


def test_eight_class_mode_keeps_contempt(tmp_path):
    lay = make_ferplus(tmp_path, THREE, dropped={"Contempt": 4, "no majority": 2})
    seven = FERPlus(tmp_path, "test")
    eight = FERPlus(tmp_path, "test", mode="majority8")
    assert eight.classes == CLASSES + ("Contempt",) and "8 classes" in eight.title
    assert eight.class_counts() == {**lay.counts["test"], "Contempt": 4}
    assert seven.class_counts() == lay.counts["test"] and seven.dropped == {"Contempt": 4, "no majority": 2}
    assert eight.dropped == {"no majority": 2}
    with pytest.raises(ResEmoteError, match="no label mode 'plurality'"):
        FERPlus(tmp_path, "test", mode="plurality")


def test_votes_kept_for_every_face_on_disk(tmp_path):
    lay = make_ferplus(tmp_path, THREE)
    ds = FERPlus(tmp_path, "train")
    # labelled faces, dropped faces, and the corrupt file (it exists); not the missing image, not bad rows
    assert len(ds.votes) == sum(lay.counts["train"].values()) + sum(lay.dropped.values())
    assert not set(lay.missing) & set(ds.votes)
    assert sum(list(v) == FERPLUS_DROPPED["unknown"] for v in ds.votes.values()) == lay.dropped["unknown"]


def test_damage_is_reported(tmp_path):
    lay = make_ferplus(tmp_path, THREE, malformed=2)
    ds = get_dataset("ferplus", tmp_path, "train")
    reasons = {s["path"]: s["reason"] for s in ds.skipped}
    assert reasons[lay.missing[0]] == "image file missing"
    assert "ten whole vote counts" in reasons[lay.malformed[0]]
    assert "expected 12 fields" in reasons[lay.malformed[1]] and "found 5" in reasons[lay.malformed[1]]
    dec = decode(ds, 48, progress=False)
    assert len(dec) == sum(lay.counts["train"].values()) - 1
    assert [s["path"] for s in dec.skipped if "unreadable" in s["reason"]] == lay.corrupt


def test_missing_label_csv_is_one_line(tmp_path, capsys):
    make_ferplus(tmp_path, THREE, missing=0, malformed=0, corrupt=0)
    (tmp_path / "FER2013Valid" / "label.csv").unlink()
    with pytest.raises(ResEmoteError, match=r"expected FER2013Valid/label\.csv under"):
        get_dataset("ferplus", tmp_path, "val")
    for args in (["stats", "--strict"], ["train", "--out", str(tmp_path / "run")]):
        assert main([args[0], "--dataset", "ferplus", "--root", str(tmp_path), *args[1:]]) == 2
        err = capsys.readouterr().err.strip()
        assert "FER2013Valid/label.csv" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    # without --strict, stats counts the splits that are there and says which one is not
    assert main(["stats", "--dataset", "ferplus", "--root", str(tmp_path)]) == 0
    assert "val split: FER+ (majority vote, 7 classes): expected FER2013Valid/label.csv" in capsys.readouterr().out
    assert main(["stats", "--dataset", "ferplus", "--root", str(tmp_path / "elsewhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and "FER2013Train/label.csv" in err and len(err.splitlines()) == 1


def test_cli_strict_malformed_vote_row(tmp_path):
    lay = make_ferplus(tmp_path, THREE, missing=0)
    code, out, err = run_cli("stats", "--dataset", "ferplus", "--root", str(tmp_path), "--strict")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert lay.malformed[0] in err and "ten whole vote counts" in err
    code, out, err = run_cli("stats", "--dataset", "ferplus", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["skipped"][0]["path"] == lay.malformed[0]
