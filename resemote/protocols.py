"""Training recipes as plain values: what the paper states, what the released script does, and the two
protocols this companion runs (`paper` and `released`). The book's set-up table is generated from here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Protocol:
    name: str
    lr: float = 1e-3
    momentum: float = 0.9             # the released script's SGD settings; the paper names only SGD
    weight_decay: float = 1e-4
    class_weights: bool = True        # inverse training-class frequency, normalised to mean 1
    plateau_factor: float | None = 0.1  # multiply the LR by this when validation accuracy plateaus
    plateau_patience: int = 5         # epochs without validation-accuracy gain before the LR drops
    early_stop: int | None = None     # stop after this many epochs without validation-accuracy gain
    flip: bool = True                 # random horizontal flip on training batches
    epochs: int = 80
    batch_size: int = 16

    def as_dict(self) -> dict:
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {
    # What the paper describes (SGD lr 1e-3, class-weighted CE, x0.1 on plateau, flips, 80 epochs,
    # batch 16), with the released script's momentum and weight decay, the best validation epoch kept.
    "paper": Protocol("paper"),
    # The released training script's recipe: plain CE, no scheduler, early stop after 15 epochs.
    "released": Protocol("released", class_weights=False, plateau_factor=None, early_stop=15),
}

# Facts for the book's side-by-side table (released-implementation.md); None = not stated.
PAPER_SETUP = {
    "optimizer": "SGD", "lr": 1e-3, "momentum": None, "weight_decay": None, "batch_size": 16, "epochs": 80,
    "loss": "cross-entropy, class-weighted", "lr_schedule": "x0.1 on plateau", "early_stop": None,
    "augmentation": "random horizontal flip", "input": None, "model_selection": None,
    "evaluation": None,
}
RELEASED_SCRIPT_SETUP = {
    "optimizer": "SGD", "lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4, "batch_size": 16, "epochs": 80,
    "loss": "cross-entropy (unweighted)", "lr_schedule": "none", "early_stop": "15 epochs without val gain",
    "augmentation": "random horizontal flip, also on validation and test",
    "input": "64x64 grayscale x3, ImageNet mean/std", "model_selection": "best validation accuracy",
    "evaluation": "test split evaluated every epoch; random flips at test time",
}
