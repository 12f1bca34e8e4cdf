"""Training: one loop, two protocols (`resemote.training.protocols`), resumable after any kill.

The rules of an honest run:
- train on the dataset's training split; select the epoch (and drop the LR, and stop early) on the
  validation split only - the dataset's own, or a seeded stratified 10% of train where it has none;
- evaluate the test split once, at the end, with the selected weights.

What a run writes, and when (a GPU runs FER2013's 80 epochs in minutes, where writing C1's 642 MB resume
state after every epoch would dominate):
- `history.csv` after every epoch;
- the selected weights (`model.safetensors` + `model.json`) when validation accuracy improves;
- the resume state (`state.pt`: model, optimizer, scheduler, counters, history and every RNG state) after
  the first epoch of each start or resume, then at most every `state_interval` seconds (default 60; 0:
  after every epoch); never after the last epoch, since the finished run drops it.
Writing is off the training step's critical path: the training thread only copies the tensors (on CUDA
into pinned host memory, asynchronously), and one background thread serialises them and writes each file
atomically, an epoch's files in the order weights, state, history. An epoch's files wait for the previous
epoch's, the test evaluation waits for all of them, and a failed write is raised in the training thread.

Resuming: started again with the same directory, a run continues from the last state written, so
`history.csv` and the selected weights may be ahead of it (epochs run after that state). The history is cut
back to the state's epochs, which are then run again, and the selected weights are put back to the state's
choice: each state write keeps them as `state-best.safetensors` + `.json` (hard links, copies where the
file system has none) until the next one. A resumed run is thus consistent with its state on any device;
on the CPU it ends bit-for-bit where an uninterrupted run ends, on CUDA (bf16, nondeterministic kernels)
the epochs run again are statistically, not bitwise, the same.

Speed on CUDA (`resemote.accel`): bf16 autocast, channels_last and the fused SGD; `compile_mode` (e.g.
`reduce-overhead`: CUDA graphs) compiles the forward pass and loss of full batches (`accel.StaticCompiled`;
the epoch's smaller last batch runs eagerly). Nothing in an epoch waits for the GPU until its summed loss
and correct count are read at the end, and validation's logits once. On the CPU: the fused SGD, freed memory
kept in the heap, and the residual blocks' convs on small maps as matrix products (`resemote.gemmconv`),
all plain fp32.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from resemote import accel
from resemote.checkpoint import load_model, sidecar
from resemote.data.classes import CLASSES
from resemote.data.splits import load_splits
from resemote.env import device_name, git_commit, resolve_device
from resemote.errors import ResEmoteError
from resemote.evaluation import evaluate, inference_ms_per_image
from resemote.io import write_json, write_text
from resemote.models import create_model, model_summary
from resemote.device_images import DeviceImages
from resemote import leakage
from resemote.training import rundir
from resemote.training.protocols import PROTOCOLS
from resemote.training.spec import DEFINING as SPEC_DEFINING, RunSpec
from resemote.training.runwriter import STATE, BackgroundWriter, drop_state, epoch_files, host_snapshot, restore_selected

# params that define a run: a directory holding a run with other values is refused
DEFINING = (*SPEC_DEFINING, "data_fingerprint")


def class_weights(labels: np.ndarray, k: int = len(CLASSES)) -> torch.Tensor:
    """Inverse training-class frequency, scaled so that a balanced set would get weight 1 everywhere."""
    counts = np.bincount(labels, minlength=k).astype(float)
    w = np.divide(len(labels), k * counts, out=np.zeros(k), where=counts > 0)
    return torch.tensor(w, dtype=torch.float32)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def model_and_optimizer(config: str, dev: torch.device, lr: float, momentum: float, weight_decay: float, *,
                        device_layers: bool = True, dropout: bool = True
                        ) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """A fresh model `config` on `dev` and its SGD, set up as `train` steps them (and as `resemote bench` and
    the book's time estimate time them): freed memory kept in the heap on the CPU, the layers as they run
    fastest on `dev` (`accel.for_device`; `device_layers=False` keeps the model's own), the fused update;
    `dropout=False`: the network's dropout off (a protocol's `dropout`)."""
    accel.keep_freed_memory(dev)  # CPU: no mmap/munmap of the gradients every step
    model = create_model(config, dropout=dropout).to(dev)
    if device_layers:
        model = accel.for_device(model, dev)  # NHWC on CUDA, small-map convs as GEMMs on the CPU
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                          **accel.sgd_options(dev))
    return model, opt


def training_forward(model: torch.nn.Module, weights: torch.Tensor | None, device: torch.device | str
                     ) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """`(x, y) -> (mean loss, number correct)` of one training batch: the part of a step that
    `accel.StaticCompiled` may compile (forward, loss and the accuracy count in one graph)."""
    def forward(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with accel.autocast_context(device):
            logits = model(x)
            loss = F.cross_entropy(logits, y, weight=weights)
        return loss, (logits.argmax(1) == y).sum()
    return forward


def train_one_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, batches, weights: torch.Tensor | None = None,
                    *, forward: Callable | None = None, total: int | None = None, desc: str = "train",
                    progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass of SGD over `batches` ((input, label) pairs on the model's device); returns the summed loss
    and the number of correct predictions, as device tensors (read them once, not per batch).

    The step `train` and `resemote bench` both time. On CUDA it runs under bf16 autocast with NHWC inputs
    (`resemote.accel`); elsewhere it is plain fp32 (no autocast; the fused SGD is deterministic), so the CPU
    path stays bit-for-bit repeatable and resumable. `forward` replaces `training_forward(model, weights)`,
    e.g. by an `accel.StaticCompiled` of it.
    """
    dev = next(model.parameters()).device
    forward = forward or training_forward(model, weights, dev)
    model.train()
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), device=dev, dtype=torch.long)
    for x, y in tqdm(batches, total=total, desc=desc, unit="batch", leave=False, disable=not progress):
        x = accel.to_channels_last(x, dev)
        loss, hits = forward(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # read now: a CUDA graph's outputs are overwritten by its next replay
        loss_sum += loss.detach().float() * len(y)
        correct += hits
    return loss_sum, correct


def train(spec: RunSpec, out: str | Path, *, strict: bool = False, progress: bool = True,
          state_interval: float = 60.0, compile_mode: str | None = None) -> dict:
    """Train the run `spec` (`resemote.training.spec.RunSpec`: the network, any `resemote.models` name, on
    its dataset under its protocol, with its settings), writing the run directory `out`.

    `strict`: stop at the first damaged image or row. `state_interval`: seconds between resume-state writes
    (after the first epoch always; 0: every epoch). `compile_mode`: a torch.compile mode for the training step
    on CUDA (`reduce-overhead`: CUDA graphs); elsewhere, or where compiling fails, the plain step runs and
    stderr says so. None of these defines the run. The spec's `leak` block (`resemote.leakage.apply`: a
    stratified training subset, test images added to training) does; the plan allows a leak only in an
    experiment marked `leak: true`, never in a reproduction cell.
    Returns the metrics dict (also in `out/metrics.json`). A finished run is not trained again.
    """
    summary = model_summary(spec.config, spec.image_size)  # unknown name or unusable size: refused before any work
    proto = PROTOCOLS[spec.protocol]
    epochs, batch_size, seed = spec.epochs, spec.batch_size, spec.seed
    if not state_interval >= 0:
        raise ResEmoteError(f"expected --state-interval >= 0 (seconds), got {state_interval}")
    accel.check_compile_mode(compile_mode)
    dev = resolve_device(spec.device)
    out = Path(out)
    root = spec.root

    data = load_splits(spec.dataset, root, spec.image_size, spec.val_fraction, spec.val_seed, strict, progress)
    data = leakage.training_data(data, spec, progress)  # changed only by the leak experiment's block
    params = spec.params({
        "data_fingerprint": data["fingerprint"], "val_source": data["val_source"], "synthetic": data["synthetic"],
        "split_sizes": leakage.split_sizes(data), "protocol_settings": proto.as_dict()})
    _claim(out, params)
    if (out / "metrics.json").is_file():  # finished (perhaps killed before it could drop its resume state)
        drop_state(out)
        return rundir.load_run(out).metrics

    torch.manual_seed(seed)
    model, opt = model_and_optimizer(spec.config, dev, spec.lr, proto.momentum, proto.weight_decay, dropout=proto.dropout)
    train_data = DeviceImages(*data["train"], device=dev)
    val_data = DeviceImages(*data["val"], device=dev)
    weights = class_weights(data["train"][1]).to(dev) if proto.class_weights else None
    sched = (torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=proto.plateau_factor,
                                                        patience=proto.plateau_patience)
             if proto.plateau_factor else None)
    order = torch.Generator().manual_seed(seed)  # batch order and flips
    s = {"epoch": 0, "best_acc": -1.0, "best_epoch": 0, "since_best": 0, "history": [], "train_seconds": 0.0}
    commit = git_commit()  # read now: the checkout may move on while a long run trains

    if (out / STATE).is_file():
        ck = torch.load(out / STATE, map_location="cpu", weights_only=True)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None:
            sched.load_state_dict(ck["scheduler"])
        order.set_state(ck["order"])
        _set_rng_state(ck["rng"])
        s = ck["progress"]
        # epochs run after this state are run again: their history rows and weights go
        restore_selected(out, s["best_epoch"])
        write_text(out / "history.csv", rundir.history_csv(s["history"]))
        if progress:
            print(f"resuming {out} after epoch {s['epoch']}")
    else:
        (out / "history.csv").unlink(missing_ok=True)  # of a start killed before its first state

    # the code of every segment of the run (one, unless it was resumed after the checkout moved)
    s["commits"] = s.get("commits", []) + ([commit] if commit not in s.get("commits", []) else [])
    meta = sidecar(spec.config, spec.image_size, dataset=spec.dataset, protocol=spec.protocol, seed=seed,
                   data_fingerprint=data["fingerprint"], git_commit=commit)
    forward = accel.StaticCompiled(training_forward(model, weights, dev), dev, compile_mode, batch_size)
    if compile_mode and not forward.active:
        print(f"resemote train: --compile-mode {compile_mode} ignored: torch.compile is used on CUDA with Triton "
              f"only; training the plain step on {dev}", file=sys.stderr)
    writer = BackgroundWriter()
    saved = s["epoch"]      # the epoch of the last resume state written (0: none yet)
    state_at = None         # when it was written (time.monotonic), in this process
    mark = time.perf_counter()
    try:
        for epoch in range(s["epoch"] + 1, epochs + 1):
            if proto.early_stop and s["since_best"] >= proto.early_stop:
                break
            loss_sum, correct = train_one_epoch(
                model, opt, train_data.batches(batch_size, shuffle=True, flip=proto.flip, generator=order),
                weights, forward=forward, total=-(-len(train_data) // batch_size), desc=f"epoch {epoch}/{epochs}",
                progress=progress)
            train_loss = float(loss_sum) / len(train_data)
            if not np.isfinite(train_loss):
                raise ResEmoteError(
                    f"training diverged in epoch {epoch} (loss {train_loss}); the last good state (epoch "
                    f"{saved}) is kept in {out}; try a lower --lr")
            val = evaluate(model, val_data, class_weights=weights, ci=False)
            if sched is not None:
                sched.step(val["accuracy"])
            # the weights tested: the best validation epoch's, or (protocol `keep: last`) every epoch's in turn
            improved = val["accuracy"] > s["best_acc"] or proto.keep == "last"
            if improved:
                s.update(best_acc=val["accuracy"], best_epoch=epoch, since_best=0)
            else:
                s["since_best"] += 1
            s["epoch"] = epoch
            # an epoch's seconds run from the end of the one before: its copies for the writer count too
            now = time.perf_counter()
            seconds, mark = now - mark, now
            s["train_seconds"] += seconds
            s["history"].append({"epoch": epoch, "lr": opt.param_groups[0]["lr"], "train_loss": train_loss,
                                 "train_acc": float(correct) / len(train_data), "val_loss": val["loss"],
                                 "val_acc": val["accuracy"], "seconds": seconds})
            last = epoch == epochs or bool(proto.early_stop and s["since_best"] >= proto.early_stop)
            due = not last and (state_at is None or time.monotonic() - state_at >= state_interval)
            writer.wait()  # the previous epoch's files (and their host memory) first
            snap, ready = host_snapshot({
                "model": model.state_dict() if improved or due else None,
                "rest": {"optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched is not None else {},
                         "order": order.get_state(), "rng": _rng_state(), "progress": s} if due else None,
                "history": s["history"]}, dev)
            state = {"model": snap["model"], **snap["rest"]} if due else None
            writer.submit(epoch_files(out, ready, snap["model"] if improved else None, {**meta, "epoch": epoch},
                                       state, snap["history"]))
            if due:
                saved, state_at = epoch, time.monotonic()
            if progress:
                h = s["history"][-1]
                print(f"epoch {epoch}/{epochs}: train loss {h['train_loss']:.4f} acc {h['train_acc']:.3f} | "
                      f"val loss {h['val_loss']:.4f} acc {h['val_acc']:.3f} | lr {h['lr']:.2g} | {seconds:.1f}s"
                      + (" | state saved" if due else ""))
    except BaseException:
        try:
            writer.close()  # what was handed to the writer still lands: the last state stays resumable
        except Exception as e:  # noqa: BLE001 - the first error is the one to raise
            print(f"resemote: also, {e}", file=sys.stderr)
        raise
    writer.close()
    s["train_seconds"] += time.perf_counter() - mark  # the last epoch's writes

    metrics = _finish(out, spec, params, s, dev, data, weights, summary,
                      compile_mode=compile_mode if forward.active else None)
    drop_state(out)
    return metrics


def _claim(out: Path, params: dict) -> None:
    """Write params.json for a new run; refuse a directory that holds a run with other settings."""
    path = out / "params.json"
    if path.is_file():
        old = rundir.load_run(out).params
        diff = [k for k in DEFINING if old.get(k) != params.get(k)]
        if diff:
            k = diff[0]
            raise ResEmoteError(f"{out} holds a run with other settings ({k} {old.get(k)!r}, now {params.get(k)!r}); "
                                f"use another --out or delete it")
        return
    if out.exists() and any(out.iterdir()):
        raise ResEmoteError(f"{out} exists and is not a run directory; use an empty or new --out")
    write_json(path, params)


def _finish(out: Path, spec: RunSpec, params: dict, s: dict, dev: torch.device, data: dict, weights,
            summary: dict, compile_mode: str | None = None) -> dict:
    """Evaluate the selected weights on the test split, once, and write metrics.json."""
    model, _ = load_model(out / "model.safetensors", dev)
    model = accel.for_device(model, dev)  # the layers validation ran with
    test = evaluate(model, DeviceImages(*data["test"], device=dev), class_weights=weights,
                    flip_seed=spec.seed if spec.released_test_flips else None, predictions=True)
    # every test image's prediction (no pixels), so that any subset can be scored later; and the clean subset now
    from resemote.leakage import PREDICTIONS, test_subsets, write_predictions
    y, pred = data["test"][1], test.pop("predicted")
    write_predictions(out / PREDICTIONS, data["test_refs"], y, pred, data.get("leaked"))
    subsets = test_subsets(params["dataset"], params["root"], data["test_refs"], y, pred, data.get("leaked"),
                           params["image_size"], progress=False)
    metrics = {
        "dataset": params["dataset"], "config": params["config"], "model": summary["model"],
        "parameters": summary["parameters"], "gflops": summary["gflops"], "protocol": params["protocol"],
        "seed": params["seed"], "epochs": params["epochs"], "epochs_run": s["epoch"],
        "best_epoch": s["best_epoch"], "val_accuracy": s["best_acc"], "classes": list(CLASSES),
        "test_accuracy": test["accuracy"], "test_accuracy_ci95": test["accuracy_ci95"],
        "balanced_accuracy": test["balanced_accuracy"], "macro_f1": test["macro_f1"],
        "per_class": test["per_class"], "confusion_matrix": test["confusion_matrix"], "test_loss": test["loss"],
        "majority_class_rate": float(np.bincount(data["test"][1]).max() / len(data["test"][1])),
        "train_seconds": s["train_seconds"],
        "inference_ms_per_image": inference_ms_per_image(model, dev, params["image_size"]),
        "device": device_name(dev), "git_commit": s["commits"][0], "torch_version": torch.__version__,
        "data_fingerprint": params["data_fingerprint"], "synthetic": params["synthetic"],
        "batch_size": params["batch_size"], "lr": params["lr"], "split_sizes": params["split_sizes"],
        "skipped": len(data["skipped"]),
        "compile_mode": compile_mode,  # of the last segment (None: the plain step)
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **spec.experiment(), **subsets,
    }
    if len(s["commits"]) > 1:
        metrics["git_commits"] = s["commits"]  # resumed at other commits: all of them, first one first
    rundir.write_metrics(out, metrics)
    return metrics
