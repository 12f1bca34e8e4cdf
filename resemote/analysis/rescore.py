"""A finished run made before runs wrote `test_predictions.csv`: its test split predicted again from its
selected weights, so that it gets the clean-test figure every newer run has (`resemote rescore`)."""
from __future__ import annotations

from pathlib import Path

from resemote import accel
from resemote.checkpoint import load_model
from resemote.data.splits import load_splits
from resemote.env import resolve_device
from resemote.errors import ResEmoteError
from resemote.evaluation import predict
from resemote.io import write_json
from resemote.leakage import PREDICTIONS, test_subsets, training_data, write_predictions
from resemote.device_images import DeviceImages
from resemote.training.rundir import load_run


def rescore_run(run_dir: str | Path, root: str | Path | None = None, device: str = "cpu",
                progress: bool = True) -> dict:
    """Write test_predictions.csv and the clean-test score into a finished run made before runs wrote them,
    from its selected weights: the test split is predicted again and must give the test accuracy the run
    recorded (else nothing is written). Returns the updated metrics."""
    run_dir = Path(run_dir)
    if not (run_dir / "params.json").is_file():
        raise ResEmoteError(f"{run_dir}: expected a run directory (params.json, metrics.json, model.safetensors)")
    run = load_run(run_dir)
    if not run.finished:
        raise ResEmoteError(f"{run_dir}: the run has not finished (no metrics.json)")
    if not (run_dir / "model.safetensors").is_file():
        raise ResEmoteError(f"{run_dir}: no model.safetensors: a run without its weights cannot be re-scored")
    if run.params.get("released_test_flips"):
        raise ResEmoteError(f"{run_dir}: made with random test flips, which cannot be predicted again exactly")
    p, m = run.params, run.metrics
    root = root or p["root"]
    data = load_splits(p["dataset"], root, p["image_size"], p.get("val_fraction", 0.1), p.get("val_seed", 0),
                       progress=progress)
    if data["fingerprint"] != p["data_fingerprint"]:
        raise ResEmoteError(f"{run_dir}: made on data {p['data_fingerprint']}; the copy at {root} is "
                            f"{data['fingerprint']}")
    dev = resolve_device(device)
    model, _ = load_model(run_dir / "model.safetensors", dev)
    model = accel.for_device(model, dev)  # the layers the run's own test evaluation used
    logits, labels = predict(model, DeviceImages(*data["test"], device=dev))
    y, pred = labels.numpy(), logits.argmax(1).numpy()
    acc = float((y == pred).mean())
    if abs(acc - m["test_accuracy"]) > 0.5 / len(y):
        raise ResEmoteError(f"{run_dir}: its weights give test accuracy {acc:.4f} here, the run recorded "
                            f"{m['test_accuracy']:.4f}; nothing written")
    # the leak experiment's test images, leaked again exactly as the run leaked them
    leaked = training_data(data, run.spec.with_(root=str(root))).get("leaked") or {}
    write_predictions(run_dir / PREDICTIONS, data["test_refs"], y, pred, leaked)
    m = {**m, **test_subsets(p["dataset"], root, data["test_refs"], y, pred, leaked, p["image_size"], progress)}
    write_json(run_dir / "metrics.json", m)
    return m
