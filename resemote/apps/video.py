"""The emotion of every face in a video file or a camera, frame by frame.

Each analysed frame takes exactly the photo path of `resemote.apps.predict`: the frame (OpenCV's BGR turned to
RGB) becomes a PIL image, faces are found by the same Haar cascade on PIL's grayscale, widened by the same
margin, decoded by `to_gray` and classified by `classify`. With `every=k` only frames 0, k, 2k, ... are
analysed; the frames in between are written to the annotated video with the last analysed boxes held.

For a source named NAME (a file's stem, or `camera<i>-<date>-<time>`), `out` receives:
- `NAME.csv`: one row per face of every analysed frame (a frame without a face: one row with the box and
  probabilities empty): frame, time (seconds; a file's frame index over its frame rate, a camera's clock
  since its first frame), face index, box (left, top, right, bottom), the seven probabilities, top class.
  Rows are flushed as they are made, so an interrupted session keeps every frame analysed until then;
- `NAME.annotated.mp4` (MPEG-4 part 2; `.avi` with Motion JPEG where that cannot be written): every frame,
  boxes and top class drawn as on photos;
- `NAME.timeline.png`: the seven probabilities over time, of the largest face in each analysed frame;
- `NAME.json`: what was read and analysed, how the session ended, the settings and the wall time.

Ctrl-C ends a session cleanly: the video is closed, the plot and summary written, nothing lost.
"""
from __future__ import annotations

import csv
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.io import write_json
from resemote.apps.predict import (CASCADE, FACE_MARGIN, MIN_FACE, MIN_NEIGHBORS, SCALE_FACTOR, Face, annotate,
                                   classify, detect_faces, face_inputs, widen)

CSV_COLUMNS = ["frame", "time_s", "face", "left", "top", "right", "bottom", *CLASSES, "top_class"]
CAMERA_FPS = 30.0  # the annotated camera video's rate when the camera reports none


def _cv2():
    try:
        import cv2
    except ImportError:
        raise ResEmoteError("video needs OpenCV 4: pip install 'opencv-python-headless<5'") from None
    # OpenCV and FFmpeg print their own warnings for files they cannot open and absent cameras; the error
    # is ours to report, in one line
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


def open_video(path: str | Path):
    """An opened cv2.VideoCapture of a video file that yields at least one frame, else one ResEmoteError line."""
    cv2 = _cv2()
    p = Path(path)
    if not p.is_file():
        raise ResEmoteError(f"{p}: no such file" if not p.exists() else f"{p}: not a file (expected a video file)")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise ResEmoteError(f"{p}: not a video OpenCV can read (expected a video file such as .mp4, .avi, .mov, "
                            f".mkv, .webm; photos by their image suffix)")
    if cap.get(cv2.CAP_PROP_FRAME_COUNT) == 0:
        cap.release()
        raise ResEmoteError(f"{p}: a video without frames (expected at least one)")
    return cap


def open_camera(index: int):
    """An opened cv2.VideoCapture of camera `index`, else one ResEmoteError line."""
    cv2 = _cv2()
    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise ResEmoteError(f"camera {index}: could not be opened (expected a connected camera that OpenCV can open "
                            f"by this index, not in use by another program)")
    return cap


def has_display() -> bool:
    """Whether a window could appear: on Linux and the BSDs an X11 or Wayland display, elsewhere always."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class Window:
    """A live view of the annotated frames: OpenCV's window where OpenCV has a GUI, else matplotlib's where an
    interactive backend loads, else none, with `message` saying why (one line). `show` returns False once
    the user closed the window or pressed q or Esc."""

    def __init__(self, title: str):
        self.title, self.kind, self.message, self._img = title, None, None, None
        if not has_display():
            self.message = "no display (DISPLAY/WAYLAND_DISPLAY unset): no window; files are written as frames arrive"
            return
        cv2 = _cv2()
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
            self.kind = "opencv"
            return
        except cv2.error:  # opencv-python-headless: built without any GUI
            pass
        try:
            import matplotlib
            import matplotlib.pyplot as plt
            if matplotlib.get_backend().lower() in ("agg", "pdf", "ps", "svg", "cairo", "template"):
                raise RuntimeError(matplotlib.get_backend())
            self._fig = plt.figure(title)
            self._ax = self._fig.add_axes((0, 0, 1, 1))
            self._ax.axis("off")
            plt.show(block=False)
            self.kind = "matplotlib"
        except Exception as e:  # no interactive backend (no tkinter, no Qt): say so, go on without
            self.message = (f"no window: OpenCV here has no GUI (opencv-python-headless) and matplotlib no "
                            f"interactive backend ({type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}); "
                            f"files are written as frames arrive")

    def show(self, rgb: np.ndarray) -> bool:
        if self.kind == "opencv":
            cv2 = _cv2()
            cv2.imshow(self.title, rgb[:, :, ::-1])
            key = cv2.waitKey(1) & 0xFF
            return key not in (ord("q"), 27) and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        if self.kind == "matplotlib":
            import matplotlib.pyplot as plt
            if not plt.fignum_exists(self._fig.number):
                return False
            if self._img is None:
                self._img = self._ax.imshow(rgb)
            else:
                self._img.set_data(rgb)
            plt.pause(0.001)
        return True

    def close(self) -> None:
        if self.kind == "opencv":
            _cv2().destroyWindow(self.title)
        elif self.kind == "matplotlib":
            import matplotlib.pyplot as plt
            plt.close(self._fig)
        self.kind = None


@dataclass
class VideoResult:
    source: str
    name: str
    fps: float
    camera: bool = False
    frames: int = 0              # read and written to the annotated video
    analysed: int = 0            # classified (every k-th)
    with_faces: int = 0          # analysed frames with at least one face
    faces: int = 0               # faces over all analysed frames
    max_faces: int = 0           # most faces in one frame
    stopped: str = "end of video"
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    window: str | None = None    # the one-line note when a camera session shows no window

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if v is not None}
        d["ms_per_frame"] = round(1000 * self.seconds / self.frames, 1) if self.frames else None
        d["ms_per_analysed_frame"] = round(1000 * self.seconds / self.analysed, 1) if self.analysed else None
        return d


def _writer(out: Path, name: str, fps: float, size: tuple[int, int]):
    """MPEG-4 part 2 in .mp4 (FFmpeg's own encoder, in every opencv-python wheel), else Motion JPEG in .avi."""
    cv2 = _cv2()
    for suffix, codec in ((".mp4", "mp4v"), (".avi", "MJPG")):
        path = out / f"{name}.annotated{suffix}"
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
        if w.isOpened():
            return w, path
        path.unlink(missing_ok=True)
    raise ResEmoteError(f"{out}: OpenCV could not write a video there (tried mp4v .mp4 and MJPG .avi)")


def plot_timeline(rows: list[tuple[float, np.ndarray | None]], title: str):
    """A matplotlib Figure: each class's probability over time (gaps where no face was found)."""
    from matplotlib.figure import Figure  # no pyplot: no backend, usable in any thread or process
    t = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] if r[1] is not None else np.full(len(CLASSES), np.nan) for r in rows], dtype=float)
    p = p.reshape(len(rows), len(CLASSES))
    fig = Figure(figsize=(9, 3.4))
    ax = fig.add_subplot()
    for k, c in enumerate(CLASSES):
        ax.plot(t, p[:, k], "-" if len(t) > 1 else "o", label=c, lw=1.4)
    ax.set(xlabel="time (s)", ylabel="probability", ylim=(0, 1), title=title)
    if len(t) and np.isnan(p).all():
        ax.text(0.5, 0.5, "no face found", transform=ax.transAxes, ha="center", va="center")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def predict_stream(cap, model: torch.nn.Module, out: str | Path, name: str, *, size: int = 64, every: int = 1,
                   margin: float = FACE_MARGIN, camera: bool = False, show: bool = False, max_frames: int | None = None,
                   progress: bool | None = None, source: str = "", meta: dict | None = None,
                   on_window: Callable[[str], None] | None = None) -> VideoResult:
    """Read `cap` (an opened cv2.VideoCapture) to its end, `max_frames`, Ctrl-C or a closed window, and write
    NAME.csv, NAME.annotated.mp4, NAME.timeline.png and NAME.json into `out` (see the module's docstring).
    `show`: a live window (camera sessions); its one-line note, when there is none, goes to `on_window`.
    `meta`: added to NAME.json (the checkpoint, its configuration)."""
    cv2 = _cv2()
    try:
        check_settings(every, margin)
    except ResEmoteError:
        cap.release()
        raise
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0)
    fps = fps if 0 < fps < 1000 else (CAMERA_FPS if camera else 0.0)
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    total = int(count) if not camera and 0 < count < 1e9 else None
    if max_frames is not None:
        total = min(total, max_frames) if total is not None else max_frames
    res = VideoResult(source or name, name, fps, camera)
    window = Window(f"resemote: {name} (q or Esc stops)") if show else None
    if window is not None and window.message:
        res.window = window.message
        if on_window:
            on_window(window.message)
    csv_path, timeline = out / f"{name}.csv", []
    writer = video_path = None
    held: list[Face] = []
    start = time.monotonic()
    bar = tqdm(total=total, desc=name, unit="frame", disable=None if progress is None else not progress)
    f = open(csv_path, "w", newline="")
    try:
        rows = csv.writer(f)
        rows.writerow(CSV_COLUMNS)
        try:
            while max_frames is None or res.frames < max_frames:
                ok, frame = cap.read()
                if not ok or frame is None:
                    res.stopped = "camera gave no frame" if camera else "end of video"
                    break
                i = res.frames
                t = time.monotonic() - start if camera else (i / fps if fps else cap.get(cv2.CAP_PROP_POS_MSEC) / 1000)
                img = Image.fromarray(np.ascontiguousarray(frame[:, :, ::-1]))  # BGR -> RGB, as photos are read
                if i % every == 0:
                    held = _faces(img, model, size, margin)
                    _write_rows(rows, i, t, held)
                    f.flush()
                    res.analysed += 1
                    res.with_faces += bool(held)
                    res.faces += len(held)
                    res.max_faces = max(res.max_faces, len(held))
                    big = max(held, key=lambda fc: (fc.box[2] - fc.box[0]) * (fc.box[3] - fc.box[1]), default=None)
                    timeline.append((t, np.array([big.probabilities[c] for c in CLASSES]) if big else None))
                shown = np.asarray(annotate(img, held)) if held else np.asarray(img)
                if writer is None:
                    writer, video_path = _writer(out, name, fps or CAMERA_FPS, img.size)
                writer.write(np.ascontiguousarray(shown[:, :, ::-1]))
                res.frames += 1
                bar.update(1)
                if window is not None and not window.show(shown):
                    res.stopped = "window closed"
                    break
            else:
                res.stopped = f"{max_frames} frames read (--frames)"
        except KeyboardInterrupt:  # the way a camera session ends; what was written is kept
            res.stopped = "interrupted (Ctrl-C)"
    finally:
        res.seconds = round(time.monotonic() - start, 3)
        bar.close()
        f.close()
        cap.release()
        if writer is not None:
            writer.release()
        if window is not None:
            window.close()
    res.outputs["csv"] = str(csv_path)
    if video_path is not None:
        res.outputs["video"] = str(video_path)
    config = (meta or {}).get("config")
    fig = plot_timeline(timeline, f"{name}: largest face per analysed frame" + (f" ({config})" if config else ""))
    fig.savefig(out / f"{name}.timeline.png", dpi=110)
    res.outputs["timeline"] = str(out / f"{name}.timeline.png")
    res.outputs["summary"] = str(out / f"{name}.json")
    write_json(out / f"{name}.json", {**res.as_dict(), "every": every, **(meta or {}), "classes": list(CLASSES),
                                      "detector": {"cascade": CASCADE, "scale_factor": SCALE_FACTOR,
                                                   "min_neighbors": MIN_NEIGHBORS, "min_size": MIN_FACE},
                                      "margin": margin, "input_size": size, "csv_columns": CSV_COLUMNS})
    return res


def check_settings(every: int = 1, margin: float = FACE_MARGIN) -> None:
    if every < 1:
        raise ResEmoteError(f"expected --every >= 1 (analyse every k-th frame), got {every}")
    if not 0 <= margin <= 1:
        raise ResEmoteError(f"expected a face margin between 0 and 1, got {margin}")


def predict_video(path: str | Path, model: torch.nn.Module, out: str | Path, **kw) -> VideoResult:
    """`predict_stream` over a video file; outputs named after its stem."""
    cap = open_video(path)
    return predict_stream(cap, model, out, Path(path).stem, source=str(path), **kw)


def predict_camera(index: int, model: torch.nn.Module, out: str | Path, cap=None, **kw) -> VideoResult:
    """`predict_stream` over camera `index` (or `cap`, that camera already opened) until Ctrl-C (or q / Esc /
    closing the window, or `max_frames`); outputs named camera<index>-<date>-<time>."""
    cap = cap if cap is not None else open_camera(index)
    name = f"camera{index}-{time.strftime('%Y%m%d-%H%M%S')}"
    return predict_stream(cap, model, out, name, camera=True, source=f"camera {index}", **kw)


def format_video(r: VideoResult) -> str:
    """One line per session, then where its files are."""
    analysed = f"{r.analysed} analysed" if r.analysed != r.frames else "all analysed"
    lines = [f"{r.source}: {r.frames} frames ({analysed}), faces in {r.with_faces} of {r.analysed}"
             f" ({r.faces} faces, at most {r.max_faces} in a frame); {r.stopped}; "
             f"{1000 * r.seconds / max(r.frames, 1):.0f} ms per frame"]
    lines += [f"  {k}: {v}" for k, v in r.outputs.items()]
    return "\n".join(lines)


def _faces(img: Image.Image, model: torch.nn.Module, size: int, margin: float) -> list[Face]:
    """The photo path of `resemote.apps.predict`, on one frame."""
    boxes = detect_faces(np.asarray(img.convert("L")))
    crops = [widen(b, img.size, margin) for b in boxes]
    probs = classify(model, face_inputs(img, crops, size))
    return [Face(b, c, {k: round(float(v), 4) for k, v in zip(CLASSES, p)}, CLASSES[int(p.argmax())])
            for b, c, p in zip(boxes, crops, probs)]


def _write_rows(rows, i: int, t: float, faces: list[Face]) -> None:
    if not faces:
        rows.writerow([i, f"{t:.3f}", "", "", "", "", "", *[""] * len(CLASSES), ""])
    for k, fc in enumerate(faces, 1):
        rows.writerow([i, f"{t:.3f}", k, *fc.box, *(fc.probabilities[c] for c in CLASSES), fc.top])
