"""ResEmoteNet (configuration C1) and the ablations C2-C6 of the paper's Table IV.

C1 is the network of the authors' released code, layer for layer: the same state_dict names and shapes
(94 entries, 80,238,599 parameters), so their weights load unchanged (after `fc4` is permuted to the
canonical class order, see `resemote.checkpoint`).

How we read Table IV (the paper gives only the removed components):
- a removed stage is skipped; the next stage takes the previous output's width as its input and keeps its
  own output width (C3's 128-channel conv reads the 3-channel image, C5's 512-input block reads 256);
- a removed conv takes its max-pool with it, because the paper applies pooling after each conv layer. So
  without convs the residual blocks see larger maps: C3 runs them on 16x16, C4 on 32x32, which makes C4
  about 8x the FLOPs of C1.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from resemote.models.util import count_parameters  # noqa: F401  (defined once, below model, baselines and zoo; importable here too)


@dataclass(frozen=True)
class Config:
    name: str
    convs: tuple[int, ...]        # output widths of the kept conv layers (of 64, 128, 256)
    se: bool                      # SE block on the 256-channel map
    blocks: tuple[int, ...]       # input widths of the kept residual blocks (of 256, 512, 1024)


CONFIGS: dict[str, Config] = {
    "C1": Config("C1", (64, 128, 256), True, (256, 512, 1024)),
    "C2": Config("C2", (64, 128, 256), False, (256, 512, 1024)),
    "C3": Config("C3", (128, 256), True, (256, 512, 1024)),
    "C4": Config("C4", (256,), True, (256, 512, 1024)),
    "C5": Config("C5", (64, 128, 256), True, (512, 1024)),
    "C6": Config("C6", (64, 128, 256), True, (1024,)),
}

# released names of the three conv stages and residual blocks, by width
_CONV_NAMES = {64: "1", 128: "2", 256: "3"}
_BLOCK_NAMES = {256: "res_block1", 512: "res_block2", 1024: "res_block3"}
_CONV_DROPOUT = {64: 0.2, 128: 0.2, 256: 0.0}


class SEBlock(nn.Module):
    """Squeeze (global average) and excitation (bottleneck MLP + sigmoid) channel gating."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.fc(torch.flatten(self.squeeze(x), 1))  # no shape unpacking: torch.fx can trace it
        return x * s[:, :, None, None]


class ResidualBlock(nn.Module):
    """Two 3x3 convs with BN and a (projected when needed) shortcut: out = relu(H(x) + shortcut(x))."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResEmoteNet(nn.Module):
    """ResEmoteNet in one of the configurations C1-C6 (see the module docstring for the reading).

    Input: (N, 3, H, W) images, normally 64 x 64 grayscale replicated to three channels and normalised with
    the ImageNet mean and std. Output: (N, num_classes) logits in the canonical class order.
    """

    def __init__(self, config: str = "C1", num_classes: int = 7):
        super().__init__()
        if config not in CONFIGS:
            raise ValueError(f"unknown configuration {config!r}: expected one of {', '.join(CONFIGS)}")
        self.config = CONFIGS[config]
        width = 3
        self.stem: list[tuple[str, float]] = []  # (suffix, dropout) of the kept conv stages, in order
        for out in self.config.convs:
            i = _CONV_NAMES[out]
            setattr(self, f"conv{i}", nn.Conv2d(width, out, 3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(out))
            self.stem.append((i, _CONV_DROPOUT[out]))
            width = out
        self.se = SEBlock(width) if self.config.se else None
        self.blocks: list[str] = []
        for block_in in self.config.blocks:
            name = _BLOCK_NAMES[block_in]
            setattr(self, name, ResidualBlock(width, block_in * 2, stride=2))
            self.blocks.append(name)
            width = block_in * 2
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc1 = nn.Linear(width, 1024)
        self.fc2 = nn.Linear(1024, 512)
        self.fc3 = nn.Linear(512, 256)
        self.fc4 = nn.Linear(256, num_classes)
        self.dropout_head = nn.Dropout(0.5)

    def without_dropout(self) -> "ResEmoteNet":
        """Turn every dropout off (the conv stages' and the head's), in place: for a recipe that must fit its
        training images quickly (the `fit` protocol); the parameters are the same either way."""
        self.stem = [(i, 0.0) for i, _ in self.stem]
        self.dropout_head.p = 0.0
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Everything before the classifier head: (N, 3, H, W) -> (N, 2048)."""
        for i, p in self.stem:
            x = F.max_pool2d(F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x))), 2)
            if p:
                x = F.dropout(x, p, self.training)
        if self.se is not None:
            x = self.se(x)
        for name in self.blocks:
            x = getattr(self, name)(x)
        return torch.flatten(self.pool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.dropout_head(F.relu(self.fc1(x)))
        x = self.dropout_head(F.relu(self.fc2(x)))
        x = self.dropout_head(F.relu(self.fc3(x)))
        return self.fc4(x)
