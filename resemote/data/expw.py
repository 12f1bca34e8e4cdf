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
- by photo: all faces of one photo land on the same side (a photo goes by its first face's label), so
  the same person in the same scene never sits in both train and test;
- seeded with SPLIT_SEED, a constant independent of any training seed, so every run and every user
  gets the same partition: test is drawn first (10 % of photos per class), then val (1/9 of the rest);
- computed from every well-formed line of label.lst before checking images, so a missing or added image
  file never moves other faces between splits.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import FaceDataset, Sample, stratified_split
from .classes import NATIVE_TO_CANONICAL, TITLES

LABEL_FILE = "label/label.lst"
IMAGES = "image/origin/"
NATIVE = NATIVE_TO_CANONICAL["expw"]
SPLIT_SEED = 20180101  # fixed forever: changing it changes the benchmark
FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


def expw_split(labels: np.ndarray, groups: list[str]) -> np.ndarray:
    """The split name index (0 train, 1 val, 2 test) of each face: seeded, stratified, by photo."""
    labels = np.asarray(labels)
    part = np.zeros(len(labels), dtype=np.int64)
    rest, test = stratified_split(labels, FRACTIONS["test"], SPLIT_SEED, groups)
    part[test] = 2
    val_fraction = FRACTIONS["val"] / (1 - FRACTIONS["test"])
    _, val = stratified_split(labels[rest], val_fraction, SPLIT_SEED + 1, [groups[i] for i in rest])
    part[rest[val]] = 1
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
        part = expw_split(np.array([s.label for s in faces]), [s.group for s in faces])
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
