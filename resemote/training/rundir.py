"""The run directory: what one training run writes, and reading it back.

A run directory (written by `resemote.training.train`) holds:
- `params.json`   the settings that define the run (a reused directory must match them);
- `history.csv`   one row per finished epoch: epoch, lr, train_loss, train_acc, val_loss, val_acc, seconds;
- `metrics.json`  the final test metrics and the run's provenance (see `METRIC_FIELDS`); its presence is
                  what makes a run finished;
- `model.safetensors` + `model.json`  the selected (best-validation) weights and their sidecar;
- `state.pt`      resume state while the run is unfinished (tensors and plain values only).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from resemote.io import write_json
from resemote.training.spec import RunSpec

HISTORY_FIELDS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
METRIC_FIELDS = (
    "dataset", "config", "protocol", "seed", "epochs", "best_epoch", "classes",
    "test_accuracy", "test_accuracy_ci95", "balanced_accuracy", "macro_f1", "per_class",
    "confusion_matrix", "test_loss", "train_seconds", "inference_ms_per_image", "device",
    "git_commit", "torch_version", "data_fingerprint", "finished_at",
)
# ... and, only where set, the leak experiment's (`resemote.leakage.KEYS`): a run without them keeps its cell and id


@dataclass
class Run:
    path: Path
    params: dict
    metrics: dict | None          # None while the run is unfinished
    history: list[dict]

    @property
    def finished(self) -> bool:
        return self.metrics is not None

    @property
    def synthetic(self) -> bool:
        return bool((self.metrics or self.params).get("synthetic"))

    @property
    def leaked(self) -> bool:
        return self.spec.leaks

    @property
    def spec(self) -> RunSpec:
        """The run's specification, read back from its params.json."""
        return RunSpec.from_params(self.params)


def read_history(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in csv.DictReader(f)]


def history_csv(rows: list[dict]) -> str:
    lines = [",".join(HISTORY_FIELDS)]
    lines += [",".join(f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k]) for k in HISTORY_FIELDS)
              for r in rows]
    return "\n".join(lines) + "\n"


def load_run(path: str | Path) -> Run:
    path = Path(path)
    params = json.loads((path / "params.json").read_text())
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
    return Run(path, params, metrics, read_history(path / "history.csv"))


def write_metrics(out: Path, metrics: dict) -> None:
    missing = [k for k in METRIC_FIELDS if k not in metrics]
    assert not missing, f"metrics lack {missing}"
    write_json(out / "metrics.json", metrics)
