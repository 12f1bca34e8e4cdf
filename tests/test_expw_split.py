"""ExpW's split grouped by photo and by audit copies: a planted fixture (the same photo saved under two names)
lands on one side; the split is seeded, stable, and says how many faces the grouping moved."""
from __future__ import annotations

import numpy as np
import pytest

from layouts import make_expw
from resemote.data import get_dataset
from resemote.data.expw import expw_split
from resemote.analysis.stats import dataset_stats

COUNTS = [30, 31, 32, 33, 34, 35, 36]


def _sides(root) -> dict[str, str]:
    """photo name -> the split its faces are in (asserting that they share one)."""
    side: dict[str, str] = {}
    for split in ("train", "val", "test"):
        for s in get_dataset("expw", root, split).samples:
            assert side.setdefault(s.group, split) == split
    return side


def test_copies_of_one_photo_land_on_one_side(tmp_path):
    lay = make_expw(tmp_path, COUNTS, copies=25, missing=0, corrupt=0, malformed=0)
    side = _sides(tmp_path)
    assert all(side[a] == side[b] for a, b in lay.copies)
    # the test has teeth: grouping by photo name alone separates some of the planted copies
    ds = get_dataset("expw", tmp_path, "test")
    faces = _all_faces(tmp_path)
    by_photo = expw_split(np.array([y for _, y in faces]), [g for g, _ in faces])
    first = {g: by_photo[i] for i, (g, _) in reversed(list(enumerate(faces)))}
    assert sum(first[a] != first[b] for a, b in lay.copies) >= 2
    g = ds.grouping
    assert g["copy_links"] >= len(lay.copies) and g["links_across_photo_split"] >= 2 and g["faces_moved"] >= 2
    assert g["faces"] == sum(lay.counts["all"].values())


def _all_faces(root):
    """(photo, canonical label) of every line of label.lst, read here independently of the loader."""
    native = {0: 0, 1: 1, 2: 2, 3: 3, 4: 5, 5: 6, 6: 4}
    out = []
    for line in (root / "label" / "label.lst").read_text().splitlines():
        f = line.split()
        if len(f) == 8:
            out.append((f[0], native[int(f[7])]))
    return out


def test_split_is_seeded_and_stable():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 400)
    groups = [f"p{i // 2:04d}.jpg" for i in range(400)]       # two faces per photo
    a = expw_split(labels, groups)
    assert (a == expw_split(labels, groups)).all()             # seeded: the same every time
    for i in range(0, 400, 2):
        assert a[i] == a[i + 1]                                # a photo's faces together
    assert np.bincount(a, minlength=3).tolist() == pytest.approx([320, 40, 40], abs=16)
    # stable: linking two photos moves at most their faces and the groups at a quota boundary
    links = [(0, 10), (100, 300)]
    b = expw_split(labels, groups, links)
    assert b[0] == b[10] and b[100] == b[300]
    assert (a != b).sum() <= 12


def test_dataset_page_reports_the_grouping(tmp_path):
    lay = make_expw(tmp_path, COUNTS, copies=10, missing=0, malformed=0)
    d = dataset_stats("expw", tmp_path)
    g = d["grouping"]
    assert g == get_dataset("expw", tmp_path, "val").grouping
    assert g["faces"] == sum(lay.counts["all"].values()) and g["copy_links"] >= 10
