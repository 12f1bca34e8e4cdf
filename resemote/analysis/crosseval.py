"""Evaluating a checkpoint on any dataset's split, with the class coverage stated.

Testing a model trained on one dataset on another (the authors' repository does it for CK+ and others)
only means something if one says which classes could be tested and which the model never learnt: CK+ has
no Neutral and its contempt has no canonical class; AffectNet's contempt, none, uncertain and non-face rows
are dropped. `cross_evaluate` returns the metrics with a `coverage` block:
- `absent_from_test`: canonical classes with no sample in the split. They have no recall, so the balanced
  accuracy and macro F1 average over the present classes only (`present_classes`);
- `absent_from_training`: classes the training data lacked. Taken from the sidecar's provenance
  `train_class_counts` where it records them, else from the training dataset's loader when that declares
  classes its release never has (`absent_classes`, CK+'s Neutral); None when the checkpoint names no
  training dataset (a released .pt/.pth);
- `dropped`: the split's samples that have no canonical class, by name (a count, as the loaders keep it);
- `skipped`: damaged samples (missing or unreadable images, malformed rows);
- `notes`: the same in sentences, for the command line and the book.
Where the model never learnt some classes that the split has, `accuracy_on_shared_classes` is the accuracy
over the test samples of the other classes (the model may still predict any of the seven).
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from resemote.data.classes import CLASSES, TITLES


def cross_evaluate(checkpoint: str | Path, dataset: str, root: str | os.PathLike, split: str = "test",
                   device: str = "auto", *, strict: bool = False, flip_seed: int | None = None,
                   progress: bool = True) -> dict:
    """Metrics of `checkpoint` on `dataset`'s `split` (read from `root`), JSON-ready, with the coverage notes
    and the checkpoint's configuration and training dataset (from its sidecar's provenance)."""
    from resemote.checkpoint import load_model
    from resemote.data import get_dataset
    from resemote.data.cache import decode
    from resemote.env import device_name
    from resemote.evaluation import evaluate
    from resemote.device_images import DeviceImages
    from resemote.env import git_commit, resolve_device

    dev = resolve_device(device)
    model, meta = load_model(checkpoint, dev)
    ds = get_dataset(dataset, root, split, strict=strict)
    d = decode(ds, int(meta["input"]["size"][0]), progress=progress)
    m = evaluate(model, DeviceImages(d.images, d.labels, dev), flip_seed=flip_seed)
    prov = meta.get("provenance") or {}
    trained_on = prov.get("dataset")
    coverage = class_coverage(np.asarray(m["confusion_matrix"]), trained_on, prov.get("train_class_counts"),
                              dropped=getattr(ds, "dropped", {}), skipped=len(d.skipped), test_title=ds.title)
    return {
        "checkpoint": str(checkpoint), "config": meta.get("config"),
        "trained_on": trained_on, "trained_on_title": TITLES.get(trained_on, trained_on) if trained_on else None,
        "provenance": prov,
        "dataset": dataset, "dataset_title": ds.title, "split": split,
        "cross_dataset": None if trained_on is None else trained_on != dataset,
        "n": len(d), "data_fingerprint": d.fingerprint, "device": device_name(dev), "skipped": len(d.skipped),
        "synthetic": ds.synthetic, **m, "coverage": coverage,
        "git_commit": git_commit(), "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def class_coverage(cm: np.ndarray, trained_on: str | None, train_counts: dict[str, int] | None = None, *,
                   dropped: dict[str, int] | None = None, skipped: int = 0, test_title: str = "the split") -> dict:
    """The coverage block (see the module docstring) from the confusion matrix (rows: true classes)."""
    support = cm.sum(1)
    present = [c for c, n in zip(CLASSES, support) if n]
    absent_test = [c for c, n in zip(CLASSES, support) if not n]
    source, absent_train = None, None
    if train_counts:
        absent_train = [c for c in CLASSES if not train_counts.get(c)]
        source = "sidecar train_class_counts"
    elif trained_on:
        from resemote.data import DATASETS, dataset_class
        declared = getattr(dataset_class(trained_on), "absent_classes", ()) if trained_on in DATASETS else ()
        absent_train = [c for c in CLASSES if c in declared]
        source = f"{TITLES.get(trained_on, trained_on)} loader (classes its release never has)"
    dropped = {k: int(v) for k, v in (dropped or {}).items() if v}
    out = {"present_classes": present, "absent_from_test": absent_test, "absent_from_training": absent_train,
           "absent_from_training_source": source, "dropped": dropped, "dropped_total": sum(dropped.values()),
           "skipped": int(skipped)}

    notes = []
    if absent_test:
        notes.append(f"{test_title} has no {', '.join(absent_test)} samples here: balanced accuracy and macro F1 "
                     f"average over the {len(present)} present classes")
    if absent_train is None:
        notes.append("the checkpoint records no training dataset, so which classes it learnt is unknown")
    elif absent_train:
        notes.append(f"the training data ({TITLES.get(trained_on, trained_on) if trained_on else 'unknown'}) had no "
                     f"{', '.join(absent_train)} samples: the model never learnt "
                     f"{'that class' if len(absent_train) == 1 else 'those classes'}")
        rows = [i for i, c in enumerate(CLASSES) if c not in absent_train and support[i]]
        if rows and set(absent_train) & set(present):
            # cm[rows, rows] pairs the indices: the diagonal entries (correct predictions) of those rows
            out["accuracy_on_shared_classes"] = float(cm[rows, rows].sum() / cm[rows].sum())
    if dropped:
        notes.append(f"{out['dropped_total']} samples have no canonical class and were left out "
                     f"({', '.join(f'{k} {v}' for k, v in dropped.items())})")
    if skipped:
        notes.append(f"{skipped} damaged samples skipped (missing or unreadable images, malformed rows)")
    out["notes"] = notes
    return out
