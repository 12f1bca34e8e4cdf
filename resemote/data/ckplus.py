"""CK+ (Lucey et al. 2010) in its common 48 x 48 folder release, with the split this project defines.

Layout (`root` is the folder holding `CK+48/`, or `CK+48/` itself): one folder per emotion,
`CK+48/<anger|contempt|disgust|fear|happy|sadness|surprise>/*.png`, 48 x 48 grayscale faces. The usual copy
holds the last three (peak) frames of each of the 327 labelled sequences, 981 images, named
`S005_001_00000011.png`: subject S005, sequence 001, frame 11. Repacks that spell the folders as the
canonical names (angry, sad, ...) or add a neutral folder are read too.

Classes. Folder names map to the canonical classes. Contempt has no canonical class: its images are not
damage, so, as with AffectNet's codes 7-10, they are dropped and counted in `dropped` ({"Contempt": n},
per split), not listed in `skipped`. The release has no Neutral images (`absent_classes`), so a model
tested on CK+ is never asked about Neutral, and one trained on it never saw Neutral.

The split. CK+ has no official split; papers use subject-independent k-fold cross-validation. Ours is one
train/test split by subject: every image of a subject (all of its sequences and frames, near copies of
each other) lands on the same side, so one person is never on both sides. It is stratified by class (a
subject goes by its first image's class) and seeded with SPLIT_SEED, a constant independent of any training
seed, over every image in a recognised class folder, contempt included, so the split does not depend on
which classes the loader keeps. Names without subject ids (renamed repacks) allow no such split: then only
`test` exists and holds every image.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from resemote.errors import ResEmoteError
from resemote.data.base import FaceDataset, Sample, stratified_split
from resemote.data.classes import TITLES

FOLDER = "CK+48"
# folder name -> canonical index; None: no canonical class (dropped and counted)
FOLDERS: dict[str, int | None] = {
    "anger": 0, "angry": 0, "disgust": 1, "fear": 2, "happy": 3, "happiness": 3, "neutral": 4,
    "sadness": 5, "sad": 5, "surprise": 6, "contempt": None,
}
DROPPED_NAME = "Contempt"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
SUBJECT = re.compile(r"^(S\d+)_\d+_\d+")  # S005_001_00000011.png -> S005
SPLIT_SEED = 20100613  # fixed forever (CK+ was presented at CVPR workshops in June 2010): changing it changes the benchmark
TEST_FRACTION = 0.2    # of the subjects per class


class CKPlus(FaceDataset):
    name = "ckplus"
    title = TITLES["ckplus"]
    obtain = ("request the Extended Cohn-Kanade dataset (CK+) from its authors at "
              "https://www.jeffcohn.net/Resources/, or use the common CK+48 folder repack (see data/README.md)")
    channels = 1
    image_size = (48, 48)
    splits = ("train", "test")
    posed = True  # the last frames of each posed sequence: the audit's stricter near test
    expected = f"{FOLDER}/<anger|contempt|disgust|fear|happy|sadness|surprise>/*.png"
    absent_classes: tuple[str, ...] = ("Neutral",)  # none in the release; a repack may add them

    def _find(self) -> str:
        """The prefix (relative to root) of the folder holding the class folders."""
        if (self.root / FOLDER).is_dir():
            return FOLDER + "/"
        if any(p.is_dir() and p.name.lower() in FOLDERS for p in self.root.iterdir()):
            return ""
        raise self.missing(self.expected)

    def _index(self) -> list[Sample]:
        self.prefix = self._find()
        self.dropped: dict[str, int] = {}
        entries: list[tuple[str, int | None, str | None]] = []  # (ref, canonical label or None, subject)
        for folder in sorted(p for p in (self.root / self.prefix).iterdir() if p.is_dir()):
            ref_folder = f"{self.prefix}{folder.name}"
            if folder.name.lower() not in FOLDERS:
                self.skip(ref_folder, f"expected a class folder named one of {', '.join(FOLDERS)}")
                continue
            label = FOLDERS[folder.name.lower()]
            for f in sorted(folder.iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
                    m = SUBJECT.match(f.name)
                    entries.append((f"{ref_folder}/{f.name}", label, m.group(1) if m else None))
        if not entries:
            raise self.missing(self.expected)
        self.subject_split = all(subject is not None for _, _, subject in entries)
        if self.subject_split:
            # contempt takes part (as its own stratum): the split must not depend on what is kept
            strata = np.array([7 if label is None else label for _, label, _ in entries])
            _, test = stratified_split(strata, TEST_FRACTION, SPLIT_SEED, [s for _, _, s in entries])
            in_test = np.zeros(len(entries), dtype=bool)
            in_test[test] = True
            mine = [e for e, t in zip(entries, in_test) if t == (self.split == "test")]
        elif self.split == "train":
            raise ResEmoteError(
                f"{self.title}: the image names under {self.root / self.prefix} carry no subject ids (like "
                f"S005_001_00000011.png), so no subject-independent split can be made; only the test split "
                f"(every image) exists")
        else:
            mine = entries
        samples = []
        for ref, label, subject in mine:
            if label is None:
                self.dropped[DROPPED_NAME] = self.dropped.get(DROPPED_NAME, 0) + 1
                continue
            samples.append(Sample(ref, label, group=subject))
        return samples

    def source_files(self) -> list[Path]:
        return []  # no label file: the folder names are the labels (refs and labels enter the fingerprint)
