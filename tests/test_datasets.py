"""Loaders for RAF-DB, AffectNet and ExpW read tiny copies of their native layouts (tests/layouts.py)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from layouts import make_affectnet, make_expw, make_rafdb, make_rafdb_kaggle
from resemote.data import get_dataset, stratified_split
from resemote.data.cache import decode
from resemote.data.synthetic import make_split
from resemote.errors import ResEmoteError

# a different count for every class and split: a wrong label map or a swapped split cannot pass
TWO = {"train": [9, 10, 11, 12, 13, 14, 15], "test": [2, 3, 4, 5, 6, 7, 8]}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "cache"))


def _reasons(ds) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in ds.skipped}


@pytest.mark.parametrize("in_basic", [False, True])
def test_rafdb_basic(tmp_path, in_basic):
    lay = make_rafdb(tmp_path, TWO, in_basic=in_basic)
    for split in ("train", "test"):
        ds = get_dataset("rafdb", lay.root, split)
        assert ds.class_counts() == lay.counts[split]
        assert all(s.ref.endswith("_aligned.jpg") for s in ds.samples)
    ds = get_dataset("rafdb", lay.root, "train")
    reasons = _reasons(ds)
    assert reasons[lay.missing[0]] == "image file missing"
    assert "expected a label 1-7" in reasons[lay.malformed[0]]
    dec = decode(ds, 32, progress=False)
    assert len(dec) == sum(lay.counts["train"].values()) - 1
    assert any(s["path"] == lay.corrupt[0] and "unreadable" in s["reason"] for s in dec.skipped)


@pytest.mark.parametrize("csv_files", [True, False])
def test_rafdb_kaggle_maps_native_folder_names(tmp_path, csv_files):
    lay = make_rafdb_kaggle(tmp_path, TWO, csv_files=csv_files)
    for split in ("train", "test"):
        ds = get_dataset("rafdb", tmp_path, split)
        assert ds.class_counts() == lay.counts[split]
    # folder 6 is native Anger: canonical 0, not the 6th folder in alphabetical order
    ds = get_dataset("rafdb", tmp_path / "DATASET" if not csv_files else tmp_path, "train")
    assert {s.label for s in ds.samples if "/6/" in s.ref} == {0}
    if csv_files:
        assert _reasons(ds)[lay.missing[0]] == "image file missing"


@pytest.mark.parametrize("header,nested", [(True, False), (False, True), ({"train": True, "test": False}, False)])
def test_affectnet(tmp_path, header, nested):
    lay = make_affectnet(tmp_path, TWO, header=header, nested=nested)
    for split in ("train", "test"):
        ds = get_dataset("affectnet", tmp_path, split)
        assert ds.class_counts() == lay.counts[split]
    ds = get_dataset("affectnet", tmp_path, "train")
    assert ds.dropped == lay.dropped                       # codes 7-10 counted, not reported as damage
    reasons = _reasons(ds)
    assert set(reasons) == {lay.missing[0], lay.malformed[0]}
    assert all(s.box is not None and s.box[2] - s.box[0] == 28 and s.box[3] - s.box[1] == 30 for s in ds.samples)
    img, _ = ds[len(ds) - 1]
    assert img.size == (28, 30)                            # cropped to the face box
    dec = decode(ds, 32, progress=False)                   # PNG-named-.jpg files decode by content
    assert len(dec) == len(ds) - 1
    assert [s["path"] for s in dec.skipped if "unreadable" in s["reason"]] == lay.corrupt


def test_expw_split_by_photo(tmp_path):
    counts = [40, 41, 42, 43, 44, 45, 46]
    lay = make_expw(tmp_path, counts)
    parts = {s: get_dataset("expw", tmp_path, s) for s in ("train", "val", "test")}
    total = {c: sum(parts[s].class_counts()[c] for s in parts) for c in lay.counts["all"]}
    assert total == lay.counts["all"]                      # every face once, in its canonical class
    photos = {s: {x.group for x in ds.samples} for s, ds in parts.items()}
    assert not (photos["train"] & photos["val"] or photos["train"] & photos["test"] or photos["val"] & photos["test"])
    n = sum(counts)
    assert 0.7 * n < len(parts["train"]) < 0.9 * n
    assert 0.05 * n < len(parts["val"]) < 0.15 * n and 0.05 * n < len(parts["test"]) < 0.15 * n
    # seeded: indexing again gives the same partition
    assert [s.ref for s in get_dataset("expw", tmp_path, "test").samples] == [s.ref for s in parts["test"].samples]
    missing = [s["path"] for ds in parts.values() for s in ds.skipped if s["reason"] == "image file missing"]
    assert sorted(missing) == sorted(lay.missing)
    assert lay.malformed[0] in _reasons(parts["train"])
    # a face is its crop, and faces of one photo keep distinct refs
    ds = parts["train"]
    assert len({s.ref for s in ds.samples}) == len(ds)
    i = next(i for i, s in enumerate(ds.samples) if s.group not in {c.rpartition("/")[2] for c in lay.corrupt})
    assert ds[i][0].size == (24, 30)


def test_strict_stops_at_first_damage(tmp_path):
    lay = make_rafdb(tmp_path / "r", TWO)
    with pytest.raises(ResEmoteError, match="image file missing"):
        get_dataset("rafdb", lay.root, "train", strict=True)
    lay = make_affectnet(tmp_path / "a", TWO, missing=0, malformed=0)
    ds = get_dataset("affectnet", lay.root, "train", strict=True)
    with pytest.raises(ResEmoteError, match="unreadable"):
        decode(ds, 32, progress=False)


@pytest.mark.parametrize("name,expected", [
    ("rafdb", "basic/EmoLabel/list_patition_label.txt"),
    ("affectnet", "Manually_Annotated_file_lists/training.csv"),
    ("expw", "label/label.lst"),
])
def test_missing_label_file_names_it(tmp_path, name, expected):
    with pytest.raises(ResEmoteError) as e:
        get_dataset(name, tmp_path, "train")
    msg = str(e.value)
    assert expected in msg and "\n" not in msg and ("http" in msg or "Kaggle" in msg)


def test_stratified_split_for_validation_carve_out():
    labels = np.repeat(np.arange(7), [50, 5, 30, 200, 80, 60, 40])
    kept, held = stratified_split(labels, 0.1, seed=3)
    assert len(np.intersect1d(kept, held)) == 0 and len(kept) + len(held) == len(labels)
    assert np.bincount(labels[held], minlength=7).tolist() == [5, 0, 3, 20, 8, 6, 4]
    again = stratified_split(labels, 0.1, seed=3)
    assert np.array_equal(held, again[1])
    groups = [f"p{i // 3}" for i in range(len(labels))]
    kept, held = stratified_split(labels, 0.2, seed=1, groups=groups)
    assert not {groups[i] for i in kept} & {groups[i] for i in held}


def test_cache_parallel_equals_serial_and_is_reused(tmp_path, monkeypatch):
    from resemote.data import cache
    lay = make_rafdb(tmp_path / "r", TWO, missing=0, malformed=0)
    ds = get_dataset("rafdb", lay.root, "train")
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "serial"))
    serial = decode(ds, 32, workers=1, progress=False)
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "parallel"))
    monkeypatch.setattr(cache, "PARALLEL_FROM", 1)
    par = decode(ds, 32, workers=2, progress=False)
    assert np.array_equal(np.asarray(serial.images), np.asarray(par.images)) and serial.refs == par.refs
    assert par.fingerprint == serial.fingerprint and [s["path"] for s in par.skipped] == lay.corrupt
    files = sorted((tmp_path / "parallel").iterdir())
    again = decode(get_dataset("rafdb", lay.root, "train"), 32, progress=False)   # unchanged: reopened
    assert again.fingerprint == par.fingerprint and sorted((tmp_path / "parallel").iterdir()) == files
    # a changed image file changes the source fingerprint: decoded again, into a new cache entry
    victim = lay.root / "basic" / "Image" / "aligned" / "train_00002_aligned.jpg"
    Image.new("RGB", (100, 100), (200, 10, 10)).save(victim)
    changed = decode(get_dataset("rafdb", lay.root, "train"), 32, progress=False)
    assert changed.fingerprint != par.fingerprint and len(list((tmp_path / "parallel").iterdir())) == len(files) + 2


def test_large_jpeg_scaled_decode_matches_full_decode(tmp_path):
    # AffectNet-like photo: a 480 x 640 JPEG whose 200 x 200 face box is decoded at reduced DCT scale
    make_affectnet(tmp_path, {"train": [1] * 7, "test": [1] * 7}, missing=0, corrupt=0, malformed=0,
                   png_named_jpg=0)
    ds = get_dataset("affectnet", tmp_path, "train")
    small_face, _ = make_split(1, np.random.default_rng(0))
    face = np.asarray(Image.fromarray(small_face[0]).resize((200, 200), Image.BICUBIC))
    photo = np.full((480, 640), 90, np.uint8)
    photo[133:333, 301:501] = face
    Image.fromarray(photo).convert("RGB").save(tmp_path / ds.samples[0].ref, quality=95)
    s = replace(ds.samples[0], box=(301, 133, 501, 333))
    small = np.asarray(ds.read_small(s, 32), dtype=float)
    full = np.asarray(ds.read(s).convert("L").resize((32, 32), Image.BILINEAR), dtype=float)
    assert small.shape == (32, 32) and np.abs(small - full).mean() < 2


def test_a_full_disk_stops_decoding_with_one_line_and_leaves_no_partial_file(tmp_path, monkeypatch):
    """A memory map over a file the disk cannot fill dies of SIGBUS (seen in CI); space is reserved first."""
    import errno
    import os
    from resemote.data import cache
    lay = make_rafdb(tmp_path / "r", TWO, missing=0, malformed=0)
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "c"))

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(cache.os, "posix_fallocate", full)
    with pytest.raises(ResEmoteError) as e:
        decode(get_dataset("rafdb", lay.root, "train"), 32, workers=1, progress=False)
    assert str(e.value).startswith(f"{tmp_path / 'c'}: cannot reserve ") and "No space left on device" in str(e.value)
    assert "RESEMOTE_CACHE" in str(e.value) and "\n" not in str(e.value)
    assert list((tmp_path / "c").iterdir()) == []


def test_a_filesystem_without_fallocate_still_decodes(tmp_path, monkeypatch):
    import errno
    from resemote.data import cache
    lay = make_rafdb(tmp_path / "r", TWO, missing=0, malformed=0)
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "c"))
    reference = decode(get_dataset("rafdb", lay.root, "train"), 32, workers=1, progress=False)
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "c2"))

    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, "not supported")
    monkeypatch.setattr(cache.os, "posix_fallocate", unsupported)
    dec = decode(get_dataset("rafdb", lay.root, "train"), 32, workers=1, progress=False)
    assert dec.fingerprint == reference.fingerprint
