"""The splits a run trains, selects and tests on, decoded: the dataset's own, with a validation split carved
from train (stratified, seeded, by group where the dataset has groups) where the dataset has none."""
from __future__ import annotations

import hashlib
from pathlib import Path

from resemote.data import dataset_class, stratified_split
from resemote.data.cache import decode
from resemote.errors import ResEmoteError


def held_counts(counts: dict[str, int], fraction: float) -> dict[str, int]:
    """Per class, how many images `stratified_split` holds out of a split with these class counts (the counts
    do not depend on the seed)."""
    import numpy as np
    names = list(counts)
    labels = np.repeat(np.arange(len(names)), [counts[c] for c in names])
    held = labels[stratified_split(labels, fraction, 0)[1]]
    return {c: int((held == i).sum()) for i, c in enumerate(names)}


def load_splits(dataset: str, root: str | Path, image_size: int = 64, val_fraction: float = 0.1,
                val_seed: int = 0, strict: bool = False, progress: bool = True) -> dict:
    """Decoded train/val/test arrays, the validation split carved from train where the dataset has none."""
    cls = dataset_class(dataset)
    train_ds = cls(root, "train", strict=strict)
    test_ds = cls(root, "test", strict=strict)
    train, test = decode(train_ds, image_size, progress=progress), decode(test_ds, image_size, progress=progress)
    if "val" in cls.splits:
        val = decode(cls(root, "val", strict=strict), image_size, progress=progress)
        tr_img, tr_lab, va_img, va_lab = train.images, train.labels, val.images, val.labels
        val_source, fp_parts = "the dataset's own validation split", [train.fingerprint, val.fingerprint]
    else:
        keep, held = stratified_split(train.labels, val_fraction, val_seed, groups=train.groups)
        tr_img, tr_lab = train.images[keep], train.labels[keep]
        va_img, va_lab = train.images[held], train.labels[held]
        val_source = f"a stratified {val_fraction:.0%} of train (seed {val_seed})"
        fp_parts = [train.fingerprint, hashlib.sha256(held.tobytes()).hexdigest()[:16]]
    for name, labels in (("train", tr_lab), ("validation", va_lab), ("test", test.labels)):
        if len(labels) < 2:
            raise ResEmoteError(f"{cls.title} under {root}: the {name} split has {len(labels)} usable images; "
                                f"need at least 2")
    fingerprint = hashlib.sha256("|".join(fp_parts + [test.fingerprint]).encode()).hexdigest()[:16]
    return {
        "train": (tr_img, tr_lab), "val": (va_img, va_lab), "test": (test.images, test.labels),
        "test_refs": test.refs, "fingerprint": fingerprint, "val_source": val_source, "synthetic": train_ds.synthetic,
        "skipped": train.skipped + test.skipped + (val.skipped if "val" in cls.splits else []),
    }


def data_fingerprint(dataset: str, root: str | Path) -> str:
    """The data fingerprint a run on this copy records (`load_splits`); for a copy that cannot be trained on
    (a test split only, as JAFFE), one over the splits it has."""
    try:
        return load_splits(dataset, root, progress=False)["fingerprint"]
    except ResEmoteError:
        cls, fps, first_error = dataset_class(dataset), [], None
        for split in cls.splits:
            try:
                fps.append(decode(cls(root, split), 64, progress=False).fingerprint)
            except ResEmoteError as e:
                first_error = first_error or e
        if not fps:
            raise first_error from None
        return hashlib.sha256("|".join(fps).encode()).hexdigest()[:16]
