"""Exact and near duplicates within and across splits: the leakage a test score should not contain.

Method (no all-pairs comparison, so AffectNet's ~290k faces take minutes on two cores):
1. One pass over the decoded images, in chunks: a content digest per image (exact duplicates), and a
   16 x 16 box-averaged thumbnail normalised to mean 0 and std 1, so brightness and contrast shifts vanish
   and JPEG noise and down-and-up resizing barely register. Flat images (std < 1 grey level) get no
   thumbnail: they would all "match" each other; exact copies of them are still found by the digest.
2. A 64-bit hash per thumbnail: the signs of its projections on the top 64 principal components of the
   dataset's own thumbnails (mirrored ones included). Faces all look alike, so a fixed hash (pHash's DCT
   signs) puts most of them in a few buckets; principal components split them evenly.
3. Multi-index buckets: TABLES tables, each keyed by some of the top hash bits (seeded choice; about
   log2(n / PER_BUCKET) bits, so buckets stay small whatever the dataset's size). Two
   images sharing a key in any table, and within MAX_HAMMING bits overall, are a candidate pair. Mirror
   images: the hash of each horizontally flipped thumbnail goes into the same buckets, and an image that
   meets another's flipped hash is a mirror candidate.
4. Verification, because a coarse match is not proof: the thumbnails' correlation must reach NEAR_CORR,
   and a finer band-pass view (32 x 32 minus its 8 x 8 blur: eyes, mouth, hair edges rather than
   lighting) must correlate at least FINE_CORR.
5. Posed datasets only (a loader with `posed = True`: JAFFE, CK+), a stricter last step. There one person
   is photographed many times in one pose (JAFFE: three shots per expression; CK+: the last frames of a
   sequence), and such shots pass steps 1-4, which are tuned to find the re-cropped, watermarked web copies
   of FER2013. Measured on seeded samples of 30 near pairs looked at by eye (results/datasets/<name>/
   near-precision.json), none of JAFFE's or CK+'s were one photograph twice, while all 60 of FER2013's were.
   So a posed pair must also look like a re-encoding: the band-pass views correlate at least
   POSED_FINE_CORR and no RESIDUAL_BLOCK-pixel block of the two normalised images differs by more than
   POSED_MAX_RESIDUAL (RMS, in units of the image's std): another frame moves the mouth, the eyes or the
   head outline in some block. JPEG q40 and q60, brightness/contrast and resizing from 48 px still pass on
   JAFFE's and CK+'s own images; shifted or more coarsely resized copies do not.
Thresholds were chosen on synthetic faces (resemote.data.synthetic), which are far more alike than real
ones (benchmarks/README.md): copies by JPEG q60, brightness/contrast, 64 -> 32 -> 64 resizing and
mirroring are found in >= 99.8 % of cases at 100k images; harsher ones less often (contrast x1.3 with
clipping 93 %, 64 -> 24 -> 64 resizing 95 %); distinct cartoon faces pass at ~4 in 10^7 pairs.

`audit_arrays` works on arrays already in memory or memory-mapped (tests, benchmarks, ExpW's split);
`resemote.data.dataset_audit.audit_dataset` decodes a dataset's splits, named, through the cache first. This
module reads no dataset by name, so a loader may use it (module `dataset_audit` says why that matters).
"""
from __future__ import annotations

import hashlib
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

THUMB = 16          # thumbnail side for hashing and the first check
FINE, BLUR = 32, 8  # band-pass view for the second check
NEAR_CORR = 0.98
FINE_CORR = 0.85
HASH_BITS = 64
TABLES = 10
PER_BUCKET = 4      # key bits are chosen so that a table has about this many entries per bucket
KEY_FROM = 40       # keys use the top 40 components, whose signs survive small changes best
MAX_HAMMING = 16
BIG_BUCKET = 1024   # buckets larger than this are paired in blocks to bound memory
SEED = 0            # fixed: the audit is deterministic
POSED_FINE_CORR = 0.99     # step 5, posed data: measured on JAFFE and CK+ (module docstring)
POSED_MAX_RESIDUAL = 0.3
RESIDUAL_BLOCK = 8
CHUNK = 4096


# --- features ----------------------------------------------------------------------------------------

def _box_matrix(n: int, m: int) -> np.ndarray:
    """(m, n) matrix averaging n samples into m equal bins (fractional overlaps weighted): A @ x resizes."""
    edges = np.arange(m + 1) * n / m
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n)[None, :]
    a = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
    return (a / a.sum(1, keepdims=True)).astype(np.float32)


def _normalise(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows to mean 0, std 1; flat rows (std < 1 grey level) to zeros. Returns (rows, is_flat)."""
    t = t.reshape(len(t), -1)
    t = t - t.mean(1, keepdims=True)
    sd = t.std(1, keepdims=True)
    flat = sd[:, 0] < 1.0
    return np.where(flat[:, None], 0.0, t / np.maximum(sd, 1e-6)).astype(np.float32), flat


def thumbnails(images: np.ndarray, side: int = THUMB) -> tuple[np.ndarray, np.ndarray]:
    """(N, side*side) normalised thumbnails of (N, H, W) uint8 images, and which are flat."""
    a, b = _box_matrix(images.shape[1], side), _box_matrix(images.shape[2], side)
    return _normalise(a @ np.asarray(images, dtype=np.float32) @ b.T)


def fine_features(images: np.ndarray) -> np.ndarray:
    """(N, FINE*FINE) unit-norm band-pass views: the FINE x FINE thumbnail minus its BLUR x BLUR blur."""
    side = min(FINE, images.shape[1], images.shape[2])
    a, b = _box_matrix(images.shape[1], side), _box_matrix(images.shape[2], side)
    t = a @ np.asarray(images, dtype=np.float32) @ b.T
    c = _box_matrix(side, BLUR)
    up = c.T / c.T.sum(1, keepdims=True)  # back to side x side, each pixel its bin's mean
    t = (t - up @ (c @ t @ c.T) @ up.T).reshape(len(t), -1)
    t = t - t.mean(1, keepdims=True)
    return t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-6)


def worst_block_residual(a: np.ndarray, b: np.ndarray, block: int = RESIDUAL_BLOCK) -> np.ndarray:
    """(N,) the largest block RMS of the difference of (N, H, W) image pairs, each normalised to mean 0 and
    std 1: JPEG noise spreads thinly everywhere, a changed mouth or a moved outline concentrates in a block."""
    def norm(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32)
        x = x - x.mean((1, 2), keepdims=True)
        return x / np.maximum(x.std((1, 2), keepdims=True), 1e-6)
    nh, nw = a.shape[1] // block, a.shape[2] // block
    r = ((norm(a) - norm(b)) ** 2)[:, :nh * block, :nw * block]
    return np.sqrt(r.reshape(len(r), nh, block, nw, block).mean((2, 4)).max((1, 2)))


def _mirror(z: np.ndarray, side: int) -> np.ndarray:
    """Thumbnails of the mirrored images (box averaging commutes with a horizontal flip)."""
    return z.reshape(len(z), side, side)[:, :, ::-1].reshape(len(z), side * side)


# --- candidates --------------------------------------------------------------------------------------

def _fit_projection(z: np.ndarray, usable: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(usable)
    idx = rng.choice(idx, size=min(len(idx), 20000), replace=False) if len(idx) else idx
    sample = z[np.sort(idx)].astype(np.float32)
    sample = np.concatenate([sample, _mirror(sample, THUMB)])
    mean = sample.mean(0) if len(sample) else np.zeros(z.shape[1], np.float32)
    if len(sample) < 2:
        return mean, np.eye(z.shape[1], HASH_BITS, dtype=np.float32)
    sample -= mean
    _, vecs = np.linalg.eigh(sample.T @ sample / (len(sample) - 1))  # float32 covariance: fast
    return mean, vecs[:, ::-1][:, :HASH_BITS].astype(np.float32).copy()


def _project(z: np.ndarray, mean: np.ndarray, vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hash bits (signs of the projections) and the projections themselves (float16): |projection| says
    how close a bit is to flipping, and distances between projections bound thumbnail distances."""
    bits = np.empty((len(z), HASH_BITS), dtype=bool)
    proj = np.empty((len(z), HASH_BITS), dtype=np.float16)
    for a in range(0, len(z), 65536):
        pr = (z[a:a + 65536].astype(np.float32) - mean) @ vecs
        bits[a:a + 65536], proj[a:a + 65536] = pr > 0, pr
    return bits, proj


def _pack(bits: np.ndarray) -> np.ndarray:
    return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)


def _bucket_pairs(order: np.ndarray, keys: np.ndarray, block: int = 1 << 20):
    """Yield blocks (p, q) of all pairs of entries sharing a key (entry indices, p before q in `order`),
    about `block` pairs at a time so that memory stays bounded even for a huge bucket."""
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sizes = np.diff(np.r_[starts, len(k)])
    for b in np.unique(sizes[sizes > 1]):
        s = starts[sizes == b]
        if b <= BIG_BUCKET:  # many buckets of one size: vectorised
            p, q = np.triu_indices(b, 1)
            step = max(1, block // len(p))
            for c in range(0, len(s), step):
                sc = s[c:c + step, None]
                yield order[(sc + p).ravel()], order[(sc + q).ravel()]
        else:  # a huge bucket: row blocks
            rows = max(1, block // b)
            for s0 in s:
                for r0 in range(0, b - 1, rows):
                    r = np.arange(r0, min(r0 + rows, b - 1))
                    counts = b - r - 1
                    p = np.repeat(r, counts)
                    q = np.arange(len(p)) - np.repeat(np.cumsum(counts) - counts, counts) + p + 1
                    yield order[s0 + p], order[s0 + q]


def candidates(bits: np.ndarray, mbits: np.ndarray, usable: np.ndarray, proj: np.ndarray,
               mproj: np.ndarray, progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (i, j, mirrored) from multi-index buckets, i < j, deduplicated.

    Each image enters every table four times: its key, its key with the weakest bit flipped (a probe:
    near copies mostly differ in bits whose projection was close to zero), and the same two for its
    mirror image."""
    n = len(bits)
    code, mcode = _pack(bits), _pack(mbits)
    ids = np.flatnonzero(usable)
    rng = np.random.default_rng(SEED)
    key_bits = int(np.clip(round(np.log2(max(len(ids), 1) / PER_BUCKET)), 4, 20))
    weights = (1 << np.arange(key_bits)).astype(np.int64)
    who = np.tile(ids, 4)
    flip = np.repeat(np.array([False, False, True, True]), len(ids))
    found = []
    for _ in tqdm(range(TABLES), desc="audit buckets", unit="table", disable=not progress):
        pos = np.sort(rng.choice(KEY_FROM, size=key_bits, replace=False))
        keys = []
        for b, pr in ((bits, proj), (mbits, mproj)):
            k = b[ids][:, pos] @ weights
            keys += [k, k ^ weights[np.argmin(np.abs(pr[ids][:, pos]), axis=1)]]
        keys = np.concatenate(keys)
        order = np.argsort(keys, kind="stable")
        for p, q in _bucket_pairs(order, keys):
            fp, fq = flip[p], flip[q]
            keep = ~(fp & fq) & (who[p] != who[q])  # mirrored-mirrored repeats plain-plain; no self-mirrors
            p, q, fp, fq = p[keep], q[keep], fp[keep], fq[keep]
            i, j = who[p], who[q]
            # Hamming distance over the whole hash: of i with j, or of i with j's mirror
            a = np.where(fp, mcode[i], code[i])
            b = np.where(fq, mcode[j], code[j])
            close = np.bitwise_count(a ^ b) <= MAX_HAMMING
            i, j, mirrored = i[close], j[close], (fp | fq)[close]
            lo, hi = np.minimum(i, j), np.maximum(i, j)
            found.append(np.unique((lo * n + hi) * 2 + mirrored))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    u = np.unique(np.concatenate(found))
    pair, mirrored = u // 2, (u % 2).astype(bool)
    return pair // n, pair % n, mirrored


# --- the audit ---------------------------------------------------------------------------------------

def _digest(img: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(img).tobytes(), digest_size=12).digest()


class _Images:
    """Several splits' arrays seen as one, by global index, without concatenating them."""

    def __init__(self, arrays: Sequence[np.ndarray]):
        self.arrays = list(arrays)
        self.offsets = np.cumsum([0] + [len(a) for a in self.arrays])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def chunks(self, size: int):
        for k, a in enumerate(self.arrays):
            for s in range(0, len(a), size):
                yield int(self.offsets[k] + s), np.asarray(a[s:s + size])

    def take(self, idx: np.ndarray) -> np.ndarray:
        out = np.empty((len(idx),) + self.arrays[0].shape[1:], np.uint8)
        part = np.searchsorted(self.offsets, idx, side="right") - 1
        for k, a in enumerate(self.arrays):
            m = part == k
            if m.any():
                local = idx[m] - self.offsets[k]
                o = np.argsort(local)  # sorted reads are kinder to a memory map
                rows = np.empty((m.sum(),) + a.shape[1:], np.uint8)
                rows[o] = a[local[o]]
                out[m] = rows
        return out


def _scan(imgs: _Images, progress: bool) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    """One chunked pass: normalised thumbnails (float16 halves memory: 148 MB for 290k images), which
    images are flat, and content digests."""
    z = np.zeros((len(imgs), THUMB * THUMB), np.float16)
    flat = np.zeros(len(imgs), bool)
    digests: list[bytes] = []
    with tqdm(total=len(imgs), desc="audit features", unit="img", disable=not progress) as bar:
        for start, x in imgs.chunks(CHUNK):
            t, f = thumbnails(x)
            z[start:start + len(x)], flat[start:start + len(x)] = t, f
            digests += [_digest(im) for im in x]
            bar.update(len(x))
    return z, flat, digests


def _exact_pairs(digests: list[bytes]) -> tuple[list[tuple[int, int, str, float]], np.ndarray]:
    """Pairs of byte-identical images, and each image's representative (the first of its group)."""
    first: dict[bytes, int] = {}
    rep = np.fromiter((first.setdefault(d, i) for i, d in enumerate(digests)), np.int64, len(digests))
    members: dict[int, list[int]] = {}
    for i in np.flatnonzero(rep != np.arange(len(rep))):
        members.setdefault(int(rep[i]), [int(rep[i])]).append(int(i))
    pairs = []
    for group in members.values():
        if len(group) <= 50:
            pairs += [(a, b, "exact", 0.0) for a, b in combinations(group, 2)]
        else:  # a very common image (blank frames): a star, not ~n^2/2 pairs
            pairs += [(group[0], b, "exact", 0.0) for b in group[1:]]
    return pairs, rep


def _verify(imgs: _Images, z: np.ndarray, proj: np.ndarray, mproj: np.ndarray, ci: np.ndarray,
            cj: np.ndarray, cm: np.ndarray, posed: bool = False) -> list[tuple[int, int, str, float]]:
    """Candidates that really are near copies (plain or mirrored), in three steps of rising cost."""
    # 1. lossless: projecting on orthonormal vectors never lengthens a vector, so
    # |P(z_i - z_j)|^2 <= |z_i - z_j|^2 = 2 * THUMB^2 * (1 - corr): pairs too far apart in the 64
    # projections cannot reach NEAR_CORR (slack for float16 rounding)
    limit = 2 * THUMB * THUMB * (1 - NEAR_CORR) * 1.05 + 0.05
    keep = np.zeros(len(ci), bool)
    for a in range(0, len(ci), 1 << 18):
        i, j, m = ci[a:a + (1 << 18)], cj[a:a + (1 << 18)], cm[a:a + (1 << 18)]
        pj = np.where(m[:, None], mproj[j], proj[j]).astype(np.float32)
        keep[a:a + (1 << 18)] = ((proj[i].astype(np.float32) - pj) ** 2).sum(1) <= limit
    ci, cj, cm = ci[keep], cj[keep], cm[keep]
    # 2. the thumbnails' correlation
    corr = np.empty(len(ci), np.float32)
    for a in range(0, len(ci), 65536):
        i, j, m = ci[a:a + 65536], cj[a:a + 65536], cm[a:a + 65536]
        zj = z[j].astype(np.float32)
        zj[m] = _mirror(zj[m], THUMB)
        corr[a:a + 65536] = np.einsum("ij,ij->i", z[i].astype(np.float32), zj) / z.shape[1]
    ok = corr >= NEAR_CORR
    ci, cj, cm, corr = ci[ok], cj[ok], cm[ok], corr[ok]
    # 3. the finer band-pass view, from the images, in chunks: memory stays flat however many survive
    # (posed data: the module docstring's step 5 instead, a re-encoding's fine correlation and no changed block)
    ok = np.zeros(len(ci), bool)
    for a in range(0, len(ci), 2048):
        i, j, m = ci[a:a + 2048], cj[a:a + 2048], cm[a:a + 2048]
        xi, xj = imgs.take(i), imgs.take(j)
        xj[m] = xj[m][:, :, ::-1]
        fine = np.einsum("ij,ij->i", fine_features(xi), fine_features(xj))
        if posed:
            ok[a:a + 2048] = (fine >= POSED_FINE_CORR) & (worst_block_residual(xi, xj) <= POSED_MAX_RESIDUAL)
        else:
            ok[a:a + 2048] = fine >= FINE_CORR
    ci, cj, cm, corr = ci[ok], cj[ok], cm[ok], corr[ok]
    plain = {(int(i), int(j)) for i, j, m in zip(ci, cj, cm) if not m}
    return [(int(i), int(j), "mirror" if m else "near", round(max(0.0, 1.0 - float(c)), 4))
            for i, j, m, c in zip(ci, cj, cm, corr)
            if not (m and (int(i), int(j)) in plain)]  # a symmetric face matches both ways: once, as near


def audit_arrays(splits: Mapping[str, np.ndarray], refs: Mapping[str, Sequence[str]] | None = None, *,
                 progress: bool = False, posed: bool = False) -> dict:
    """Duplicate pairs among already-decoded images: {split: (N, H, W) uint8} (arrays or memory maps).

    Returns {"pairs": [{"a": {"split", "path"}, "b": {...}, "kind", "distance"}], "summary": {...},
    "images": {split: n}}; "path" is refs[split][i] when given, else the index as a string; "a" is in
    the earlier split. `distance` is 0 for exact copies, else 1 - the thumbnails' correlation (plain or
    mirrored). Near and mirror pairs are reported for the first member of each group of exact copies.
    `posed`: one person shot many times in one pose (JAFFE, CK+): near and mirror pairs must also pass
    step 5 (module docstring); exact pairs are found alike.
    """
    names = list(splits)
    imgs = _Images([splits[s] for s in names])
    n = len(imgs)
    if n and (imgs.arrays[0].ndim != 3 or any(a.shape[1:] != imgs.arrays[0].shape[1:] for a in imgs.arrays)):
        raise ValueError("expected (N, H, W) uint8 arrays of one image size")
    z, flat, digests = _scan(imgs, progress)
    pairs, rep = _exact_pairs(digests)
    usable = (rep == np.arange(n)) & ~flat  # distinct, non-flat images go on to the near search
    mean, vecs = _fit_projection(z, usable, np.random.default_rng(SEED))
    bits, proj = _project(z, mean, vecs)
    mbits, mproj = np.empty_like(bits), np.empty_like(proj)
    for a in range(0, n, 65536):
        mbits[a:a + 65536], mproj[a:a + 65536] = _project(_mirror(z[a:a + 65536], THUMB), mean, vecs)
    ci, cj, cm = candidates(bits, mbits, usable, proj, mproj, progress)
    pairs += _verify(imgs, z, proj, mproj, ci, cj, cm, posed)

    split_of = np.repeat(np.arange(len(names)), np.diff(imgs.offsets))

    def where(i: int) -> dict:
        k = int(split_of[i])
        local = i - int(imgs.offsets[k])
        return {"split": names[k], "path": refs[names[k]][local] if refs else str(local)}

    summary = {f"{a}-{b}": 0 for a, b in combinations(names, 2)}
    summary.update({f"within-{s}": 0 for s in names})
    out = []
    for i, j, kind, dist in sorted(pairs, key=lambda p: (min(split_of[p[0]], split_of[p[1]]), p[0], p[1])):
        if (split_of[j], j) < (split_of[i], i):
            i, j = j, i  # earlier split (then earlier index) first
        si, sj = names[split_of[i]], names[split_of[j]]
        summary[f"within-{si}" if si == sj else f"{si}-{sj}"] += 1
        out.append({"a": where(i), "b": where(j), "kind": kind, "distance": dist})
    return {"pairs": out, "summary": summary, "images": {s: len(splits[s]) for s in names}}


def format_audit(d: dict, *, show: int = 20) -> str:
    """A readable summary: pair counts per split combination and kind, then the first pairs."""
    pairs = d["pairs"]
    kinds = {k: sum(p["kind"] == k for p in pairs) for k in ("exact", "near", "mirror")}
    images = d.get("images", {})
    lines = [f"Duplicate audit - {d.get('dataset', '')}: "
             + ", ".join(f"{s} {n:,}" for s, n in images.items()) + " images",
             f"  pairs: {len(pairs):,} ({', '.join(f'{k} {n:,}' for k, n in kinds.items())})"]
    for key, n in d["summary"].items():
        flag = "   <- leakage into evaluation" if n and not key.startswith("within-") else ""
        lines.append(f"  {key:<16}{n:>8,}{flag}")
    for p in pairs[:show]:
        lines.append(f"  {p['kind']:<7}{p['distance']:<8}{p['a']['split']}:{p['a']['path']}  "
                     f"{p['b']['split']}:{p['b']['path']}")
    if len(pairs) > show:
        lines.append(f"  ... and {len(pairs) - show:,} more (--json lists them all)")
    skipped = d.get("skipped", [])
    lines.append(f"skipped: {len(skipped)} (missing or unreadable images, malformed label rows)")
    for s in skipped[:10]:
        lines.append(f"  {s['path']}: {s['reason']}")
    if len(skipped) > 10:
        lines.append(f"  ... and {len(skipped) - 10} more (--json lists them all)")
    return "\n".join(lines)
