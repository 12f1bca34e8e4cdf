"""Tables I and II of the paper, computed from a dataset's own files.

Counts come from the label files plus a cheap existence check of each image (one folder listing per
folder), never from decoding, so this takes seconds even on AffectNet. Unreadable-but-present images are
only found when decoding (the cache and the audit report them). Splits are the dataset's own partitions,
before any validation carve-out: FER2013 train/val/test (Training/PublicTest/PrivateTest), RAF-DB and
AffectNet train/test, ExpW our seeded train/val/test.
"""
from __future__ import annotations

import os

from .data import dataset_class
from .data.classes import CLASSES

# The paper's Table II (train / test), shown beside the computed counts; datasets.md discusses it.
PAPER_TABLE2: dict[str, dict[str, tuple[int, int]]] = {
    "fer2013": dict(zip(CLASSES, [(3995, 491), (436, 416), (4097, 626), (7215, 594), (4965, 528), (4830, 879),
                                  (3171, 55)])),
    "rafdb": dict(zip(CLASSES, [(705, 162), (717, 160), (281, 74), (4772, 1185), (2524, 680), (1982, 478),
                                (1290, 329)])),
    "affectnet": dict(zip(CLASSES, [(24882, 500), (3803, 500), (6378, 500), (134415, 500), (74874, 500),
                                    (25459, 500), (14090, 500)])),
    "expw": dict(zip(CLASSES, [(2569, 364), (2796, 396), (761, 108), (21375, 3024), (24418, 3454), (7391, 1046),
                               (4943, 699)])),
}


def dataset_stats(name: str, root: str | os.PathLike, strict: bool = False) -> dict:
    """Table I and II figures of one dataset as a JSON-ready dict (see module docstring)."""
    cls = dataset_class(name)
    splits: dict[str, dict[str, int]] = {}
    skipped: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for split in cls.splits:
        ds = cls(root, split, strict=strict)
        splits[split] = ds.class_counts()
        for s in ds.skipped:  # a malformed row of a shared label file shows up in every split's index
            if (s["path"], s["reason"]) not in seen:
                seen.add((s["path"], s["reason"]))
                skipped.append(s)
        if getattr(ds, "kind", None) == "kaggle" and name == "fer2013":
            break  # the later Kaggle FER2013 release has labels for train only
    return {
        "dataset": cls.title,
        "classes": list(CLASSES),
        "channels": cls.channels,
        "image_size": list(cls.image_size),
        "total": sum(sum(c.values()) for c in splits.values()),
        "splits": splits,
        "skipped": skipped,
    }


def format_stats(d: dict, *, show_skipped: int = 10) -> str:
    """Readable Table I (one row) and Table II (classes x splits, with the paper's figures beside them)."""
    h, w = d["image_size"]
    lines = [f"Table I - {d['dataset']}",
             f"  {'classes':<12}{len(d['classes'])}",
             f"  {'channels':<12}{d['channels']}",
             f"  {'image size':<12}{h} x {w} (as the paper's Table I gives it)",
             f"  {'total':<12}{d['total']:,}", ""]
    splits = list(d["splits"])
    paper = PAPER_TABLE2.get(d["dataset"].lower().replace("-", ""))  # titles: FER2013, RAF-DB, AffectNet, ExpW
    head = f"  {'class':<10}" + "".join(f"{s:>10}" for s in splits)
    if paper:
        head += f"{'paper train':>13}{'paper test':>12}"
    lines += [f"Table II - {d['dataset']} images per class and split", head]
    for c in d["classes"]:
        row = f"  {c:<10}" + "".join(f"{d['splits'][s].get(c, 0):>10,}" for s in splits)
        if paper:
            row += f"{paper[c][0]:>13,}{paper[c][1]:>12,}"
        lines.append(row)
    row = f"  {'total':<10}" + "".join(f"{sum(d['splits'][s].values()):>10,}" for s in splits)
    if paper:
        row += f"{sum(v[0] for v in paper.values()):>13,}{sum(v[1] for v in paper.values()):>12,}"
    lines += [row, ""]
    n = len(d["skipped"])
    lines.append(f"skipped: {n} (missing images or malformed label rows)" if n else "skipped: 0")
    for s in d["skipped"][:show_skipped]:
        lines.append(f"  {s['path']}: {s['reason']}")
    if n > show_skipped:
        lines.append(f"  ... and {n - show_skipped} more (--json lists them all)")
    return "\n".join(lines)
