"""FER+ and FER2013 are the same faces: join them by pixels, and measure how often their labels agree.

FER+ (`resemote.data.ferplus`) relabelled FER2013's faces with ten votes each; its PNGs are the original
`fer2013.csv` pixels. The Kaggle image-folder release of FER2013 holds JPEG re-encodings of the same pixels
under names (`Training_N.jpg`) that are not row numbers, so the two can only be joined by content.

`join_ferplus_fer2013` pairs each FER+ PNG with the FER2013 files within TOLERANCE grey levels RMS of it:
1. every image of both, at its native 48 x 48 (FER2013 through the decode cache, so pixels are unchanged);
2. a 4 x 4 grid of 12 x 12 block means per image. Two images' block-mean vectors are never further apart
   than 4 times their RMS pixel difference (a block's mean difference, squared, is at most the mean of its
   squared differences), so a radius search of 4 * TOLERANCE around each FER+ image (scipy's cKDTree)
   finds every FER2013 file within TOLERANCE of it: no true match is lost;
3. the exact RMS difference of each candidate. One file within TOLERANCE: *matched*. Several: *ambiguous*
   - FER2013 holds pixel-identical duplicates, and a face that has them matches each copy; all candidates
   are kept and none is chosen. None: *unmatched* (with the nearest RMS found, for the record). A FER+ image
   that cannot be read is reported (*unreadable*, with the reason) and joined to nothing.
JPEG re-encoding leaves at most about 2 grey levels RMS; TOLERANCE is twice that, and the join reports the
largest RMS it accepted. The result is cached by both copies' fingerprints (never committed: it names
files of both datasets); `label_agreement` reduces it to counts, which may be recorded.

`score_predictions` / `score_checkpoint` score a FER2013 model's predictions on PrivateTest against both
label sets, on the same faces.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from resemote.errors import ResEmoteError
from resemote.io import write_text
from resemote.data.classes import CLASSES

JOIN_VERSION = 1
TOLERANCE = 4.0     # grey levels RMS: twice the most JPEG re-encoding leaves
GRID = 4            # block means per side (12 x 12 blocks of a 48 x 48 image)
SIZE = 48
SPLITS = ("train", "val", "test")
# what a FER+ face's majority vote says, in table order: the seven classes, then why there is no label
OUTCOMES = CLASSES + ("Contempt", "no majority", "unknown", "not a face")


def block_means(images: np.ndarray, grid: int = GRID) -> np.ndarray:
    """(N, grid*grid) float32 block means of (N, S, S) uint8 images (S divisible by grid)."""
    n, s, _ = images.shape
    b = s // grid
    return np.asarray(images, np.float32).reshape(n, grid, b, grid, b).mean(axis=(2, 4)).reshape(n, grid * grid)


def match_images(a: np.ndarray, b: np.ndarray, tolerance: float = TOLERANCE,
                 progress: bool = False) -> list[tuple[list[int], list[float], float | None]]:
    """For each image of `a`: (indices of `b` within `tolerance` RMS, sorted by RMS; their RMS; and the nearest
    RMS found when none is within tolerance, else None). Lossless: see the module docstring."""
    from scipy.spatial import cKDTree
    if a.shape[1:] != b.shape[1:]:
        raise ValueError("expected images of one size")
    grid = GRID if a.shape[1] % GRID == 0 and a.shape[2] % GRID == 0 else 1
    scale = np.sqrt(a.shape[1] * a.shape[2] / grid ** 2)  # block-mean distance <= scale * RMS
    fa, fb = block_means(a, grid), block_means(b, grid)
    tree = cKDTree(fb)
    bf = b.reshape(len(b), -1).astype(np.float32)
    out = []
    for i in tqdm(range(len(a)), desc="join", unit="img", disable=not progress, mininterval=2):
        cand = tree.query_ball_point(fa[i], tolerance * scale * (1 + 1e-6) + 1e-3)
        ai = a[i].reshape(-1).astype(np.float32)
        if cand:
            cand = np.asarray(cand)
            rms = np.sqrt(((bf[cand] - ai) ** 2).mean(1))
            ok = rms <= tolerance
            order = np.argsort(rms[ok], kind="stable")
            idx, r = cand[ok][order], rms[ok][order]
            if len(idx):
                out.append(([int(j) for j in idx], [round(float(x), 3) for x in r], None))
                continue
        _, j = tree.query(fa[i], k=1)
        out.append(([], [], round(float(np.sqrt(((bf[int(j)] - ai) ** 2).mean())), 3)))
    return out


def _ferplus_faces(root: str | os.PathLike):
    """Every FER+ face on disk with its split, ref and ten votes (dropped faces included), and the identity
    of the copy (label files and image files)."""
    from resemote.data.ferplus import FERPlus
    faces, fps = [], []
    for split in SPLITS:
        ds = FERPlus(root, split)
        faces += [(split, ref, votes) for ref, votes in ds.votes.items()]
        fps.append(ds.source_fingerprint())
    return faces, Path(root), fps


def _read_gray(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        a = np.asarray(im.convert("L"), dtype=np.uint8)
    if a.shape != (SIZE, SIZE):
        raise ResEmoteError(f"{path}: expected a {SIZE} x {SIZE} image, found {a.shape[1]} x {a.shape[0]}")
    return a


def join_ferplus_fer2013(ferplus_root: str | os.PathLike, fer2013_root: str | os.PathLike, *,
                         tolerance: float = TOLERANCE, progress: bool = True) -> dict:
    """The pixel join (see the module docstring), cached by both copies' fingerprints. Returns
    {"faces": [{"split", "ref", "votes", "candidates": [{"split", "ref", "label", "rms"}], "nearest_rms"}],
    "fer2013": {...}, "ferplus": {...}, "tolerance", "version"}."""
    from resemote.data.cache import cache_dir, decode
    from resemote.data.fer2013 import FER2013
    faces, froot, ffps = _ferplus_faces(ferplus_root)
    kaggle = [FER2013(fer2013_root, s) for s in SPLITS]
    key = hashlib.sha256(json.dumps([JOIN_VERSION, tolerance, ffps, [d.source_fingerprint() for d in kaggle]])
                         .encode()).hexdigest()[:20]
    path = cache_dir() / f"join-ferplus-fer2013-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    decoded = [decode(d, SIZE, progress=progress) for d in kaggle]
    b = np.concatenate([np.asarray(d.images) for d in decoded]) if decoded else np.zeros((0, SIZE, SIZE), np.uint8)
    b_split = [s for s, d in zip(SPLITS, decoded) for _ in range(len(d))]
    b_ref = [r for d in decoded for r in d.refs]
    b_label = np.concatenate([d.labels for d in decoded])
    a = np.zeros((len(faces), SIZE, SIZE), np.uint8)
    errors: dict[int, str] = {}  # a damaged FER+ image is reported, not joined
    for i, (_, ref, _) in enumerate(tqdm(faces, desc="read FER+", unit="img", disable=not progress, mininterval=2)):
        try:
            a[i] = _read_gray(froot / ref)
        except (OSError, ValueError, ResEmoteError) as e:
            errors[i] = f"unreadable image ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"
    ok = np.array([i for i in range(len(faces)) if i not in errors], dtype=np.int64)
    found = dict(zip(ok.tolist(), match_images(a[ok], b, tolerance, progress)))
    out = {
        "version": JOIN_VERSION, "tolerance": tolerance,
        "ferplus": {"fingerprints": ffps, "faces": len(faces)},
        "fer2013": {"release": kaggle[0].release, "fingerprints": [d.fingerprint for d in decoded],
                    "files": len(b_ref), "skipped": sum(len(d.skipped) for d in decoded)},
        "faces": [{"split": s, "ref": ref, "votes": list(votes),
                   "candidates": [{"split": b_split[j], "ref": b_ref[j], "label": int(b_label[j]), "rms": r}
                                  for j, r in zip(*found[i][:2])] if i in found else [],
                   "nearest_rms": found[i][2] if i in found else None, **({"error": errors[i]} if i in errors else {})}
                  for i, (s, ref, votes) in enumerate(faces)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(out))
    return out


def ferplus_outcome(votes) -> str:
    """The FER+ majority vote of one face as a name of OUTCOMES."""
    from resemote.data.ferplus import DROP_REASON, VOTE_TO_CANONICAL, majority_vote
    top = majority_vote(list(votes))
    return CLASSES[VOTE_TO_CANONICAL[top]] if top in VOTE_TO_CANONICAL else DROP_REASON[top]


def _empty() -> dict:
    return {"faces": 0, "matched": 0, "ambiguous": 0, "ambiguous_one_label": 0, "ambiguous_comparable": 0,
            "ambiguous_agree": 0, "unmatched": 0, "unreadable": 0,
            "split_mismatch": 0, "comparable": 0, "agree": 0, "ferplus": {o: 0 for o in OUTCOMES},
            "by_class": {c: {"comparable": 0, "agree": 0, "ferplus": {o: 0 for o in OUTCOMES}} for c in CLASSES}}


def label_agreement(join: dict) -> dict:
    """Counts only: per split (and over all), how many FER+ faces matched one FER2013 file, several
    (ambiguous: left out) or none; and, over the matched ones, how often FER2013's label equals the FER+
    majority (`agree` of `comparable`: faces whose majority is one of the seven classes), overall and per
    FER2013 class, with what FER+ says instead (`ferplus`: majority outcome counts). Ambiguous faces whose
    candidate files all carry one FER2013 label are counted apart (`ambiguous_comparable`,
    `ambiguous_agree`): their label is known though their file is not."""
    splits = {s: _empty() for s in SPLITS}
    used: dict[str, int] = {}
    rms = []
    for f in join["faces"]:
        t = splits[f["split"]]
        t["faces"] += 1
        cands = f["candidates"]
        if f.get("error"):
            t["unreadable"] += 1
            continue
        if not cands:
            t["unmatched"] += 1
            continue
        if len(cands) > 1:
            t["ambiguous"] += 1
            labels = {c["label"] for c in cands}
            if len(labels) == 1:  # which file is unknown, but every candidate carries one FER2013 label
                t["ambiguous_one_label"] += 1
                outcome = ferplus_outcome(f["votes"])
                if outcome in CLASSES:
                    t["ambiguous_comparable"] += 1
                    t["ambiguous_agree"] += outcome == CLASSES[labels.pop()]
            continue
        c = cands[0]
        t["matched"] += 1
        t["split_mismatch"] += c["split"] != f["split"]
        used[c["ref"]] = used.get(c["ref"], 0) + 1
        rms.append(c["rms"])
        outcome = ferplus_outcome(f["votes"])
        fer = CLASSES[c["label"]]
        t["ferplus"][outcome] += 1
        row = t["by_class"][fer]
        row["ferplus"][outcome] += 1
        if outcome in CLASSES:
            t["comparable"] += 1
            row["comparable"] += 1
            agree = outcome == fer
            t["agree"] += agree
            row["agree"] += agree
    total = _empty()
    for t in splits.values():
        _add(total, t)
    return {"tolerance": join["tolerance"], "fer2013_release": join["fer2013"]["release"],
            "fer2013_files": join["fer2013"]["files"], "ferplus_faces": join["ferplus"]["faces"],
            "splits": splits, "all": total,
            "rms": {"max": max(rms) if rms else None, "median": float(np.median(rms)) if rms else None,
                    "p99": float(np.quantile(rms, 0.99)) if rms else None},
            "collisions": sum(n > 1 for n in used.values()),
            "fer2013_unjoined": join["fer2013"]["files"] - len(used)}


def _add(total: dict, t: dict) -> None:
    for k, v in t.items():
        if isinstance(v, int):
            total[k] += v
    for o in OUTCOMES:
        total["ferplus"][o] += t["ferplus"][o]
    for c in CLASSES:
        for k in ("comparable", "agree"):
            total["by_class"][c][k] += t["by_class"][c][k]
        for o in OUTCOMES:
            total["by_class"][c]["ferplus"][o] += t["by_class"][c]["ferplus"][o]


def agreement_record(ferplus_root, fer2013_root, progress: bool = True) -> dict:
    """`label_agreement` of the two copies with its provenance (commit, date, both copies' identity): what
    `resemote ferplus-agreement --record` commits. Counts only."""
    from resemote.data.splits import data_fingerprint
    from resemote.env import git_commit
    from resemote.data.ferplus import FERPlus
    join = join_ferplus_fer2013(ferplus_root, fer2013_root, progress=progress)
    a = label_agreement(join)
    # the data fingerprints that runs and dataset pages record for these copies (decode cache: cheap when made)
    return {**a, "ferplus_release": FERPlus(ferplus_root, "test").release,
            "ferplus_fingerprint": data_fingerprint("ferplus", ferplus_root),
            "fer2013_fingerprint": data_fingerprint("fer2013", fer2013_root),
            "commit": git_commit(), "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


# --- a FER2013 run against both label sets ------------------------------------------------------------------
def score_predictions(pred: dict[str, int], join: dict, fer2013_labels: dict[str, int]) -> dict:
    """Accuracy of predictions (FER2013 PrivateTest ref -> canonical class) against FER2013's labels (every
    predicted face) and, on the faces the join matched to exactly one FER+ face whose majority is one of the
    seven classes, against both FER2013's and FER+'s labels (the same faces, so the two compare)."""
    from resemote.evaluation import bootstrap_ci
    ferplus = {}
    for f in join["faces"]:
        if len(f["candidates"]) == 1 and f["candidates"][0]["ref"] in pred:
            ferplus[f["candidates"][0]["ref"]] = ferplus_outcome(f["votes"])
    refs = sorted(pred)
    y_pred = np.array([pred[r] for r in refs])
    y_fer = np.array([fer2013_labels[r] for r in refs])
    common = [i for i, r in enumerate(refs) if ferplus.get(r) in CLASSES]
    y_plus = np.array([CLASSES.index(ferplus[refs[i]]) for i in common], dtype=np.int64)

    def acc(y, p):
        return {"n": int(len(y)), "correct": int((y == p).sum()), "accuracy": float((y == p).mean()) if len(y) else None,
                "accuracy_ci95": bootstrap_ci(y, p) if len(y) else None}

    n_joined = sum(1 for r in refs if r in ferplus)
    return {
        "fer2013_labels_all": acc(y_fer, y_pred),
        "common": {"fer2013_labels": acc(y_fer[common], y_pred[common]), "ferplus_labels": acc(y_plus, y_pred[common]),
                   "labels_agree": int((y_fer[common] == y_plus).sum())},
        "faces": len(refs), "joined": n_joined, "not_joined": len(refs) - n_joined, "comparable": len(common),
    }


def score_checkpoint(checkpoint: str | Path, fer2013_root, ferplus_root, device: str = "auto",
                     progress: bool = True) -> dict:
    """`score_predictions` of a FER2013 checkpoint (a run directory, or its weights) on PrivateTest, with what
    it was and where it ran."""
    from resemote.checkpoint import load_model
    from resemote.env import device_name
    from resemote.evaluation import predict
    from resemote.device_images import DeviceImages
    from resemote.data.splits import data_fingerprint
    from resemote.env import git_commit, resolve_device
    from resemote.data.cache import decode
    from resemote.data.fer2013 import FER2013
    dev = resolve_device(device)
    model, meta = load_model(checkpoint, dev)
    prov = meta.get("provenance") or {}
    if prov.get("dataset") not in (None, "fer2013"):
        raise ResEmoteError(f"{checkpoint}: expected a model trained on FER2013, found one trained on "
                            f"{prov.get('dataset')}")
    ds = FER2013(fer2013_root, "test")
    d = decode(ds, int(meta["input"]["size"][0]), progress=progress)
    logits, _ = predict(model, DeviceImages(d.images, d.labels, dev))
    pred = dict(zip(d.refs, logits.argmax(1).tolist()))
    join = join_ferplus_fer2013(ferplus_root, fer2013_root, progress=progress)
    out = score_predictions(pred, join, dict(zip(d.refs, d.labels.tolist())))
    return {"checkpoint": Path(str(checkpoint)).name, "config": meta.get("config"), "trained_on": prov.get("dataset"),
            "split": "test (PrivateTest)", **out, "tolerance": join["tolerance"], "fer2013_release": ds.release,
            "fer2013_fingerprint": d.fingerprint, "ferplus_fingerprint": data_fingerprint("ferplus", ferplus_root),
            "device": device_name(dev), "git_commit": git_commit(),
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


# --- records and text ---------------------------------------------------------------------------------------
AGREEMENT_RECORD = Path("datasets") / "ferplus" / "label-agreement.json"  # under the records folder (results/)
SCORE_FILE = "ferplus-labels.json"                                        # in a run directory, and its record


def _rate(agree: int, n: int) -> str:
    return f"{agree / n * 100:.1f}% ({agree:,} of {n:,})" if n else "-"


def format_agreement(r: dict) -> str:
    """The join's outcome and the agreement, readable."""
    lines = [f"FER+ <-> {r['fer2013_release']}: {r['ferplus_faces']:,} FER+ faces, {r['fer2013_files']:,} FER2013 "
             f"files, tolerance {r['tolerance']:g} grey levels RMS (largest accepted {r['rms']['max']})"]
    for name, t in list(r["splits"].items()) + [("all", r["all"])]:
        lines.append(f"  {name:<6} matched {t['matched']:,}, ambiguous {t['ambiguous']:,} (one FER2013 label: "
                     f"{t['ambiguous_one_label']:,}), unmatched {t['unmatched']:,}, other split {t['split_mismatch']:,}"
                     + (f", unreadable {t['unreadable']:,}" if t.get("unreadable") else "") + ";"
                     f" FER2013 label = FER+ majority: {_rate(t['agree'], t['comparable'])}")
    lines.append("  by FER2013 class (all splits): " + ", ".join(
        f"{c} {_rate(v['agree'], v['comparable'])}" for c, v in r["all"]["by_class"].items()))
    lines.append(f"  FER2013 files no FER+ face matched alone: {r['fer2013_unjoined']:,}; files matched by two FER+ "
                 f"faces: {r['collisions']:,}")
    return "\n".join(lines)


def format_score(s: dict) -> str:
    c = s["common"]

    def a(x):
        lo, hi = x["accuracy_ci95"] or (float("nan"),) * 2
        return f"{x['accuracy'] * 100:.2f}% (95% CI {lo * 100:.1f}-{hi * 100:.1f}, n={x['n']:,})" if x["n"] else "-"
    return "\n".join([
        f"{s['checkpoint']} ({s['config']}, trained on {s['trained_on']}) on FER2013 {s['split']}:",
        f"  against FER2013's labels, every face: {a(s['fer2013_labels_all'])}",
        f"  on the {s['comparable']:,} faces joined to one FER+ face with a majority among the seven classes:",
        f"    against FER2013's labels {a(c['fer2013_labels'])}",
        f"    against FER+'s majority  {a(c['ferplus_labels'])}",
        f"    (the two label sets agree on {c['labels_agree']:,} of them)"])
