"""Synthetic faces: the embedded default dataset, written in FER2013's `fer2013.csv` layout.

Nothing here is a real face. Each image is a 48 x 48 grayscale cartoon drawn from a few expression
parameters (brow height and slant, eye opening, mouth curve, opening and width, a wrinkled nose), so it
exercises the whole pipeline - loader, cache, training, metrics, book - where no real dataset is present.
It is made to be learnable but not trivial:
- nuisance variation: head rotation and turn, scale, position, skin tone, lighting gradient, blur-free
  sensor noise, and occluders (a hand-like bar or a dark patch);
- expressions that overlap as real ones do: fear and surprise share wide eyes and an open mouth, disgust
  and anger lowered brows, sadness and neutral differ only by a slight frown and brow slant;
- per-image jitter of every parameter, a little label noise, and FER2013-like class imbalance.
Results on it are a pipeline demonstration only, and are labelled synthetic wherever they appear.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from resemote.data.base import SYNTHETIC_MARKER
from resemote.data.classes import CLASSES, canonical_to_native
from resemote.io import atomic_write, write_json
from resemote.paper import TABLE_II

SIZE = 48
# FER2013's training class shares (the paper's Table II), with Disgust lifted from 436 images (1.5%) to 1,150
# (about 4%) so that tiny sets still contain some
DISGUST_LIFTED = 1150
CLASS_SHARE = np.array([DISGUST_LIFTED if c == "Disgust" else train
                        for c, (train, _) in zip(CLASSES, TABLE_II["fer2013"])], dtype=float)
LABEL_NOISE = 0.04

# per class: brow_raise, brow_slant (+ = inner ends up), eye_open, mouth_curve (+ = smile), mouth_open,
# mouth_width, nose_wrinkle
EXPRESSIONS = np.array([
    # raise  slant  eye   curve  open   width  wrinkle
    [-0.08, -0.60, 0.75, -0.06, 0.00, 0.27, 0.2],   # Angry: brows down and drawn in
    [-0.05, -0.30, 0.60, -0.12, 0.06, 0.26, 1.0],   # Disgust: like anger, plus nose wrinkle, raised lip
    [0.10, 0.40, 1.50, -0.05, 0.10, 0.38, 0.0],     # Fear: wide eyes, stretched half-open mouth
    [0.00, 0.00, 0.80, 0.20, 0.06, 0.42, 0.0],      # Happy: broad smile
    [0.00, 0.00, 1.00, 0.00, 0.00, 0.28, 0.0],      # Neutral
    [0.02, 0.45, 0.80, -0.11, 0.00, 0.26, 0.0],     # Sad: frown, inner brows up
    [0.15, 0.05, 1.80, 0.00, 0.25, 0.18, 0.0],      # Surprise: high brows, wide eyes, round open mouth
])
JITTER = np.array([0.03, 0.10, 0.14, 0.025, 0.03, 0.03, 0.2])


def class_counts(n: int) -> np.ndarray:
    """Split n images over the classes by CLASS_SHARE (largest remainder, so counts sum to n)."""
    raw = CLASS_SHARE / CLASS_SHARE.sum() * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: n - counts.sum()]] += 1
    return counts


def _soft(d: np.ndarray, width: float) -> np.ndarray:
    """Anti-aliased inside-ness of a signed distance (negative inside)."""
    return np.clip(0.5 - d / width, 0.0, 1.0)


def draw_face(params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Render one face (SIZE x SIZE uint8) from 7 expression parameters plus random nuisances."""
    raise_, slant, eye_open, curve, mouth_open, width, wrinkle = params
    px = 2.0 / SIZE
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    u = (xs + 0.5) / SIZE * 2 - 1
    v = (ys + 0.5) / SIZE * 2 - 1
    # head pose: in-plane rotation, scale, shift; "turn" squeezes one side of the face
    ang = rng.normal(0, 0.12)
    scale = rng.uniform(0.85, 1.05)
    tx, ty = rng.normal(0, 0.05, size=2)
    turn = rng.normal(0, 0.10)
    c, s = np.cos(ang), np.sin(ang)
    x = (c * (u - tx) + s * (v - ty)) / scale
    y = (-s * (u - tx) + c * (v - ty)) / scale
    x = x - turn * (1 - y ** 2) * 0.3

    bg = rng.uniform(0.1, 0.9) + rng.normal(0, 0.15) * u + rng.normal(0, 0.15) * v
    skin = rng.uniform(0.45, 0.85)
    img = bg
    face = _soft(np.sqrt((x / 0.72) ** 2 + (y / 0.92) ** 2) - 1, px * 3 / scale)
    img = img * (1 - face) + skin * face
    dark = skin * rng.uniform(0.15, 0.35)

    def ink(mask: np.ndarray, tone: float = dark) -> None:
        nonlocal img
        m = np.clip(mask, 0, 1) * face
        img = img * (1 - m) + tone * m

    for side in (-1, 1):
        ex, ey = side * 0.30, -0.12
        # eyes: ellipses whose height follows eye_open
        h = max(0.02, 0.075 * eye_open)
        ink(_soft(np.sqrt(((x - ex) / 0.13) ** 2 + ((y - ey) / h) ** 2) - 1, 0.25))
        # brows: a thick segment over each eye; slant lifts the inner end
        t = np.clip((x - ex) * side / 0.16, -1, 1)  # -1 inner end, +1 outer end
        by = ey - 0.20 - raise_ - slant * 0.09 * (-t)
        d = np.abs(y - by) - 0.045
        inside = np.abs((x - ex) * side) <= 0.17
        ink(np.where(inside, _soft(d, px * 2), 0))
    # nose, and the wrinkle lines of disgust
    ink(_soft(np.abs(x) - 0.02, px * 2) * ((y > 0.0) & (y < 0.22)), skin * 0.7)
    if wrinkle > 0.3:
        for k in (-1, 1):
            ink(_soft(np.abs(y - 0.05 - 0.06 * np.abs(x)) - 0.012, px) * (np.abs(x - k * 0.09) < 0.06)
                * min(1.0, wrinkle), skin * 0.5)
    # mouth: lip line y = my + curve * (1 - (x/w)^2) (image y grows downward, so curve > 0 smiles)
    my = 0.48
    w = max(0.08, width)
    inside = np.abs(x) <= w
    q = 1 - (x / w) ** 2
    upper = my + curve * q - 0.02 * wrinkle * q
    ink(np.where(inside, _soft(np.abs(y - upper) - 0.035, px * 2), 0))
    if mouth_open > 0.02:
        lower = upper + mouth_open * q * 1.2
        ink(np.where(inside & (y > upper) & (y < lower), 1.0, 0.0), dark * 0.6)
    # occluders: a hand-like bright bar or a dark patch over part of the face, in a fifth of images
    if rng.random() < 0.12:
        ox, oy = rng.uniform(-0.8, 0.8), rng.uniform(-0.6, 0.8)
        ow, oh = rng.uniform(0.1, 0.35), rng.uniform(0.08, 0.25)
        tone = rng.uniform(0.0, 1.0)
        m = (np.abs(u - ox) < ow) & (np.abs(v - oy) < oh)
        img = np.where(m, tone, img)
    # lighting gradient and sensor noise
    gain = 1 + rng.normal(0, 0.15) * u + rng.normal(0, 0.1) * v
    img = img * gain * rng.uniform(0.7, 1.2) + rng.normal(0, rng.uniform(0.01, 0.04), size=img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def make_split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n faces and their (possibly noisy) canonical labels, classes imbalanced as in FER2013."""
    labels = np.repeat(np.arange(len(CLASSES)), class_counts(n))
    rng.shuffle(labels)
    images = np.empty((n, SIZE, SIZE), np.uint8)
    for i, y in enumerate(labels):
        params = EXPRESSIONS[y] + rng.normal(0, 1, size=JITTER.shape) * JITTER
        images[i] = draw_face(params, rng)
    noisy = rng.random(n) < LABEL_NOISE
    labels = labels.copy()
    labels[noisy] = rng.integers(0, len(CLASSES), size=noisy.sum())
    return images, labels


def write_synthetic(out: str | Path, n_train: int = 700, n_val: int = 175, n_test: int = 350,
                    seed: int = 0) -> Path:
    """Write `out/fer2013.csv` (+ SYNTHETIC.json): deterministic for a given seed and sizes."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    to_native = canonical_to_native("fer2013")
    rows = []
    for usage, n in (("Training", n_train), ("PublicTest", n_val), ("PrivateTest", n_test)):
        images, labels = make_split(n, rng)
        rows += [(to_native[int(y)], " ".join(map(str, im.ravel())), usage) for im, y in zip(images, labels)]

    def write(p: Path) -> None:
        with open(p, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["emotion", "pixels", "Usage"])
            w.writerows(rows)

    atomic_write(out / "fer2013.csv", write)
    write_json(out / SYNTHETIC_MARKER, {
        "generator": "resemote.data.synthetic", "seed": seed,
        "n_train": n_train, "n_val": n_val, "n_test": n_test, "label_noise": LABEL_NOISE,
        "note": "synthetic cartoon faces for pipeline demonstration; not a real dataset",
    })
    return out / "fer2013.csv"
