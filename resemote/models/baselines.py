"""The released repository's comparison networks, rebuilt from facts about them
(the authors' repository, github.com/ArnabKumarRoy02/ResEmoteNet); none of its code is copied.

None of the authors' code is copied: each network is written here from the description of its layers.
All take (N, 3, 64, 64) inputs prepared exactly like ResEmoteNet's (grayscale replicated to three channels,
ImageNet mean and std; `resemote.device_images`) and return (N, num_classes) logits in the canonical class order.
They are randomly initialised (PyTorch's or torchvision's default initialisation; no pretrained weights).

Where the facts leave a detail open we take PyTorch's default and say so: the plain convs and linears carry
a bias (nn.Conv2d / nn.Linear defaults), and ReLU follows every BatchNorm. Build them by name through
`resemote.models.create_model` ("resnet18", "resnet34", "vgg", "cnn", "cnn-se").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from resemote.models.resemotenet import SEBlock


def resnet(depth: int = 18, num_classes: int = 7) -> nn.Module:
    """torchvision's BasicBlock ResNet-18 / -34, randomly initialised, with the released repository's stem
    for 64 x 64 inputs: the 7 x 7 stride-2 conv (padding 3), BN and ReLU are kept, the stem max-pool is
    replaced by an Identity. So the four stages run on 32, 16, 8 and 4 pixel maps (instead of 16 .. 2),
    and the parameters are exactly torchvision's `resnet18(num_classes=7)` (a max-pool has none)."""
    from torchvision.models import resnet18, resnet34
    builders = {18: resnet18, 34: resnet34}
    if depth not in builders:
        raise ValueError(f"expected depth 18 or 34, got {depth}")
    model = builders[depth](weights=None, num_classes=num_classes)
    model.maxpool = nn.Identity()
    return model


class VGGStyle(nn.Module):
    """Six 3 x 3 convs (padding 1) in three pairs of widths 64, 128, 256; one BatchNorm module per pair,
    applied after both of its convs (the released code shares it, so both convs normalise with the same
    affine parameters and running statistics); dropout 0.2 after the first conv of a pair; 2 x 2 max-pool
    after each pair. Classifier 256 * 8 * 8 = 16384 -> 4096 -> 1024 -> classes with ReLU and dropout 0.5,
    so the network accepts 64 x 64 inputs only, as released."""

    def __init__(self, num_classes: int = 7):
        super().__init__()
        widths = ((3, 64), (64, 128), (128, 256))
        for i, (cin, c) in enumerate(widths, 1):
            setattr(self, f"conv{2 * i - 1}", nn.Conv2d(cin, c, 3, padding=1))
            setattr(self, f"conv{2 * i}", nn.Conv2d(c, c, 3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(c))
        self.fc1 = nn.Linear(256 * 8 * 8, 4096)
        self.fc2 = nn.Linear(4096, 1024)
        self.fc3 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in (1, 2, 3):
            bn = getattr(self, f"bn{i}")
            x = F.dropout(F.relu(bn(getattr(self, f"conv{2 * i - 1}")(x))), 0.2, self.training)
            x = F.max_pool2d(F.relu(bn(getattr(self, f"conv{2 * i}")(x))), 2)
        x = torch.flatten(x, 1)
        x = F.dropout(F.relu(self.fc1(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc2(x)), 0.5, self.training)
        return self.fc3(x)


class PlainCNN(nn.Module):
    """The released "baseline": five 3 x 3 convs (padding 1) of widths 64 .. 1024, each followed by BN, ReLU,
    2 x 2 max-pool and dropout 0.2; global average pool; fully connected 1024 -> 2048 -> 1024 -> 512 ->
    classes with ReLU and dropout 0.5 between them.

    With `se=True`, the released "baseline + SE": no dropout after the fifth conv, an SE block (reduction 16,
    bias-free linears: `resemote.models.resemotenet.SEBlock`, the one ResEmoteNet uses) on the fifth conv's map, and the
    head 1024 -> 1024 -> 2048 -> 512 -> classes. As released that network cannot run: its SE block and fc1
    are declared for 512 channels while the fifth conv gives 1024. Our fix keeps the conv trunk and widens
    the two layers that read it: SE on 1024 channels (hidden width 64, the same reduction 16) and fc1
    1024 -> 1024, the rest of the released head unchanged. Why this fix rather than a 512-wide fifth conv:
    the trunk then equals the plain baseline's, so "baseline" against "baseline + SE" differs only by the SE
    block and the head, which is the comparison the pair of networks exists for.
    """

    WIDTHS = (64, 128, 256, 512, 1024)

    def __init__(self, num_classes: int = 7, se: bool = False):
        super().__init__()
        cin = 3
        for i, c in enumerate(self.WIDTHS, 1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, c, 3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(c))
            cin = c
        self.se = SEBlock(cin) if se else None
        head = (1024, 1024, 2048, 512) if se else (1024, 2048, 1024, 512)
        for k, (a, b) in enumerate(zip(head, head[1:] + (num_classes,)), 1):
            setattr(self, f"fc{k}", nn.Linear(a, b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.WIDTHS)
        for i in range(1, last + 1):
            x = F.max_pool2d(F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x))), 2)
            if not (self.se is not None and i == last):  # baseline + SE: no dropout after the fifth conv
                x = F.dropout(x, 0.2, self.training)
        if self.se is not None:
            x = self.se(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        for k in (1, 2, 3):
            x = F.dropout(F.relu(getattr(self, f"fc{k}")(x)), 0.5, self.training)
        return self.fc4(x)
