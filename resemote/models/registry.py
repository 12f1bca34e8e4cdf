"""Every network by name, in one registry (as timm does): ResEmoteNet's C1-C6 and the released repository's
comparison networks (`resemote.models.baselines`).

    from resemote.models import MODELS, create_model, model_names, count_parameters, count_flops
    model = create_model("resnet18")            # randomly initialised, 7 logits in the canonical order
    count_flops(model, image_size=64) / 1e9     # forward GFLOPs of one image

Training, evaluation, checkpoints and the command line take any of these names where they take a
configuration (the field keeps its name, `config`, in params.json, metrics.json and weight sidecars).
Importing this module imports neither torch nor the networks: the command line lists the names in its help.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from resemote.errors import ResEmoteError
from resemote.models.util import count_parameters  # noqa: F401  (re-exported: the registry's documented API)

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str                             # how tables and metrics.json name it
    family: str                            # "ResEmoteNet" or "baseline"
    description: str                       # one line
    build: Callable[[int], "nn.Module"]    # num_classes -> a freshly initialised model


def _resemotenet(config: str) -> Callable[[int], "nn.Module"]:
    def build(num_classes: int) -> "nn.Module":
        from resemote.models.resemotenet import ResEmoteNet
        return ResEmoteNet(config, num_classes)
    return build


def _baseline(factory: str, **kwargs) -> Callable[[int], "nn.Module"]:
    def build(num_classes: int) -> "nn.Module":
        from resemote.models import baselines
        return getattr(baselines, factory)(num_classes=num_classes, **kwargs)
    return build


# C1-C6 as `resemote.models.resemotenet.CONFIGS` defines them (tests/test_zoo.py checks the two agree)
_RESEMOTENET = {
    "C1": "the paper's network, layer for layer as released",
    "C2": "Table IV ablation: C1 without the SE block",
    "C3": "Table IV ablation: C1 without the 64-channel conv",
    "C4": "Table IV ablation: C1 without the 64- and 128-channel convs",
    "C5": "Table IV ablation: C1 without the 256-input residual block",
    "C6": "Table IV ablation: C1 without the 256- and 512-input residual blocks",
}

MODELS: dict[str, ModelSpec] = {
    **{c: ModelSpec(c, f"ResEmoteNet {c}", "ResEmoteNet", d, _resemotenet(c)) for c, d in _RESEMOTENET.items()},
    "resnet18": ModelSpec("resnet18", "ResNet-18", "baseline",
                          "torchvision ResNet-18, 7x7 stride-2 stem without max-pool (released baseline)",
                          _baseline("resnet", depth=18)),
    "resnet34": ModelSpec("resnet34", "ResNet-34", "baseline",
                          "torchvision ResNet-34, 7x7 stride-2 stem without max-pool (released baseline)",
                          _baseline("resnet", depth=34)),
    "vgg": ModelSpec("vgg", "VGG-style CNN", "baseline",
                     "three pairs of 3x3 convs (64, 128, 256), one BN per pair, FC 16384-4096-1024 (released)",
                     _baseline("VGGStyle")),
    "cnn": ModelSpec("cnn", "Plain CNN", "baseline",
                     "five conv+BN+ReLU+pool stages (64..1024), global pool, FC 2048-1024-512 (released)",
                     _baseline("PlainCNN")),
    "cnn-se": ModelSpec("cnn-se", "Plain CNN + SE", "baseline",
                        "the plain CNN with an SE block on its 1024-channel map (released one fixed to run)",
                        _baseline("PlainCNN", se=True)),
}


def model_names() -> list[str]:
    return list(MODELS)


def get_spec(name: str) -> ModelSpec:
    """The registry entry of `name`; an unknown name is a one-line `ResEmoteError` listing the known ones."""
    if name not in MODELS:
        raise ResEmoteError(f"unknown configuration {name!r}: expected one of {', '.join(MODELS)}")
    return MODELS[name]


def create_model(name: str, num_classes: int = 7, dropout: bool = True) -> "nn.Module":
    """A freshly (randomly) initialised network `name` with `num_classes` outputs; `dropout=False` turns its
    dropout off (ResEmoteNet's configurations only: the baselines keep theirs as released)."""
    spec = get_spec(name)
    model = spec.build(num_classes)
    if not dropout:
        if not hasattr(model, "without_dropout"):
            raise ResEmoteError(f"{name} cannot be trained without dropout: only ResEmoteNet's configurations "
                                f"({', '.join(_RESEMOTENET)}) can")
        model.without_dropout()
    return model


def conv_linear_macs(model: "nn.Module", image_size: int = 64) -> dict[str, int]:
    """Multiply-accumulates of every Conv2d and Linear, by module name, in one real forward pass of one
    (3, image_size, image_size) image in eval mode (a module called twice counts twice). Biases,
    normalisation, activations and pooling are not counted. The model's mode is restored afterwards."""
    import torch
    from torch import nn

    names = {id(m): n for n, m in model.named_modules()}
    macs: dict[str, int] = {}

    def count(mod: nn.Module, _inp, out: torch.Tensor) -> None:
        if isinstance(mod, nn.Conv2d):
            k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        else:
            k = mod.in_features
        macs[names[id(mod)]] = macs.get(names[id(mod)], 0) + out.numel() * k

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    p = next(model.parameters(), None)
    x = torch.zeros(1, 3, image_size, image_size, device=p.device if p is not None else "cpu",
                    dtype=p.dtype if p is not None else torch.float32)
    training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(training)
    return macs


def count_flops(model: "nn.Module", image_size: int = 64) -> int:
    """Forward FLOPs of one image: 2 x the multiply-accumulates of every Conv2d and Linear."""
    return 2 * sum(conv_linear_macs(model, image_size).values())


def model_summary(name: str, image_size: int = 64) -> dict:
    """Title, family, parameters and forward GFLOPs per image of model `name` at `image_size`, measured on
    a copy built on the meta device (no weights allocated, no random numbers drawn: cheap, and a run's
    seeded initialisation is unaffected). A size the network cannot take is a one-line `ResEmoteError`."""
    import torch
    spec = get_spec(name)
    with torch.device("meta"):
        model = spec.build(7)
    try:
        flops = count_flops(model, image_size)
    except RuntimeError as e:  # e.g. VGG's fixed 16384-wide classifier, or pooled away to nothing
        raise ResEmoteError(f"{spec.title} ({name}) cannot take {image_size} x {image_size} inputs "
                            f"({str(e).splitlines()[0]})") from None
    return {"model": spec.title, "family": spec.family, "parameters": count_parameters(model),
            "gflops": flops / 1e9}
