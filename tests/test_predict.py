"""`resemote predict`: Haar-cascade faces on real photographs (scikit-image's astronaut, built into the
tests, nothing committed), the training transform, the outputs, and the command line's error handling."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from resemote.cli import main
from resemote.data.cache import to_gray
from resemote.data.classes import CLASSES
from resemote.apps.predict import FACE_MARGIN, NO_FACE, detect_faces, face_inputs, predict_files, widen

skimage_data = pytest.importorskip("skimage.data")

# where the astronaut's face is in skimage.data.astronaut() (512 x 512), by eye: a generous box around it
ASTRONAUT_FACE = (160, 50, 290, 180)


def _inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def _centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skimage_data.astronaut())


@pytest.fixture(scope="module")
def two_faces(astronaut) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Her face (with some head around it) pasted twice, at two sizes, onto a larger plain background;
    returns the photo and where each pasted face is."""
    face = astronaut.crop((150, 30, 300, 190))                 # 150 x 160
    photo = Image.new("RGB", (900, 520), (190, 196, 204))
    small = face.resize((120, 128))
    photo.paste(face, (60, 150))
    photo.paste(small, (620, 300))
    return photo, [(60, 150, 210, 310), (620, 300, 740, 428)]


def test_astronaut_one_face_around_her_face(astronaut):
    boxes = detect_faces(np.asarray(astronaut.convert("L")))
    assert len(boxes) == 1
    left, top, right, bottom = boxes[0]
    assert _inside((left, top), ASTRONAUT_FACE) and _inside((right, bottom), ASTRONAUT_FACE)
    assert 60 <= right - left <= 130                           # a face, not the whole head and suit


def test_two_pasted_faces_two_boxes(two_faces):
    photo, pasted = two_faces
    boxes = detect_faces(np.asarray(photo.convert("L")))
    assert len(boxes) == 2
    for box, where in zip(boxes, pasted):                       # boxes come left to right
        assert _inside(_centre(box), where) and box[2] - box[0] >= 0.4 * (where[2] - where[0])


def test_blank_image_has_no_face():
    assert detect_faces(np.full((300, 400), 240, np.uint8)) == []


def test_margin_and_training_transform(two_faces):
    photo, _ = two_faces
    assert widen((100, 100, 200, 180), (900, 520), 0.1) == (90, 92, 210, 188)
    assert widen((5, 3, 105, 83), (110, 85), 0.1) == (0, 0, 110, 85)      # clamped to the photo
    crop = widen((60, 150, 210, 310), photo.size, FACE_MARGIN)
    x = face_inputs(photo, [crop], 64)
    assert x.shape == (1, 64, 64) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[0], to_gray(photo.crop(crop), 64))    # the decode cache's own step


def test_predict_files_in_process(tmp_path, two_faces, tiny_checkpoint):
    from resemote.checkpoint import load_model
    photo, _ = two_faces
    photo.save(tmp_path / "two.jpg", quality=95)
    Image.new("RGB", (300, 200), (255, 255, 255)).save(tmp_path / "blank.png")
    model, _ = load_model(tiny_checkpoint)
    results = list(predict_files([tmp_path], model, batch_size=1, out=tmp_path / "out", cam=True,
                                 cam_class="Sad", progress=False))
    by_name = {Path(r.path).name: r for r in results}
    assert [Path(r.path).name for r in results] == ["blank.png", "two.jpg"]   # sorted; out/ left out
    assert by_name["blank.png"].faces == [] and by_name["blank.png"].as_dict()["message"] == NO_FACE
    faces = by_name["two.jpg"].faces
    assert len(faces) == 2 and all(f.cam_class == "Sad" and Path(f.cam).is_file() for f in faces)
    assert Image.open(by_name["two.jpg"].annotated).size == photo.size


def test_cli_json_blank_and_corrupt(tmp_path, two_faces, tiny_checkpoint):
    photo, pasted = two_faces
    photo.save(tmp_path / "two.png")
    Image.new("RGB", (320, 240), (30, 30, 30)).save(tmp_path / "blank.png")
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("predict", str(tmp_path / "two.png"), str(tmp_path / "corrupt.jpg"),
                                   str(tmp_path / "blank.png"), "--checkpoint", str(tiny_checkpoint), "--json",
                                   "--out", str(out), "--cam", "--device", "cpu")
    assert code == 1                                              # a file failed; the others were done
    assert "Traceback" not in stderr
    err = [line for line in stderr.splitlines() if line.strip()]
    assert len(err) == 1 and "corrupt.jpg" in err[0] and "unreadable image" in err[0]
    d = json.loads(stdout)
    assert d["classes"] == list(CLASSES) and d["failed"] == 1 and d["faces"] == 2 and d["margin"] == FACE_MARGIN
    two, bad, blank = d["images"]
    assert bad["path"].endswith("corrupt.jpg") and "unreadable image" in bad["error"]
    assert blank["faces"] == [] and blank["message"] == NO_FACE
    assert len(two["faces"]) == 2
    for f, where in zip(two["faces"], pasted):
        assert len(f["box"]) == 4 and _inside(_centre(f["box"]), where)
        assert list(f["probabilities"]) == list(CLASSES) and abs(sum(f["probabilities"].values()) - 1) < 1e-3
        assert f["top"] == max(f["probabilities"], key=f["probabilities"].get)
        assert Path(f["cam"]).is_file() and f["cam_class"] == f["top"]
    assert (out / "two.png").is_file() and (out / "blank.png").is_file() and not (out / "corrupt.jpg").exists()


def test_cli_text_folder_and_user_errors(tmp_path, two_faces, tiny_checkpoint, capsys):
    photo, _ = two_faces
    (tmp_path / "in" / "sub").mkdir(parents=True)
    photo.save(tmp_path / "in" / "sub" / "two.png")
    Image.new("L", (200, 200), 128).save(tmp_path / "in" / "grey.bmp")
    (tmp_path / "in" / "notes.txt").write_text("not an image, not looked at")
    assert main(["predict", str(tmp_path / "in"), "--checkpoint", str(tiny_checkpoint), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert f"grey.bmp: {NO_FACE}" in text and "two.png: 2 faces" in text and "notes.txt" not in text
    # errors the user can fix: one line, exit status 2
    assert main(["predict", str(tmp_path / "in"), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "o"),
                 "--cam-class", "Contempt"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown class 'Contempt'" in err and len(err.splitlines()) == 1
    assert main(["predict", str(tmp_path / "in"), "--checkpoint", str(tiny_checkpoint), "--cam"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "in"), "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
