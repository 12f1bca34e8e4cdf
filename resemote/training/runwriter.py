"""Writing a run directory off the training step's critical path, and keeping it consistent for a resume.

`train` (resemote.training) snapshots an epoch's tensors to host memory (`host_snapshot`) and hands the
writing to one background thread (`BackgroundWriter`, `epoch_files`): the selected weights when validation
improves, the resume state at most every `state_interval` seconds, and the history, in that order and each
file atomically. Each state write keeps the weights it selected as `state-best.*` (hard links), so that a
resumed run can put `model.*` back to the state's choice (`restore_selected`) even when later epochs had
already replaced them.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import torch

from resemote.training import rundir
from resemote.checkpoint import save_weights
from resemote.errors import ResEmoteError
from resemote.io import atomic_write, write_text

STATE = "state.pt"
STATE_BEST = "state-best"  # + .safetensors / .json: the selected weights the last state written refers to


def _host_copy(obj: Any, pinned: bool) -> Any:
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.device.type == "cpu":
            return t.clone()
        return torch.empty(t.shape, dtype=t.dtype, pin_memory=pinned).copy_(t, non_blocking=pinned)
    if isinstance(obj, dict):
        return {k: _host_copy(v, pinned) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_host_copy(v, pinned) for v in obj)
    return copy.deepcopy(obj)


def host_snapshot(obj: Any, device: torch.device | str) -> tuple[Any, Callable[[], None]]:
    """A copy of `obj` (nested dicts / lists of tensors and plain values) with every tensor copied to host
    memory, and a function that waits until the copy is complete. From CUDA the copies go to pinned memory
    without blocking (later kernels on the stream see to it that the copy holds today's values)."""
    if torch.device(device).type == "cuda":
        out = _host_copy(obj, pinned=True)
        done = torch.cuda.Event()
        done.record()
        return out, done.synchronize
    return _host_copy(obj, pinned=False), lambda: None


class BackgroundWriter:
    """Runs write jobs in one background thread, one at a time, in order. A job's exception is raised in
    the caller's thread by the next `submit`, `wait` or `close`."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="resemote-writer")
        self._pending: Future | None = None

    def submit(self, job: Callable[[], None]) -> None:
        self.wait()
        self._pending = self._pool.submit(job)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)


def _link(src: Path, dst: Path) -> None:
    """Make `dst` the same file as `src` (a hard link; a copy where the file system has none), atomically."""
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        if not src.is_file():
            raise
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    tmp.unlink(missing_ok=True)  # dst was already src's file: rename() then leaves both names (POSIX)


def _keep_selected(out: Path) -> None:
    """The selected weights as the state just written knows them: model.* -> state-best.* (after the state,
    so that a kill in between leaves model.* as the state's choice; .json last, as the check reads it)."""
    for ext in (".safetensors", ".json"):
        _link(out / f"model{ext}", out / f"{STATE_BEST}{ext}")


def _selected_epoch(out: Path, stem: str) -> int | None:
    try:
        return json.loads((out / f"{stem}.json").read_text()).get("epoch")
    except (OSError, ValueError):
        return None


def restore_selected(out: Path, best_epoch: int) -> None:
    """Put model.* back to the weights of `best_epoch`, the resume state's choice (see the module docstring)."""
    if _selected_epoch(out, STATE_BEST) == best_epoch:
        for ext in (".safetensors", ".json"):
            _link(out / f"{STATE_BEST}{ext}", out / f"model{ext}")
    elif _selected_epoch(out, "model") != best_epoch:
        raise ResEmoteError(f"{out}: the resume state selects the weights of epoch {best_epoch}, which are no "
                            f"longer there; delete the directory to train the run again")


def epoch_files(out: Path, ready: Callable[[], None], weights: dict | None, meta: dict, state: dict | None,
                 history: list[dict]) -> Callable[[], None]:
    """The background job writing one epoch's files: selected weights, resume state, history, in that order."""
    def job() -> None:
        ready()
        try:
            if weights is not None:
                save_weights(weights, out / "model.safetensors", meta)
            if state is not None:
                atomic_write(out / STATE, lambda p: torch.save(state, p), fsync=False)
                _keep_selected(out)
            write_text(out / "history.csv", rundir.history_csv(history))
        except OSError as e:
            raise ResEmoteError(f"writing the run directory {out} failed: {e}") from e
    return job


def drop_state(out: Path) -> None:
    for name in (STATE, f"{STATE_BEST}.safetensors", f"{STATE_BEST}.json"):
        (out / name).unlink(missing_ok=True)
