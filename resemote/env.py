"""Where a run runs: the device, its name as a run records it, the code's commit, and a timer's sync.

The library's one home for these helpers: training, evaluation, the tools and the benchmarks all ask here.
"""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

from resemote.errors import ResEmoteError


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ResEmoteError(f"unknown device {name!r}: expected auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ResEmoteError("device cuda requested but torch sees no CUDA GPU; use --device cpu or auto")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ResEmoteError("device mps requested but this torch has no MPS support; use --device cpu or auto")
    return dev


def git_commit() -> str:
    """The code's commit, with '-dirty' when the checkout has uncommitted changes. Outside git:
    $RESEMOTE_GIT_COMMIT (for a copy of a checkout sent without its .git, as to a GPU machine), else
    'unknown'."""
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], capture_output=True,
                                text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return commit or os.environ.get("RESEMOTE_GIT_COMMIT", "").strip() or "unknown"


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that a timer reads the work itself (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def device_name(device: torch.device | str) -> str:
    """The hardware a run used, e.g. 'cpu (AMD EPYC 7B13, 2 threads)' or 'cuda (NVIDIA H100 80GB HBM3)'."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return f"mps ({platform.machine()} {platform.platform()})"
    n = torch.get_num_threads()
    return f"cpu ({cpu_model()}, {n} thread{'' if n == 1 else 's'})"


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
