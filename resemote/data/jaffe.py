"""JAFFE (Lyons et al. 1998): 213 posed expressions of ten Japanese women, 256 x 256 grayscale TIFFs, a test set.

Two layouts are read (`root` holds either, or a `Data/` or `jaffe/` folder holding it):
- the common folder repack: `Data/<n - Class>/KA.AN1.39.tiff`, one folder per class (`1 - Happy`, `2 - Sad`,
  `3 - Surprise`, `4 - Disgust`, `5 - Fear`, `6 - Anger`, `7 - Neutral`);
- the original distribution: a flat folder of `KA.AN1.39.tiff`, the class read from the name's expression
  code (AN, DI, FE, HA, NE, SA, SU).
A name is `<poser>.<code><k>.<number>`; the poser (KA, KL, ...) is `Sample.group`.

All seven of the paper's classes occur, Neutral included. JAFFE is a test set here: its only split, `test`,
holds every image (a model trained elsewhere never saw any of them); a poser-grouped split would be needed
before anyone trains on it. The faces are not cropped: the whole 256 x 256 frame is resized, as for every
dataset here.

Duplicates. The repack's Surprise folder holds `YM.SU3.60.jpg` beside `YM.SU3.60.tiff`: a JPEG copy of one
image. Where one folder holds several files of one name in different formats, the TIFF (the original
format) is used and the others are listed in `ignored` (not damage: they never count as skipped).
"""
from __future__ import annotations

import re
from pathlib import Path

from resemote.data.base import FaceDataset, Sample
from resemote.data.classes import TITLES

CODES = {"AN": 0, "DI": 1, "FE": 2, "HA": 3, "NE": 4, "SA": 5, "SU": 6}
# class folder word (after "n - ") -> canonical index
WORDS = {"anger": 0, "angry": 0, "disgust": 1, "fear": 2, "happy": 3, "happiness": 3, "neutral": 4,
         "sad": 5, "sadness": 5, "surprise": 6}
PREFERENCE = (".tiff", ".tif", ".png", ".bmp", ".jpg", ".jpeg")  # which of several copies of one name is used
NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})\d*\.\d+$")               # KA.AN1.39 -> poser KA, code AN
FOLDER = re.compile(r"^\s*\d+\s*-\s*([A-Za-z]+)\s*$")             # "6 - Anger" -> anger


class JAFFE(FaceDataset):
    name = "jaffe"
    title = TITLES["jaffe"]
    obtain = ("request JAFFE from its authors at https://zenodo.org/record/3451524, or use the common Data/<n - "
              "Class>/ folder repack (see data/README.md)")
    channels = 1
    image_size = (256, 256)
    splits = ("test",)
    posed = True  # ten posers, about three shots of each expression: the audit's stricter near test
    expected = "Data/<n - Class>/*.tiff (e.g. Data/6 - Anger/KA.AN1.39.tiff), or the original flat *.tiff folder"

    def _find(self) -> str:
        """The prefix (relative to root) of the folder holding the class folders or the flat TIFFs."""
        for prefix in ("", "Data/", "jaffe/"):
            base = self.root / prefix
            if base.is_dir() and any(FOLDER.match(p.name) and p.is_dir() for p in base.iterdir()):
                return prefix
            if base.is_dir() and any(p.suffix.lower() in PREFERENCE and NAME.match(p.stem) for p in base.iterdir()):
                return prefix
        raise self.missing(self.expected)

    def _index(self) -> list[Sample]:
        self.prefix = self._find()
        base = self.root / self.prefix
        self.ignored: list[dict[str, str]] = []
        folders = sorted(p for p in base.iterdir() if p.is_dir() and FOLDER.match(p.name))
        samples = []
        if folders:
            for folder in folders:
                word = FOLDER.match(folder.name).group(1).lower()
                if word not in WORDS:
                    self.skip(f"{self.prefix}{folder.name}", f"expected a class folder '<n> - <class>' with a class "
                                                           f"one of {', '.join(WORDS)}")
                    continue
                samples += self._files(folder, f"{self.prefix}{folder.name}/", WORDS[word])
        else:
            samples = self._files(base, self.prefix, None)
        if not samples and not self.skipped:
            raise self.missing(self.expected)
        return samples

    def _files(self, folder: Path, ref_prefix: str, label: int | None) -> list[Sample]:
        """The images of one folder, one per name (the preferred format), labelled by `label` or their code."""
        by_stem: dict[str, list[Path]] = {}
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.suffix.lower() in PREFERENCE:
                by_stem.setdefault(f.stem, []).append(f)
        samples = []
        for stem, files in sorted(by_stem.items()):
            files.sort(key=lambda f: PREFERENCE.index(f.suffix.lower()))
            used = files[0]
            for other in files[1:]:
                self.ignored.append({"path": f"{ref_prefix}{other.name}",
                                     "reason": f"a {other.suffix.lstrip('.').upper()} copy of {used.name} (that one "
                                               f"is used)"})
            ref = f"{ref_prefix}{used.name}"
            m = NAME.match(stem)
            if m is None:
                self.skip(ref, "expected a JAFFE name like KA.AN1.39.tiff (poser, expression code, number)")
                continue
            poser, code = m.groups()
            if code not in CODES:
                self.skip(ref, f"expected an expression code one of {', '.join(CODES)}, found {code!r}")
                continue
            if label is not None and CODES[code] != label:
                self.skip(ref, f"its name's expression code {code} disagrees with its class folder")
                continue
            samples.append(Sample(ref, CODES[code], group=poser))
        return samples
