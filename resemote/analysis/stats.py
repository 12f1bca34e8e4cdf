"""Tables I and II of the paper, computed from a dataset's own files, and the summary a dataset page shows.

Three kinds of counts, never presented as each other:
- *label-file counts* (`dataset_stats`): what the label files list and whose image file exists, from one
  folder listing per folder, never decoding: seconds, even on AffectNet;
- *decoded counts* (`decoded_counts`, `resemote stats --decode`): the images training can actually use,
  through the decode cache (`resemote.data.cache`, reused when it exists); a truncated or unreadable image
  is in the first and not in the second;
- *counts from the label file alone* (`dataset_stats(..., labels_only=True)`, `resemote stats --labels-only`,
  `label_summary`): what the official label file lists, for a copy with no image at all (RAF-DB's label
  file is public, its images are not); said as `LABELS_ONLY` wherever they show, with the label file's
  sha256, and never beside decoded counts. Asked for, not automatic: the same command on the same copy
  always counts the same kind of thing.
Splits are the dataset's own partitions, before any validation carve-out: FER2013 train/val/test
(Training/PublicTest/PrivateTest), RAF-DB and AffectNet train/test, ExpW our seeded train/val/test.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from resemote import paper
from resemote.data import dataset_class
from resemote.data.base import LABELS_ONLY, MISSING_IMAGE, LabelsOnlyRefused, file_digest
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError

PAIRS_SHOWN = 40  # duplicate pairs kept (by file name) in a dataset summary; `resemote audit --json` has all


def _splits(cls, root, strict: bool, missing: list | None = None, labels_only: bool = False):
    """Each split the copy at `root` has. Some copies lack a split (the later Kaggle FER2013 release has
    labels for train only; CK+ without subject ids in its file names has only a test split): those are
    noted in `missing` and left out, unless the copy has no split at all."""
    first_error, found = None, False
    for split in cls.splits:
        try:
            ds = cls(root, split, strict=strict, labels_only=labels_only)
        except ResEmoteError as e:
            if strict or isinstance(e, LabelsOnlyRefused):  # a refused copy is not a copy lacking a split
                raise
            first_error = first_error or e
            if missing is not None:
                missing.append({"path": f"{split} split", "reason": str(e)})
            continue
        found = True
        yield split, ds
    if not found and first_error:
        raise first_error


def dataset_stats(name: str, root: str | os.PathLike, strict: bool = False, labels_only: bool = False) -> dict:
    """Table I and II figures of one dataset from its label files, as a JSON-ready dict. `labels_only`:
    from the label file alone, for a copy without images (module docstring); the dict then says so
    (`labels_only`, `counted_from`) and names each label file with its sha256."""
    cls = dataset_class(name)
    splits: dict[str, dict[str, int]] = {}
    skipped: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    release = cls.title
    dropped: dict[str, dict[str, int]] = {}
    ignored: dict[str, list[dict[str, str]]] = {}
    grouping = None
    label_files: dict[str, str] = {}
    for split, ds in _splits(cls, root, strict, skipped, labels_only):
        splits[split] = ds.class_counts()
        for f in ds.source_files() if labels_only else ():
            label_files[_relative(f, root)] = file_digest(f)
        release = ds.release
        if getattr(ds, "dropped", None):  # samples with no canonical class (AffectNet 7-10, CK+ contempt)
            dropped[split] = dict(ds.dropped)
        if getattr(ds, "ignored", None):  # files left out on purpose, not damage (JAFFE's JPEG copy)
            ignored[split] = list(ds.ignored)
        grouping = getattr(ds, "grouping", None) or grouping  # how a split grouped faces (ExpW: photos, copies)
        for s in ds.skipped:  # a malformed row of a shared label file shows up in every split's index
            if (s["path"], s["reason"]) not in seen:
                seen.add((s["path"], s["reason"]))
                skipped.append(s)
    return {
        "name": name, "dataset": cls.title, "release": release, "classes": list(CLASSES),
        "channels": cls.channels, "image_size": list(cls.image_size),
        "total": sum(sum(c.values()) for c in splits.values()), "splits": splits, "skipped": skipped,
        "dropped": dropped, **({"ignored": ignored} if ignored else {}), **({"grouping": grouping} if grouping else {}),
        **({"labels_only": True, "counted_from": LABELS_ONLY,
            "label_files": [{"path": p, "sha256": h} for p, h in sorted(label_files.items())]} if labels_only else {}),
    }


def _relative(path, root) -> str:
    """A label file as a record names it: relative to the dataset root (no local folder), else its name."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def label_summary(name: str, root: str | os.PathLike, label: str = "") -> dict:
    """What `resemote publish` records for a copy without images: its counts from the label file alone and
    the label file's sha256, with the commit that counted them. Nothing from the image side (no decoded
    counts, audit, data fingerprint or clean-test list): no image was read."""
    from resemote.env import git_commit
    stats = dataset_stats(name, root, labels_only=True)
    cls = dataset_class(name)
    return {"name": label or name, "dataset": name, "title": stats["dataset"], "release": stats["release"],
            "synthetic": cls(root, cls.splits[-1], labels_only=True).synthetic, "labels_only": True,
            "counted_from": LABELS_ONLY, "label_files": stats["label_files"], "stats": stats,
            "commit": git_commit(), "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def decoded_counts(name: str, root: str | os.PathLike, size: int = 64, progress: bool = False) -> dict:
    """Per split, the class counts of the images that decode (what training sees), and what did not."""
    counts, skipped, _ = _decoded(name, root, size, progress)
    return {"splits": counts, "skipped": skipped}


def _decoded(name, root, size: int = 64, progress: bool = False):
    """(class counts per split, skipped, {(split, ref): label}) of the decoded images."""
    from resemote.data.cache import decode
    counts, skipped, labels = {}, [], {}
    for split, ds in _splits(dataset_class(name), root, False):
        d = decode(ds, size, progress=progress)
        counts[split] = {c: int((d.labels == i).sum()) for i, c in enumerate(CLASSES)}
        skipped += [s for s in d.skipped if s not in skipped]
        labels.update({(split, r): int(y) for r, y in zip(d.refs, d.labels)})
    return counts, skipped, labels


def dataset_summary(name: str, root: str | os.PathLike, label: str = "", progress: bool = False) -> dict:
    """What a dataset page computes and the book reads: Tables I and II (label-file and decoded counts),
    the duplicate audit (counts, pairs whose labels disagree, a sample of pairs by file name), and the
    data fingerprint a run on this copy records, and the test files that have a copy in another split
    (`resemote.leakage.clean_summary`). Counts and file names only, never an image."""
    from resemote.data.splits import data_fingerprint
    from resemote.env import cpu_model, git_commit
    from resemote.leakage import cached_audit, clean_summary
    stats = dataset_stats(name, root)
    ds = dataset_class(name)(root, dataset_class(name).splits[-1])
    audit = cached_audit(name, root, progress=progress)  # decodes every split into the cache; a run may have audited
    counts, skipped, labels = _decoded(name, root)          # so this only reads the cache back
    kinds = {k: sum(p["kind"] == k for p in audit["pairs"]) for k in ("exact", "near", "mirror")}
    conflicts = [p for p in audit["pairs"]
                 if labels.get((p["a"]["split"], p["a"]["path"])) != labels.get((p["b"]["split"], p["b"]["path"]))]
    files = {(p[s]["split"], p[s]["path"]) for p in audit["pairs"] for s in ("a", "b")}
    return {
        "name": label or name, "dataset": name, "title": stats["dataset"], "release": stats["release"],
        "synthetic": ds.synthetic, "stats": stats, "decoded": {"splits": counts, "skipped": skipped},
        "audit": {"summary": audit["summary"], "images": audit["images"], "kinds": kinds,
                  "files_in_pairs": len(files), "label_conflicts": len(conflicts),
                  "pairs_shown": _sample(audit["pairs"]), "conflicts_shown": _sample(conflicts)},
        # the test files with a copy in another split: any run's predictions can be re-scored on the rest
        "clean_test": clean_summary(audit),
        "fingerprint": data_fingerprint(name, root),
        "commit": git_commit(), "device": f"cpu ({cpu_model()})",
        "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _sample(pairs: list[dict]) -> list[dict]:
    """Up to PAIRS_SHOWN pairs, leakage across splits first (what matters most), then within a split."""
    across = [p for p in pairs if p["a"]["split"] != p["b"]["split"]]
    within = [p for p in pairs if p["a"]["split"] == p["b"]["split"]]
    return (across + within)[:PAIRS_SHOWN]


def format_stats(d: dict, *, show_skipped: int = 10, decoded: dict | None = None) -> str:
    """Readable Table I (one row) and Table II (classes x splits, label-file counts, with the paper's
    figures beside them, and the decoded counts where given)."""
    h, w = d["image_size"]
    only = d.get("labels_only")
    if only and decoded:
        raise ResEmoteError("counts from the label file alone have no decoded counts beside them: expected "
                            "--labels-only or --decode, not both")
    lines = [f"Table I - {d['dataset']} ({d['release']})" + (f" - {LABELS_ONLY}" if only else ""),
             f"  {'classes':<12}{len(d['classes'])}",
             f"  {'channels':<12}{d['channels']}",
             f"  {'image size':<12}{h} x {w} (as the paper's Table I gives it)",
             f"  {'total':<12}{d['total']:,}", ""]
    splits = list(d["splits"])
    cols = [(s, d["splits"][s]) for s in splits] + [(f"{s} decoded", decoded["splits"][s]) for s in splits
                                                    if decoded]
    paper_counts = paper.TABLE_II.get(d["name"])
    head = f"  {'class':<10}" + "".join(f"{s:>{max(10, len(s) + 2)}}" for s, _ in cols)
    if paper_counts:
        head += f"{'paper train':>13}{'paper test':>12}"
    lines += [f"Table II - {d['dataset']} images per class and split ("
              + (f"{LABELS_ONLY})" if only else "label-file counts"
                 + (", then decoded counts)" if decoded else "; `--decode` adds the decoded ones)")), head]
    for i, c in enumerate(d["classes"]):
        row = f"  {c:<10}" + "".join(f"{v.get(c, 0):>{max(10, len(s) + 2)},}" for s, v in cols)
        if paper_counts:
            row += f"{paper_counts[i][0]:>13,}{paper_counts[i][1]:>12,}"
        lines.append(row)
    row = f"  {'total':<10}" + "".join(f"{sum(v.values()):>{max(10, len(s) + 2)},}" for s, v in cols)
    if paper_counts:
        row += f"{sum(t for t, _ in paper_counts):>13,}{sum(t for _, t in paper_counts):>12,}"
    lines += [row, ""]
    skipped = d["skipped"] + [s for s in (decoded["skipped"] if decoded else []) if s not in d["skipped"]]
    for split, counts in d.get("dropped", {}).items():
        lines.append(f"dropped from {split} (no canonical class): "
                     + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if d.get("grouping"):
        g = d["grouping"]
        lines.append(f"split grouping: {g['copy_links']:,} copy links between faces ({g['links_across_photo_split']:,} "
                     f"across a split made by photo alone); grouping by copies moved {g['faces_moved']:,} of "
                     f"{g['faces']:,} faces")
    for split, files in d.get("ignored", {}).items():
        lines.append(f"left out of {split} on purpose (not damage): "
                     + "; ".join(f"{f['path']}: {f['reason']}" for f in files))
    for f in d.get("label_files", []):
        lines.append(f"label file: {f['path']} (sha256 {f['sha256']})")
    n = len(skipped)
    what = "malformed label rows" if only else "missing or unreadable images, malformed label rows"
    lines.append(f"skipped: {n} ({what})" if n else "skipped: 0")
    for s in skipped[:show_skipped]:
        lines.append(f"  {s['path']}: {s['reason']}")
    if n > show_skipped:
        lines.append(f"  ... and {n - show_skipped} more (--json lists them all)")
    if not only and not d["total"] and any(s["reason"] == MISSING_IMAGE for s in skipped):
        lines.append("no image the label file lists is present: --labels-only counts the label file alone")
    return "\n".join(lines)
