"""The interface every dataset follows (modelled on torchvision's datasets).

`Dataset(root, split="train", strict=False)` indexes one of the dataset's own partitions from its native
layout. `ds[i]` is `(PIL image, canonical label)`; `ds.samples` holds what was indexed and `ds.skipped`
what was not (missing or unreadable images, malformed label rows) with the reason. With `strict=True` the
first such problem raises `ResEmoteError` instead.

`labels_only=True` indexes what the label file lists without its images: for a copy that has the official
label file and no image (RAF-DB's is public, its images are not). Its counts are said as `LABELS_ONLY`
wherever they show, never as counts of images; a copy holding any image it lists, or whose labels are its
image folders' names, is refused (counted the ordinary way, its counts would be of files present).

Decoding every image is the cache's job (`resemote.data.cache`): indexing only reads label files, so it
is cheap and can be repeated.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterable

import numpy as np
from PIL import Image

from resemote.errors import ResEmoteError
from resemote.data.classes import CLASSES

SYNTHETIC_MARKER = "SYNTHETIC.json"
MISSING_IMAGE = "image file missing"
LABELS_ONLY = "counted from the label file; images not present"


class LabelsOnlyRefused(ResEmoteError):
    """A copy that cannot be counted from its label file alone (never taken for a split it lacks)."""


@dataclass(frozen=True)
class Sample:
    """One face: where it comes from, its canonical label, and an optional crop box."""

    ref: str                                         # path relative to root, or "file.csv:line N"
    label: int                                       # canonical class index
    box: tuple[int, int, int, int] | None = None     # (left, top, right, bottom) in pixels
    group: str | None = None                         # faces sharing a group (one photo) split together


class FaceDataset:
    """Base class: subclasses set the class attributes and implement `_index` (and `read` if needed)."""

    name: ClassVar[str]                  # registry name, e.g. "fer2013"
    title: ClassVar[str]                 # display name, e.g. "FER2013"
    obtain: ClassVar[str]                # where users get it
    channels: ClassVar[int]              # as distributed (Table I)
    image_size: ClassVar[tuple[int, int]]  # as the paper's Table I gives it (h, w)
    splits: ClassVar[tuple[str, ...]]    # the dataset's own partitions
    classes: tuple[str, ...] = CLASSES
    expected: ClassVar[str | None] = None  # the main label file relative to the root, named if root is missing
    split_from_images: ClassVar[str] = ""  # why the split needs the images (so `labels_only` is refused), if it does
    posed: ClassVar[bool] = False          # one person shot many times in one pose: a stricter near audit

    def __init__(self, root: str | os.PathLike, split: str = "train", *, strict: bool = False,
                 labels_only: bool = False):
        self.root = Path(root)
        if not self.root.is_dir():
            where = f" (expected {self.expected} under it)" if self.expected else ""
            raise ResEmoteError(f"{self.title}: dataset root {self.root} does not exist{where}; {self.obtain}")
        if split not in self.splits:
            raise ResEmoteError(f"{self.title} has no split {split!r}: expected one of {', '.join(self.splits)}")
        self.split = split
        self.strict = strict
        self.labels_only = labels_only
        if labels_only and self.split_from_images:
            raise LabelsOnlyRefused(f"{self.title}: its label file alone gives no split: {self.split_from_images}")
        self.skipped: list[dict[str, str]] = []
        self._listings: dict[str, frozenset[str]] = {}
        self._found: list[str] = []  # labels-only: images the label file lists that are on disk after all
        self.samples: list[Sample] = self._index()
        if labels_only:
            self._check_labels_only()

    def _check_labels_only(self) -> None:
        if not self.source_files():
            raise LabelsOnlyRefused(f"{self.title}: expected a label file ({self.expected}) under {self.root} to "
                                    f"count from; this copy's labels are its image folders' names")
        if self._found:
            raise LabelsOnlyRefused(
                f"{self.title}: expected no image under {self.root} to count from the label file alone, found "
                f"{len(self._found):,} of the {self.split} images it lists (e.g. {self._found[0]}); count this copy "
                f"without labels-only")

    # -- for subclasses -------------------------------------------------------------------------------
    def _index(self) -> list[Sample]:
        raise NotImplementedError

    def source_files(self) -> list[Path]:
        """Label files whose content identifies the dataset version (hashed into the fingerprint)."""
        return []

    def read(self, sample: Sample) -> Image.Image:
        """Open one image (cropped to its box). Raises on a missing or unreadable file."""
        with Image.open(self.image_path(sample)) as im:
            im.load()
            img = im.copy()
        if sample.box is not None:
            img = img.crop(sample.box)
        return img

    def read_small(self, sample: Sample, size: int) -> Image.Image:
        """The face as a size x size grayscale image (bilinear): what the decode cache stores.

        A large JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, luma only) as long as
        the face keeps at least `size` pixels a side, and its box is resampled at sub-pixel precision:
        several times faster on AffectNet's and ExpW's photos. Datasets with their own `read` keep it.
        """
        if type(self).read is not FaceDataset.read:
            img = self.read(sample).convert("L")
            return img if img.size == (size, size) else img.resize((size, size), Image.BILINEAR)
        with Image.open(self.image_path(sample)) as im:
            w, h = im.size
            box = sample.box or (0, 0, w, h)
            factor = min(box[2] - box[0], box[3] - box[1]) / max(size, 1)
            if im.format == "JPEG" and factor >= 2:
                im.draft("L" if im.mode in ("RGB", "L") else im.mode,
                         (int(np.ceil(w / factor)), int(np.ceil(h / factor))))
            im.load()
            img = im.convert("L")
        sx, sy = img.size[0] / w, img.size[1] / h
        fbox = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
        if fbox[0] >= 0 and fbox[1] >= 0 and fbox[2] <= img.size[0] and fbox[3] <= img.size[1]:
            # crop to the whole pixels around the box first, so the filter does not reach past it
            x0, y0 = int(np.floor(fbox[0])), int(np.floor(fbox[1]))
            img = img.crop((x0, y0, int(np.ceil(fbox[2])), int(np.ceil(fbox[3]))))
            return img.resize((size, size), Image.BILINEAR, box=(fbox[0] - x0, fbox[1] - y0, fbox[2] - x0, fbox[3] - y0))
        # a box reaching past the photo's edge: crop pads with black, as read() does
        return img.crop(tuple(round(v) for v in fbox)).resize((size, size), Image.BILINEAR)

    def image_path(self, sample: Sample) -> Path:
        """The image file behind a sample; a ref may end in '#<face>' when one photo holds several faces."""
        return self.root / sample.ref.partition("#")[0]

    def present(self, relpath: str, where: str | None = None) -> bool:
        """Whether root/relpath exists; if not, the sample (`where`, default relpath) is skipped as missing.
        Labels-only: always True (the label file's row counts), noting an image that is there after all."""
        if self.labels_only:
            if self.exists(relpath):
                self._found.append(relpath)
            return True
        if self.exists(relpath):
            return True
        self.skip(where or relpath, MISSING_IMAGE)
        return False

    def exists(self, relpath: str) -> bool:
        """Whether root/relpath is a file, from one cached listing per folder (one stat per image would be
        ~290k system calls on AffectNet; a few thousand folder listings are much cheaper)."""
        folder, _, name = relpath.rpartition("/")
        names = self._listings.get(folder)
        if names is None:
            try:
                with os.scandir(self.root / folder) as it:
                    names = frozenset(e.name for e in it if e.is_file())
            except OSError:
                names = frozenset()
            self._listings[folder] = names
        return name in names

    def skip(self, where: str, reason: str) -> None:
        """Record a damaged sample, or stop at the first one in strict mode."""
        if self.strict:
            raise ResEmoteError(f"{where}: {reason}")
        self.skipped.append({"path": where, "reason": reason})

    def missing(self, relpath: str) -> ResEmoteError:
        """The error for a missing root-level file: names the file relative to the root and the source."""
        return ResEmoteError(f"{self.title}: expected {relpath} under {self.root}; {self.obtain}")

    # -- the public interface ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        s = self.samples[i]
        return self.read(s), s.label

    @property
    def labels(self) -> np.ndarray:
        return np.fromiter((s.label for s in self.samples), dtype=np.int64, count=len(self.samples))

    @property
    def synthetic(self) -> dict | None:
        """The generator's parameters when the root holds synthetic data, else None."""
        marker = self.root / SYNTHETIC_MARKER
        return json.loads(marker.read_text()) if marker.is_file() else None

    @property
    def release(self) -> str:
        """Which circulating release of the dataset this is, as pages name it (with its fingerprint)."""
        return self.title

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}

    def source_fingerprint(self) -> str:
        """Cheap identity of the source: label-file contents plus the image files' sizes and times."""
        h = hashlib.sha256(f"{self.name}|{self.split}".encode())
        for f in self.source_files():
            h.update(file_digest(f).encode())
        seen: set[str] = set()
        for s in self.samples:
            h.update(f"{s.ref}|{s.label}|{s.box}".encode())
            if ":line " in s.ref:
                continue
            p = self.image_path(s)
            key = str(p)
            if key in seen:  # several faces of one photo: stat it once
                continue
            seen.add(key)
            try:
                st = os.stat(p)  # one system call, not is_file() + stat()
            except OSError:
                continue
            h.update(f"{st.st_size}|{st.st_mtime_ns}".encode())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, n={len(self)})"


def file_digest(path: Path) -> str:
    """sha256 of a label file; each split of a dataset shares its label file, so hash it once per version."""
    st = path.stat()
    return _digest_of(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _digest_of(path: str, size: int, mtime_ns: int, chunk: int = 1 << 22) -> str:  # size/mtime: cache key
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def stratified_split(labels: np.ndarray, fraction: float, seed: int,
                     groups: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified split of indices into (kept, held_out), about `fraction` of each class held out.

    With `groups`, all members of a group land on the same side (the group goes by its first member's
    class), so faces of one photo never straddle the split.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    if groups is None:
        unit_of = np.arange(len(labels))
    else:
        _, unit_of = np.unique(np.asarray(list(groups), dtype=object).astype(str), return_inverse=True)
    n_units = unit_of.max() + 1 if len(labels) else 0
    unit_label = np.full(n_units, -1)
    for i in range(len(labels) - 1, -1, -1):  # reversed, so the first member's label wins
        unit_label[unit_of[i]] = labels[i]
    held_units = []
    for c in np.unique(unit_label):
        units = np.flatnonzero(unit_label == c)
        rng.shuffle(units)
        held_units.append(units[: int(round(fraction * len(units)))])
    held = np.isin(unit_of, np.concatenate(held_units) if held_units else [])
    return np.flatnonzero(~held), np.flatnonzero(held)
