"""Contact sheets of duplicate pairs, to judge the audit by eye: is a "near" pair one photograph twice
(re-encoded, shifted, resized) or two photographs of one person?

`sample_pairs` draws a seeded sample of an audit's pairs (by kind, across or within splits);
`write_pair_sheet` draws them side by side, each with its index in the audit's pair list, both labels and
the absolute difference of the two images (a re-encoded copy leaves a flat difference, another expression
leaves the mouth and eyes). A sheet is made from data on disk only and is never committed: it is pixels.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from resemote.errors import ResEmoteError
from resemote.data.classes import CLASSES

WHERE = ("any", "across", "within")


def sample_pairs(pairs: Sequence[dict], n: int, seed: int = 0, kind: str = "near",
                 where: str = "any") -> list[int]:
    """Indices (into `pairs`, ascending) of a seeded random sample of up to `n` pairs of `kind`, taken
    from pairs across two splits, within one, or either (`where`)."""
    if where not in WHERE:
        raise ResEmoteError(f"unknown pair selection {where!r}: expected one of {', '.join(WHERE)}")
    if n < 1:
        raise ResEmoteError(f"expected at least one pair to sample, got n={n}")
    pool = [i for i, p in enumerate(pairs) if p["kind"] == kind and (
        where == "any" or (p["a"]["split"] != p["b"]["split"]) == (where == "across"))]
    if len(pool) <= n:
        return pool
    return sorted(int(i) for i in np.random.default_rng(seed).choice(pool, size=n, replace=False))


def write_pair_sheet(pairs: Sequence[dict], chosen: Sequence[int], images: Mapping[str, np.ndarray],
                     refs: Mapping[str, Sequence[str]], out: str | os.PathLike, *,
                     labels: Mapping[str, Sequence[int]] | None = None, scale: int = 2,
                     columns: int = 2) -> Path:
    """A PNG of the pairs `pairs[i]` for i in `chosen`: per pair its index, image a, image b and |a - b|
    (stretched x4 so that JPEG noise shows as faint grain and a changed expression as a shape)."""
    where = {s: {r: k for k, r in enumerate(refs[s])} for s in refs}

    def pixels(side: dict) -> tuple[np.ndarray, str]:
        split, path = side["split"], side["path"]
        if split not in where or path not in where[split]:
            raise ResEmoteError(f"expected {split}:{path} among the decoded images, as the audit named it")
        k = where[split][path]
        lab = CLASSES[int(labels[split][k])] if labels is not None else ""
        return np.asarray(images[split][k], np.uint8), lab

    if not chosen:
        raise ResEmoteError(f"expected at least one pair to draw into {out}")
    h, w = np.asarray(images[pairs[chosen[0]]["a"]["split"]][0]).shape[:2]
    ih, iw = h * scale, w * scale
    head, gap = 14, 6
    cell_w, cell_h = 3 * iw + 4 * gap, ih + head + gap
    rows = (len(chosen) + columns - 1) // columns
    sheet = Image.new("L", (columns * cell_w, rows * cell_h), 255)
    draw = ImageDraw.Draw(sheet)
    for n, i in enumerate(chosen):
        p = pairs[i]
        (a, la), (b, lb) = pixels(p["a"]), pixels(p["b"])
        if p["kind"] == "mirror":
            b = b[:, ::-1]  # compare like with like
        diff = np.clip(np.abs(a.astype(np.int16) - b.astype(np.int16)) * 4, 0, 255).astype(np.uint8)
        x0, y0 = (n % columns) * cell_w, (n // columns) * cell_h
        draw.text((x0 + gap, y0 + 1), f"#{i} {p['kind']} {la}/{lb}", fill=0)
        for k, im in enumerate((a, b, 255 - diff)):
            tile = Image.fromarray(im).resize((iw, ih), Image.NEAREST)
            sheet.paste(tile, (x0 + gap + k * (iw + gap), y0 + head))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def dataset_sheet(name: str, root: str | os.PathLike, out: str | os.PathLike, audit: dict, *, n: int = 30,
                  seed: int = 0, kind: str = "near", where: str = "any", size: int = 64) -> list[int]:
    """Decode `name` at `size` (through the cache) and write the sheet of a seeded sample of `audit`'s pairs;
    returns the sampled indices. The dataset must be on disk: its loader says what it expected where not."""
    from resemote.data.dataset_audit import decode_splits
    chosen = sample_pairs(audit["pairs"], n, seed, kind, where)
    if not chosen:
        raise ResEmoteError(f"{name}: the audit found no {kind} pairs ({where}) to draw into {out}")
    _, arrays, refs, _, _ = decode_splits(name, root, size=size, progress=False)
    labels = _labels(name, root, size, list(arrays))
    write_pair_sheet(audit["pairs"], chosen, arrays, refs, out, labels=labels, scale=max(1, 128 // size))
    return chosen


def _labels(name: str, root: str | os.PathLike, size: int, splits: list[str]) -> dict[str, np.ndarray]:
    """Each decoded split's labels (the cache has them: decode_splits just wrote it)."""
    from resemote.data import dataset_class
    from resemote.data.cache import decode
    cls = dataset_class(name)
    return {s: decode(cls(root, s), size, progress=False).labels for s in splits}


VERDICTS = ("same photograph", "another photograph")


def near_precision_record(name: str, root: str | os.PathLike, samples: Sequence[dict],
                          verdicts: Mapping[str, Mapping[int, str | tuple[str, str]]]) -> dict:
    """The record of how precise a dataset's near pairs are, as judged by eye on pair sheets: names, counts,
    measures and verdicts, no pixels. `samples`: [{"name", "n", "seed", "where"}], each drawn with
    `sample_pairs` from the general audit (the test every dataset had before posed ones got a stricter one),
    so the same pairs can be drawn again; `verdicts[sample name][pair index]`: a VERDICTS entry, or
    (entry, note). Each pair also says whether the dataset's own audit still flags it."""
    from resemote.data import dataset_class
    from resemote.data.audit import audit_arrays, fine_features, worst_block_residual
    from resemote.data.dataset_audit import decode_splits, is_posed
    title, arrays, refs, _, _ = decode_splits(name, root, progress=False)
    labels = _labels(name, root, 64, list(arrays))
    general = audit_arrays(arrays, refs)
    own = audit_arrays(arrays, refs, posed=is_posed(name))
    flagged = {(p["a"]["path"], p["b"]["path"]) for p in own["pairs"]}
    where = {s: {r: k for k, r in enumerate(refs[s])} for s in refs}
    out = []
    for spec in samples:
        chosen = sample_pairs(general["pairs"], spec["n"], spec["seed"], "near", spec["where"])
        given = verdicts.get(spec["name"], {})
        if sorted(given) != chosen:
            raise ResEmoteError(f"{name} sample {spec['name']!r}: expected a verdict for each of the pairs "
                                f"{chosen}, got {sorted(given)}")
        rows = []
        for i in chosen:
            p = general["pairs"][i]
            v, note = (given[i], "") if isinstance(given[i], str) else given[i]
            if v not in VERDICTS:
                raise ResEmoteError(f"{name} pair {i}: expected a verdict in {VERDICTS}, got {v!r}")
            ka, kb = (where[p[s]["split"]][p[s]["path"]] for s in ("a", "b"))
            xa, xb = arrays[p["a"]["split"]][ka][None], arrays[p["b"]["split"]][kb][None]
            rows.append({"index": i, "a": p["a"], "b": p["b"],
                         "labels": [CLASSES[int(labels[p["a"]["split"]][ka])], CLASSES[int(labels[p["b"]["split"]][kb])]],
                         "distance": p["distance"],
                         "fine_corr": round(float(np.einsum("ij,ij->i", fine_features(xa), fine_features(xb))[0]), 4),
                         "worst_block_residual": round(float(worst_block_residual(xa, xb)[0]), 4),
                         "verdict": v, "note": note, "flagged_now": (p["a"]["path"], p["b"]["path"]) in flagged})
        same = sum(r["verdict"] == VERDICTS[0] for r in rows)
        now = [r for r in rows if r["flagged_now"]]
        out.append({**spec, "pool": sum(p["kind"] == "near" and (spec["where"] == "any" or (
                        p["a"]["split"] != p["b"]["split"]) == (spec["where"] == "across")) for p in general["pairs"]),
                    "looked_at": len(rows), "same_photograph": same,
                    "flagged_now": len(now), "same_photograph_flagged_now": sum(r["verdict"] == VERDICTS[0] for r in now),
                    "pairs": rows})
    kinds = {k: {t: sum(p["kind"] == t for p in a["pairs"]) for t in ("exact", "near", "mirror")}
             for k, a in (("general", general), ("own", own))}
    return {"dataset": name, "title": title, "posed": is_posed(name),
            "release": dataset_class(name)(root, list(arrays)[-1]).release,
            "how": "pairs drawn with resemote.data.pair_sheet.sample_pairs(general audit pairs, n, seed, 'near', where); "
                   "sheets made with `resemote audit --sheet` and judged by eye (pair, both images, |a - b|)",
            "pairs_general_test": kinds["general"], "pairs_own_test": kinds["own"], "samples": out}
