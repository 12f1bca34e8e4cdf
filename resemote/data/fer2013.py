"""FER2013 in each of its circulating releases.

Looked for in `root` and in `root/fer2013/` (torchvision's layout), in this order:
- `fer2013.csv`: `emotion,pixels,Usage`, Usage Training / PublicTest / PrivateTest;
- `icml_face_data.csv`: the same columns as `emotion, Usage, pixels` (names after the first begin with a space);
- `train.csv` (`emotion,pixels`): the later Kaggle release; its `test.csv` has no labels, so only the
  train split exists there;
- the image-folder repack `train/<class>/Training_*.jpg`, `test/<class>/{PublicTest,PrivateTest}_*.jpg`.

Standard protocol: train = Training (28,709), val = PublicTest (3,589), test = PrivateTest (3,589).
We do not use torchvision.datasets.FER2013: it merges PublicTest and PrivateTest and checks MD5 sums of
whole files, so it gives neither the three-way split nor reads small test copies.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from resemote.errors import ResEmoteError
from resemote.data.base import FaceDataset, Sample
from resemote.data.classes import FOLDER_NAMES, NATIVE_TO_CANONICAL, TITLES

USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
PIXELS = 48 * 48
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


class FER2013(FaceDataset):
    name = "fer2013"
    title = TITLES["fer2013"]
    obtain = ("get it from Kaggle, 'Challenges in Representation Learning: Facial Expression Recognition "
              "Challenge' (see data/README.md)")
    channels = 1
    image_size = (48, 48)
    splits = ("train", "val", "test")

    def _find(self) -> tuple[str, Path]:
        for base in (self.root, self.root / "fer2013"):
            for kind, name in (("csv", "fer2013.csv"), ("csv", "icml_face_data.csv"), ("kaggle", "train.csv")):
                if (base / name).is_file():
                    return kind, base / name
            if (base / "train").is_dir() and (base / "test").is_dir():
                return "folders", base
        raise self.missing("fer2013.csv (or icml_face_data.csv, train.csv, or train/<class>/ and test/<class>/"
                           " image folders), directly or in fer2013/,")

    def _index(self) -> list[Sample]:
        self.kind, self.path = self._find()
        if self.kind == "folders":
            return self._index_folders()
        if self.kind == "kaggle" and self.split != "train":
            raise ResEmoteError(
                f"FER2013: {self.path.relative_to(self.root)} is the later Kaggle release, whose test.csv has no "
                f"labels, so it has no {self.split!r} split; use fer2013.csv for the standard three-way split")
        return self._index_csv()

    def _index_csv(self) -> list[Sample]:
        rel = self.path.relative_to(self.root).as_posix()
        native = NATIVE_TO_CANONICAL["fer2013"]
        samples, self._pixels = [], []
        with open(self.path, newline="") as f:
            rows = csv.reader(f)
            header = [h.strip() for h in next(rows, [])]
            need = ["emotion", "pixels"] + (["Usage"] if self.kind == "csv" else [])
            if not set(need) <= set(header):
                raise ResEmoteError(f"{rel}: expected a header with columns {', '.join(need)}, "
                                    f"found {','.join(header)[:80]!r}")
            col = {h: header.index(h) for h in need}
            for line, row in enumerate(rows, start=2):
                where = f"{rel}:line {line}"
                if len(row) != len(header):
                    self.skip(where, f"expected {len(header)} fields ({','.join(header)}), found {len(row)}")
                    continue
                if self.kind == "csv" and row[col["Usage"]].strip() != USAGE[self.split]:
                    continue
                emotion, pixels = row[col["emotion"]].strip(), row[col["pixels"]].strip()
                if not emotion.isdigit() or int(emotion) not in native:
                    self.skip(where, f"expected an emotion label 0-6, found {emotion!r}")
                    continue
                n = len(pixels.split())
                if n != PIXELS:
                    self.skip(where, f"expected {PIXELS:,} pixel values (48 x 48), found {n:,}")
                    continue
                samples.append(Sample(where, native[int(emotion)]))
                self._pixels.append(pixels)
        self._row_of = {s.ref: i for i, s in enumerate(samples)}
        return samples

    def _index_folders(self) -> list[Sample]:
        top = "train" if self.split == "train" else "test"
        prefix = {"train": "Training_", "val": "PublicTest_", "test": "PrivateTest_"}[self.split]
        samples = []
        base = self.path / top
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            label = FOLDER_NAMES.get(folder.name.lower())
            if label is None:
                self.skip(folder.relative_to(self.root).as_posix(),
                          f"expected a class folder named one of {', '.join(FOLDER_NAMES)}")
                continue
            for f in sorted(folder.iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES and f.name.startswith(prefix):
                    samples.append(Sample(f.relative_to(self.root).as_posix(), label))
        return samples

    @property
    def release(self) -> str:
        if self.kind == "folders":  # JPEG re-encodings of the csv's pixels: a release of its own
            return "FER2013 (Kaggle image-folder release)"
        return f"FER2013 ({self.path.name})"

    def source_files(self) -> list[Path]:
        return [self.path] if self.kind != "folders" else []

    def read(self, sample: Sample) -> Image.Image:
        if self.kind == "folders":
            return super().read(sample)
        values = np.array(self._pixels[self._row_of[sample.ref]].split(), dtype=np.int64)
        if values.min() < 0 or values.max() > 255:
            raise ValueError("expected pixel values 0-255")
        return Image.fromarray(values.astype(np.uint8).reshape(48, 48), mode="L")
