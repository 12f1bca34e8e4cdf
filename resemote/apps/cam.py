"""Grad-CAM maps of ResEmoteNet through torchcam (no hand-written hooks), an overlay, and a per-class figure.

Which layer. The authors' released Grad-CAM code (their `eval_gcam.py`, `gcam_img.py` and `plot_gcam.ipynb`)
hooks `conv3`: the output of the third conv, 256 channels on a 16 x 16 map for a 64 x 64 face, taken before
its BatchNorm, ReLU and max-pool. `layer="released"` gives that layer (`RELEASED_LAYER`).

Our default, `layer="auto"`, is the deepest layer whose map is still at least `MIN_CAM_SIDE` (8) cells a
side at the model's input size; for C1 at 64 x 64 that is `se`, the SE block's output (256 x 8 x 8). Why:
- Grad-CAM is most class-specific on the last layers, but deeper maps are coarser. C1's residual blocks run
  on 4 x 4, 2 x 2 and 1 x 1 maps: a CAM on `res_block3` is a single value, which min-max normalisation turns
  into a blank map, and `res_block2` can only point at quadrants. `se` is the last 8 x 8 map (8-pixel cells
  of a 64-pixel face), one pool and the SE gating beyond the authors' layer.
- Grad-CAM weighs activations that are non-negative (after a ReLU). `conv3`'s output comes before BatchNorm,
  so each channel still carries the offset BN would remove; it shifts the weighted sum before the CAM's
  ReLU and so changes which regions survive. `se` is ReLU-ed, pooled and gated: what the residual blocks see.
Any module name of the model (`res_block1`, ...) is accepted too; other configurations (C2-C6) get the same
rule, on their own map sizes, and other networks (`resemote.models`) the same rule over their top-level modules.

Maps are torchcam's Grad-CAM (channel weights = spatially averaged gradients of the class logit, weighted
sum of activations, ReLU, min-max normalised per image), upsampled bilinearly to the input size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.device_images import batch_slices, to_input

RELEASED_LAYER = "conv3"  # what the authors' Grad-CAM scripts hook
MIN_CAM_SIDE = 8          # our default layer: the deepest whose map has at least this many cells a side


@dataclass
class CamResult:
    maps: np.ndarray           # (N, H, W) float32 in [0, 1], at the input's resolution
    classes: np.ndarray        # (N,) the class index each map explains
    probabilities: np.ndarray  # (N, K) softmax of the model's output
    layer: str                 # the module the maps were taken on
    side: int                  # that module's map size (side) before upsampling


def layer_sides(model: nn.Module, size: int = 64) -> dict[str, int]:
    """Map side of each Grad-CAM candidate of a ResEmoteNet, in depth order, for size x size inputs:
    each conv (before its pool), the SE block, each residual block (stride 2, padding 1)."""
    sides: dict[str, int] = {}
    n = size
    for i, _ in model.stem:
        sides[f"conv{i}"] = n
        n //= 2
    if model.se is not None:
        sides["se"] = n
    for name in model.blocks:
        n = (n + 1) // 2
        sides[name] = n
    return sides


def child_sides(model: nn.Module, size: int = 64) -> dict[str, int]:
    """Map side of each top-level module with a 4-D output, in the order they run, from one dry forward
    pass (for networks other than ResEmoteNet, e.g. the comparison networks of `resemote.models`)."""
    sides: dict[str, int] = {}

    def record(name: str):
        def hook(_module, _inputs, output) -> None:  # must return None: a value would replace the output
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                sides.setdefault(name, int(output.shape[-1]))
        return hook

    handles = [m.register_forward_hook(record(n)) for n, m in model.named_children()]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, size, size, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    return sides


def resolve_layer(model: nn.Module, layer: str = "auto", size: int = 64) -> str:
    """'auto' (ours, see the module docstring), 'released' (conv3), or a module name of `model`."""
    modules = dict(model.named_modules())
    if layer == "auto":
        sides = layer_sides(model, size) if hasattr(model, "stem") else child_sides(model, size)
        if not sides:
            raise ResEmoteError("no layer with a spatial map in this model for Grad-CAM; name one")
        fit = [name for name, side in sides.items() if side >= MIN_CAM_SIDE]
        return fit[-1] if fit else next(iter(sides))
    name = RELEASED_LAYER if layer == "released" else layer
    if not name or name not in modules:
        choices = ", ".join(n for n in modules if n and "." not in n)
        raise ResEmoteError(f"no layer {name!r} in this model for Grad-CAM: expected auto, released or one of {choices}")
    return name


def class_index(name: str | int | None) -> int | None:
    """A class given by name (any case) or index -> its canonical index; None stays None."""
    if name is None or isinstance(name, (int, np.integer)):
        return None if name is None else int(name)
    for i, c in enumerate(CLASSES):
        if c.lower() == str(name).strip().lower():
            return i
    raise ResEmoteError(f"unknown class {name!r}: expected one of {', '.join(CLASSES)}")


def grad_cam(model: nn.Module, faces_u8: np.ndarray | torch.Tensor, class_idx: int | Sequence[int] | None = None, *,
             layer: str = "auto", batch_size: int = 64) -> CamResult:
    """Grad-CAM of each face (N, H, W uint8, as decoded for training) for `class_idx` (one class for all,
    one per face, or None: each face's predicted class), on `layer` (see `resolve_layer`)."""
    from torchcam.methods import GradCAM

    faces = torch.as_tensor(np.asarray(faces_u8, dtype=np.uint8))
    n, h, w = faces.shape
    name = resolve_layer(model, layer, h)
    dev = next(model.parameters()).device
    model.eval()
    maps, targets, probs, side = [], [], [], 0
    with GradCAM(model, target_layer=name) as extractor, torch.enable_grad():
        for s in batch_slices(n, batch_size):
            scores = model(to_input(faces[s].to(dev)))
            p = scores.detach().float().softmax(1)
            if class_idx is None:
                t = p.argmax(1).tolist()
            elif isinstance(class_idx, (int, np.integer)):
                t = [int(class_idx)] * len(p)
            else:
                t = [int(c) for c in class_idx[s]]
            cam = extractor(class_idx=t, scores=scores)[0].float()   # (B, h', w'), normalised per image
            side = cam.shape[-1]
            maps.append(F.interpolate(cam[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0].cpu())
            targets += t
            probs.append(p.cpu())
    if not maps:
        return CamResult(np.zeros((0, h, w), np.float32), np.zeros(0, np.int64), np.zeros((0, len(CLASSES))), name, 0)
    return CamResult(torch.cat(maps).clamp_(0, 1).numpy(), np.array(targets, dtype=np.int64),
                     torch.cat(probs).numpy(), name, side)


def overlay(face: Image.Image | np.ndarray, cam_map: np.ndarray, *, alpha: float = 0.45,
            colormap: str = "jet") -> Image.Image:
    """The face (PIL image or uint8 array, gray or RGB) with the map (values in [0, 1], any size) resized
    onto it and blended in as a colour map; `alpha` is the map's weight."""
    from matplotlib import colormaps

    img = face if isinstance(face, Image.Image) else Image.fromarray(np.asarray(face, dtype=np.uint8))
    img = img.convert("RGB")
    m = Image.fromarray(np.asarray(cam_map, dtype=np.float32)).resize(img.size, Image.BILINEAR)
    heat = colormaps[colormap](np.clip(np.asarray(m), 0, 1))[..., :3]
    out = (1 - alpha) * np.asarray(img, dtype=np.float32) / 255 + alpha * heat
    return Image.fromarray(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8))


def cam_grid(model: nn.Module, images_u8: np.ndarray, labels: np.ndarray, *, per_class: int = 2, seed: int = 0,
             title: str = "", layer: str = "auto"):
    """A matplotlib Figure: one row per class, `per_class` correctly predicted test faces then `per_class`
    wrongly predicted ones, each with the Grad-CAM of its predicted class (what drove the decision) and
    that class's probability; a blank cell where the class has no such face. The caller gives the title
    (and says there when the data are synthetic)."""
    import matplotlib.pyplot as plt

    from resemote.evaluation import predict
    from resemote.device_images import DeviceImages

    images_u8, labels = np.asarray(images_u8, dtype=np.uint8), np.asarray(labels, dtype=np.int64)
    dev = next(model.parameters()).device
    pred = predict(model, DeviceImages(images_u8, labels, dev))[0].argmax(1).numpy()
    rng = np.random.default_rng(seed)
    picks: list[list[int | None]] = []
    for c in range(len(CLASSES)):
        row: list[int | None] = []
        for ok in (True, False):
            idx = np.flatnonzero((labels == c) & ((pred == c) if ok else (pred != c)))
            chosen = sorted(rng.choice(idx, size=min(per_class, len(idx)), replace=False).tolist()) if len(idx) else []
            row += chosen + [None] * (per_class - len(chosen))
        picks.append(row)
    flat = sorted({i for row in picks for i in row if i is not None})
    cams = grad_cam(model, images_u8[flat], layer=layer) if flat else None
    where = {i: k for k, i in enumerate(flat)}

    cols = 2 * per_class
    fig, axes = plt.subplots(len(CLASSES), cols, figsize=(1.25 * cols + 0.9, 1.3 * len(CLASSES) + 0.7), squeeze=False)
    for r, (cls, row) in enumerate(zip(CLASSES, picks)):
        for k, i in enumerate(row):
            ax = axes[r][k]
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("correct" if k < per_class else "wrong", fontsize=8)
            if k == 0:
                ax.set_ylabel(cls, fontsize=8)
            if i is None:
                for side in ax.spines.values():
                    side.set_visible(False)
                continue
            j = where[i]
            ax.imshow(overlay(images_u8[i], cams.maps[j]))
            p = int(cams.classes[j])
            ax.set_xlabel(f"{'' if k < per_class else '→ '}{CLASSES[p]} {cams.probabilities[j, p]:.2f}", fontsize=7)
    layer_note = f"Grad-CAM on {cams.layer} ({cams.side}x{cams.side})" if cams is not None else "no faces"
    fig.suptitle(f"{title}\n{layer_note}" if title else layer_note, fontsize=9)
    fig.tight_layout()
    return fig
