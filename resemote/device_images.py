"""The input pipeline after decoding: uint8 faces resident on the device, batched by index.

The released code decodes a JPEG with PIL for every item of every epoch. Here each split is decoded once
(`resemote.data.cache`) and held as one uint8 tensor on the training device; a batch is an index gather,
a horizontal flip by mask and the normalisation, all on the device. The model sees what the released code
feeds it: grayscale replicated to three channels, normalised with the ImageNet mean and std.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


_NORM: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}


def _mean_std(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The (1, 3, 1, 1) mean and std on `device`, made once: `torch.tensor(..., device=cuda)` per batch is a
    blocking host-to-device copy, i.e. a host sync per training step."""
    if device not in _NORM:
        _NORM[device] = (torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1),
                         torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1))
    return _NORM[device]


def to_input(u8: torch.Tensor, flip: torch.Tensor | None = None) -> torch.Tensor:
    """(B, H, W) uint8 -> (B, 3, H, W) float32, flipped where `flip` is True, ImageNet-normalised."""
    x = u8.float().div_(255.0)
    if flip is not None:
        x = torch.where(flip[:, None, None], x.flip(-1), x)
    mean, std = _mean_std(x.device)
    return (x.unsqueeze(1) - mean) / std


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive batches; a final batch of one joins the one before it, because BatchNorm cannot
    normalise a single value per channel (the last residual block sees a 1 x 1 map)."""
    cuts = list(range(0, n, batch_size)) + [n]
    if len(cuts) > 2 and cuts[-1] - cuts[-2] == 1:
        del cuts[-2]
    return [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]


class DeviceImages:
    """A decoded split held on `device`: `images` (N, H, W) uint8 and `labels` (N,) int64."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, device: torch.device | str = "cpu"):
        self.images = torch.from_numpy(np.array(images, dtype=np.uint8)).to(device)  # a private copy, off the memmap
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)
        self.device = self.images.device

    def __len__(self) -> int:
        return len(self.labels)

    def batches(self, batch_size: int, *, shuffle: bool = False, flip: bool = False,
                generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (input, label) batches. Order and flips come from `generator` (a CPU generator whose state
        the training loop checkpoints), so a resumed epoch sees exactly the batches it would have seen."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        flips = torch.rand(n, generator=generator) < 0.5 if flip else None
        order = order.to(self.device)
        if flips is not None:
            flips = flips.to(self.device)
        for s in batch_slices(n, batch_size):
            idx = order[s]
            yield to_input(self.images[idx], flips[s] if flips is not None else None), self.labels[idx]
