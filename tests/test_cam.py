"""Grad-CAM through torchcam: where it points on a model built to look at one quadrant, the layer choice,
the overlay and the per-class figure."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import quick_model
from torch import nn

from resemote.apps.cam import RELEASED_LAYER, cam_grid, class_index, grad_cam, layer_sides, overlay, resolve_layer
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.models.resemotenet import ResEmoteNet
from resemote.device_images import to_input

matplotlib.use("Agg")


class Masked(nn.Module):
    """ReLU(conv) with every cell outside one quadrant zeroed: nothing there reaches the output."""

    def __init__(self, rows: slice, cols: slice):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, stride=4)  # 64 x 64 -> 16 x 16, each cell sees its own 4 x 4 patch
        mask = torch.zeros(16, 16)
        mask[rows, cols] = 1
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.relu(self.conv(x)) * self.mask


class QuadrantNet(nn.Module):
    def __init__(self, rows: slice, cols: slice):
        super().__init__()
        self.features = Masked(rows, cols)
        self.fc = nn.Linear(8, len(CLASSES))
        with torch.no_grad():
            self.fc.weight.abs_()  # every class grows with every channel: its CAM is positive where features are

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


def _reference(model: QuadrantNet, faces: np.ndarray, c: int) -> np.ndarray:
    """Grad-CAM written out with autograd, independently of the library."""
    x = to_input(torch.from_numpy(faces))
    a = model.features(x)
    score = model.fc(a.mean((2, 3)))[:, c].sum()
    g, = torch.autograd.grad(score, a)
    cam = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1))
    cam = cam - cam.flatten(1).min(1).values[:, None, None]
    cam = cam / (cam.flatten(1).max(1).values[:, None, None] + 1e-8)
    return F.interpolate(cam[:, None], size=(64, 64), mode="bilinear", align_corners=False)[:, 0].detach().numpy()


@pytest.mark.parametrize("quadrant", [(slice(0, 8), slice(0, 8)), (slice(8, 16), slice(8, 16)),
                                      (slice(0, 8), slice(8, 16))])
def test_cam_peaks_in_the_only_region_the_model_sees(quadrant):
    torch.manual_seed(0)
    model = QuadrantNet(*quadrant).eval()
    faces = np.random.default_rng(1).integers(0, 256, (3, 64, 64), dtype=np.uint8)
    r = grad_cam(model, faces, 2, layer="features")
    assert r.maps.shape == (3, 64, 64) and r.side == 16 and r.layer == "features" and list(r.classes) == [2, 2, 2]
    rows = slice(quadrant[0].start * 4, quadrant[0].stop * 4)
    cols = slice(quadrant[1].start * 4, quadrant[1].stop * 4)
    inside = np.zeros((64, 64), bool)
    inside[rows, cols] = True
    core = np.zeros((64, 64), bool)          # away from the bilinear seam at the quadrant's edge
    core[rows.start + 4:rows.stop - 4, cols.start + 4:cols.stop - 4] = True
    for m in r.maps:
        peak = np.unravel_index(m.argmax(), m.shape)
        assert inside[peak]
        assert m[core].mean() > 0.3 and m[~inside].mean() < 0.05 * m[core].mean() + 0.02
    np.testing.assert_allclose(r.maps, _reference(model, faces, 2), atol=1e-5)


def test_predicted_class_by_default_and_per_face_classes():
    torch.manual_seed(0)
    model = QuadrantNet(slice(0, 8), slice(0, 8)).eval()
    faces = np.random.default_rng(2).integers(0, 256, (4, 64, 64), dtype=np.uint8)
    r = grad_cam(model, faces, layer="features", batch_size=3)
    with torch.no_grad():
        pred = model(to_input(torch.from_numpy(faces))).argmax(1).numpy()
    assert list(r.classes) == list(pred) and np.allclose(r.probabilities.sum(1), 1)
    r = grad_cam(model, faces, [0, 1, 5, 6], layer="features")
    assert list(r.classes) == [0, 1, 5, 6]
    assert resolve_layer(model, "auto") == "features"     # another network: its deepest map of >= 8 x 8


def test_layer_choice_on_resemotenet():
    with torch.device("meta"):  # structure only: no 80M-parameter initialisation
        c1, c2, c4 = ResEmoteNet("C1"), ResEmoteNet("C2"), ResEmoteNet("C4")
    assert layer_sides(c1, 64) == {"conv1": 64, "conv2": 32, "conv3": 16, "se": 8, "res_block1": 4,
                                   "res_block2": 2, "res_block3": 1}
    assert resolve_layer(c1, "auto") == "se" and resolve_layer(c1, "released") == RELEASED_LAYER == "conv3"
    assert resolve_layer(c2, "auto") == "conv3"            # no SE block
    assert resolve_layer(c4, "auto") == "res_block2"       # residual blocks on larger maps
    with pytest.raises(ResEmoteError, match="no layer 'fc9'"):
        resolve_layer(c1, "fc9")
    assert class_index("happy") == 3 and class_index(None) is None
    with pytest.raises(ResEmoteError, match="unknown class"):
        class_index("Contempt")


def _quick_c1() -> ResEmoteNet:
    return quick_model("C1")


def test_released_and_last_layers_on_c1():
    model = _quick_c1()
    faces = np.random.default_rng(3).integers(0, 256, (1, 64, 64), dtype=np.uint8)
    r = grad_cam(model, faces, layer="released")
    assert r.layer == "conv3" and r.side == 16 and r.maps.shape == (1, 64, 64) and 0 < r.maps.max() <= 1
    r = grad_cam(model, faces, layer="res_block3")
    assert r.side == 1 and not r.maps.any()          # one value per face: nothing to localise


def test_overlay_sizes_and_colours():
    face = np.full((40, 30), 128, np.uint8)
    cam = np.zeros((8, 8), np.float32)
    cam[:4] = 1
    img = overlay(face, cam, alpha=0.5)
    a = np.asarray(img).astype(int)
    assert img.mode == "RGB" and img.size == (30, 40)
    assert a[2, 15, 0] > a[2, 15, 2] and a[37, 15, 2] > a[37, 15, 0]   # jet: hot is red, cold is blue


def test_cam_grid_correct_and_wrong_side_by_side():
    import matplotlib.pyplot as plt
    from resemote.evaluation import predict
    from resemote.device_images import DeviceImages
    torch.manual_seed(0)
    model = QuadrantNet(slice(0, 8), slice(0, 16)).eval()
    images = np.random.default_rng(4).integers(0, 256, (28, 64, 64), dtype=np.uint8)
    pred = predict(model, DeviceImages(images, np.zeros(28)))[0].argmax(1).numpy()
    # a third labelled as predicted, the rest as some other class: rows with both, one or neither
    i = np.arange(28)
    labels = np.where(i % 3 == 0, pred, (pred + 1 + i % 6) % 7)
    fig = cam_grid(model, images, labels, per_class=2, seed=0, title="synthetic test", layer="features")
    axes = np.array(fig.axes).reshape(7, 4)
    for c in range(7):
        n_ok = min(2, int(((labels == c) & (pred == c)).sum()))
        n_bad = min(2, int(((labels == c) & (pred != c)).sum()))
        shown = [bool(ax.images) for ax in axes[c]]
        assert shown == [True] * n_ok + [False] * (2 - n_ok) + [True] * n_bad + [False] * (2 - n_bad)
    assert fig._suptitle.get_text().startswith("synthetic test") and "features (16x16)" in fig._suptitle.get_text()
    plt.close(fig)
