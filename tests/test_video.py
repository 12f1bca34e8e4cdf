"""`resemote predict` on videos and a camera: a clip the test writes from synthetic faces (resemote.data.synthetic,
nothing committed), read back frame by frame; the per-frame CSV, the annotated video, the timeline, the summary;
--every; a camera session ended by Ctrl-C; one-line errors for a file that is not a video and an absent camera."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from resemote.cli import main
from resemote.data.classes import CLASSES
from resemote.data.synthetic import EXPRESSIONS, draw_face

cv2 = pytest.importorskip("cv2")

FPS, SIZE, FACE = 10, (320, 240), 144
# synthetic faces the Haar cascade finds (checked when chosen, and by every test below): seed -> class
SEEDS = (0, 3, 5, 1)
PER_FACE, BLANK = 3, 2    # frames per face (moving right), then frames with no face
N_FRAMES = PER_FACE * len(SEEDS) + BLANK


def _frames() -> list[np.ndarray]:
    """RGB frames: each synthetic face (upscaled 48 -> 144 px) for PER_FACE frames, moving, then blank ones."""
    out = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        face = Image.fromarray(draw_face(EXPRESSIONS[seed % len(CLASSES)], rng)).resize((FACE, FACE), Image.BICUBIC)
        for k in range(PER_FACE):
            frame = Image.new("RGB", SIZE, (120, 130, 140))
            frame.paste(face.convert("RGB"), (40 + 30 * k, 48))
            out.append(np.asarray(frame))
    out += [np.full((SIZE[1], SIZE[0], 3), (120, 130, 140), np.uint8)] * BLANK
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for f in _frames():
        w.write(np.ascontiguousarray(f[:, :, ::-1]))
    w.release()
    return path


def _read_all(path: Path) -> list[np.ndarray]:
    cap, out = cv2.VideoCapture(str(path)), []
    while True:
        ok, f = cap.read()
        if not ok:
            return out
        out.append(f)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_video_file_every_frame(tmp_path, clip, tiny_checkpoint):
    from resemote.checkpoint import load_model
    from resemote.apps.video import CSV_COLUMNS, predict_video
    model, meta = load_model(tiny_checkpoint)
    r = predict_video(clip, model, tmp_path / "out", progress=False, meta={"config": meta["config"]})
    assert (r.frames, r.analysed, r.with_faces, r.faces, r.max_faces) == (N_FRAMES, N_FRAMES, N_FRAMES - BLANK,
                                                                          N_FRAMES - BLANK, 1)
    assert r.stopped == "end of video" and r.fps == FPS
    rows = _rows(tmp_path / "out" / "clip.csv")
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == N_FRAMES         # one face per frame, or one empty row
    assert [int(x["frame"]) for x in rows] == list(range(N_FRAMES))
    assert [float(x["time_s"]) for x in rows] == pytest.approx([i / FPS for i in range(N_FRAMES)])
    for i, x in enumerate(rows):
        if i < N_FRAMES - BLANK:
            left, top, right, bottom = (int(x[k]) for k in ("left", "top", "right", "bottom"))
            pasted_left = 40 + 30 * (i % PER_FACE)                             # the face is where it was pasted
            assert pasted_left - 10 <= left < right <= pasted_left + FACE + 10 and 38 <= top < bottom <= 48 + FACE + 10
            p = np.array([float(x[c]) for c in CLASSES])
            assert x["face"] == "1" and abs(p.sum() - 1) < 2e-3 and x["top_class"] == CLASSES[int(p.argmax())]
        else:
            assert x["face"] == "" and x["left"] == "" and x["top_class"] == ""
    video = _read_all(Path(r.outputs["video"]))
    assert len(video) == N_FRAMES and video[0].shape == (SIZE[1], SIZE[0], 3)
    assert np.abs(video[0].astype(int) - _read_all(clip)[0]).mean() > 0.5    # boxes drawn on face frames
    assert Image.open(r.outputs["timeline"]).size[0] > 400
    s = json.loads(Path(r.outputs["summary"]).read_text())
    assert s["frames"] == N_FRAMES and s["faces"] == N_FRAMES - BLANK and s["every"] == 1 and s["config"] == "C6"
    assert s["classes"] == list(CLASSES) and s["detector"]["cascade"].startswith("haarcascade")


def test_cli_every_kth_frame_json(tmp_path, clip, tiny_checkpoint):
    code, out, err = run_cli("predict", str(clip), "--every", "3", "--checkpoint", str(tiny_checkpoint),
                             "--out", str(tmp_path / "o"), "--device", "cpu", "--json")
    assert code == 0, err
    (v,) = json.loads(out)["videos"]
    assert v["frames"] == N_FRAMES and v["analysed"] == len(range(0, N_FRAMES, 3))
    rows = _rows(tmp_path / "o" / "clip.csv")
    assert [int(x["frame"]) for x in rows] == list(range(0, N_FRAMES, 3))
    assert len(_read_all(tmp_path / "o" / "clip.annotated.mp4")) == N_FRAMES   # every frame written


class _Camera:
    """A camera stand-in: the clip's frames, then Ctrl-C while the sixth frame is read."""

    def __init__(self, clip: Path):
        self.cap, self.reads = cv2.VideoCapture(str(clip)), 0

    def read(self):
        self.reads += 1
        if self.reads == 6:
            raise KeyboardInterrupt
        return self.cap.read()

    def get(self, prop):
        return 0.0 if prop == cv2.CAP_PROP_FPS else self.cap.get(prop)

    def isOpened(self):
        return True

    def release(self):
        self.cap.release()


def test_camera_ctrl_c_keeps_what_was_written(tmp_path, clip, tiny_checkpoint, monkeypatch, capsys):
    import resemote.apps.video as video
    monkeypatch.setattr(video, "open_camera", lambda index: _Camera(clip))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["predict", "--camera", "0", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path),
                 "--device", "cpu"]) == 0                                   # Ctrl-C is how a session ends
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert sum("no display" in line for line in err) == 1
    (summary,) = tmp_path.glob("camera0-*.json")
    s = json.loads(summary.read_text())
    assert s["stopped"] == "interrupted (Ctrl-C)" and s["frames"] == s["analysed"] == 5 and s["faces"] == 5
    assert s["fps"] == video.CAMERA_FPS and "no display" in s["window"]
    name = summary.name[: -len(".json")]
    rows = _rows(tmp_path / f"{name}.csv")
    assert [int(x["frame"]) for x in rows] == [0, 1, 2, 3, 4] and all(x["face"] == "1" for x in rows)
    times = [float(x["time_s"]) for x in rows]
    assert times == sorted(times) and times[0] < 1                          # the camera's own clock
    assert len(_read_all(tmp_path / f"{name}.annotated.mp4")) == 5          # closed properly: readable
    assert (tmp_path / f"{name}.timeline.png").is_file()


def test_not_a_video_is_one_line(tmp_path, tiny_checkpoint):
    """In a fresh process, as a user meets it: nothing from OpenCV or FFmpeg besides our line."""
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    code, out, err = run_cli("predict", str(notes), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "o"))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and f"{notes}: not a video OpenCV can read" in lines[0], err
    assert out == "" and not (tmp_path / "o").exists()


def test_missing_video_and_absent_camera_are_one_line(tmp_path, tiny_checkpoint, capfd):
    for args, expected in (([str(tmp_path / "gone.mov")], "gone.mov: no such file"),
                           (["--camera", "7"], "camera 7: could not be opened")):
        assert main(["predict", *args, "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "o")]) == 2
        out, err = capfd.readouterr()                                   # file descriptors: OpenCV's C++ logging too
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and expected in lines[0] and out == "", err
    assert not (tmp_path / "o").exists()


def test_bad_every_is_one_line(clip, tiny_checkpoint, capsys):
    assert main(["predict", str(clip), "--every", "0", "--checkpoint", str(tiny_checkpoint)]) == 2
    assert "--every >= 1" in capsys.readouterr().err
