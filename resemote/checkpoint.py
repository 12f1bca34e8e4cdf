"""Weights on disk, safely: safetensors plus a JSON sidecar, and nothing is ever unpickled.

Our format: `NAME.safetensors` (the state_dict) and `NAME.json` (config, classes, input size, normalisation,
provenance). The authors' released checkpoints are `.pt`/`.pth` pickles, either a bare state_dict or
`{'model_state_dict': ...}`; they are read with `torch.load(weights_only=True)` only, so a file that holds
anything but tensors and plain containers is refused instead of executed. Their output rows come in the
order happy, surprise, sad, anger, disgust, fear, neutral; importing permutes `fc4` to the canonical
(alphabetical) order.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .data.classes import CLASSES, NATIVE_TO_CANONICAL
from .errors import ResEmoteError
from .io import atomic_write, write_json
from .model import CONFIGS, ResEmoteNet
from .pipeline import IMAGENET_MEAN, IMAGENET_STD

# canonical row c of our fc4 = row RELEASED_ROWS[c] of the released fc4
RELEASED_ROWS = [next(r for r, c2 in NATIVE_TO_CANONICAL["released"].items() if c2 == c) for c in range(7)]


def sidecar(config: str, image_size: int = 64, **provenance) -> dict:
    return {
        "format": "resemote-weights/1", "config": config, "classes": list(CLASSES),
        "input": {"size": [image_size, image_size], "channels": 3, "grayscale_replicated": True,
                  "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "provenance": provenance,
    }


def save_weights(model: torch.nn.Module, path: str | Path, meta: dict) -> Path:
    """Write `path` (.safetensors) and its `.json` sidecar, each atomically."""
    path = Path(path).with_suffix(".safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(path, lambda p: save_file(state, str(p)))
    write_json(path.with_suffix(".json"), meta)
    return path


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[ResEmoteNet, dict]:
    """Load our checkpoint (.safetensors + .json) or a released one (.pt/.pth, converted in memory)."""
    path = Path(path)
    if not path.is_file():
        raise ResEmoteError(f"checkpoint {path} does not exist")
    if path.suffix in (".pt", ".pth"):
        state = released_to_canonical(read_released(path), path)
        meta = sidecar("C1", source=str(path), imported_from="released ResEmoteNet checkpoint")
    else:
        side = path.with_suffix(".json")
        if not side.is_file():
            raise ResEmoteError(f"{path}: expected its sidecar {side.name} beside it (config, classes, input)")
        meta = json.loads(side.read_text())
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise ResEmoteError(f"{path}: not a readable safetensors file ({str(e).splitlines()[0]})") from None
    config = meta.get("config")
    if config not in CONFIGS:
        raise ResEmoteError(f"{path}: sidecar names config {config!r}; expected one of {', '.join(CONFIGS)}")
    model = ResEmoteNet(config)
    _check_fits(model, state, path)
    model.load_state_dict(state)
    return model.to(device).eval(), meta


def read_released(path: Path) -> dict[str, torch.Tensor]:
    """The state_dict inside a released .pt/.pth, read without unpickling arbitrary objects."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # the weights-only unpickler met something other than tensors
        raise ResEmoteError(f"{path}: not a loadable weights-only PyTorch checkpoint (not a PyTorch "
                            f"file, or it holds objects other than tensors, which are refused unrun)") from None
    except Exception as e:  # truncated, not a PyTorch file at all, ...: the unpickler raises anything
        raise ResEmoteError(f"{path}: not a loadable weights-only PyTorch checkpoint "
                            f"({type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else 'unreadable'})"
                            ) from None
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ResEmoteError(f"{path}: expected a state_dict or {{'model_state_dict': state_dict}} of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def released_to_canonical(state: dict[str, torch.Tensor], where: Path | str = "checkpoint") -> dict:
    """Check a released state_dict fits C1 and permute fc4's rows to the canonical class order."""
    _check_fits(ResEmoteNet("C1"), state, where)
    state = dict(state)
    for k in ("fc4.weight", "fc4.bias"):
        state[k] = state[k][RELEASED_ROWS].clone()
    return state


def _check_fits(model: torch.nn.Module, state: dict[str, torch.Tensor], where) -> None:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != expected[k]]
    if missing or extra or wrong:
        name = getattr(model, "config", None)
        what = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra else
                f"{wrong[0]} has shape {tuple(state[wrong[0]].shape)}, expected {expected[wrong[0]]}")
        n = len(missing) + len(extra) + len(wrong)
        raise ResEmoteError(f"{where}: tensors do not fit ResEmoteNet {name.name if name else ''} "
                            f"({what}; {n} mismatch{'es' if n > 1 else ''} in all)")


def import_official(src: str | Path, dst: str | Path) -> Path:
    """Convert a released checkpoint into ours (safetensors + sidecar), fc4 in canonical order."""
    src = Path(src)
    if not src.is_file():
        raise ResEmoteError(f"checkpoint {src} does not exist")
    state = released_to_canonical(read_released(src), src)
    model = ResEmoteNet("C1")
    model.load_state_dict(state)
    return save_weights(model, dst, sidecar("C1", source=src.name, imported_from="released ResEmoteNet",
                                            fc4_rows_permuted_from=["happy", "surprise", "sad", "anger",
                                                                    "disgust", "fear", "neutral"]))
