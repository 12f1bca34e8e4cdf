"""How much does leakage buy? The clean test subset, and test images leaked into training on purpose.

- The *clean* test images are those with no exact, near or mirror copy in the training or validation split,
  according to the dataset's duplicate audit (`resemote.data.audit`). `cached_audit` computes that audit once
  per decoded content (the splits' fingerprints) and keeps it beside the decode cache; `copied_test_images`
  reads it. The audit lists near and mirror pairs for one member of each group of exact copies only, so
  copies are followed through exact groups: an exact copy of a test image that has a near copy in train is
  leaked too.
- `test_subsets` scores a run's test predictions on all, leaked and clean images (accuracy, bootstrap 95%
  interval, n); `rescore_predictions` does the same from a run's `test_predictions.csv` and a dataset
  summary's list of copied test images (for the book, which never reads images). A finished run made before runs wrote their predictions is
  predicted again by `resemote.analysis.rescore`.
- The leak dose-response experiment (`runs.yml` experiment `leakage`): `training_subset` (a stratified,
  seeded subset of train), `leaked_test_indices` (a stratified fraction of test, nested across fractions for
  one seed) and their copies, either as they are or made the way the released repository's
  `data_preprocessing/data_augmentation.py` makes its class-balancing copies (`augment_like_released`).
  The test split is still evaluated whole, once, at the end; what was leaked is reported separately.

Only counts and file names leave this module; never an image.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageOps

from resemote.errors import ResEmoteError

AUDIT_VERSION = 1           # of the cached audit's format; the audit's thresholds are in its key too
COPIES = ("as-is", "released")
SUBSET_SEED = 0             # one training subset for every run (as the validation carve-out's seed 0)
JPEG_QUALITY = 75           # what PIL writes when no quality is given, as the released script saves its copies
PREDICTIONS = "test_predictions.csv"
PREDICTION_FIELDS = ("index", "file", "label", "predicted", "leaked")


# --- the audit, cached -----------------------------------------------------------------------------------------
def cached_audit(name: str, root: str | Path, size: int = 64, progress: bool = True) -> dict:
    """`resemote.data.dataset_audit.audit_dataset(name, root)`, computed once per decoded content and kept as JSON in
    the cache folder (`$RESEMOTE_CACHE`): FER2013's takes about a minute on two cores, reading it back none."""
    from resemote.data import audit as A
    from resemote.data.dataset_audit import decode_splits, is_posed
    from resemote.data.cache import cache_dir
    from resemote.io import write_json
    title, arrays, refs, skipped, fps = decode_splits(name, root, size=size, progress=progress)
    settings = (AUDIT_VERSION, A.THUMB, A.FINE, A.BLUR, A.NEAR_CORR, A.FINE_CORR, A.HASH_BITS, A.TABLES,
                A.PER_BUCKET, A.KEY_FROM, A.MAX_HAMMING, A.SEED)
    posed = is_posed(name)
    if posed:  # only posed datasets' keys change with step 5: others' recorded audit keys stay valid
        settings += ("posed", A.POSED_FINE_CORR, A.POSED_MAX_RESIDUAL, A.RESIDUAL_BLOCK)
    key = hashlib.sha256(json.dumps([name, size, fps, settings]).encode()).hexdigest()[:16]
    path = cache_dir() / f"audit-{name}-{size}-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = {"dataset": title, **A.audit_arrays(arrays, refs, progress=progress, posed=posed), "skipped": skipped,
              "audit_key": key}
    write_json(path, result)
    return result


def copied_test_images(audit: dict, test: str = "test") -> dict[str, dict]:
    """{test file: one copy of it in another split ({"split", "path", "kind"})} from an audit's pairs."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def node(side: dict) -> tuple[str, str]:
        return side["split"], side["path"]

    pairs = audit["pairs"]
    for p in pairs:  # groups of exact copies
        if p["kind"] == "exact":
            a, b = find(node(p["a"])), find(node(p["b"]))
            if a != b:
                parent[b] = a
    members: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for x in list(parent):
        members.setdefault(find(x), []).append(x)

    def group(x):
        return members.get(find(x), [x])

    out: dict[str, dict] = {}

    def mark(tests, witness, kind):
        for split, path in tests:
            if split == test and path not in out:
                out[path] = {"split": witness[0], "path": witness[1], "kind": kind}

    for x, ms in members.items():  # an exact copy in another split
        other = [m for m in ms if m[0] != test]
        if other:
            mark(ms, other[0], "exact")
    for p in pairs:  # a near or mirror copy of any member of the group
        if p["kind"] == "exact":
            continue
        ga, gb = group(node(p["a"])), group(node(p["b"]))
        for mine, theirs in ((ga, gb), (gb, ga)):
            other = [m for m in theirs if m[0] != test]
            if other:
                mark(mine, other[0], p["kind"])
    return dict(sorted(out.items()))


def clean_summary(audit: dict, test: str = "test") -> dict:
    """What a dataset summary keeps for re-scoring any run later: test images audited, and the file names of
    those with a copy in another split (names only)."""
    copied = copied_test_images(audit, test)
    return {"n_test": int(audit.get("images", {}).get(test, 0)), "with_copy": len(copied), "copied": sorted(copied),
            "audit_key": audit.get("audit_key")}


# --- scores ---------------------------------------------------------------------------------------------------
def score(correct: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """Accuracy on the images `mask` selects, with its percentile bootstrap 95% interval (as every test accuracy
    here: `resemote.evaluation.bootstrap_ci`) and n; accuracy and interval None where n is 0."""
    from resemote.evaluation import bootstrap_ci
    c = np.asarray(correct, bool)
    c = c if mask is None else c[np.asarray(mask, bool)]
    if not len(c):
        return {"accuracy": None, "ci95": None, "n": 0}
    ones = np.ones(len(c), np.int64)
    return {"accuracy": float(c.mean()), "ci95": bootstrap_ci(ones, ones * c), "n": int(len(c))}


def test_subsets(dataset: str, root: str | Path, refs: Sequence[str], labels: np.ndarray, predicted: np.ndarray,
                 leaked: dict[int, str] | None = None, size: int = 64, progress: bool = False) -> dict:
    """A run's test accuracy on its clean images (no copy in train or validation, and not leaked) and, where
    images were leaked, on all, leaked and clean images. {"clean_test": {...}, "leak": {...}?}; clean_test
    holds `missing` (why) instead of a score where the dataset has no audit."""
    correct = np.asarray(labels) == np.asarray(predicted)
    leaked_mask = np.zeros(len(correct), bool)
    leaked_mask[list((leaked or {}).keys())] = True
    try:
        audit = cached_audit(dataset, root, size, progress)
    except Exception as e:  # noqa: BLE001 - at the end of a run that may have trained for hours: say so, go on
        what = str(e) if isinstance(e, ResEmoteError) else f"the audit failed: {type(e).__name__}: {e}"
        clean = {"missing": f"no duplicate audit of this dataset ({what})"}
    else:
        copied = copied_test_images(audit)
        has_copy = np.array([r in copied for r in refs], bool)
        clean = {**score(correct, ~has_copy & ~leaked_mask), "n_test": int(len(correct)),
                 "with_copy": int(has_copy.sum()), "leaked": int(leaked_mask.sum()), "audit_key": audit["audit_key"]}
    out = {"clean_test": clean}
    if leaked:
        out["leak"] = {"all": score(correct), "leaked": score(correct, leaked_mask),
                       "clean": {k: clean.get(k) for k in ("accuracy", "ci95", "n", "missing") if k in clean}}
    return out


def write_predictions(path: Path, refs: Sequence[str], labels: np.ndarray, predicted: np.ndarray,
                      leaked: dict[int, str] | None = None) -> None:
    """test_predictions.csv: one row per test image (index in the split as decoded, file name as the loader
    names it, true and predicted class, and how it was leaked into training, if it was). No pixels."""
    from resemote.data.classes import CLASSES
    from resemote.io import write_text
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PREDICTION_FIELDS)
    for i, (r, y, p) in enumerate(zip(refs, labels, predicted)):
        w.writerow([i, r, CLASSES[int(y)], CLASSES[int(p)], (leaked or {}).get(i, "")])
    write_text(path, buf.getvalue())


def read_predictions(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def rescore_predictions(rows: list[dict], copied: Sequence[str]) -> dict:
    """The clean-test score of a run from its test_predictions.csv rows and a dataset summary's copied test
    files (`clean_summary`): the same figure `test_subsets` writes at the end of a run."""
    copied = set(copied)
    correct = np.array([r["label"] == r["predicted"] for r in rows], bool)
    has_copy = np.array([r["file"] in copied for r in rows], bool)
    leaked = np.array([bool(r.get("leaked")) for r in rows], bool)
    return {**score(correct, ~has_copy & ~leaked), "n_test": len(rows), "with_copy": int(has_copy.sum()),
            "leaked": int(leaked.sum())}


# --- the dose-response experiment: its settings, and its data -----------------------------------------------------
KEYS = ("train_subset", "leak_test_fraction", "leak_copies")  # its settings, as params.json and runs.yml name them


@dataclass(frozen=True)
class LeakExperiment:
    """The leak experiment's block of a run specification (`resemote.training.spec.RunSpec.leak`): train on
    a stratified subset of about `train_subset` training images (None: all), with the fraction
    `leak_test_fraction` of the test images added to training, as they are (`leak_copies` 'as-is') or as
    released-style copies ('released'). Normalised: no copies without a leak. A run without the block keeps
    the params, cell and id it had before the experiment existed."""

    train_subset: int | None = None
    leak_test_fraction: float = 0.0
    leak_copies: str | None = None

    def __post_init__(self) -> None:
        n, f = self.train_subset, float(self.leak_test_fraction or 0)
        object.__setattr__(self, "train_subset", int(n) if n else None)
        object.__setattr__(self, "leak_test_fraction", f if f > 0 else 0.0)
        object.__setattr__(self, "leak_copies", (self.leak_copies or "as-is") if f > 0 else None)
        if self.leak_copies is not None and self.leak_copies not in COPIES:
            raise ResEmoteError(f"unknown leak copies {self.leak_copies!r}: expected one of {', '.join(COPIES)}")

    @classmethod
    def from_params(cls, params: dict) -> "LeakExperiment | None":
        """The block from any mapping that may hold its settings (params.json, metrics.json, a runs.yml
        profile, a record); None where it sets nothing (every run outside the experiment)."""
        x = cls(params.get("train_subset"), params.get("leak_test_fraction") or 0.0, params.get("leak_copies"))
        return x if x.as_params() else None

    def as_params(self) -> dict:
        """Its settings where set, as params.json holds them: {} for a block that sets nothing."""
        out: dict = {"train_subset": self.train_subset} if self.train_subset else {}
        if self.leak_test_fraction:
            out.update(leak_test_fraction=self.leak_test_fraction, leak_copies=self.leak_copies)
        return out

    @property
    def leaks(self) -> bool:
        return self.leak_test_fraction > 0

    def label(self) -> str:
        """', stratified training subset of 7,000 images, 10% of the test images leaked into training (as they
        are)': how every label names the experiment's settings."""
        out = f", stratified training subset of {self.train_subset:,} images" if self.train_subset else ""
        if self.leaks:
            how = "as they are" if self.leak_copies == "as-is" else "as released-style rotated/mirrored/cropped copies"
            out += f", {self.leak_test_fraction:.0%} of the test images leaked into training ({how})"
        return out

    def short_label(self) -> str:
        """'7,000-image subset leak 10% copies': the experiment in a source line's few words."""
        parts = [f"{self.train_subset:,}-image subset"] if self.train_subset else []
        if self.leaks:
            parts.append(f"leak {self.leak_test_fraction:.0%}" + (" copies" if self.leak_copies == "released" else ""))
        return " ".join(parts)

    def cli_args(self) -> list[str]:
        """The `resemote train` options that set it."""
        args = ["--train-subset", str(self.train_subset)] if self.train_subset else []
        if self.leaks:
            args += ["--leak-test-fraction", repr(self.leak_test_fraction), "--leak-copies", self.leak_copies]
        return args

    def training_images(self, n_train: int, n_test: int) -> int:
        """About the images a run trains on each epoch: at most the subset of the training split, plus the
        leaked test images."""
        return min(n_train, self.train_subset or n_train) + round(self.leak_test_fraction * n_test)


def training_data(data: dict, spec, progress: bool = False) -> dict:
    """`data` (`resemote.data.splits.load_splits`) as run `spec` (a `RunSpec`) trains on it: unchanged, or cut
    and leaked by its leak experiment's block (`apply`; then `data["leaked"]` names the leaked test images)."""
    if not spec.leak:
        return data
    return apply(data, spec.dataset, spec.root, **spec.experiment(), seed=spec.seed, image_size=spec.image_size,
                 progress=progress)


def split_sizes(data: dict) -> dict[str, int]:
    """The images of each split a run saw, and how many leaked test images its training split holds."""
    out = {k: int(len(data[k][1])) for k in ("train", "val", "test")}
    if data.get("leaked"):
        out["leaked_into_train"] = len(data["leaked"])
    return out


def training_counts(train: dict[str, int], test: dict[str, int], experiment: dict) -> tuple[int | None, int]:
    """(subset, leaked): the training images a run with the leak `experiment`'s settings keeps of a training split
    with these class counts (None: all of them) and the test images it adds, each class cut as `apply` cuts it
    (its share rounded)."""
    from resemote.data.splits import held_counts
    x, n_train = LeakExperiment.from_params(experiment), sum(train.values())
    if x is None:
        return None, 0
    subset = None
    if x.train_subset and 0 < x.train_subset < n_train:
        subset = sum(held_counts(train, x.train_subset / n_train).values())
    return subset, sum(held_counts(test, x.leak_test_fraction).values())


def trained_on(params: dict) -> tuple[int | None, int]:
    """(subset, leaked) from a finished run's params.json: its training subset (None: the whole split) and the
    test images leaked into it."""
    n = params.get("split_sizes") or {}
    leaked = int(n.get("leaked_into_train", 0))
    return (int(n["train"]) - leaked if params.get("train_subset") else None), leaked


def leak_block(params: dict) -> dict:
    """The experiment's settings in `params`, normalised ({} where it sets none)."""
    x = LeakExperiment.from_params(params)
    return x.as_params() if x else {}


# --- the dose-response experiment's data ------------------------------------------------------------------------
def training_subset(labels: np.ndarray, n: int, seed: int = SUBSET_SEED) -> np.ndarray:
    """Sorted indices of a stratified, seeded subset of about `n` training images (per class, the class's
    share of n, rounded)."""
    from resemote.data import stratified_split
    if not 0 < n < len(labels):
        raise ResEmoteError(f"expected a training subset of 1 to {len(labels) - 1:,} images (the training split "
                            f"has {len(labels):,}), got {n:,}")
    return np.sort(stratified_split(labels, n / len(labels), seed)[1])


def leaked_test_indices(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a stratified fraction of the test images. For one seed, a smaller fraction's images
    are among a larger one's (each class is shuffled the same way and cut at its share)."""
    from resemote.data import stratified_split
    if not 0 <= fraction <= 1:
        raise ResEmoteError(f"expected a leak fraction from 0 to 1, got {fraction}")
    return np.sort(stratified_split(labels, fraction, seed)[1]) if fraction else np.zeros(0, np.int64)


def augment_like_released(img: Image.Image, rng: random.Random) -> tuple[Image.Image, str]:
    """One class-balancing copy as the released `data_augmentation.py` makes it: one of three operations with
    equal chance, a rotation by a whole number of degrees from -30 to 30 (PIL's defaults: nearest neighbour,
    same size, black corners), a mirror image, or a crop of 0-10 pixels off every border (a smaller image).
    Returns the copy and what was done ('rotate -12', 'mirror', 'crop 7')."""
    op = rng.choice(("rotate", "mirror", "crop"))
    if op == "rotate":
        angle = rng.randint(-30, 30)
        return img.rotate(angle), f"rotate {angle}"
    if op == "mirror":
        return ImageOps.mirror(img), "mirror"
    border = rng.randint(0, 10)
    return ImageOps.crop(img, border=border), f"crop {border}"


def jpeg_roundtrip(img: Image.Image, quality: int = JPEG_QUALITY) -> Image.Image:
    """The copy as the released script leaves it on disk: saved as a JPEG (PIL's default quality) and read back."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        im.load()
        return im.copy()


def released_copy(img: Image.Image, seed: int, index: int, size: int) -> tuple[np.ndarray, str]:
    """Test image `index`'s released-style copy at the training resolution; the same image always gets the
    same copy for one seed, whatever the fraction leaked."""
    from resemote.data.cache import to_gray
    copy, what = augment_like_released(img, random.Random(f"{seed}:{index}"))
    return to_gray(jpeg_roundtrip(copy), size), what


def apply(data: dict, dataset: str, root: str | Path, *, train_subset: int | None = None,
          leak_test_fraction: float = 0.0, leak_copies: str | None = None, seed: int = 0, image_size: int = 64,
          progress: bool = False) -> dict:
    """`training.load_splits`'s data with the training split cut to a stratified subset and/or a fraction of
    the test images (or their released-style copies) added to it. The test split itself is unchanged; the
    result's `leaked` maps each leaked test index to its copy ('as-is', 'rotate -12', ...)."""
    copies = leak_copies or "as-is"
    if copies not in COPIES:
        raise ResEmoteError(f"unknown leak copies {copies!r}: expected one of {', '.join(COPIES)}")
    images, labels = data["train"]
    if train_subset:
        keep = training_subset(labels, int(train_subset))
        images, labels = np.asarray(images[keep]), labels[keep]
    test_images, test_labels = data["test"]
    idx = leaked_test_indices(test_labels, float(leak_test_fraction), seed)
    leaked: dict[int, str] = {}
    if len(idx):
        if copies == "as-is":
            extra = np.asarray(test_images[idx])
            leaked = {int(i): "as-is" for i in idx}
        else:
            from tqdm.auto import tqdm  # here: the book imports this module, and tqdm.auto warns in its kernels
            from resemote.data import dataset_class
            ds = dataset_class(dataset)(root, "test")
            by_ref = {s.ref: s for s in ds.samples}
            extra = np.empty((len(idx), image_size, image_size), np.uint8)
            for k, i in enumerate(tqdm(idx, desc="released-style copies", unit="img",
                                       disable=not progress or len(idx) < 500)):
                extra[k], leaked[int(i)] = released_copy(ds.read(by_ref[data["test_refs"][i]]), seed, int(i),
                                                         image_size)
        images = np.concatenate([np.asarray(images), extra])
        labels = np.concatenate([labels, test_labels[idx]])
    return {**data, "train": (images, labels), "leaked": leaked}
