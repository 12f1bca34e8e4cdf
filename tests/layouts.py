"""Tiny copies of each dataset's native layout, written into a test's tmp_path (never committed).

Every builder takes per-split class counts in CANONICAL order (Angry, Disgust, Fear, Happy, Neutral, Sad,
Surprise), writes labels in the dataset's NATIVE coding, and returns a `Layout` saying what it planted:
- counts: what a loader should index per split and canonical class (the corrupt image is among them: it
  only fails when decoded; the missing image and malformed rows are extra and not counted);
- missing / corrupt / malformed: the refs or "file:line N" locations of the planted damage.
Use counts that differ for every class and split, so a wrong label map or swapped split cannot pass.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from resemote.data.classes import CLASSES, canonical_to_native

NATIVE_TO_CANONICAL_EXPW = {n: c for c, n in canonical_to_native("expw").items()}

Counts = dict[str, Sequence[int]]  # split -> 7 counts in canonical order


@dataclass
class Layout:
    root: Path
    counts: dict[str, dict[str, int]]
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)   # files a loader leaves out on purpose (not damage)
    copies: list[tuple[str, str]] = field(default_factory=list)  # (original, copy) planted under two names


def _as_dict(counts: Counts) -> dict[str, dict[str, int]]:
    return {split: dict(zip(CLASSES, map(int, c))) for split, c in counts.items()}


def _labels(counts: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Canonical labels, shuffled so classes interleave as in real label files."""
    y = np.repeat(np.arange(len(CLASSES)), counts)
    rng.shuffle(y)
    return y


def image(rng: np.random.Generator, size: tuple[int, int] = (32, 32), mode: str = "RGB") -> Image.Image:
    """A small random image with some structure (a gradient plus noise)."""
    h, w = size
    base = np.add.outer(np.linspace(0, 120, h), np.linspace(0, 80, w))
    a = np.clip(base[..., None] + rng.integers(0, 120, (h, w, 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(a, "RGB")
    return im.convert(mode) if mode != "RGB" else im


def save(path: Path, im: Image.Image, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format=fmt or "JPEG")


def write_corrupt(path: Path) -> None:
    """A file with an image name whose content is not an image (a truncated download)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")


# --- RAF-DB ------------------------------------------------------------------------------------------

def make_rafdb(root: str | Path, counts: Counts, *, in_basic: bool = False, missing: int = 1, corrupt: int = 1,
               malformed: int = 1, seed: int = 0) -> Layout:
    """RAF-DB basic: basic/EmoLabel/list_patition_label.txt + basic/Image/aligned/<stem>_aligned.jpg.
    With in_basic the returned root is basic/ itself (users point there too)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    to_native = canonical_to_native("rafdb")
    basic = root / "basic"
    prefix = "" if in_basic else "basic/"
    lines, out = [], Layout(basic if in_basic else root, _as_dict(counts))
    for split, c in counts.items():
        for i, y in enumerate(_labels(c, rng), start=1):
            name = f"{split}_{i:05d}"
            lines.append(f"{name}.jpg {to_native[int(y)]}")
            path = basic / "Image" / "aligned" / f"{name}_aligned.jpg"
            if len(out.corrupt) < corrupt and split == "train":
                write_corrupt(path)
                out.corrupt.append(f"{prefix}Image/aligned/{name}_aligned.jpg")
            else:
                save(path, image(rng, (100, 100)))
    for k in range(missing):  # listed, but the image is not there
        lines.append(f"train_{90000 + k:05d}.jpg 4")
        out.missing.append(f"{prefix}Image/aligned/train_{90000 + k:05d}_aligned.jpg")
    for k in range(malformed):
        lines.append(f"train_{80000 + k:05d}.jpg 9")  # label out of range
        out.malformed.append(f"{prefix}EmoLabel/list_patition_label.txt:line {len(lines)}")
    (basic / "EmoLabel").mkdir(parents=True, exist_ok=True)
    (basic / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    return out


def make_rafdb_kaggle(root: str | Path, counts: Counts, *, csv_files: bool = True, missing: int = 1,
                      corrupt: int = 1, seed: int = 0) -> Layout:
    """The Kaggle repack: DATASET/<train|test>/<native label 1..7>/*.jpg and <split>_labels.csv."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    to_native = canonical_to_native("rafdb")
    out = Layout(root, _as_dict(counts))
    for split, c in counts.items():
        rows = []
        for i, y in enumerate(_labels(c, rng), start=1):
            name, native = f"{split}_{i:05d}_aligned.jpg", to_native[int(y)]
            rows.append((name, native))
            path = root / "DATASET" / split / str(native) / name
            if len(out.corrupt) < corrupt and split == "train":
                write_corrupt(path)
                out.corrupt.append(f"DATASET/{split}/{native}/{name}")
            else:
                save(path, image(rng, (100, 100)))
        if split == "train" and csv_files:
            for k in range(missing):
                rows.append((f"train_{90000 + k:05d}_aligned.jpg", 4))
                out.missing.append(f"DATASET/train/4/train_{90000 + k:05d}_aligned.jpg")
        if csv_files:
            with open(root / f"{split}_labels.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["image", "label"])
                w.writerows(rows)
    return out


# --- AffectNet ---------------------------------------------------------------------------------------

AFFECTNET_HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                    "facial_landmarks", "expression", "valence", "arousal"]


def make_affectnet(root: str | Path, counts: Counts, header: bool | dict[str, bool] = True, *,
                   nested: bool = False, dropped: dict[int, int] | None = None, missing: int = 1,
                   corrupt: int = 1, png_named_jpg: int = 2, malformed: int = 1, seed: int = 0) -> Layout:
    """Manually_Annotated_file_lists/{training,validation}.csv + Manually_Annotated_Images/<sub>/<file>.
    `header` may differ per file ({"train": True, "test": False}); `dropped` adds rows with codes 7-10
    (default {7: 3, 8: 2, 9: 1, 10: 1} in train); a few images are PNG despite their .jpg names."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    to_native = canonical_to_native("affectnet")
    dropped = {7: 3, 8: 2, 9: 1, 10: 1} if dropped is None else dropped
    names = {7: "Contempt", 8: "None", 9: "Uncertain", 10: "Non-Face"}
    images = root / "Manually_Annotated_Images"
    if nested:
        images = images / "Manually_Annotated_Images"
    out = Layout(root, _as_dict(counts), dropped={names[k]: v for k, v in dropped.items() if v})
    landmarks = ";".join(f"{v:.2f}" for v in rng.uniform(0, 40, 136))
    pngs = 0
    for split, fname in (("train", "training.csv"), ("test", "validation.csv")):
        if split not in counts:
            continue
        rows, n = [], 0

        def row(sub: str, code: int) -> list:
            x, y = int(rng.integers(0, 8)), int(rng.integers(0, 8))
            return [sub, x, y, 28, 30, landmarks, code, f"{rng.uniform(-1, 1):.4f}", f"{rng.uniform(-1, 1):.4f}"]

        for y in _labels(counts[split], rng):
            n += 1
            sub = f"{n % 3 + 1}/{split}{n:04d}.jpg"
            path = images / sub
            if len(out.corrupt) < corrupt and split == "train":
                write_corrupt(path)
                out.corrupt.append(path.relative_to(root).as_posix())
            elif pngs < png_named_jpg:
                save(path, image(rng, (40, 40)), "PNG")
                pngs += 1
            else:
                save(path, image(rng, (40, 40)))
            rows.append(row(sub, to_native[int(y)]))
        if split == "train":
            for code, k in dropped.items():
                for _ in range(k):
                    n += 1
                    sub = f"1/drop{n:04d}.jpg"
                    save(images / sub, image(rng, (40, 40)))
                    rows.append(row(sub, code))
            for k in range(missing):
                sub = f"2/missing{k}.jpg"
                rows.append(row(sub, 1))
                out.missing.append((images / sub).relative_to(root).as_posix())
        has_header = header[split] if isinstance(header, dict) else header
        lines = ([AFFECTNET_HEADER] if has_header else []) + rows
        if split == "train":
            for k in range(malformed):
                lines.append([f"1/bad{k}.jpg", 1, 2, 3])  # truncated row
                out.malformed.append(f"Manually_Annotated_file_lists/{fname}:line {len(lines)}")
        (root / "Manually_Annotated_file_lists").mkdir(parents=True, exist_ok=True)
        with open(root / "Manually_Annotated_file_lists" / fname, "w", newline="") as f:
            csv.writer(f).writerows(lines)
    return out


# --- ExpW --------------------------------------------------------------------------------------------

def make_expw(root: str | Path, counts: Sequence[int], *, faces_per_photo: Sequence[int] = (1, 2, 3),
              missing: int = 1, corrupt: int = 1, malformed: int = 1, copies: int = 0, seed: int = 0) -> Layout:
    """label/label.lst + image/origin/<photo>.jpg, several faces per photo (cycling faces_per_photo).
    `counts` is per canonical class over the whole dataset (ExpW has no official split): Layout.counts
    holds it under the key "all". The missing photo holds 2 extra faces; the corrupt photo is counted.
    `copies` photos are saved again, byte for byte, under another name (copy_<k>.jpg) with the same faces
    and labels, as real ExpW holds the same picture under several names: their faces are extra (counted in
    Layout.counts) and Layout.copies lists the (photo, copy) name pairs."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    to_native = canonical_to_native("expw")
    out = Layout(root, {"all": dict(zip(CLASSES, map(int, counts)))})
    labels = list(_labels(counts, rng))
    lines, photo = [], 0
    while labels:
        k = min(faces_per_photo[photo % len(faces_per_photo)], len(labels))
        name = f"photo_{photo:05d}.jpg"
        path = root / "image" / "origin" / name
        if len(out.corrupt) < corrupt:
            write_corrupt(path)
            out.corrupt.append(f"image/origin/{name}")
        else:
            save(path, image(rng, (60, 90)))
        for face in range(k):
            y = labels.pop()
            left, top = 5 + 28 * face, int(rng.integers(2, 20))
            lines.append(f"{name} {face} {top} {left} {left + 24} {top + 30} {rng.uniform(20, 90):.2f} "
                         f"{to_native[int(y)]}")
        photo += 1
    good = [n for n in dict.fromkeys(l.split()[0] for l in lines) if f"image/origin/{n}" not in out.corrupt]
    for k, name in enumerate(good[:copies]):
        copy = f"copy_{k:05d}.jpg"
        (root / "image" / "origin" / copy).write_bytes((root / "image" / "origin" / name).read_bytes())
        for l in [l for l in lines if l.split()[0] == name]:
            lines.append(" ".join([copy] + l.split()[1:]))
            y = NATIVE_TO_CANONICAL_EXPW[int(l.split()[7])]
            out.counts["all"][CLASSES[y]] += 1
        out.copies.append((name, copy))
    for k in range(missing):
        for face in range(2):
            lines.append(f"gone_{k}.jpg {face} 3 {4 + 30 * face} {28 + 30 * face} 33 50.0 3")
            out.missing.append(f"image/origin/gone_{k}.jpg#{face}")
    for k in range(malformed):
        lines.append("photo_00000.jpg 9 3 4 28")  # too few fields
        out.malformed.append(f"label/label.lst:line {len(lines)}")
    (root / "label").mkdir(parents=True, exist_ok=True)
    (root / "label" / "label.lst").write_text("\n".join(lines) + "\n")
    return out


# --- FER2013 -----------------------------------------------------------------------------------------

FER_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FER_VARIANTS = ("fer2013.csv", "icml_face_data.csv", "train.csv", "folders")


def make_fer2013(root: str | Path, counts_by_split: Counts, variant: str = "fer2013.csv", *,
                 subdir: bool = False, malformed: int = 0, seed: int = 0) -> Layout:
    """FER2013 in one of its releases, in root or (subdir=True) in root/fer2013/:
    - 'fer2013.csv' (emotion,pixels,Usage), 'icml_face_data.csv' (emotion, Usage, pixels);
    - 'train.csv' (emotion,pixels; train split only) plus an unlabelled test.csv (pixels) of val + test;
    - 'folders': train/<class>/Training_<n>.jpg, test/<class>/{PublicTest,PrivateTest}_<n>.jpg.
    `malformed` appends rows with 2,303 pixel values to the csv variants (in the Training part)."""
    if variant not in FER_VARIANTS:
        raise ValueError(f"variant must be one of {FER_VARIANTS}")
    root = Path(root)
    base = root / "fer2013" if subdir else root
    base.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    to_native = canonical_to_native("fer2013")
    rel = "fer2013/" if subdir else ""
    out = Layout(root, _as_dict(counts_by_split))
    rows = []  # (native emotion, pixel string, usage, split, canonical)
    for split, c in counts_by_split.items():
        for y in _labels(c, rng):
            px = rng.integers(0, 256, 48 * 48)
            rows.append((to_native[int(y)], " ".join(map(str, px)), FER_USAGE[split], split, int(y)))
    bad = " ".join(["7"] * (48 * 48 - 1))
    if variant == "folders":
        seen: dict[str, int] = {}
        for _, px, usage, split, y in rows:
            top = "train" if split == "train" else "test"
            seen[usage] = seen.get(usage, 0) + 1
            a = np.array(px.split(), dtype=np.uint8).reshape(48, 48)
            path = base / top / CLASSES[y].lower() / f"{usage}_{seen[usage]}.jpg"
            save(path, Image.fromarray(a, "L"))
        return out
    if variant == "train.csv":
        with open(base / "train.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["emotion", "pixels"])
            n = 1
            for e, px, _, split, _ in rows:
                if split == "train":
                    w.writerow([e, px])
                    n += 1
            for _ in range(malformed):
                w.writerow([3, bad])
                n += 1
                out.malformed.append(f"{rel}train.csv:line {n}")
        with open(base / "test.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["pixels"])
            w.writerows([px] for _, px, _, split, _ in rows if split != "train")
        out.counts = {k: v for k, v in out.counts.items() if k == "train"}
        return out
    icml = variant == "icml_face_data.csv"
    with open(base / variant, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["emotion", " Usage", " pixels"] if icml else ["emotion", "pixels", "Usage"])
        n = 1
        for e, px, usage, _, _ in rows:
            w.writerow([e, usage, px] if icml else [e, px, usage])
            n += 1
        for _ in range(malformed):
            w.writerow([3, "Training", bad] if icml else [3, bad, "Training"])
            n += 1
            out.malformed.append(f"{rel}{variant}:line {n}")
    return out


# --- CK+ ---------------------------------------------------------------------------------------------

CKPLUS_FOLDERS = {0: "anger", 1: "disgust", 2: "fear", 3: "happy", 5: "sadness", 6: "surprise"}


def make_ckplus(root: str | Path, counts: Sequence[int], *, contempt: int = 5, in_ck48: bool = False,
                subjects: int = 12, subject_ids: bool = True, frames: int = 3, corrupt: int = 1, stray: int = 1,
                seed: int = 0) -> Layout:
    """CK+48/<anger|contempt|disgust|fear|happy|sadness|surprise>/S<subject>_<sequence>_<frame>.png, 48 x 48
    grayscale. `counts` is per canonical class over the whole dataset (Neutral must be 0: the release has
    none), held under Layout.counts["all"]; each sequence gives up to `frames` images of one class and a
    subject (one of `subjects`) has several sequences. `contempt` images are extra and dropped
    (Layout.dropped); the corrupt image is counted; `stray` adds a non-class folder holding one image.
    Without subject_ids the names carry none (a renamed repack). With in_ck48 the root is CK+48/ itself."""
    if counts[4]:
        raise ValueError("CK+ has no Neutral folder: counts[4] must be 0")
    root = Path(root)
    rng = np.random.default_rng(seed)
    base = root / "CK+48"
    prefix = "" if in_ck48 else "CK+48/"
    out = Layout(base if in_ck48 else root, {"all": dict(zip(CLASSES, map(int, counts)))},
                 dropped={"Contempt": contempt} if contempt else {})
    seq = 0
    for label, n in [(c, counts[c]) for c in CKPLUS_FOLDERS] + [(None, contempt)]:
        folder = "contempt" if label is None else CKPLUS_FOLDERS[label]
        done = 0
        while done < n:
            seq += 1
            subject = int(rng.integers(0, subjects)) + 10
            for frame in range(min(frames, n - done)):
                name = (f"S{subject:03d}_{seq:03d}_{frame + 8:08d}.png" if subject_ids
                        else f"{folder}_{seq:03d}_{frame}.png")
                path = base / folder / name
                if len(out.corrupt) < corrupt and label == 3:
                    write_corrupt(path)
                    out.corrupt.append(f"{prefix}{folder}/{name}")
                else:
                    save(path, image(rng, (48, 48), "L"), "PNG")
                done += 1
    for k in range(stray):
        save(base / "misc" / f"S001_001_{k:08d}.png", image(rng, (48, 48), "L"), "PNG")
        out.malformed.append(f"{prefix}misc")
    return out


# --- FER+ --------------------------------------------------------------------------------------------

FERPLUS_FOLDERS = {"train": "FER2013Train", "val": "FER2013Valid", "test": "FER2013Test"}
# canonical index -> FER+ vote column (neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF)
FERPLUS_COLUMN = {0: 4, 1: 5, 2: 6, 3: 1, 4: 0, 5: 3, 6: 2}


def ferplus_votes(column: int, rng: np.random.Generator) -> list[int]:
    """Ten vote counts whose FER+ majority (single votes dropped, then more than half) is `column`; every
    other pattern relies on dropping the single votes (4 of 10 is no majority until the three 1s go)."""
    v = [0] * 10
    others = [c for c in range(10) if c != column]
    rng.shuffle(others)
    if rng.integers(0, 2):
        v[column], v[others[0]] = 7, 3
    else:
        v[column], v[others[0]], v[others[1]], v[others[2]], v[others[3]] = 4, 3, 1, 1, 1
    return v


# votes that give no canonical class, by the loader's reason
FERPLUS_DROPPED = {"Contempt": [0, 2, 0, 0, 0, 0, 0, 6, 1, 1], "no majority": [4, 0, 0, 4, 2, 0, 0, 0, 0, 0],
                   "unknown": [1, 0, 0, 2, 0, 0, 0, 0, 7, 0], "not a face": [0, 0, 0, 0, 0, 0, 0, 0, 2, 8]}


def smooth_face(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A smooth random 48 x 48 grayscale image (a few low-frequency waves): JPEG re-encodes it within about
    a grey level, as it does real faces, while two such images differ by tens of grey levels."""
    y, x = np.mgrid[0:size, 0:size] / size
    a = np.full((size, size), 128.0)
    for _ in range(4):
        fx, fy = rng.integers(0, 3, 2)
        a += rng.uniform(15, 35) * np.cos(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 2 * np.pi))
    return np.clip(a, 10, 245).astype(np.uint8)


def make_ferplus(root: str | Path, counts: Counts, *, in_data: bool = False, dropped: dict[str, int] | None = None,
                 missing: int = 1, corrupt: int = 1, malformed: int = 1, seed: int = 0,
                 faces: dict[str, list[tuple[np.ndarray, list[int]]]] | None = None) -> Layout:
    """The FER+ project's layout: FER2013Train|Valid|Test/ferNNNNNNN.png (48 x 48 grayscale) and label.csv
    (no header: name, "(0, 0, 48, 48)", ten vote counts). `counts` per split in canonical order (majority
    labels); `dropped` (default one of each FERPLUS_DROPPED reason) adds faces with no canonical class to
    every split (Layout.dropped: per split). The missing image's row and the malformed rows (train only)
    are extra; the corrupt PNG is counted. With in_data the folders sit under data/ (the FER+ repository).
    `faces` (split -> [(pixels, votes)]) writes exactly those faces instead (counts then describe them)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    base = root / "data" if in_data else root
    prefix = "data/" if in_data else ""
    dropped = {k: 1 for k in FERPLUS_DROPPED} if dropped is None else dropped
    out = Layout(root, _as_dict(counts), dropped=dict(dropped))
    row = 0
    for split, folder in FERPLUS_FOLDERS.items():
        if split not in counts:
            continue
        if faces is not None:
            todo = [(px, votes, False) for px, votes in faces[split]]
        else:  # (pixels, votes, has a canonical label)
            todo = [(smooth_face(rng), ferplus_votes(FERPLUS_COLUMN[int(y)], rng), True)
                    for y in _labels(counts[split], rng)]
            todo += [(smooth_face(rng), list(FERPLUS_DROPPED[k]), False) for k, n in dropped.items() for _ in range(n)]
            order = rng.permutation(len(todo))
            todo = [todo[i] for i in order]
        lines = []
        for px, votes, labelled in todo:
            name = f"fer{row:07d}.png"
            row += 1
            path = base / folder / name
            if labelled and len(out.corrupt) < corrupt and split == "train":
                write_corrupt(path)
                out.corrupt.append(f"{prefix}{folder}/{name}")
            else:
                save(path, Image.fromarray(px, "L"), "PNG")
            lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
        if split == "train" and faces is None:
            for _ in range(missing):
                name = f"fer{row:07d}.png"
                row += 1
                lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, ferplus_votes(1, rng))))
                out.missing.append(f"{prefix}{folder}/{name}")
            for k in range(malformed):
                lines.append(f'fer{row:07d}.png,"(0, 0, 48, 48)",1,2,three,0,0,0,0,0,0,0' if k % 2 == 0
                             else f'fer{row:07d}.png,"(0, 0, 48, 48)",1,2,3')
                row += 1
                out.malformed.append(f"{prefix}{folder}/label.csv:line {len(lines)}")
        (base / folder).mkdir(parents=True, exist_ok=True)
        (base / folder / "label.csv").write_text("\n".join(lines) + "\n")
    return out


def make_fer_pair(plus_root: str | Path, fer_root: str | Path, n: dict[str, int], *, duplicates: int = 2,
                  extra_fer2013: int = 2, seed: int = 0) -> dict:
    """The same smooth faces twice: as FER+ (PNG, votes) and as FER2013's Kaggle image-folder release (JPEG
    re-encodings, named Training_<random>.jpg, so only pixels join them). Each split gets n[split] faces;
    `duplicates` faces of train appear twice in both releases (a pixel-identical pair, one FER2013 label);
    `extra_fer2013` faces are in FER2013 only (rows FER+ dropped). FER+ majorities and FER2013 labels are
    drawn independently, so they agree only sometimes. Returns the ground truth: for every FER+ ref, its
    split, FER+ outcome (a class name or a reason), the FER2013 file(s) and label(s)."""
    from resemote.data.classes import CLASSES
    rng = np.random.default_rng(seed)
    plus_root, fer_root = Path(plus_root), Path(fer_root)
    usage = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
    reasons = list(FERPLUS_DROPPED)
    faces: dict[str, list] = {s: [] for s in n}
    truth: dict[str, dict] = {}
    used_names: set[str] = set()

    def jpeg(split: str, label: int, px: np.ndarray) -> str:
        while True:
            name = f"{usage[split]}_{int(rng.integers(1, 10**8))}.jpg"
            if name not in used_names:
                used_names.add(name)
                break
        rel = f"{'train' if split == 'train' else 'test'}/{CLASSES[label].lower()}/{name}"
        save(fer_root / rel, Image.fromarray(px, "L"))
        return rel

    row = 0
    for split, k in n.items():
        refs: list[str] = []
        for i in range(k + (duplicates if split == "train" else 0)):
            if i >= k:  # a pixel-identical copy of an earlier face, in both releases: both copies match both files
                src = truth[refs[i - k]]
                px = faces[split][i - k][0]
                src["files"].append(jpeg(split, src["fer2013"][0], px))
                src["fer2013"].append(src["fer2013"][0])
                files, labels = src["files"], src["fer2013"]
            else:
                px, label = smooth_face(rng), int(rng.integers(0, 7))
                files, labels = [jpeg(split, label, px)], [label]
            if rng.uniform() < 0.2:
                outcome = reasons[int(rng.integers(0, len(reasons)))]
                votes = list(FERPLUS_DROPPED[outcome])
            else:
                c = labels[0] if rng.uniform() < 0.6 else int(rng.integers(0, 7))
                outcome, votes = CLASSES[c], ferplus_votes(FERPLUS_COLUMN[c], rng)
            ref = f"{FERPLUS_FOLDERS[split]}/fer{row:07d}.png"
            refs.append(ref)
            faces[split].append((px, votes))
            truth[ref] = {"split": split, "outcome": outcome, "files": files, "fer2013": labels}
            row += 1
    for _ in range(extra_fer2013):
        jpeg("train", int(rng.integers(0, 7)), smooth_face(rng))
    make_ferplus(plus_root, {s: [0] * 7 for s in n}, faces=faces)
    (fer_root / "test").mkdir(parents=True, exist_ok=True)
    return truth


# --- JAFFE -------------------------------------------------------------------------------------------

JAFFE_FOLDERS = {3: "1 - Happy", 5: "2 - Sad", 6: "3 - Surprise", 1: "4 - Disgust", 2: "5 - Fear", 0: "6 - Anger",
                 4: "7 - Neutral"}
JAFFE_CODES = {0: "AN", 1: "DI", 2: "FE", 3: "HA", 4: "NE", 5: "SA", 6: "SU"}


def make_jaffe(root: str | Path, counts: Sequence[int], *, flat: bool = False, posers: int = 4, jpeg_copies: int = 1,
               corrupt: int = 1, seed: int = 0) -> Layout:
    """JAFFE: the folder repack Data/<n - Class>/<poser>.<code><k>.<n>.tiff, or (flat) the original flat
    folder of such TIFFs. `counts` per canonical class (all seven), under Layout.counts["test"]; small
    grayscale TIFFs. `jpeg_copies` Surprise images also get a .jpg copy of one name (Layout.ignored); the
    corrupt TIFF is counted (it fails when decoded)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    out = Layout(root, {"test": dict(zip(CLASSES, map(int, counts)))})
    number = 0
    for c, n in enumerate(counts):
        rel = "" if flat else f"Data/{JAFFE_FOLDERS[c]}/"
        for k in range(n):
            number += 1
            poser = ["KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM"][k % posers]
            stem = f"{poser}.{JAFFE_CODES[c]}{k // posers + 1}.{number}"
            path = root / f"{rel}{stem}.tiff"
            if len(out.corrupt) < corrupt and c == 3:
                write_corrupt(path)
                out.corrupt.append(f"{rel}{stem}.tiff")
                continue
            im = image(rng, (40, 40), "L")
            save(path, im, "TIFF")
            if c == 6 and len(out.ignored) < jpeg_copies:
                save(root / f"{rel}{stem}.jpg", im)
                out.ignored.append(f"{rel}{stem}.jpg")
    return out
