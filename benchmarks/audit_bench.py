"""Benchmark: the duplicate audit on generated arrays, and the decode cache's build rate.

    .venv/bin/python benchmarks/audit_bench.py                  # audit at 10k and 100k, cache at 100 and 400 px
    .venv/bin/python benchmarks/audit_bench.py --audit 10000    # one audit size only
    .venv/bin/python benchmarks/audit_bench.py --cache 2000 --px 100
    .venv/bin/python benchmarks/audit_bench.py --affectnet 20000  # stats + cache + audit end to end

Audit: N distinct synthetic faces at 64 x 64 (resemote.data.synthetic, far more alike than real faces, so
a hard case for false pairs), with 0.5 % of N planted as copies of other images for each kind (exact,
JPEG q60, brightness/contrast, 64 -> 32 -> 64 resize, mirror). Prints images/s, peak memory, recall per
kind and the number of other (false) pairs. Each size runs in a fresh process so peak RSS is its own.
Cache: writes M JPEG files in RAF-DB's layout (px x px; at 400 px with a face box, like AffectNet's
photos) and times decode() into the 64 x 64 cache, cold, with 1 and 2 workers, then the warm reopen.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

KINDS = ("exact", "jpeg", "brightness", "resize", "mirror")


def _vm(field: str) -> int:
    """Resident memory figures of this process from /proc (kB -> bytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children: unlike wall time, it hardly
    depends on what else the machine is running."""
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def faces(n: int, seed: int = 0) -> np.ndarray:
    from resemote.data.synthetic import make_split
    small, _ = make_split(n, np.random.default_rng(seed))
    out = np.empty((n, 64, 64), np.uint8)
    for i, a in enumerate(small):
        out[i] = np.asarray(Image.fromarray(a).resize((64, 64), Image.BILINEAR))
    return out


def transform(kind: str, a: np.ndarray) -> np.ndarray:
    if kind == "exact":
        return a.copy()
    if kind == "jpeg":
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, "JPEG", quality=60)
        return np.asarray(Image.open(buf).convert("L"))
    if kind == "brightness":
        return np.clip(a.astype(np.float32) * 0.8 + 30, 0, 255).astype(np.uint8)
    if kind == "resize":
        return np.asarray(Image.fromarray(a).resize((32, 32), Image.BILINEAR).resize((64, 64), Image.BILINEAR))
    return np.ascontiguousarray(a[:, ::-1])


def audit_one(n: int) -> dict:
    from resemote.data.audit import audit_arrays
    t0 = time.perf_counter()
    imgs = faces(n)
    rng = np.random.default_rng(1)
    per = max(1, n // 200)
    slots = rng.permutation(n)[: 2 * per * len(KINDS)].reshape(len(KINDS), 2, per)
    truth = {}
    for k, kind in enumerate(KINDS):
        for s, t in zip(*slots[k]):
            imgs[t] = transform(kind, imgs[s])
            truth[(min(s, t), max(s, t))] = kind
    gen_s = time.perf_counter() - t0
    split = int(n * 0.9)
    rss0 = _vm("VmRSS")
    t0, c0 = time.perf_counter(), _cpu()
    r = audit_arrays({"train": imgs[:split], "test": imgs[split:]})
    secs, cpu = time.perf_counter() - t0, _cpu() - c0
    peak = _vm("VmHWM") - rss0
    found = set()
    for p in r["pairs"]:
        i = int(p["a"]["path"]) + (split if p["a"]["split"] == "test" else 0)
        j = int(p["b"]["path"]) + (split if p["b"]["split"] == "test" else 0)
        found.add((min(i, j), max(i, j)))
    recall = {kind: sum(1 for pr, k in truth.items() if k == kind and pr in found) / per for kind in KINDS}
    return {"n": n, "generate_s": round(gen_s, 1), "audit_s": round(secs, 2), "images_per_s": round(n / secs),
            "cpu_s": round(cpu, 2),
            "peak_extra_rss_mb": round(peak / 2**20), "planted_per_kind": per,
            "recall": {k: round(v, 3) for k, v in recall.items()}, "other_pairs": len(found - set(truth)),
            "pairs": len(r["pairs"])}


def cache_one(m: int, px: int, workers: int) -> dict:
    os.environ["RESEMOTE_CACHE"] = tempfile.mkdtemp(prefix="resemote-bench-cache-")
    from resemote.data.cache import decode
    from resemote.data.rafdb import RAFDB
    root = Path(tempfile.mkdtemp(prefix="resemote-bench-raf-"))
    aligned = root / "basic" / "Image" / "aligned"
    aligned.mkdir(parents=True)
    base = faces(min(m, 500), seed=3)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(m):
        face = Image.fromarray(base[i % len(base)]).resize((px, px), Image.BILINEAR).convert("RGB")
        noise = rng.integers(0, 12, (px, px, 3), dtype=np.uint8)  # distinct files, JPEG-sized content
        Image.fromarray(np.asarray(face) + noise).save(aligned / f"train_{i:05d}_aligned.jpg", quality=90)
        lines.append(f"train_{i:05d}.jpg {i % 7 + 1}")
    (root / "basic" / "EmoLabel").mkdir(parents=True)
    (root / "basic" / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    ds = RAFDB(root, "train")
    if px > 100:  # an AffectNet-like photo: crop a face box first
        from dataclasses import replace
        ds.samples = [replace(s, box=(px // 8, px // 8, px - px // 8, px - px // 8)) for s in ds.samples]
    t0, c0 = time.perf_counter(), _cpu()
    dec = decode(ds, 64, workers=workers, progress=False)
    cold, cpu = time.perf_counter() - t0, _cpu() - c0
    t0 = time.perf_counter()
    again = decode(ds, 64, workers=workers, progress=False)
    warm = time.perf_counter() - t0
    assert len(dec) == m and again.fingerprint == dec.fingerprint
    return {"images": m, "px": px, "workers": workers, "build_s": round(cold, 2),
            "images_per_s": round(m / cold), "cpu_s": round(cpu, 2), "reopen_s": round(warm, 3)}


def affectnet_one(n: int, workers: int | None) -> dict:
    """End to end on an AffectNet-layout copy of n synthetic photos (256 x 256, face box 160 x 160):
    stats (label file + existence checks), the cache build, then the audit from the warm cache."""
    import csv
    os.environ["RESEMOTE_CACHE"] = tempfile.mkdtemp(prefix="resemote-bench-cache-")
    from resemote.data.dataset_audit import audit_dataset
    from resemote.data.cache import decode
    from resemote.data.affectnet import AffectNet
    from resemote.analysis.stats import dataset_stats
    root = Path(tempfile.mkdtemp(prefix="resemote-bench-affectnet-"))
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    base = faces(n, seed=5)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for split, fname, part in (("train", "training.csv", base[: n * 9 // 10]), ("test", "validation.csv", base[n * 9 // 10:])):
        with open(lists / fname, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                        "facial_landmarks", "expression", "valence", "arousal"])
            for i, a in enumerate(part):
                sub = f"{i % 500}/{split}{i:06d}.jpg"
                path = root / "Manually_Annotated_Images" / sub
                path.parent.mkdir(parents=True, exist_ok=True)
                photo = np.full((256, 256, 3), rng.integers(40, 200), np.uint8)
                photo[48:208, 48:208] = np.asarray(Image.fromarray(a).resize((160, 160), Image.BILINEAR))[..., None]
                Image.fromarray(photo).save(path, quality=90)
                w.writerow([sub, 48, 48, 160, 160, "0;0", int(rng.integers(0, 7)), 0.0, 0.0])
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    st = dataset_stats("affectnet", root)
    stats_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for split in AffectNet.splits:
        decode(AffectNet(root, split), 64, workers=workers, progress=False)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = audit_dataset("affectnet", root, progress=False)
    audit_s = time.perf_counter() - t0
    return {"images": st["total"], "generate_s": round(gen, 1), "stats_s": round(stats_s, 2),
            "cache_build_s": round(build_s, 1), "cache_images_per_s": round(st["total"] / build_s),
            "audit_warm_s": round(audit_s, 1), "audit_images_per_s": round(st["total"] / audit_s),
            "pairs": len(r["pairs"])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--audit", type=int, nargs="*", default=None, help="audit sizes (default 10000 100000)")
    p.add_argument("--cache", type=int, default=None, help="cache images (default 4000 at 100 px, 1000 at 400 px)")
    p.add_argument("--px", type=int, default=100)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--affectnet", type=int, default=None, help="end to end on an AffectNet-layout copy of N photos")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one audit size in this process
    a = p.parse_args()
    if a.one:
        print(json.dumps(audit_one(a.one)))
        return
    if a.affectnet:
        r = affectnet_one(a.affectnet, a.workers)
        print(f"affectnet-layout {r['images']:,} photos: stats {r['stats_s']} s; cache build {r['cache_build_s']} s "
              f"= {r['cache_images_per_s']:,} img/s; audit from warm cache {r['audit_warm_s']} s = "
              f"{r['audit_images_per_s']:,} img/s; {r['pairs']} pairs (generating took {r['generate_s']} s)")
        return
    run_all = a.audit is None and a.cache is None
    for n in (a.audit if a.audit is not None else ([10000, 100000] if run_all else [])):
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"audit   n={r['n']:>7,}  {r['audit_s']:>7.2f} s  {r['images_per_s']:>7,} img/s  cpu {r['cpu_s']} s  "
              f"peak +{r['peak_extra_rss_mb']} MB RSS  recall {r['recall']}  other pairs {r['other_pairs']}  "
              f"(generating took {r['generate_s']} s)", flush=True)
    jobs = [(a.cache, a.px)] if a.cache else ([(4000, 100), (1000, 400)] if run_all else [])
    for m, px in jobs:
        for w in ([a.workers] if a.workers else [1, 2]):
            r = cache_one(m, px, w)
            print(f"cache   {r['images']:,} JPEGs {r['px']}x{r['px']} -> 64x64, {w} worker(s): build "
                  f"{r['build_s']} s = {r['images_per_s']:,} img/s (cpu {r['cpu_s']} s); reopen {r['reopen_s']} s",
                  flush=True)


if __name__ == "__main__":
    main()
