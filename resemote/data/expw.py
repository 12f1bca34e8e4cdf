"""ExpW (Zhang et al. 2018), with the seeded split this project defines.

Native layout:
- `label/label.lst`: one face per line, space separated, no header:
  `image_name face_id top left right bottom confidence label`;
- photos under `image/origin/<image_name>`; one photo can hold several faces (several lines).
Each face is cropped from its photo as PIL's (left, top, right, bottom). A sample's ref is
`image/origin/<image_name>#<face_id>`, so every face has its own name; `Sample.group` is the photo.

Native labels: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral (as FER2013).

The split. ExpW has no official split, and papers use unpublished random ones. Ours is:
- 80 % train / 10 % val / 10 % test, stratified by class;
- by photo and by copy: the same picture appears in ExpW under several file names (seen by `resemote audit`
  on the real photos, some across the split), so faces are grouped by a union-find over two kinds of
  links: faces of one photo, and faces the audit (`resemote.data.audit`) finds to be exact, near or mirror
  copies of each other (mirror too: training flips faces at random, so a mirrored copy in training is the
  test face). A group lands on one side (it goes by its first face's label), so neither the same person in
  the same scene nor a re-saved copy of it sits in both train and test;
- seeded and stable: within each class, groups are ranked by a hash of SPLIT_SEED and the group's first
  photo name, and the first 10 % go to test, then 1/9 of the rest to val. A group's side depends on its own
  name, not on the others: merging copies moves only the faces of the groups merged (and, rarely, a group
  at a class's quota boundary). `ExpW.grouping` counts the links and the faces that grouping by copies moved
  compared with grouping by photo alone;
- computed from every well-formed line of label.lst before checking images, so a missing or added image
  file moves only its own group (its copy links go with it; the copy search is redone, and in a rare case
  a borderline near pair elsewhere may come or go). The search decodes every face once (through the decode
  cache) and its links are cached by the data's fingerprint: only the first indexing of a copy pays for it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

import numpy as np

from resemote.io import write_text
from resemote.data.base import FaceDataset, Sample
from resemote.data.classes import NATIVE_TO_CANONICAL, TITLES

LABEL_FILE = "label/label.lst"
IMAGES = "image/origin/"
NATIVE = NATIVE_TO_CANONICAL["expw"]
SPLIT_SEED = 20180101  # fixed forever: changing it changes the benchmark
FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


LINK_KINDS = ("exact", "near", "mirror")  # audit pairs that join two faces' groups
LINKS_VERSION = 1


def _groups(groups: list[str], links: Iterable[tuple[int, int]]) -> np.ndarray:
    """Union-find over faces: one photo, or a copy link, puts two faces in one group. Returns each face's group
    as the index of the group's first face."""
    parent = list(range(len(groups)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the first face stays the root

    first: dict[str, int] = {}
    for i, g in enumerate(groups):
        union(first.setdefault(g, i), i)
    for i, j in links:
        union(int(i), int(j))
    return np.array([find(i) for i in range(len(groups))], dtype=np.int64)


def _held(unit_label: np.ndarray, unit_key: list[str], fraction: float, seed: int) -> np.ndarray:
    """Per class, the first round(fraction * n) units in the order of a seeded hash of their keys."""
    held = np.zeros(len(unit_label), dtype=bool)
    for c in np.unique(unit_label):
        units = np.flatnonzero(unit_label == c)
        ranked = sorted(units, key=lambda u: hashlib.sha256(f"{seed}|{unit_key[u]}".encode()).digest())
        held[ranked[: int(round(fraction * len(units)))]] = True
    return held


def expw_split(labels: np.ndarray, groups: list[str], links: Iterable[tuple[int, int]] = ()) -> np.ndarray:
    """The split name index (0 train, 1 val, 2 test) of each face: seeded, stratified, stable, by photo and by
    the copy `links` (pairs of face indices that must share a side)."""
    labels = np.asarray(labels)
    part = np.zeros(len(labels), dtype=np.int64)
    if not len(labels):
        return part
    root = _groups(groups, links)
    units, unit_of = np.unique(root, return_inverse=True)  # a unit's root is its first face
    unit_label = labels[units]
    key: dict[int, str] = {}
    for i, u in enumerate(unit_of):  # a unit's key: its first face's photo name (faces in file order)
        key.setdefault(int(u), groups[i])
    unit_key = [key[u] for u in range(len(units))]
    test = _held(unit_label, unit_key, FRACTIONS["test"], SPLIT_SEED)
    rest = np.flatnonzero(~test)
    val = np.zeros(len(units), dtype=bool)
    val[rest] = _held(unit_label[rest], [unit_key[u] for u in rest], FRACTIONS["val"] / (1 - FRACTIONS["test"]),
                      SPLIT_SEED + 1)
    part[test[unit_of]] = 2
    part[val[unit_of]] = 1
    return part


class ExpW(FaceDataset):
    name = "expw"
    title = TITLES["expw"]
    obtain = ("get ExpW (label.lst and the image/origin 7z parts) from "
              "http://mmlab.ie.cuhk.edu.hk/projects/socialrelation/index.html (see data/README.md)")
    channels = 3
    image_size = (224, 224)
    splits = ("train", "val", "test")
    expected = "label/label.lst"  # named when the root is missing
    split_from_images = "the split keeps the copies of a picture, found by auditing the images, on one side"

    def _index(self) -> list[Sample]:
        self.label_path = self.root / LABEL_FILE
        if not self.label_path.is_file():
            raise self.missing(LABEL_FILE)
        faces = []
        with open(self.label_path) as f:
            for line_no, line in enumerate(f, start=1):
                fields = line.split()
                if fields:
                    face = self._parse(fields, f"{LABEL_FILE}:line {line_no}")
                    if face is not None:
                        faces.append(face)
        if not faces:
            return []
        labels, groups = np.array([s.label for s in faces]), [s.group for s in faces]
        links = self.copy_links(faces)
        part = expw_split(labels, groups, links)
        by_photo = expw_split(labels, groups)
        self.grouping = {"copy_links": len(links),
                         "links_across_photo_split": int(sum(by_photo[i] != by_photo[j] for i, j in links)),
                         "faces_moved": int((part != by_photo).sum()), "faces": len(faces)}
        mine = self.splits.index(self.split)
        samples = []
        for s, p in zip(faces, part):
            if p != mine:
                continue
            if not self.present(IMAGES + s.group, where=s.ref):
                continue
            samples.append(s)
        return samples

    def _parse(self, fields: list[str], where: str) -> Sample | None:
        if len(fields) != 8:
            self.skip(where, "expected 8 fields (image_name face_id top left right bottom confidence label), "
                             f"found {len(fields)}")
            return None
        name, face_id, label = fields[0], fields[1], fields[7]
        if not label.isdigit() or int(label) not in NATIVE:
            self.skip(where, f"expected a label 0-6, found {label!r}")
            return None
        try:
            top, left, right, bottom = (int(round(float(v))) for v in fields[2:6])
        except ValueError:
            self.skip(where, f"expected numeric top left right bottom, found {' '.join(fields[2:6])!r}")
            return None
        if right <= left or bottom <= top:
            self.skip(where, f"expected right > left and bottom > top, found {' '.join(fields[2:6])}")
            return None
        return Sample(f"{IMAGES}{name}#{face_id}", NATIVE[int(label)], box=(left, top, right, bottom), group=name)

    def source_files(self) -> list[Path]:
        return [self.label_path]

    def copy_links(self, faces: list[Sample]) -> list[tuple[int, int]]:
        """Pairs (i, j) of faces (indices into `faces`) that the audit finds to be copies of each other: every
        face whose photo exists, decoded once through the cache, audited as one set; cached by its fingerprint."""
        from resemote.data.audit import audit_arrays
        from resemote.data.cache import cache_dir, decode
        every = _EveryFace(self.root, faces)
        key = hashlib.sha256(f"{LINKS_VERSION}|{every.source_fingerprint()}".encode()).hexdigest()[:20]
        path = cache_dir() / f"expw-links-{key}.json"
        if path.is_file():
            return [tuple(p) for p in json.loads(path.read_text())]
        dec = decode(every, 64)
        pairs = audit_arrays({"all": dec.images}, {"all": dec.refs}, progress=len(dec) >= 2000)["pairs"]
        index = {s.ref: i for i, s in enumerate(faces)}
        links = sorted({(index[p["a"]["path"]], index[p["b"]["path"]]) for p in pairs if p["kind"] in LINK_KINDS})
        write_text(path, json.dumps(links))
        return links


class _EveryFace(ExpW):
    """Every well-formed face of label.lst whose photo exists, in file order: what the copy search decodes."""

    splits = ("all",)

    def __init__(self, root, faces: list[Sample]):
        self._faces = faces
        super().__init__(root, "all")

    def _index(self) -> list[Sample]:
        self.label_path = self.root / LABEL_FILE
        return [s for s in self._faces if self.exists(IMAGES + s.group)]
