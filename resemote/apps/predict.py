"""The emotion of every face in photos: detection, exactly the training transform, the model.

Per image: open it with PIL (EXIF orientation applied), find faces with OpenCV's bundled Haar cascade on
PIL's grayscale (`haarcascade_frontalface_default.xml`, scale factor 1.1, 5 neighbours, faces of at least
40 px: the settings of the authors' image demo; nothing is downloaded), widen each box by FACE_MARGIN of
its size on every side (clamped to the photo) and crop. Each crop then takes the training path unchanged:
`resemote.data.cache.to_gray` (grayscale, bilinear resize to the checkpoint's input size, uint8, as the
decode cache stores faces) and `resemote.device_images.to_input` (three channels, ImageNet mean and std).
Faces of many images are classified together in batches.

The margin. A Haar box runs from about the brows to the chin; the training faces (FER2013's registered
crops, RAF-DB's aligned faces) show the whole face with some hair and background around it, so the crop
is widened by 10% of the box's side on every side. That is a judgement, not a measured optimum; the
authors' demo crops the bare box (`margin=0` reproduces it). Their demo also draws its box on the photo
before cropping, so its crops carry the box's lines, and hands OpenCV's BGR pixels to PIL as RGB, which
swaps the red and blue weights of the grayscale conversion; neither happens here.

Results report the detected box (left, top, right, bottom) in the photo's pixels, the crop actually fed to
the model, the class probabilities in the canonical order and the top class. `--out` writes each photo
with boxes and labels drawn, and with Grad-CAM (`resemote.apps.cam`) one overlay per face.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps
from tqdm.auto import tqdm

from resemote.data.cache import to_gray
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.device_images import batch_slices, to_input

FACE_MARGIN = 0.1  # of the box's width (height) added left and right (top and bottom); see the docstring
CASCADE = "haarcascade_frontalface_default.xml"
SCALE_FACTOR, MIN_NEIGHBORS, MIN_FACE = 1.1, 5, 40  # the authors' image demo
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
NO_FACE = "no face found"
MIN_OVERLAY = 128  # CAM overlays of small faces are upscaled to at least this many pixels a side

Box = tuple[int, int, int, int]  # (left, top, right, bottom)


@dataclass
class Face:
    box: Box                      # as detected
    crop: Box                     # with the margin, clamped to the photo: what the model saw
    probabilities: dict[str, float]
    top: str
    cam: str | None = None        # the overlay written for it, if any
    cam_class: str | None = None

    def as_dict(self) -> dict:
        d = {"box": list(self.box), "crop": list(self.crop), "probabilities": self.probabilities, "top": self.top}
        if self.cam:
            d.update(cam=self.cam, cam_class=self.cam_class)
        return d


@dataclass
class ImageResult:
    path: str
    size: tuple[int, int] | None = None   # (width, height)
    faces: list[Face] = field(default_factory=list)
    error: str | None = None
    annotated: str | None = None

    def as_dict(self) -> dict:
        if self.error:
            return {"path": self.path, "error": self.error}
        d = {"path": self.path, "size": list(self.size), "faces": [f.as_dict() for f in self.faces]}
        if not self.faces:
            d["message"] = NO_FACE
        if self.annotated:
            d["annotated"] = self.annotated
        return d


# --- detection and the training transform ----------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _cascade():
    try:
        import cv2
    except ImportError:
        raise ResEmoteError("face detection needs OpenCV 4: pip install 'opencv-python-headless<5'") from None
    if not hasattr(cv2, "CascadeClassifier"):
        raise ResEmoteError(f"OpenCV {cv2.__version__} has no CascadeClassifier (OpenCV 5 moved the Haar "
                            f"cascades out of the main module); install 'opencv-python-headless<5'")
    path = os.path.join(cv2.data.haarcascades, CASCADE)
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise ResEmoteError(f"could not load OpenCV's Haar cascade {path}")
    return cascade


def detect_faces(gray: np.ndarray) -> list[Box]:
    """Every frontal face in a 2-D uint8 image, as (left, top, right, bottom), left to right."""
    found = _cascade().detectMultiScale(np.ascontiguousarray(gray, dtype=np.uint8), scaleFactor=SCALE_FACTOR,
                                        minNeighbors=MIN_NEIGHBORS, minSize=(MIN_FACE, MIN_FACE))
    return sorted(((int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in found), key=lambda b: (b[0], b[1]))


def widen(box: Box, size: tuple[int, int], margin: float = FACE_MARGIN) -> Box:
    """The box grown by `margin` of its width/height on each side, clamped to an image of `size` (w, h)."""
    left, top, right, bottom = box
    dx, dy = round((right - left) * margin), round((bottom - top) * margin)
    return max(0, left - dx), max(0, top - dy), min(size[0], right + dx), min(size[1], bottom + dy)


def face_inputs(img: Image.Image, crops: Sequence[Box], size: int) -> np.ndarray:
    """(N, size, size) uint8: each crop as the decode cache stores a face (`to_gray`)."""
    if not crops:
        return np.zeros((0, size, size), np.uint8)
    return np.stack([to_gray(img.crop(c), size) for c in crops])


@torch.no_grad()
def classify(model: torch.nn.Module, faces_u8: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """(N, K) class probabilities of faces decoded as for training (`to_input`, then the model)."""
    dev = next(model.parameters()).device
    model.eval()
    faces = torch.from_numpy(np.ascontiguousarray(faces_u8, dtype=np.uint8))
    out = [model(to_input(faces[s].to(dev))).float().softmax(1).cpu() for s in batch_slices(len(faces), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(CLASSES)), np.float32)


def open_image(path: str | Path) -> Image.Image:
    """The photo as RGB, upright (EXIF orientation applied); any failure is one ResEmoteError line."""
    try:
        with Image.open(path) as im:
            upright = ImageOps.exif_transpose(im)
            upright.load()
            return upright.convert("RGB")
    except FileNotFoundError:
        raise ResEmoteError(f"{path}: no such file") from None
    except Exception as e:  # PIL raises many kinds for truncated or foreign files
        first = str(e).splitlines()[0][:120] if str(e) else ""
        raise ResEmoteError(f"{path}: unreadable image ({type(e).__name__}{': ' + first if first else ''})") from None


# --- files ---------------------------------------------------------------------------------------------

def collect(paths: Iterable[str | Path], skip: Path | None = None) -> list[tuple[Path, str, str | None]]:
    """(file, output name, error) for each path: a file as given, a folder's image files (recursively, by
    suffix, sorted), or an error for a missing path or a folder without images. `skip`: a folder whose files
    are left out (the output folder, when it lies inside an input folder)."""
    out: list[tuple[Path, str, str | None]] = []
    skip = skip.resolve() if skip is not None else None
    for p in map(Path, paths):
        if p.is_dir():
            files = [f for f in sorted(p.rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
                     and not (skip is not None and f.resolve().is_relative_to(skip))]
            if not files:
                out.append((p, p.name, f"{p}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) under it"))
            out += [(f, f.relative_to(p).as_posix(), None) for f in files]
        elif p.is_file():
            out.append((p, p.name, None))
        else:
            out.append((p, p.name, f"{p}: no such file or folder"))
    return out


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    k, candidate = 1, name
    while candidate in taken:
        k += 1
        candidate = f"{stem}-{k}.{suffix}" if dot else f"{name}-{k}"
    taken.add(candidate)
    return candidate


def _font(px: int):
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


def annotate(img: Image.Image, faces: Sequence[Face]) -> Image.Image:
    """A copy of the photo with each face's box and its top class and probability."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(min(out.size) / 250))
    for f in faces:
        draw.rectangle(f.box, outline=(0, 220, 0), width=width)
        font = _font(max(12, (f.box[3] - f.box[1]) // 7))
        text = f"{f.top} {f.probabilities[f.top]:.0%}"
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        h = y1 - y0 + 4
        top = f.box[1] - h if f.box[1] >= h else f.box[3]
        draw.rectangle((f.box[0], top, f.box[0] + x1 - x0 + 6, top + h), fill=(0, 0, 0))
        draw.text((f.box[0] + 3 - x0, top + 2 - y0), text, fill=(255, 255, 255), font=font)
    return out


def _save(img: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        img.save(path)
    except (KeyError, ValueError, OSError):  # a suffix PIL cannot write: PNG beside it
        path.unlink(missing_ok=True)
        path = path.with_name(path.name + ".png")
        img.save(path)
    return path


# --- the command ---------------------------------------------------------------------------------------

def predict_files(paths: Sequence[str | Path], model: torch.nn.Module, *, size: int = 64, out: str | Path | None = None,
                  cam: bool = False, cam_class: str | int | None = None, cam_layer: str = "auto",
                  margin: float = FACE_MARGIN, batch_size: int = 64, progress: bool | None = None,
                  ) -> Iterator[ImageResult]:
    """Yield one ImageResult per input file, in order (errors included, never raised per file).

    `out`: folder for annotated copies (named as the inputs, relative to a folder argument) and, with
    `cam`, one Grad-CAM overlay per face (`<name>.face<k>.cam.png`) for the top class or `cam_class`.
    `progress`: a bar over the files (None: only when a folder was given and stderr is a terminal).
    """
    if cam and out is None:
        raise ResEmoteError("Grad-CAM writes overlay images: give --out DIR")
    if not 0 <= margin <= 1:
        raise ResEmoteError(f"expected a face margin between 0 and 1, got {margin}")
    if batch_size < 1:
        raise ResEmoteError(f"expected a batch size >= 1, got {batch_size}")
    target = None
    if cam:
        from resemote.apps.cam import class_index, resolve_layer
        target = class_index(cam_class)
        resolve_layer(model, cam_layer, size)  # a bad layer name fails before any work
    out = Path(out) if out is not None else None
    files = collect(paths, skip=out)
    any_folder = any(Path(p).is_dir() for p in paths)
    bar = tqdm(total=len(files), desc="predict", unit="img",
               disable=(None if any_folder else True) if progress is None else not progress)
    taken: set[str] = set()
    pending: list[tuple[ImageResult, Image.Image | None, list[Box], list[Box], np.ndarray, str]] = []

    def flush() -> Iterator[ImageResult]:
        faces = [p[4] for p in pending if len(p[4])]
        faces = np.concatenate(faces) if faces else np.zeros((0, size, size), np.uint8)
        probs = classify(model, faces, batch_size)
        cams = None
        if cam and len(faces):
            from resemote.apps.cam import grad_cam
            cams = grad_cam(model, faces, target, layer=cam_layer, batch_size=batch_size)
        k = 0
        for res, img, boxes, crops, _, name in pending:
            if out is not None and img is not None:
                name = _unique(name, taken)
            for j, (box, crop) in enumerate(zip(boxes, crops)):
                p = {c: round(float(v), 4) for c, v in zip(CLASSES, probs[k])}
                face = Face(box, crop, p, CLASSES[int(probs[k].argmax())])
                if cams is not None:
                    face.cam, face.cam_class = _write_cam(img, crop, cams.maps[k], out, name, j), CLASSES[int(cams.classes[k])]
                res.faces.append(face)
                k += 1
            if out is not None and img is not None:
                res.annotated = str(_save(annotate(img, res.faces), out / name))
            bar.update(1)
            yield res
        pending.clear()

    try:
        for path, name, error in files:
            if error is None:
                try:
                    img = open_image(path)
                except ResEmoteError as e:
                    error = str(e)
            if error is not None:
                pending.append((ImageResult(str(path), error=error), None, [], [], np.zeros((0, size, size), np.uint8), name))
                continue
            boxes = detect_faces(np.asarray(img.convert("L")))
            crops = [widen(b, img.size, margin) for b in boxes]
            pending.append((ImageResult(str(path), img.size), img, boxes, crops, face_inputs(img, crops, size), name))
            if sum(len(p[4]) for p in pending) >= batch_size or len(pending) >= batch_size:
                yield from flush()
        yield from flush()
    finally:
        bar.close()


def _write_cam(img: Image.Image, crop: Box, cam_map: np.ndarray, out: Path, name: str, j: int) -> str:
    from resemote.apps.cam import overlay
    face = img.crop(crop)
    scale = max(1.0, MIN_OVERLAY / min(face.size))
    if scale > 1:
        face = face.resize((round(face.width * scale), round(face.height * scale)), Image.BICUBIC)
    dest = out / f"{name}.face{j + 1}.cam.png"
    dest.parent.mkdir(parents=True, exist_ok=True)
    overlay(face, cam_map).save(dest)
    return str(dest)


def load_for_predict(checkpoint: str | Path, device: str = "auto") -> tuple[torch.nn.Module, dict, int]:
    """(model, sidecar, input size) of a checkpoint (ours, or a released .pt/.pth read weights-only)."""
    from resemote.checkpoint import load_model
    from resemote.env import resolve_device
    model, meta = load_model(checkpoint, resolve_device(device))
    return model, meta, int(meta["input"]["size"][0])


def format_result(r: ImageResult) -> str:
    """A few readable lines per image (errors go to stderr instead: see the CLI)."""
    if r.error:
        return f"{r.path}: {r.error}"
    if not r.faces:
        return f"{r.path}: {NO_FACE}"
    lines = [f"{r.path}: {len(r.faces)} face{'s' if len(r.faces) > 1 else ''}"]
    for k, f in enumerate(r.faces, 1):
        rest = ", ".join(f"{c} {p:.0%}" for c, p in sorted(f.probabilities.items(), key=lambda kv: -kv[1])[1:4])
        lines.append(f"  face {k} at {f.box}: {f.top} {f.probabilities[f.top]:.1%} (then {rest})"
                     + (f"; Grad-CAM ({f.cam_class}) {f.cam}" if f.cam else ""))
    if r.annotated:
        lines.append(f"  annotated: {r.annotated}")
    return "\n".join(lines)


def summary(checkpoint: str | Path, meta: dict, results: Sequence[ImageResult], margin: float) -> dict:
    """The JSON document of a predict run."""
    return {
        "checkpoint": str(checkpoint), "config": meta.get("config"), "classes": list(CLASSES),
        "detector": {"cascade": CASCADE, "scale_factor": SCALE_FACTOR, "min_neighbors": MIN_NEIGHBORS,
                     "min_size": MIN_FACE},
        "margin": margin, "input_size": meta["input"]["size"],
        "images": [r.as_dict() for r in results],
        "faces": sum(len(r.faces) for r in results),
        "failed": sum(r.error is not None for r in results),
    }
