"""Decode each image once into uint8 at the training resolution, and keep it on disk.

`decode(ds, size)` returns the split as an (N, size, size) uint8 array memory-mapped from a cache file,
its labels, and a content fingerprint of exactly those pixels and labels (the `data_fingerprint` every run
records). The cache file is keyed by the dataset's source fingerprint (label files' contents and the image
files' sizes and times), so a changed source is decoded again and an unchanged one never is. Decoding is
parallel over processes, each writing its rows straight into the memory map, so even AffectNet's ~290k
images never sit in memory at full size; large JPEGs are even decoded at reduced DCT scale
(`FaceDataset.read_small`). Writes go to a temporary file renamed into place at the end.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from resemote.errors import ResEmoteError
from resemote.io import write_text
from resemote.data.base import MISSING_IMAGE, FaceDataset

CACHE_VERSION = 2  # 2: large JPEGs decoded at reduced DCT scale (FaceDataset.read_small)
PARALLEL_FROM = 2000  # below this many images, forking workers costs more than it saves


@dataclass
class Decoded:
    """One split, decoded: what the training loop and the audit consume."""

    images: np.ndarray                 # (N, size, size) uint8, grayscale
    labels: np.ndarray                 # (N,) int64 canonical labels
    refs: list[str]                    # where each image came from (relative path or csv line)
    fingerprint: str                   # sha256 of pixels + labels, first 16 hex digits
    skipped: list[dict] = field(default_factory=list)
    groups: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self.labels)


def cache_dir() -> Path:
    return Path(os.environ.get("RESEMOTE_CACHE", Path.home() / ".cache" / "resemote"))


def to_gray(img: Image.Image, size: int) -> np.ndarray:
    """The one preprocessing step done at decode time: grayscale, then resize to size x size (bilinear)."""
    img = img.convert("L")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


_WORKER_DS: FaceDataset | None = None  # set before forking: workers inherit it instead of unpickling it


def _decode_range(args: tuple[str, int, int, int, int]) -> list[tuple[int, str]]:
    path, n, size, start, stop = args
    out = np.memmap(path, dtype=np.uint8, mode="r+", shape=(n, size, size))
    failed = []
    for i in range(start, stop):
        try:
            out[i] = np.asarray(_WORKER_DS.read_small(_WORKER_DS.samples[i], size), dtype=np.uint8)
        except Exception as e:  # a missing, truncated or non-image file: reported, not fatal
            failed.append((i, _reason(e)))
    out.flush()
    return failed


def _decode_counted(args: tuple[str, int, int, int, int]) -> tuple[int, list[tuple[int, str]]]:
    return args[4] - args[3], _decode_range(args)


def _reason(e: Exception) -> str:
    if isinstance(e, FileNotFoundError):
        return MISSING_IMAGE
    return f"unreadable image ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"


def decode(ds: FaceDataset, size: int = 64, *, workers: int | None = None, progress: bool = True) -> Decoded:
    """Decode `ds` at `size` x `size`, reusing the on-disk cache while the source is unchanged."""
    key = hashlib.sha256(f"v{CACHE_VERSION}|{ds.name}|{ds.split}|{size}|{ds.source_fingerprint()}"
                         .encode()).hexdigest()[:20]
    base = cache_dir() / f"{ds.name}-{ds.split}-{size}-{key}"
    meta_path, data_path = base.with_suffix(".json"), base.with_suffix(".u8")
    if meta_path.is_file() and data_path.is_file():
        dec = _open(meta_path, data_path, size)
        if ds.strict and dec.skipped:  # decoded before without strict: the damage it found still stops here
            raise ResEmoteError(f"{dec.skipped[0]['path']}: {dec.skipped[0]['reason']}")
        return dec
    base.parent.mkdir(parents=True, exist_ok=True)

    n = len(ds)
    tmp = data_path.with_suffix(f".tmp{os.getpid()}")
    _reserve(tmp, n * size * size)
    global _WORKER_DS
    _WORKER_DS = ds
    chunk = max(64, min(2048, n // 64 + 1))
    ranges = [(str(tmp), n, size, a, min(a + chunk, n)) for a in range(0, n, chunk)]
    workers = workers or min(os.cpu_count() or 1, 8)
    failed: list[tuple[int, str]] = []
    bar = tqdm(total=n, desc=f"decode {ds.name}/{ds.split}", unit="img", disable=not progress or n < 500)
    try:
        if workers > 1 and n >= PARALLEL_FROM:
            with get_context("fork").Pool(workers) as pool:
                # unordered: the bar moves as chunks finish; each chunk writes its own rows of the map
                for count, f in pool.imap_unordered(_decode_counted, ranges):
                    failed += f
                    bar.update(count)
        else:
            for r in ranges:
                failed += _decode_range(r)
                bar.update(r[4] - r[3])
    finally:
        bar.close()
        _WORKER_DS = None

    failed.sort()  # chunks finish in any order; report (and fail strict) in index order
    bad = {i for i, _ in failed}
    if bad and ds.strict:
        i, why = failed[0]
        tmp.unlink(missing_ok=True)
        raise ResEmoteError(f"{ds.samples[i].ref}: {why}")
    keep = np.array([i for i in range(n) if i not in bad], dtype=np.int64)
    if bad:  # compact: copy the good rows into a fresh file
        src = np.memmap(tmp, dtype=np.uint8, mode="r", shape=(n, size, size))
        tmp2 = data_path.with_suffix(f".tmp{os.getpid()}b")
        _reserve(tmp2, len(keep) * size * size)
        dst = np.memmap(tmp2, dtype=np.uint8, mode="w+", shape=(len(keep), size, size))
        for a in range(0, len(keep), 4096):
            dst[a:a + 4096] = src[keep[a:a + 4096]]
        dst.flush()
        del src, dst
        tmp.unlink()
        tmp = tmp2
    labels = ds.labels[keep]
    images = np.memmap(tmp, dtype=np.uint8, mode="r", shape=(len(keep), size, size)) if len(keep) else \
        np.zeros((0, size, size), np.uint8)
    meta = {
        "dataset": ds.name, "split": ds.split, "size": size, "n": int(len(keep)),
        "labels": labels.tolist(),
        "refs": [ds.samples[i].ref for i in keep],
        "groups": [ds.samples[i].group for i in keep],
        "skipped": ds.skipped + [{"path": ds.samples[i].ref, "reason": why} for i, why in failed],
        "fingerprint": content_fingerprint(images, labels),
    }
    del images
    os.replace(tmp, data_path)
    write_text(meta_path, json.dumps(meta))
    return _open(meta_path, data_path, size)


def _reserve(path: Path, nbytes: int) -> None:
    """Create `path` with `nbytes` allocated on disk. A memory map over a sparse file that the disk cannot
    fill kills the process with SIGBUS at the first write; allocating first turns a full disk into an error."""
    with open(path, "wb") as f:
        try:
            if nbytes:
                os.posix_fallocate(f.fileno(), 0, nbytes)
            return
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):  # a filesystem without fallocate: sparse, as before
                f.truncate(nbytes)
                return
            err = e
    path.unlink(missing_ok=True)
    raise ResEmoteError(f"{path.parent}: cannot reserve {nbytes / 2**20:,.1f} MiB for the decoded-image cache "
                        f"({err.strerror}); free some space or point RESEMOTE_CACHE elsewhere") from None


def content_fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in range(0, len(images), 8192):
        h.update(np.ascontiguousarray(images[a:a + 8192]).tobytes())
    h.update(np.asarray(labels, dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


def _open(meta_path: Path, data_path: Path, size: int) -> Decoded:
    meta = json.loads(meta_path.read_text())
    n = meta["n"]
    images = (np.memmap(data_path, dtype=np.uint8, mode="r", shape=(n, size, size)) if n
              else np.zeros((0, size, size), np.uint8))
    groups = meta.get("groups")
    return Decoded(images, np.array(meta["labels"], dtype=np.int64), meta["refs"], meta["fingerprint"],
                   meta["skipped"], groups if groups and any(g is not None for g in groups) else None)
