"""The JAFFE loader on miniature layouts (tests/layouts.py): both layouts, the JPEG copy left out, bad input."""
from __future__ import annotations

import pytest

from layouts import make_jaffe
from resemote.cli import main
from resemote.data import get_dataset
from resemote.data.cache import decode
from resemote.errors import ResEmoteError
from resemote.analysis.stats import dataset_stats, format_stats

COUNTS = [5, 4, 6, 7, 3, 8, 9]


@pytest.mark.parametrize("flat", [False, True])
def test_counts_every_image_in_one_test_split(tmp_path, flat):
    lay = make_jaffe(tmp_path, COUNTS, flat=flat)
    d = dataset_stats("jaffe", tmp_path)
    assert list(d["splits"]) == ["test"] and d["splits"] == lay.counts
    assert d["channels"] == 1 and d["image_size"] == [256, 256] and d["skipped"] == []
    ds = get_dataset("jaffe", tmp_path, "test")
    assert {s.group for s in ds.samples} == {"KA", "KL", "KM", "KR"}
    assert all(s.ref.endswith(".tiff") for s in ds.samples)
    with pytest.raises(ResEmoteError, match="has no split 'train'"):
        get_dataset("jaffe", tmp_path, "train")


def test_jpeg_copy_is_ignored_and_reported(tmp_path):
    lay = make_jaffe(tmp_path, COUNTS, jpeg_copies=1)
    ds = get_dataset("jaffe", tmp_path, "test")
    assert [i["path"] for i in ds.ignored] == lay.ignored and "copy of" in ds.ignored[0]["reason"]
    assert not any(s.ref in lay.ignored for s in ds.samples)
    d = dataset_stats("jaffe", tmp_path)
    assert d["ignored"] == {"test": ds.ignored} and d["skipped"] == []
    assert f"{lay.ignored[0]}: a JPG copy of" in format_stats(d)
    # not damage: strict mode does not stop at it
    assert get_dataset("jaffe", tmp_path, "test", strict=True).class_counts() == lay.counts["test"]


def test_unreadable_tiff(tmp_path, capsys):
    lay = make_jaffe(tmp_path, COUNTS)
    dec = decode(get_dataset("jaffe", tmp_path, "test"), 64, progress=False)
    assert len(dec) == sum(COUNTS) - 1
    assert [s["path"] for s in dec.skipped] == lay.corrupt and "unreadable" in dec.skipped[0]["reason"]
    assert main(["audit", "--dataset", "jaffe", "--root", str(tmp_path), "--strict"]) == 2
    err = capsys.readouterr().err.strip()
    assert lay.corrupt[0] in err and "unreadable" in err and len(err.splitlines()) == 1


def test_bad_names_and_folders(tmp_path, capsys):
    make_jaffe(tmp_path, COUNTS, corrupt=0)
    (tmp_path / "Data" / "8 - Contempt").mkdir()
    wrong = tmp_path / "Data" / "1 - Happy" / "KA.SA1.999.tiff"   # a Sad code in the Happy folder
    wrong.write_bytes((tmp_path / "Data" / "2 - Sad").glob("*.tiff").__next__().read_bytes())
    ds = get_dataset("jaffe", tmp_path, "test")
    reasons = {s["path"]: s["reason"] for s in ds.skipped}
    assert "disagrees with its class folder" in reasons["Data/1 - Happy/KA.SA1.999.tiff"]
    assert "expected a class folder" in reasons["Data/8 - Contempt"]
    assert ds.class_counts() == dict(zip(ds.classes, COUNTS))
    assert main(["stats", "--dataset", "jaffe", "--root", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert "Data/<n - Class>/*.tiff" in err and len(err.splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert main(["stats", "--dataset", "jaffe", "--root", str(tmp_path / "empty")]) == 2
    assert "expected Data/<n - Class>" in capsys.readouterr().err
