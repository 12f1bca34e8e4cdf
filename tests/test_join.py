"""The FER+ <-> FER2013 pixel join, the label agreement and the scoring of a FER2013 model against both label
sets, on a miniature pair of releases whose ground truth the builder knows (tests/layouts.make_fer_pair)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from layouts import make_fer_pair, smooth_face
from resemote.cli import main
from resemote.analysis import ferplus_agreement as J
from resemote.data.classes import CLASSES

N = {"train": 30, "val": 10, "test": 14}


@pytest.fixture
def pair(tmp_path):
    truth = make_fer_pair(tmp_path / "ferplus", tmp_path / "fer2013", N, duplicates=2, extra_fer2013=3, seed=1)
    return tmp_path / "ferplus", tmp_path / "fer2013", truth


def test_join_finds_each_face_and_reports_duplicates(pair):
    plus, fer, truth = pair
    j = J.join_ferplus_fer2013(plus, fer, progress=False)
    got = {f["ref"]: f for f in j["faces"]}
    assert set(got) == set(truth)
    for ref, t in truth.items():
        assert {c["ref"] for c in got[ref]["candidates"]} == set(t["files"])   # all copies, none chosen
        assert sorted(c["label"] for c in got[ref]["candidates"]) == sorted(t["fer2013"])
        assert got[ref]["split"] == t["split"]
    rms = [c["rms"] for f in j["faces"] for c in f["candidates"]]
    assert 0 < max(rms) <= J.TOLERANCE                                  # JPEG noise, within tolerance
    assert sum(len(f["candidates"]) > 1 for f in j["faces"]) == 4     # two duplicated faces, twice each


def test_join_is_cached_by_fingerprint(pair, monkeypatch):
    plus, fer, _ = pair
    first = J.join_ferplus_fer2013(plus, fer, progress=False)
    monkeypatch.setattr(J, "match_images", lambda *a, **k: pytest.fail("recomputed"))
    assert J.join_ferplus_fer2013(plus, fer, progress=False) == first
    # a changed label file is another copy: joined again
    label = plus / "FER2013Test" / "label.csv"
    label.write_text(label.read_text() + "\n")
    with pytest.raises(pytest.fail.Exception, match="recomputed"):
        J.join_ferplus_fer2013(plus, fer, progress=False)


def test_label_agreement_counts(pair):
    plus, fer, truth = pair
    a = J.label_agreement(J.join_ferplus_fer2013(plus, fer, progress=False))
    for split in N:
        mine = [t for t in truth.values() if t["split"] == split]
        one = [t for t in mine if len(t["files"]) == 1]
        comparable = [t for t in one if t["outcome"] in CLASSES]
        agree = [t for t in comparable if t["outcome"] == CLASSES[t["fer2013"][0]]]
        s = a["splits"][split]
        assert (s["faces"], s["matched"], s["ambiguous"], s["unmatched"]) == (
            len(mine), len(one), len(mine) - len(one), 0)
        assert (s["comparable"], s["agree"], s["split_mismatch"]) == (len(comparable), len(agree), 0)
        for c in CLASSES:
            rows = [t for t in comparable if CLASSES[t["fer2013"][0]] == c]
            assert s["by_class"][c]["comparable"] == len(rows)
            assert s["by_class"][c]["agree"] == sum(t["outcome"] == c for t in rows)
        assert sum(s["ferplus"].values()) == len(one)
        assert s["ferplus"]["not a face"] == sum(t["outcome"] == "not a face" for t in one)
    assert 0 < a["all"]["agree"] < a["all"]["comparable"]              # drawn to agree only sometimes
    assert a["splits"]["train"]["ambiguous_one_label"] == 4
    assert a["fer2013_unjoined"] == 3 + 4 and a["collisions"] == 0      # FER2013-only rows, duplicate files
    assert a["all"]["faces"] == sum(N.values()) + 2


def test_match_images_is_lossless_at_the_tolerance():
    rng = np.random.default_rng(3)
    b = np.stack([smooth_face(rng) for _ in range(200)])
    a = b[:40].astype(np.float64)
    # shift each copy by a constant: its RMS difference is exactly that constant
    shifts = np.r_[np.full(20, J.TOLERANCE - 0.05), np.full(20, J.TOLERANCE + 0.05)]
    a = np.clip(a + shifts[:, None, None], 0, 255).astype(np.float32)
    a = np.round(a).astype(np.uint8)
    true_rms = np.sqrt(((a.astype(float) - b[:40]) ** 2).mean(axis=(1, 2)))
    m = J.match_images(a, b)
    for i, (idx, rms, near) in enumerate(m):
        assert (idx == [i]) == (true_rms[i] <= J.TOLERANCE)
        assert near is None or near == pytest.approx(true_rms[i], abs=1e-3)


def test_score_predictions_on_both_label_sets(pair):
    plus, fer, truth = pair
    j = J.join_ferplus_fer2013(plus, fer, progress=False)
    test = {ref: t for ref, t in truth.items() if t["split"] == "test"}
    fer_labels = {t["files"][0]: t["fer2013"][0] for t in test.values()}
    pred = {f: (i * 3) % 7 for i, f in enumerate(sorted(fer_labels))}
    s = J.score_predictions(pred, j, fer_labels)
    assert s["fer2013_labels_all"]["n"] == len(pred)
    assert s["fer2013_labels_all"]["correct"] == sum(pred[f] == y for f, y in fer_labels.items())
    common = [t for t in test.values() if len(t["files"]) == 1 and t["outcome"] in CLASSES]
    assert s["comparable"] == len(common) and s["joined"] == len(test)
    c = s["common"]
    assert c["fer2013_labels"]["correct"] == sum(pred[t["files"][0]] == t["fer2013"][0] for t in common)
    assert c["ferplus_labels"]["correct"] == sum(CLASSES[pred[t["files"][0]]] == t["outcome"] for t in common)
    assert c["labels_agree"] == sum(CLASSES[t["fer2013"][0]] == t["outcome"] for t in common)
    lo, hi = c["ferplus_labels"]["accuracy_ci95"]
    assert lo <= c["ferplus_labels"]["accuracy"] <= hi


def test_cli_score_and_agreement(pair, tiny_checkpoint, tmp_path, capsys):
    plus, fer, truth = pair
    out = tmp_path / "score.json"
    assert main(["ferplus-score", "--checkpoint", str(tiny_checkpoint), "--ferplus", str(plus), "--fer2013", str(fer),
                 "--device", "cpu", "--out", str(out)]) == 0
    s = json.loads(out.read_text())
    n_test = sum(t["split"] == "test" for t in truth.values())
    assert s["faces"] == s["fer2013_labels_all"]["n"] == n_test and s["trained_on"] == "fer2013"
    assert "against FER+'s majority" in capsys.readouterr().out
    assert main(["ferplus-agreement", "--ferplus", str(plus), "--fer2013", str(fer), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["all"]["faces"] == len(truth)
    assert main(["ferplus-agreement", "--ferplus", str(tmp_path / "none"), "--fer2013", str(fer)]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and len(err.splitlines()) == 1


def test_an_unreadable_ferplus_image_is_reported_not_fatal(pair):
    plus, fer, truth = pair
    bad = sorted(truth)[3]
    (plus / bad).write_bytes(b"not a png")
    j = J.join_ferplus_fer2013(plus, fer, progress=False)
    f = next(f for f in j["faces"] if f["ref"] == bad)
    assert f["candidates"] == [] and "unreadable image" in f["error"]
    a = J.label_agreement(j)
    assert a["splits"][truth[bad]["split"]]["unreadable"] == 1 and a["all"]["unmatched"] == 0

