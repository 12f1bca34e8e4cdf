"""Small helpers with no project imports, so that every module (model, baselines, zoo) can use them without
importing one another."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def count_parameters(model: "nn.Module") -> int:
    """Learnable and non-learnable parameters (not buffers), each shared module counted once."""
    return sum(p.numel() for p in model.parameters())
