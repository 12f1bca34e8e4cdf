"""AffectNet (Mollahosseini et al. 2017), seven classes.

Native layout:
- `Manually_Annotated_file_lists/training.csv` (our train) and `validation.csv` (our test: 500 per class),
  columns `subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,
  arousal`; circulating copies may lack the header line, so it is detected, not assumed;
- images under `Manually_Annotated_Images/<subDirectory_filePath>`; some copies nest that folder one level
  deeper (`Manually_Annotated_Images/Manually_Annotated_Images/...`), which is detected too.
Each sample is cropped to its face box (x, y, width, height -> PIL's (left, top, right, bottom)). Some files
are PNG or BMP despite a .jpg name: PIL opens by content, so they read fine.

Native codes: 0 Neutral, 1 Happy, 2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt, 8 None,
9 Uncertain, 10 Non-Face. Codes 0-6 are kept; 7-10 are not damage but classes outside the seven, so they
are dropped silently and counted in `dropped` (code name -> rows). No validation split: carve it out of
train with `stratified_split`.
"""
from __future__ import annotations

import csv
from pathlib import Path

from resemote.data.base import FaceDataset, Sample
from resemote.data.classes import NATIVE_TO_CANONICAL, TITLES

LISTS = "Manually_Annotated_file_lists"
IMAGES = "Manually_Annotated_Images"
FILES = {"train": "training.csv", "test": "validation.csv"}
COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
           "expression", "valence", "arousal")
NATIVE = NATIVE_TO_CANONICAL["affectnet"]
DROPPED = {7: "Contempt", 8: "None", 9: "Uncertain", 10: "Non-Face"}


class AffectNet(FaceDataset):
    name = "affectnet"
    title = TITLES["affectnet"]
    obtain = "request AffectNet from its authors at http://mohammadmahoor.com/affectnet/ (see data/README.md)"
    channels = 3
    image_size = (224, 224)
    splits = ("train", "test")
    expected = "Manually_Annotated_file_lists/training.csv"  # named when the root is missing

    def _index(self) -> list[Sample]:
        rel = f"{LISTS}/{FILES[self.split]}"
        self.label_path = self.root / rel
        if not self.label_path.is_file():
            raise self.missing(rel)
        if (self.root / IMAGES / IMAGES).is_dir():
            self.images = f"{IMAGES}/{IMAGES}/"
        elif (self.root / IMAGES).is_dir():
            self.images = f"{IMAGES}/"
        else:
            raise self.missing(f"{IMAGES}/ (the image folder)")
        self.dropped: dict[str, int] = {}
        samples = []
        with open(self.label_path, newline="") as f:
            for line_no, row in enumerate(csv.reader(f), start=1):
                if not row:
                    continue
                if line_no == 1 and row[0].strip() == COLUMNS[0]:
                    continue  # the header line, present in some copies only
                sample = self._parse(row, f"{rel}:line {line_no}")
                if sample is not None:
                    samples.append(sample)
        return samples

    def _parse(self, row: list[str], where: str) -> Sample | None:
        if len(row) != len(COLUMNS):
            self.skip(where, f"expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), found {len(row)}")
            return None
        code = row[6].strip()
        if not code.lstrip("-").isdigit() or not 0 <= int(code) <= 10:
            self.skip(where, f"expected an expression code 0-10, found {code!r}")
            return None
        if int(code) in DROPPED:
            self.dropped[DROPPED[int(code)]] = self.dropped.get(DROPPED[int(code)], 0) + 1
            return None
        try:
            x, y, w, h = (int(round(float(v))) for v in row[1:5])
        except ValueError:
            self.skip(where, f"expected numeric face_x,face_y,face_width,face_height, found {','.join(row[1:5])!r}")
            return None
        if w <= 0 or h <= 0:
            self.skip(where, f"expected a positive face box width and height, found {w} x {h}")
            return None
        ref = self.images + row[0].strip().lstrip("/")
        if not self.present(ref):
            return None
        return Sample(ref, NATIVE[int(code)], box=(x, y, x + w, y + h))

    def source_files(self) -> list[Path]:
        return [self.label_path]
