"""Datasets in their native layouts, behind one interface (see `base.FaceDataset`)."""
from __future__ import annotations

import importlib
import os

from resemote.errors import ResEmoteError
from resemote.data.base import FaceDataset, Sample, stratified_split
from resemote.data.classes import CLASSES, NATIVE_TO_CANONICAL

# name -> "module:Class"; imported on first use so one broken optional loader cannot break the others
_REGISTRY = {
    "fer2013": "resemote.data.fer2013:FER2013",
    "rafdb": "resemote.data.rafdb:RAFDB",
    "affectnet": "resemote.data.affectnet:AffectNet",
    "expw": "resemote.data.expw:ExpW",
    "ckplus": "resemote.data.ckplus:CKPlus",
    "ferplus": "resemote.data.ferplus:FERPlus",
    "jaffe": "resemote.data.jaffe:JAFFE",
}
DATASETS: tuple[str, ...] = tuple(_REGISTRY)


def dataset_class(name: str) -> type[FaceDataset]:
    if name not in _REGISTRY:
        raise ResEmoteError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def get_dataset(name: str, root: str | os.PathLike, split: str = "train", *, strict: bool = False,
                labels_only: bool = False) -> FaceDataset:
    """`get_dataset("rafdb", "data/rafdb", "test")`: one split of a dataset read from its native layout
    (`labels_only`: what its label file lists, for a copy without images; see `base.FaceDataset`)."""
    return dataset_class(name)(root, split, strict=strict, labels_only=labels_only)


__all__ = ["CLASSES", "DATASETS", "NATIVE_TO_CANONICAL", "FaceDataset", "Sample", "dataset_class",
           "get_dataset", "stratified_split"]
