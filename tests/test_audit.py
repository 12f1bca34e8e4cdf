"""The duplicate audit finds planted leaks of every kind among distinct face-like images, and little else."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from layouts import make_rafdb
from resemote.cli import main
from resemote.data.audit import audit_arrays, format_audit, worst_block_residual
from resemote.data.dataset_audit import audit_dataset
from resemote.data.pair_sheet import sample_pairs, write_pair_sheet
from resemote.data.synthetic import EXPRESSIONS, draw_face, make_split
from resemote.errors import ResEmoteError


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


def test_worst_block_residual_by_hand():
    a = np.where(np.indices((1, 16, 16)).sum(0) % 2, 1, -1).astype(np.float32) * 40 + 100  # mean 100, std 40
    b = a.copy()
    b[0, :8, :8] = 200 - b[0, :8, :8]  # one 8 x 8 block inverted: there a - b is 2 std, elsewhere 0
    # normalised, a is +-1; b's mean and std are unchanged (the block keeps half its pixels at each level)
    assert worst_block_residual(a, b)[0] == pytest.approx(2.0, abs=1e-5)
    assert worst_block_residual(a, a)[0] == pytest.approx(0.0, abs=1e-6)


def _poser(params: np.ndarray, seed: int) -> np.ndarray:
    """One synthetic sitter at 64 x 64: the same seed gives the same head, pose, light and background."""
    return np.asarray(Image.fromarray(draw_face(params, np.random.default_rng(seed))).resize((64, 64), Image.BILINEAR))


def watermark(a: np.ndarray) -> np.ndarray:
    """A faint stock-photo mark across the lower third, as on many of FER2013's web copies."""
    b = a.astype(np.float32)
    b[44:47, 8:56:2] = 0.7 * b[44:47, 8:56:2] + 0.3 * 255
    return b.astype(np.uint8)


def test_posed_audit_drops_another_expression_but_keeps_a_reencoded_copy():
    """One poser photographed twice (neutral, then a slight frown with brows drawn up: everything else
    equal, as in JAFFE's and CK+'s shots) passes the general near test; the posed test drops it, yet still
    finds a JPEG re-encoding. FER2013-style copies (re-encoded, resized, watermarked) stay found by the
    general test."""
    faces = _faces(40, seed=11)
    frown = EXPRESSIONS[4].copy()
    frown[1] += 0.15  # inner brows up
    frown[3] += 0.05  # mouth corners
    train = list(faces[:20]) + [_poser(EXPRESSIONS[4], 101)]
    test = list(faces[20:]) + [_poser(frown, 101), jpeg(faces[0], 75), jpeg(faces[1], 60), down_up(faces[2]),
                               watermark(faces[3])]
    arrays = {"train": np.stack(train), "test": np.stack(test)}
    poser = (("train", "20"), ("test", "20"), "near")
    copy75 = (("train", "0"), ("test", "21"), "near")
    fer_style = {(("train", str(i)), ("test", str(21 + i)), "near") for i in range(4)}

    def found(posed: bool) -> set:
        r = audit_arrays(arrays, posed=posed)
        return {((p["a"]["split"], p["a"]["path"]), (p["b"]["split"], p["b"]["path"]), p["kind"]) for p in r["pairs"]}

    general, posed = found(False), found(True)
    assert poser in general and fer_style <= general
    assert poser not in posed and copy75 in posed
    assert posed <= general  # only stricter: the same candidates, one more check


def test_pair_sheet_and_seeded_sample(tmp_path):
    faces = _faces(12, seed=3)
    arrays = {"train": faces[:6], "test": np.stack(list(faces[6:]) + [jpeg(faces[0]), jpeg(faces[1])])}
    refs = {s: [f"{s}/{i}.png" for i in range(len(a))] for s, a in arrays.items()}
    def pair(a: str, b: str, kind: str = "near") -> dict:
        return {"a": {"split": a.split("/")[0], "path": a}, "b": {"split": b.split("/")[0], "path": b}, "kind": kind}

    pairs = [pair("train/0.png", "test/6.png"), pair("train/1.png", "test/7.png"), pair("train/2.png", "train/3.png"),
             pair("train/4.png", "train/5.png", "exact")]
    assert sample_pairs(pairs, 5) == [0, 1, 2]                     # fewer than asked: all, in order
    assert sample_pairs(pairs, 5, where="across") == [0, 1] and sample_pairs(pairs, 5, where="within") == [2]
    one = sample_pairs(pairs, 1, seed=4)
    assert one == sample_pairs(pairs, 1, seed=4) and one[0] in (0, 1, 2)
    out = write_pair_sheet(pairs, [0, 1, 2], arrays, refs, tmp_path / "s" / "sheet.png",
                           labels={"train": [3] * 6, "test": [5] * 8})
    with Image.open(out) as im:  # two columns of (3 tiles of 128 px + 4 gaps of 6) by two rows of 128 + 14 + 6
        assert im.size == (2 * (3 * 128 + 4 * 6), 2 * (128 + 14 + 6))
        px = np.asarray(im)
    # the first pair's difference tile: JPEG noise only, so nearly white; its first tile is the train image
    assert px[14:14 + 128, 6 + 2 * 134:6 + 2 * 134 + 128].mean() > 200
    assert np.array_equal(px[14:14 + 128:2, 6:6 + 128:2], faces[0])
    for bad in (lambda: sample_pairs(pairs, 0), lambda: sample_pairs(pairs, 3, where="elsewhere"),
                lambda: write_pair_sheet([{**pairs[0], "b": {"split": "test", "path": "nope.png"}}], [0], arrays,
                                         refs, tmp_path / "x.png")):
        with pytest.raises(ResEmoteError) as e:
            bad()
        assert len(str(e.value).splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_near_precision_record_and_table(tmp_path, monkeypatch):
    from resemote.data.pair_sheet import near_precision_record
    from resemote.book.report import near_precision_table
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path / "cache"))
    lay = make_rafdb(tmp_path / "raf", {"train": [3, 4, 5, 6, 7, 8, 9], "test": [2, 3, 4, 5, 6, 7, 8]},
                     missing=0, corrupt=0, malformed=0)
    aligned = tmp_path / "raf" / "basic" / "Image" / "aligned"
    Image.open(aligned / "train_00002_aligned.jpg").save(aligned / "test_00001_aligned.jpg", quality=70)
    spec = [{"name": "across", "n": 5, "seed": 0, "where": "across"}]
    r = audit_dataset("rafdb", lay.root, progress=False)
    chosen = sample_pairs(r["pairs"], 5, 0, "near", "across")
    near = [i for i in chosen if r["pairs"][i]["b"]["path"].endswith("test_00001_aligned.jpg")]
    assert len(near) == 1  # the planted re-encoding is among the pairs drawn
    verdicts = {"across": {i: ("same photograph", "planted") if i in near else "another photograph" for i in chosen}}
    rec = near_precision_record("rafdb", lay.root, spec, verdicts)
    s = rec["samples"][0]
    assert s["looked_at"] == len(chosen) and s["same_photograph"] == 1 and not rec["posed"]
    assert s["flagged_now"] == len(chosen)  # not posed: the dataset's own test is the general one
    row = near_precision_table([rec]).iloc[0]
    assert row["one photograph twice"] == 1 and row["still flagged now"] == len(chosen)
    with pytest.raises(ResEmoteError, match="expected a verdict for each"):
        near_precision_record("rafdb", lay.root, spec, {"across": {}})
