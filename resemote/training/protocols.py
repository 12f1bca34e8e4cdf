"""The two training recipes this companion runs (`paper` and `released`), as plain values. What the paper
states and what the released script does are facts in `resemote.paper`; the book's set-up table shows the
three side by side.
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
