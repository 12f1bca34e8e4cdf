"""The canonical class order and every dataset's native label map.

The paper's tables and confusion matrices list the classes alphabetically; the whole project uses that
order. Each dataset numbers its labels differently (datasets.md); the maps below turn a native label into
the canonical index. Labels missing from a map (AffectNet's 7-10) are dropped by the loaders.
"""
from __future__ import annotations

CLASSES: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")

# how every page, table and message names a dataset (the paper's names; AffectNet's seven-class subset)
TITLES: dict[str, str] = {"fer2013": "FER2013", "rafdb": "RAF-DB", "affectnet": "AffectNet-7", "expw": "ExpW",
                         "ckplus": "CK+", "ferplus": "FER+ (majority vote, 7 classes)", "jaffe": "JAFFE"}

# native label -> canonical index
NATIVE_TO_CANONICAL: dict[str, dict[int, int]] = {
    # FER2013 and ExpW: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral
    "fer2013": {0: 0, 1: 1, 2: 2, 3: 3, 4: 5, 5: 6, 6: 4},
    "expw": {0: 0, 1: 1, 2: 2, 3: 3, 4: 5, 5: 6, 6: 4},
    # RAF-DB: 1 surprise, 2 fear, 3 disgust, 4 happiness, 5 sadness, 6 anger, 7 neutral
    "rafdb": {1: 6, 2: 2, 3: 1, 4: 3, 5: 5, 6: 0, 7: 4},
    # AffectNet: 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger (7-10 dropped)
    "affectnet": {0: 4, 1: 3, 2: 5, 3: 6, 4: 2, 5: 1, 6: 0},
    # output rows of the authors' released network: happy, surprise, sad, anger, disgust, fear, neutral
    "released": {0: 3, 1: 6, 2: 5, 3: 0, 4: 1, 5: 2, 6: 4},
}

# FER2013 image-folder repack: folder name -> canonical index
FOLDER_NAMES: dict[str, int] = {name.lower(): i for i, name in enumerate(CLASSES)}


def canonical_to_native(dataset: str) -> dict[int, int]:
    """The inverse map: canonical index -> native label of `dataset`."""
    return {c: n for n, c in NATIVE_TO_CANONICAL[dataset].items()}
