"""The duplicate audit finds planted leaks of every kind among distinct face-like images, and little else."""
from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from layouts import make_rafdb
from resemote.cli import main
from resemote.data.audit import audit_arrays, audit_dataset, format_audit
from resemote.data.synthetic import make_split


def _faces(n: int, seed: int) -> np.ndarray:
    """n distinct synthetic faces at 64 x 64 (the audit's working size)."""
    small, _ = make_split(n, np.random.default_rng(seed))
    return np.stack([np.asarray(Image.fromarray(a).resize((64, 64), Image.BILINEAR)) for a in small])


def jpeg(a: np.ndarray, quality: int = 60) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("L"))


def brightness_contrast(a: np.ndarray) -> np.ndarray:
    return np.clip(a.astype(np.float32) * 0.8 + 30, 0, 255).astype(np.uint8)


def down_up(a: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((32, 32), Image.BILINEAR).resize((64, 64), Image.BILINEAR))


def mirror(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a[:, ::-1])


PLANTS = [  # (kind expected, transform, source split, source index, target split)
    ("exact", np.copy, "train", 0, "test"),
    ("near", jpeg, "train", 1, "test"),
    ("near", brightness_contrast, "train", 2, "val"),
    ("near", down_up, "val", 3, "test"),
    ("mirror", mirror, "train", 4, "test"),
    ("near", lambda a: jpeg(a, 40), "train", 5, "train"),      # within one split
]


def test_finds_every_planted_leak_kind():
    faces = _faces(110, seed=7)
    splits = {"train": list(faces[:70]), "val": list(faces[70:90]), "test": list(faces[90:])}
    expected = set()
    for kind, f, src, i, dst in PLANTS:
        splits[dst].append(f(splits[src][i]))
        expected.add(((src, str(i)), (dst, str(len(splits[dst]) - 1)), kind))
    arrays = {k: np.stack(v) for k, v in splits.items()}
    refs = {k: [str(i) for i in range(len(v))] for k, v in arrays.items()}
    r = audit_arrays(arrays, refs)
    got = {((p["a"]["split"], p["a"]["path"]), (p["b"]["split"], p["b"]["path"]), p["kind"]) for p in r["pairs"]}
    missed = expected - got
    assert not missed, f"missed {missed}; found {got}"
    assert len(got - expected) <= 1, f"false pairs: {got - expected}"
    assert r["summary"]["train-test"] >= 3 and r["summary"]["train-val"] >= 1 and r["summary"]["val-test"] >= 1
    assert r["summary"]["within-train"] >= 1
    exact = next(p for p in r["pairs"] if p["kind"] == "exact")
    assert exact["distance"] == 0
    json.dumps(r)
    assert "train-test" in format_audit({"dataset": "test", **r})


def test_flat_and_tiny_inputs():
    flat = np.full((5, 64, 64), 128, np.uint8)
    flat[1] = 90                                            # flat images of other levels are not "near"
    r = audit_arrays({"train": flat[:3], "test": flat[3:]})
    kinds = [p["kind"] for p in r["pairs"]]
    assert kinds == ["exact"] * len(kinds) and r["summary"] == {"train-test": 4, "within-train": 1, "within-test": 1}
    assert audit_arrays({"train": np.zeros((0, 64, 64), np.uint8)})["pairs"] == []


def test_audit_dataset_reports_damage_and_leaks(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "cache"))
    lay = make_rafdb(tmp_path / "raf", {"train": [3, 4, 5, 6, 7, 8, 9], "test": [2, 3, 4, 5, 6, 7, 8]})
    aligned = tmp_path / "raf" / "basic" / "Image" / "aligned"
    # leak: a test image that is a train image saved again
    Image.open(aligned / "train_00002_aligned.jpg").save(aligned / "test_00001_aligned.jpg", quality=70)
    r = audit_dataset("rafdb", lay.root, progress=False)
    leak = {(p["a"]["path"], p["b"]["path"]) for p in r["pairs"]}
    assert ("basic/Image/aligned/train_00002_aligned.jpg", "basic/Image/aligned/test_00001_aligned.jpg") in leak
    assert r["summary"]["train-test"] >= 1
    damaged = {s["path"] for s in r["skipped"]}
    assert set(lay.missing + lay.corrupt + lay.malformed) <= damaged


def test_cli_audit_errors(tmp_path, capsys):
    assert main(["audit", "--dataset", "expw", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "label/label.lst" in err and len(err.splitlines()) == 1
    lay = make_rafdb(tmp_path / "r", {"train": [1, 1, 1, 1, 1, 1, 2], "test": [1] * 7}, missing=0, malformed=0)
    assert main(["audit", "--dataset", "rafdb", "--root", str(lay.root), "--strict"]) == 2
    err = capsys.readouterr().err.strip()
    assert lay.corrupt[0] in err and "unreadable" in err and len(err.splitlines()) == 1
