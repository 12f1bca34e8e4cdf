"""How fast C1 fits a stratified FER2013 training subset with its dropout off: training only (no validation), one
line of JSON per epoch (training loss and accuracy, seconds). Used to choose the leak experiment's fitted budget
(benchmarks/README.md, "How fast C1 fits a small FER2013 subset").

    python benchmarks/leak_fit_probe.py --root data/fer2013 --n 1000 --epochs 12            # no flips, no class weights
    python benchmarks/leak_fit_probe.py --root data/fer2013 --n 1000 --epochs 8 --flip --class-weights
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from resemote.data.splits import load_splits
from resemote.leakage import training_subset
from resemote.device_images import DeviceImages
from resemote.training import class_weights, model_and_optimizer, train_one_epoch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="data/fer2013")
    p.add_argument("--n", type=int, default=1000, help="training images (stratified subset, seed 0)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--flip", action="store_true", help="random horizontal flips (the paper's recipe has them)")
    p.add_argument("--class-weights", action="store_true", help="class-weighted loss (the paper's recipe has it)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    images, labels = load_splits("fer2013", a.root, 64, 0.1, 0, False, False)["train"]
    keep = training_subset(labels, a.n)
    images, labels = np.asarray(images[keep]), labels[keep]
    dev = torch.device("cpu")
    torch.manual_seed(0)
    model, opt = model_and_optimizer("C1", dev, 1e-3, 0.9, 1e-4, dropout=False)   # the paper's SGD settings
    weights = class_weights(labels) if a.class_weights else None
    data, order = DeviceImages(images, labels, device=dev), torch.Generator().manual_seed(0)
    for epoch in range(1, a.epochs + 1):
        t = time.time()
        loss, correct = train_one_epoch(model, opt, data.batches(16, shuffle=True, flip=a.flip, generator=order),
                                        weights, progress=True, total=-(-len(data) // 16), desc=f"epoch {epoch}")
        print(json.dumps({"epoch": epoch, "loss": round(float(loss) / len(data), 4),
                          "acc": round(float(correct) / len(data), 4), "s": round(time.time() - t, 1)}), flush=True)


if __name__ == "__main__":
    main()
