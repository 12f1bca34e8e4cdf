"""ResEmote companion: ResEmoteNet (Roy et al., IEEE SPL 2024) reproduced on official splits.

The names a researcher reaches for first::

    import resemote
    model = resemote.ResEmoteNet(config="C3")             # C1 (the paper's network) or an ablation C2-C6
    model = resemote.create_model("resnet18")             # any name of resemote.model_names(): C1-C6, baselines
    ds = resemote.get_dataset("rafdb", "data/rafdb", "test")
    metrics = resemote.train("fer2013", "data/fer2013", "runs/mine", config="C1", epochs=3)
    model, meta = resemote.load_model("runs/mine/model")  # ours (.safetensors) or a released .pth

Importing this package imports nothing else: each name loads its module on first use, and none of
the book's or the workflow's machinery (`resemote.book.report`, `resemote.book.plan`, `resemote.book.engine`).
The modules behind `train` and `evaluate` are `resemote.training` and `resemote.evaluation`.
"""
from __future__ import annotations

import importlib

# public name -> the module that defines it; loaded on first use, so `import resemote` (and the
# command line's --help) stays fast and torch is imported only when a name needs it
_EXPORTS = {
    "CLASSES": "resemote.data.classes", "CONFIGS": "resemote.models.resemotenet", "DATASETS": "resemote.data",
    "ResEmoteNet": "resemote.models.resemotenet", "dataset_class": "resemote.data", "get_dataset": "resemote.data",
    "evaluate": "resemote.evaluation", "load_model": "resemote.checkpoint", "train": "resemote.training",
    "MODELS": "resemote.models", "create_model": "resemote.models", "model_names": "resemote.models",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'resemote' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
