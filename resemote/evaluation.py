"""Metrics, the confusion matrix, and latency: everything a run reports about a trained model."""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resemote.data.classes import CLASSES
from resemote.env import sync
from resemote.device_images import DeviceImages, to_input


@torch.no_grad()
def predict(model: nn.Module, data: DeviceImages, batch_size: int = 256, *, flip_seed: int | None = None,
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits for every image of `data` (in order), and the labels.

    Deterministic by default. `flip_seed` reproduces the released code's habit of randomly flipping test
    images (seeded here so it is at least repeatable); it is only ever an explicit option.
    """
    model.eval()
    g = torch.Generator().manual_seed(flip_seed) if flip_seed is not None else None
    out = [model(x) for x, _ in data.batches(batch_size, flip=g is not None, generator=g)]
    logits = torch.cat(out) if out else torch.zeros(0, len(CLASSES))
    return logits.float().cpu(), data.labels.cpu()


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int = len(CLASSES)) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...] = CLASSES) -> dict:
    """Accuracy, balanced accuracy, macro F1, per-class precision/recall/F1/support, confusion matrix.

    Classes absent from `y_true` are left out of the balanced accuracy and macro F1 (they have no recall).
    """
    cm = confusion_matrix(y_true, y_pred, len(classes))
    tp = np.diag(cm).astype(float)
    support = cm.sum(1)
    predicted = cm.sum(0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp),
                   where=(precision + recall) > 0)
    present = support > 0
    return {
        "accuracy": float(tp.sum() / max(1, cm.sum())),
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                          "support": int(support[i])} for i, c in enumerate(classes)},
        "confusion_matrix": cm.tolist(),
    }


def bootstrap_ci(y_true: np.ndarray, y_pred: np.ndarray, n: int = 2000, seed: int = 0,
                 level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of the accuracy (test images resampled with replacement)."""
    correct = (np.asarray(y_true) == np.asarray(y_pred)).astype(float)
    if len(correct) == 0:
        return [0.0, 0.0]
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), size=(n, len(correct)))].mean(1)
    a = (1 - level) / 2
    return [float(np.quantile(means, a)), float(np.quantile(means, 1 - a))]


def evaluate(model: nn.Module, data: DeviceImages, *, class_weights: torch.Tensor | None = None,
             flip_seed: int | None = None, batch_size: int = 256, ci: bool = True, predictions: bool = False) -> dict:
    """Loss (with the training loss's class weights, if any) and all classification metrics.

    `ci=False` leaves out the bootstrap interval (`accuracy_ci95` None): the per-epoch validation of a
    training run needs none, and its 2,000 resamples take ~0.1 s of CPU (0.11-0.34 s measured here on
    FER2013's 3,589 validation images), several per cent of a GPU epoch. `predictions=True` adds every
    image's predicted class (`predicted`, a numpy array, in order)."""
    logits, labels = predict(model, data, batch_size, flip_seed=flip_seed)
    w = class_weights.cpu() if class_weights is not None else None
    loss = float(F.cross_entropy(logits, labels, weight=w)) if len(labels) else float("nan")
    y, p = labels.numpy(), logits.argmax(1).numpy()
    m = classification_metrics(y, p)
    m["loss"] = loss
    m["accuracy_ci95"] = bootstrap_ci(y, p) if ci else None
    if predictions:
        m["predicted"] = p
    return m


def latency_ms(model: nn.Module, x: torch.Tensor, device: torch.device | str, repeats: int = 30,
               warmup: int = 5) -> float:
    """Median wall time of `model(x)` on `device`, in milliseconds (synchronised around each call)."""
    device = torch.device(device)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            sync(device)
            t = time.perf_counter()
            model(x)
            sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def inference_ms_per_image(model: nn.Module, device: torch.device | str, size: int = 64,
                           repeats: int = 30, warmup: int = 5) -> float:
    """Median wall time of one forward pass at batch 1 on `device`, in milliseconds, of the model as
    prepared for inference (`resemote.accel.fast_inference`: BN folded, taps that never meet the map dropped;
    the same outputs to ~1e-5)."""
    from resemote.accel import fast_inference
    device = torch.device(device)
    model = fast_inference(model, size, device)
    x = to_input(torch.zeros(1, size, size, dtype=torch.uint8, device=device))
    return latency_ms(model, x, device, repeats, warmup)
