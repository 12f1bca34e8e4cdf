"""Weights on disk, safely: safetensors plus a JSON sidecar, and nothing is ever unpickled.

Our format: `NAME.safetensors` (the state_dict) and `NAME.json` (config - a `resemote.models` model name -,
classes, input size, normalisation, provenance); `NAME` alone, or a run directory, names the pair too.
The authors' released checkpoints are `.pt`/`.pth` pickles, either a bare state_dict or
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

from resemote.data.classes import CLASSES, NATIVE_TO_CANONICAL
from resemote.errors import ResEmoteError
from resemote.io import atomic_write, write_json
from resemote.models.resemotenet import ResEmoteNet
from resemote.device_images import IMAGENET_MEAN, IMAGENET_STD
from resemote.models import MODELS, create_model, get_spec

# canonical row c of our fc4 = row RELEASED_ROWS[c] of the released fc4
RELEASED_ROWS = [next(r for r, c2 in NATIVE_TO_CANONICAL["released"].items() if c2 == c) for c in range(7)]


def sidecar(config: str, image_size: int = 64, **provenance) -> dict:
    return {
        "format": "resemote-weights/1", "config": config, "classes": list(CLASSES),
        "input": {"size": [image_size, image_size], "channels": 3, "grayscale_replicated": True,
                  "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "provenance": provenance,
    }


def weights_path(path: str | Path) -> Path:
    """The .safetensors file that `path` names: itself, or `path` + ".safetensors" when it has another
    suffix or none (`weights/x` and `weights/x.v2` are stems, never truncated)."""
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_name(path.name + ".safetensors")


def resolve_checkpoint(path: str | Path) -> Path:
    """The checkpoint file a user means by `path`: the file itself (ours or a released .pt/.pth), or the
    .safetensors that `save_weights` / `import-official --out` wrote for that same path (a stem), the
    weights beside a .json sidecar, or a run directory's model.safetensors. Nothing there: a one-line
    error naming what was looked for."""
    path = Path(path)
    if path.is_file() and path.suffix != ".json":
        return path
    candidates = [path / "model.safetensors"] if path.is_dir() else [weights_path(path)]  # a run directory
    if path.suffix:  # x.json (a sidecar), or a stem whose suffix an older save replaced
        candidates.append(path.with_suffix(".safetensors"))
    for c in candidates:
        if c.is_file():
            return c
    looked = [str(c) for c in dict.fromkeys(candidates) if c != path]
    raise ResEmoteError(f"checkpoint {path} does not exist" + (f" (nor {' or '.join(looked)})" if looked else ""))


def save_weights(model: torch.nn.Module | dict[str, torch.Tensor], path: str | Path, meta: dict) -> Path:
    """Write `weights_path(path)` (.safetensors) and its `.json` sidecar, each atomically. `model` is a
    model or its state_dict (e.g. a CPU snapshot taken while training goes on)."""
    path = weights_path(path)
    sd = model if isinstance(model, dict) else model.state_dict()
    state = {k: v.detach().cpu().contiguous() for k, v in sd.items()}
    atomic_write(path, lambda p: save_file(state, str(p)))
    write_json(path.with_suffix(".json"), meta)
    return path


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Load our checkpoint (.safetensors + .json, given as either file or as the stem it was saved under;
    any model of `resemote.models`, named by the sidecar's `config`) or a released ResEmoteNet one (.pt/.pth,
    converted in memory). Returns the model in eval mode on `device`, and the sidecar."""
    path = resolve_checkpoint(path)
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
    if config not in MODELS:
        raise ResEmoteError(f"{path}: sidecar names config {config!r}; expected one of {', '.join(MODELS)}")
    model = create_model(config)
    _check_fits(model, state, path, get_spec(config).title)
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
    _check_fits(ResEmoteNet("C1"), state, where, "ResEmoteNet C1")
    state = dict(state)
    for k in ("fc4.weight", "fc4.bias"):
        state[k] = state[k][RELEASED_ROWS].clone()
    return state


def _check_fits(model: torch.nn.Module, state: dict[str, torch.Tensor], where, title: str) -> None:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != expected[k]]
    if missing or extra or wrong:
        what = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra else
                f"{wrong[0]} has shape {tuple(state[wrong[0]].shape)}, expected {expected[wrong[0]]}")
        n = len(missing) + len(extra) + len(wrong)
        raise ResEmoteError(f"{where}: tensors do not fit {title} "
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
