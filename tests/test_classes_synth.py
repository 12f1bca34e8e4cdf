"""Label maps (checked by class name against datasets.md) and the synthetic generator."""
import hashlib

import numpy as np

from resemote.data import get_dataset
from resemote.data.classes import CLASSES, NATIVE_TO_CANONICAL
from resemote.data.synthetic import class_counts, write_synthetic

NATIVE_NAMES = {  # native label -> name, as each dataset's documentation lists them
    "fer2013": {0: "Angry", 1: "Disgust", 2: "Fear", 3: "Happy", 4: "Sad", 5: "Surprise", 6: "Neutral"},
    "expw": {0: "Angry", 1: "Disgust", 2: "Fear", 3: "Happy", 4: "Sad", 5: "Surprise", 6: "Neutral"},
    "rafdb": {1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happy", 5: "Sad", 6: "Angry", 7: "Neutral"},
    "affectnet": {0: "Neutral", 1: "Happy", 2: "Sad", 3: "Surprise", 4: "Fear", 5: "Disgust", 6: "Angry"},
    "released": {0: "Happy", 1: "Surprise", 2: "Sad", 3: "Angry", 4: "Disgust", 5: "Fear", 6: "Neutral"},
}


def test_canonical_order_is_alphabetical():
    assert CLASSES == tuple(sorted(CLASSES)) and len(CLASSES) == 7


def test_label_maps_agree_with_class_names():
    for ds, names in NATIVE_NAMES.items():
        m = NATIVE_TO_CANONICAL[ds]
        assert sorted(m.values()) == list(range(7)), ds
        assert {n: CLASSES[c] for n, c in m.items()} == names, ds


def test_synth_is_deterministic_by_seed(tmp_path):
    a, b, c = (write_synthetic(tmp_path / d, 30, 10, 10, seed=s) for d, s in (("a", 1), ("b", 1), ("c", 2)))
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert digest(a) == digest(b) != digest(c)


def test_synth_layout_and_imbalance(tmp_path):
    write_synthetic(tmp_path, 700, 20, 30, seed=0)
    header = (tmp_path / "fer2013.csv").read_text().splitlines()[0]
    assert header == "emotion,pixels,Usage"
    sizes = {s: len(get_dataset("fer2013", tmp_path, s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 700, "val": 20, "test": 30}
    assert get_dataset("fer2013", tmp_path).synthetic["seed"] == 0
    counts = class_counts(700)
    assert counts.sum() == 700 and counts.argmax() == CLASSES.index("Happy") and counts.argmin() == CLASSES.index("Disgust")
    # labels as drawn (4% label noise aside) follow the imbalance
    got = np.bincount(get_dataset("fer2013", tmp_path).labels, minlength=7)
    assert got.argmax() == CLASSES.index("Happy") and got[CLASSES.index("Disgust")] < got.mean()
