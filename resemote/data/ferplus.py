"""FER+ (Barsoum et al. 2016): FER2013's faces relabelled by ten crowd annotators each, in the layout the FER+
project's own `generate_training_data.py` writes.

Layout (`root` is the folder holding the three split folders, or the one above it, as the FER+ repository
keeps them under `data/`):
- `FER2013Train/`, `FER2013Valid/`, `FER2013Test/` (FER2013's Training, PublicTest and PrivateTest rows):
  `ferNNNNNNN.png` (48 x 48 grayscale; NNNNNNN is the row of fer2013.csv) and `label.csv`, no header, one
  face per line: `file name,"(left, top, right, bottom)",` then ten vote counts in the order neutral,
  happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF (not a face).
Official splits: train = FER2013Train, val = FER2013Valid, test = FER2013Test.

Labels. The FER+ code's majority vote (`FERPlusReader._process_data`, mode 'majority'): votes of one are
dropped as outliers, and a face gets the emotion that holds more than half of the remaining votes. A face
without one (a tie, or votes spread too thin) is dropped, as is one whose majority is `unknown` or `NF`.
That gives the standard FER+ protocol's eight classes (the paper's seven and contempt). The models here
have seven outputs, so two label modes:
- `majority` (the default, what trains and is evaluated here): the majority labels mapped onto the paper's
  seven classes; faces whose majority is contempt have no canonical class and are dropped and counted
  (`dropped["Contempt"]`), as CK+'s contempt is. The eight-class counts are therefore the seven class
  counts plus `dropped["Contempt"]`, and Tables I-II show them so;
- `majority8`: the same labels with contempt kept as an eighth class (`classes` ends with "Contempt", label
  7), for eight-class work through the Python API (`FERPlus(root, split, mode="majority8")`); the registry
  (`--dataset ferplus`, training, evaluation, the book) always uses `majority`.
Faces dropped by the vote are counted by reason in `dropped` ("no majority", "unknown", "not a face").
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from resemote.errors import ResEmoteError
from resemote.data.base import FaceDataset, Sample
from resemote.data.classes import CLASSES, TITLES

FOLDERS = {"train": "FER2013Train", "val": "FER2013Valid", "test": "FER2013Test"}
LABEL_FILE = "label.csv"
VOTES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# vote column -> canonical index; contempt (7) has none, unknown (8) and NF (9) are not emotions
VOTE_TO_CANONICAL = {0: 4, 1: 3, 2: 6, 3: 5, 4: 0, 5: 1, 6: 2}
CONTEMPT, UNKNOWN, NOT_A_FACE = 7, 8, 9
DROP_REASON = {CONTEMPT: "Contempt", UNKNOWN: "unknown", NOT_A_FACE: "not a face", None: "no majority"}
MODES = {
    "majority": "majority vote, 7 classes (contempt dropped)",
    "majority8": "majority vote, 8 classes (contempt kept)",
}
BOX = re.compile(r"^\(\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+)\s*\)$")


def majority_vote(votes: list[int] | tuple[int, ...]) -> int | None:
    """The FER+ code's majority label of one face: the vote column (0-9) holding more than half of the votes
    once single votes are dropped, or None when no column does."""
    kept = [v if v > 1 else 0 for v in votes]
    total = sum(kept)
    top = max(kept)
    return kept.index(top) if total and top > total / 2 else None


class FERPlus(FaceDataset):
    name = "ferplus"
    title = TITLES["ferplus"]
    obtain = ("get the FER+ labels from https://github.com/microsoft/FERPlus and make the images with its "
              "generate_training_data.py from fer2013.csv, or use a copy of that layout (see data/README.md)")
    channels = 1
    image_size = (48, 48)
    splits = ("train", "val", "test")
    expected = "FER2013Train/label.csv, FER2013Valid/label.csv and FER2013Test/label.csv (directly or in data/)"

    def __init__(self, root, split: str = "train", *, strict: bool = False, mode: str = "majority",
                 labels_only: bool = False):
        if mode not in MODES:
            raise ResEmoteError(f"FER+ has no label mode {mode!r}: expected one of {', '.join(MODES)}")
        self.mode = mode
        if mode == "majority8":
            self.classes = CLASSES + ("Contempt",)
            self.title = "FER+ (majority vote, 8 classes)"
        super().__init__(root, split, strict=strict, labels_only=labels_only)

    def _find(self) -> str:
        """The prefix (relative to root) of the folder holding FER2013Train/ and its siblings."""
        for prefix in ("", "data/"):
            if any((self.root / prefix / f).is_dir() for f in FOLDERS.values()):
                return prefix
        raise self.missing(self.expected)

    def _index(self) -> list[Sample]:
        self.prefix = self._find()
        folder = f"{self.prefix}{FOLDERS[self.split]}"
        self.label_path = self.root / folder / LABEL_FILE
        if not self.label_path.is_file():
            raise self.missing(f"{folder}/{LABEL_FILE}")
        self.dropped: dict[str, int] = {}
        self.votes: dict[str, tuple[int, ...]] = {}  # ref -> the ten vote counts, every face whose image exists
        samples = []
        with open(self.label_path, newline="") as f:
            for line_no, row in enumerate(csv.reader(f), start=1):
                if not row or not "".join(row).strip():
                    continue
                where = f"{folder}/{LABEL_FILE}:line {line_no}"
                parsed = self._parse(row, where)
                if parsed is None:
                    continue
                name, votes = parsed
                ref = f"{folder}/{name}"
                if self.exists(ref):  # every face on disk, dropped or not: the label-noise join reads them all
                    self.votes[ref] = votes
                top = majority_vote(votes)
                if top in VOTE_TO_CANONICAL:
                    label = VOTE_TO_CANONICAL[top]
                elif top == CONTEMPT and self.mode == "majority8":
                    label = 7
                else:
                    reason = DROP_REASON[top]
                    self.dropped[reason] = self.dropped.get(reason, 0) + 1
                    continue
                if not self.present(ref):
                    continue
                samples.append(Sample(ref, label))
        return samples

    def _parse(self, row: list[str], where: str) -> tuple[str, tuple[int, ...]] | None:
        if len(row) != 2 + len(VOTES):
            self.skip(where, f"expected {2 + len(VOTES)} fields (file name, face box, ten vote counts: "
                             f"{', '.join(VOTES)}), found {len(row)}")
            return None
        name, box, votes = row[0].strip(), row[1].strip(), [v.strip() for v in row[2:]]
        if not name.lower().endswith(".png") or "/" in name:
            self.skip(where, f"expected a file name like fer0000000.png, found {name!r}")
            return None
        if not BOX.match(box):
            self.skip(where, f"expected a face box like \"(0, 0, 48, 48)\", found {box!r}")
            return None
        if not all(v.isdigit() for v in votes):
            self.skip(where, f"expected ten whole vote counts, found {','.join(votes)!r}")
            return None
        return name, tuple(int(v) for v in votes)

    @property
    def release(self) -> str:
        return f"FER+ (the FER+ project's FER2013Train/Valid/Test layout; {MODES[self.mode]})"

    def source_files(self) -> list[Path]:
        return [self.label_path]
