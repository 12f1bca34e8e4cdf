"""The CK+ loader on miniature CK+48 layouts (tests/layouts.py): counts, contempt, the subject split."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli
from layouts import make_ckplus
from resemote.data import get_dataset
from resemote.data.cache import decode
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.analysis.stats import dataset_stats

# a different count for every class (Neutral: none in CK+)
COUNTS = [13, 14, 15, 16, 0, 17, 18]


def _total(d: dict) -> dict[str, int]:
    return {c: sum(d["splits"][s][c] for s in d["splits"]) for c in CLASSES}


@pytest.mark.parametrize("in_ck48", [False, True])
def test_stats_exact_counts(tmp_path, in_ck48):
    lay = make_ckplus(tmp_path, COUNTS, in_ck48=in_ck48)
    d = dataset_stats("ckplus", lay.root)
    assert d["dataset"] == "CK+" and list(d["splits"]) == ["train", "test"]
    assert d["channels"] == 1 and d["image_size"] == [48, 48]
    assert _total(d) == lay.counts["all"]                   # contempt not among them; the corrupt image is
    assert all(d["splits"][s]["Neutral"] == 0 for s in d["splits"])
    assert all(sum(d["splits"][s].values()) > 0 for s in d["splits"])
    assert [s["path"] for s in d["skipped"]] == lay.malformed  # the stray folder, listed once
    assert "expected a class folder" in d["skipped"][0]["reason"]


def test_contempt_dropped_and_counted(tmp_path):
    lay = make_ckplus(tmp_path, COUNTS, contempt=7)
    parts = {s: get_dataset("ckplus", tmp_path, s) for s in ("train", "test")}
    assert sum(p.dropped.get("Contempt", 0) for p in parts.values()) == lay.dropped["Contempt"] == 7
    assert not any("contempt" in s.ref for p in parts.values() for s in p.samples)
    assert not any("contempt" in s["path"] for p in parts.values() for s in p.skipped)  # not damage
    assert {s.ref.split("/")[1]: s.label for s in parts["train"].samples} == {
        "anger": 0, "disgust": 1, "fear": 2, "happy": 3, "sadness": 5, "surprise": 6}


def test_subject_split_is_disjoint_and_fixed(tmp_path):
    make_ckplus(tmp_path / "a", COUNTS, subjects=20)
    train, test = (get_dataset("ckplus", tmp_path / "a", s) for s in ("train", "test"))
    subj_train, subj_test = {s.group for s in train.samples}, {s.group for s in test.samples}
    assert subj_train and subj_test and not subj_train & subj_test
    assert all(s.group == s.ref.split("/")[-1][:4] for s in train.samples)   # S0xx from the name
    # the same files give the same split wherever they are (SPLIT_SEED is fixed)
    make_ckplus(tmp_path / "b", COUNTS, subjects=20)
    again = get_dataset("ckplus", tmp_path / "b", "test")
    assert [s.ref for s in again.samples] == [s.ref for s in test.samples]


def test_no_subject_ids_only_test(tmp_path):
    lay = make_ckplus(tmp_path, COUNTS, subject_ids=False, stray=0)
    test = get_dataset("ckplus", tmp_path, "test")
    assert test.class_counts() == lay.counts["all"] and test.dropped == lay.dropped
    with pytest.raises(ResEmoteError, match="no subject ids"):
        get_dataset("ckplus", tmp_path, "train")


def test_decode_skips_the_corrupt_image(tmp_path):
    lay = make_ckplus(tmp_path, COUNTS, stray=0)
    parts = [get_dataset("ckplus", tmp_path, s) for s in ("train", "test")]
    decoded = [decode(p, 64, progress=False) for p in parts]
    assert sum(len(d) for d in decoded) == sum(COUNTS) - 1
    assert [s["path"] for d in decoded for s in d.skipped if "unreadable" in s["reason"]] == lay.corrupt


def test_missing_or_empty_root_names_the_layout(tmp_path):
    with pytest.raises(ResEmoteError, match=r"CK\+48/<anger"):
        get_dataset("ckplus", tmp_path, "test")
    (tmp_path / "CK+48" / "happy").mkdir(parents=True)
    with pytest.raises(ResEmoteError, match=r"expected CK\+48/<anger.*\.png under"):
        get_dataset("ckplus", tmp_path, "train")


def test_cli_stats_and_audit(tmp_path):
    lay = make_ckplus(tmp_path, COUNTS)
    code, out, err = run_cli("stats", "--dataset", "ckplus", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert _total(json.loads(out)) == lay.counts["all"]
    code, out, err = run_cli("audit", "--dataset", "ckplus", "--root", str(tmp_path), "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["dataset"] == "CK+" and d["summary"]["train-test"] == 0   # random faces: no copies
    assert sum(d["images"].values()) == sum(COUNTS) - 1               # the corrupt one is skipped
