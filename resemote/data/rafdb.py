"""RAF-DB basic (Li, Deng, Du 2017), as distributed and as the popular Kaggle repack.

Native layout (`root` is the folder holding `basic/`, or `basic/` itself):
- `basic/EmoLabel/list_patition_label.txt` (sic): `train_00001.jpg 5` per line, no header;
- `basic/Image/aligned/train_00001_aligned.jpg`: the aligned 100 x 100 RGB face for that line.
The split is the name prefix: `train_*` (12,271) and `test_*` (3,068). There is no validation split;
training carves one out of train with `stratified_split`.

Kaggle repack (`root` holds `DATASET/`, or is `DATASET/`): `DATASET/<train|test>/<1..7>/<image>` with
`train_labels.csv` / `test_labels.csv` (columns `image,label`) beside `DATASET/` or inside it. The folder
names are the NATIVE labels 1..7, so they go through the label map; an alphabetical ImageFolder would
silently give the wrong classes. Without the csv files the folder names alone are used.

Native labels: 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness, 6 Anger, 7 Neutral.
"""
from __future__ import annotations

import csv
from pathlib import Path

from resemote.errors import ResEmoteError
from resemote.data.base import FaceDataset, Sample
from resemote.data.classes import NATIVE_TO_CANONICAL, TITLES

LABEL_FILE = "EmoLabel/list_patition_label.txt"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
NATIVE = NATIVE_TO_CANONICAL["rafdb"]


class RAFDB(FaceDataset):
    name = "rafdb"
    title = TITLES["rafdb"]
    obtain = ("request RAF-DB (basic) from its authors at http://www.whdeng.cn/raf/model1.html, or use the "
              "Kaggle repack with DATASET/ and train_labels.csv (see data/README.md)")
    channels = 3
    image_size = (100, 100)
    splits = ("train", "test")
    expected = "basic/EmoLabel/list_patition_label.txt"  # named when the root is missing

    def _find(self) -> tuple[str, str]:
        """(kind, prefix relative to root): 'basic' with the folder holding EmoLabel/, or 'kaggle' with
        the folder holding train/ and test/."""
        for prefix in ("basic/", ""):
            if (self.root / prefix / LABEL_FILE).is_file():
                return "basic", prefix
        for prefix in ("DATASET/", ""):
            if (self.root / prefix / "train").is_dir() and (self.root / prefix / "test").is_dir():
                return "kaggle", prefix
        raise self.missing(f"basic/{LABEL_FILE} (or the Kaggle repack's DATASET/train/<1..7>/, "
                           f"DATASET/test/<1..7>/ and train_labels.csv)")

    def _index(self) -> list[Sample]:
        self.kind, self.prefix = self._find()
        self.label_path: Path | None = None
        if self.kind == "basic":
            self.label_path = self.root / self.prefix / LABEL_FILE
            return self._index_basic()
        for folder in (self.root, self.root / self.prefix, (self.root / self.prefix).parent):
            if (folder / f"{self.split}_labels.csv").is_file():
                self.label_path = folder / f"{self.split}_labels.csv"
                return self._index_kaggle_csv()
        return self._index_kaggle_folders()

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:  # a csv beside a DATASET/ given as the root
            return path.as_posix()

    def _index_basic(self) -> list[Sample]:
        rel = self._rel(self.label_path)
        images = f"{self.prefix}Image/aligned/"
        samples = []
        with open(self.label_path) as f:
            for line_no, line in enumerate(f, start=1):
                fields = line.split()
                if not fields:
                    continue
                where = f"{rel}:line {line_no}"
                if len(fields) != 2:
                    self.skip(where, f"expected 2 fields (image name, label 1-7), found {len(fields)}")
                    continue
                image, label = fields
                if not label.isdigit() or int(label) not in NATIVE:
                    self.skip(where, f"expected a label 1-7, found {label!r}")
                    continue
                if not image.startswith(("train_", "test_")):
                    self.skip(where, f"expected an image name starting train_ or test_, found {image!r}")
                    continue
                if not image.startswith(self.split + "_"):
                    continue
                ref = images + Path(image).stem + "_aligned.jpg"
                if not self.present(ref):
                    continue
                samples.append(Sample(ref, NATIVE[int(label)]))
        return samples

    def _index_kaggle_csv(self) -> list[Sample]:
        rel = self._rel(self.label_path)
        samples = []
        with open(self.label_path, newline="") as f:
            rows = csv.reader(f)
            header = [h.strip() for h in next(rows, [])]
            if header[:2] != ["image", "label"]:
                raise ResEmoteError(f"{rel}: expected a header 'image,label', found {','.join(header)[:60]!r}")
            for line_no, row in enumerate(rows, start=2):
                if not row:
                    continue
                where = f"{rel}:line {line_no}"
                if len(row) != 2:
                    self.skip(where, f"expected 2 fields (image,label), found {len(row)}")
                    continue
                image, label = row[0].strip(), row[1].strip()
                if not label.isdigit() or int(label) not in NATIVE:
                    self.skip(where, f"expected a label 1-7, found {label!r}")
                    continue
                ref = f"{self.prefix}{self.split}/{int(label)}/{image}"
                if not self.present(ref):
                    continue
                samples.append(Sample(ref, NATIVE[int(label)]))
        return samples

    def _index_kaggle_folders(self) -> list[Sample]:
        base = self.root / self.prefix / self.split
        samples = []
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            if not folder.name.isdigit() or int(folder.name) not in NATIVE:
                self.skip(self._rel(folder), "expected a class folder named by its native label 1-7")
                continue
            for f in sorted(folder.iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    samples.append(Sample(self._rel(f), NATIVE[int(folder.name)]))
        return samples

    def source_files(self) -> list[Path]:
        return [self.label_path] if self.label_path is not None else []
