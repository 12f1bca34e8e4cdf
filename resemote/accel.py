"""Device-specific speed options, each an exact or numerically-equivalent rewrite of the plain path.

- `fast_inference(model)`: an eval-only copy for small-batch latency. BatchNorm is folded into the conv
  before it, and every conv of a residual block whose output map is small (C1's three blocks at 64 x 64)
  becomes one matrix product over the taps that ever meet the map (`gemmconv.FixedGemmConv`): e.g.
  res_block3's stride-2 conv on a 2 x 2 map only meets the lower-right 2 x 2 taps, its 3 x 3 pad-1 conv on
  a 1 x 1 map only the centre tap. At batch 1 the CPU is bound by reading weights, and this cuts them from
  80.2M to 36.5M for C1. The weights are gathered once, here, into contiguous matrices.
  Other networks (the baselines of `resemote.models`) get BN folded generically (`fold_batchnorm`, torch.fx).
- `autocast_context(device)`: bf16 autocast on CUDA, nothing elsewhere (the CPU path stays bit-exact
  and resumable; MPS bf16 support varies by OS).
- `sgd_options(device)`: the fused SGD kernel (CUDA, CPU); `to_channels_last`: NHWC on CUDA only.
- `for_device(model, device)`: the model's layers as they train fastest on `device`: NHWC on CUDA; on the CPU,
  convs whose output map is small (C1's residual blocks) as matrix products over the taps that meet the
  map (`resemote.gemmconv`: the same parameters and state_dict, the same results to float rounding).
- `keep_freed_memory(device)`: on the CPU under glibc, freed tensors stay in the process's heap for the next
  step instead of going back to the OS (C1's 321 MB of gradients are otherwise mapped, page-faulted and
  unmapped every step: a quarter of the CPU time in the kernel, measured on 2 cores).
- `maybe_compile(fn, device)`: torch.compile where it works (CUDA, opt-in), otherwise `fn` unchanged.
- `StaticCompiled(fn, device, mode, batch_size)`: the training step's forward and loss through torch.compile
  for full batches only. At batch 16 a C1 step is launch-bound (hundreds of small kernels for 16 images);
  mode `reduce-overhead` replays them as CUDA graphs, which need static shapes, so an epoch's last, smaller
  batch runs eagerly instead of compiling (and recording) a second graph. A compiler that fails at its first
  call is reported and the eager step used from then on.
"""
from __future__ import annotations

import contextlib
import copy
import ctypes
import sys
from typing import Callable, ContextManager

import torch
import torch.nn.functional as F
from torch import nn

from resemote.gemmconv import FixedGemmConv, small_output, supports
from resemote.models.resemotenet import ResEmoteNet, ResidualBlock


# --- inference ------------------------------------------------------------------------------------------
def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of conv followed by eval-mode BN, as one conv (exact up to float rounding)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * scale.view(-1, 1, 1, 1)
    b = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return w.detach().contiguous(), ((b - bn.running_mean) * scale + bn.bias).detach().contiguous()


def _conv_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


class _FoldedConv(nn.Module):
    """conv + BN (folded) with the conv's stride and padding."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d):
        super().__init__()
        w, b = fold_bn(conv, bn)
        self.weight, self.bias = nn.Parameter(w, requires_grad=False), nn.Parameter(b, requires_grad=False)
        self.stride, self.padding = conv.stride, conv.padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


def _folded(conv: nn.Conv2d, bn: nn.BatchNorm2d, size: int) -> nn.Module:
    """conv + BN folded, for a size x size input: on a small output map a matrix product over the taps that
    meet the map (`gemmconv.FixedGemmConv`), else the direct conv."""
    if supports(conv) and small_output(conv, size):
        w, b = fold_bn(conv, bn)
        return FixedGemmConv(w, b, conv.stride[0], conv.padding[0], (size, size))
    return _FoldedConv(conv, bn)


class _FoldedBlock(nn.Module):
    """A residual block with BN folded in, each conv prepared for its input size (`_folded`)."""

    def __init__(self, block: ResidualBlock, size: int):
        super().__init__()
        c = block.conv1
        mid = _conv_out(size, c.kernel_size[0], c.stride[0], c.padding[0])
        self.conv1 = _folded(block.conv1, block.bn1, size)
        self.conv2 = _folded(block.conv2, block.bn2, mid)
        self.shortcut = _folded(block.shortcut[0], block.shortcut[1], size) if len(block.shortcut) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        return F.relu(out + (self.shortcut(x) if self.shortcut is not None else x))


class FastInference(nn.Module):
    """An eval-only equivalent of a `ResEmoteNet` at one input size (see `fast_inference`)."""

    def __init__(self, model: ResEmoteNet, image_size: int = 64):
        super().__init__()
        model = copy.deepcopy(model).float().eval().cpu()
        self.image_size = image_size
        self.stem = nn.ModuleList()
        size = image_size
        for i, _ in model.stem:
            self.stem.append(_FoldedConv(getattr(model, f"conv{i}"), getattr(model, f"bn{i}")))
            size //= 2                                           # 3x3 pad 1 keeps the size; max-pool 2 halves it
        self.se = model.se
        self.blocks = nn.ModuleList()
        for name in model.blocks:
            block = getattr(model, name)
            c = block.conv1
            self.blocks.append(_FoldedBlock(block, size))
            size = _conv_out(size, c.kernel_size[0], c.stride[0], c.padding[0])
        self.fc = nn.ModuleList([model.fc1, model.fc2, model.fc3])
        self.fc4 = model.fc4
        self.requires_grad_(False)
        # NHWC: oneDNN's direct conv kernels skip the layout reorders (about 2x on the stem at batch 1 here)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(f"this fast model was prepared for {self.image_size} x {self.image_size} inputs, "
                             f"got {tuple(x.shape[-2:])}")
        x = x.contiguous(memory_format=torch.channels_last)
        for conv in self.stem:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        if self.se is not None:
            x = self.se(x)
        for block in self.blocks:
            x = block(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1) if x.shape[-1] != 1 or x.shape[-2] != 1 else x, 1)
        for fc in self.fc:
            x = F.relu(fc(x))
        return self.fc4(x)


def fast_inference(model: nn.Module, image_size: int = 64, device: torch.device | str | None = None
                   ) -> nn.Module:
    """An eval-mode model equal to `model.eval()` on `image_size` inputs (to ~1e-5), faster at small batches.

    `model` is left untouched. Models other than `ResEmoteNet` (the baselines of `resemote.models`) get the
    generic part only: `fold_batchnorm`, in channels_last.
    """
    if device is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
    if not isinstance(model, ResEmoteNet):
        return fold_batchnorm(model).to(device).to(memory_format=torch.channels_last)
    return FastInference(model, image_size).to(device).eval()


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode copy of any model with each BatchNorm folded into the conv before it, where that conv's
    output feeds nothing else (torch.fx; a BN shared by two convs is folded into each). A model torch.fx
    cannot trace is returned as a plain eval copy. `model` is left untouched."""
    model = copy.deepcopy(model).eval()
    try:
        from torch.fx.experimental.optimization import fuse
        return fuse(model, inplace=True).eval()
    except Exception:  # untraceable control flow: the plain copy computes the same outputs
        return model


# --- training -------------------------------------------------------------------------------------------
def autocast_context(device: torch.device | str) -> ContextManager:
    """bf16 autocast on CUDA (tensor cores, no loss scaling needed); a no-op elsewhere, so the CPU path
    stays bit-for-bit deterministic and exactly resumable."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def uses_channels_last(device: torch.device | str) -> bool:
    """channels_last pays on CUDA (cuDNN NHWC kernels with bf16); on the CPU it changes rounding, so not there."""
    return torch.device(device).type == "cuda"


def to_channels_last(t: torch.Tensor | nn.Module, device: torch.device | str) -> torch.Tensor | nn.Module:
    """`t` in channels_last memory format where `uses_channels_last(device)`, else unchanged."""
    if not uses_channels_last(device):
        return t
    if isinstance(t, nn.Module):
        return t.to(memory_format=torch.channels_last)
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def for_device(model: nn.Module, device: torch.device | str) -> nn.Module:
    """`model` (already on `device`) prepared for training and evaluation there, in place: channels_last on
    CUDA; on the CPU, `gemmconv.use_gemm_convs` (oneDNN's conv kernels are ~10x slower than a matrix
    product on 1 x 1 and 2 x 2 maps; benchmarks/cpu_layers.py)."""
    if torch.device(device).type == "cpu":
        from resemote.gemmconv import use_gemm_convs
        use_gemm_convs(model)
        return model
    return to_channels_last(model, device)


def sgd_options(device: torch.device | str) -> dict:
    """Extra torch.optim.SGD arguments: the fused update on CUDA and the CPU, one pass over the 80M weights
    instead of four (on 2 CPU cores ~0.17 s against ~1.0 s per step, and the same bits as the plain loop,
    see tests/test_accel.py); the plain loop on MPS."""
    return {"fused": True} if torch.device(device).type in ("cuda", "cpu") else {}


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory(device: torch.device | str) -> bool:
    """On the CPU under Linux/glibc: serve every allocation from the heap (no per-tensor mmap) and return
    freed memory to the OS only beyond 1 GiB at the heap's top, so a training step reuses the previous
    step's pages. Numerics are untouched; the process keeps its peak memory. True where it was applied."""
    if torch.device(device).type != "cpu" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False


def compile_available(device: torch.device | str) -> bool:
    """Whether torch.compile is worth trying on `device`: CUDA with Triton importable; never on MPS/CPU here."""
    if torch.device(device).type != "cuda" or not hasattr(torch, "compile"):
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def maybe_compile(fn: Callable, device: torch.device | str, enabled: bool = True, mode: str | None = None
                  ) -> tuple[Callable, bool]:
    """`(torch.compile(fn), True)` where `enabled` and `compile_available(device)`, else `(fn, False)`.

    Compilation errors surface at the first call, so callers should keep the plain `fn` to fall back on.
    """
    if not enabled or not compile_available(device):
        return fn, False
    try:  # static shapes: callers route other shapes around the compiled fn (see StaticCompiled)
        return torch.compile(fn, mode=mode, dynamic=False), True
    except Exception:  # a torch without a working inductor backend
        return fn, False


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")


def check_compile_mode(mode: str | None) -> None:
    from resemote.errors import ResEmoteError
    if mode is not None and mode not in COMPILE_MODES:
        raise ResEmoteError(f"unknown compile mode {mode!r}: expected one of {', '.join(COMPILE_MODES)}")


class StaticCompiled:
    """`fn(x, *rest)` through `maybe_compile` for inputs of exactly `batch_size` rows, eager otherwise.

    CUDA graphs (modes `reduce-overhead`, `max-autotune`) replay fixed shapes: the odd-sized last batch of an
    epoch runs `fn` eagerly rather than compiling and recording a second graph (or marking the batch size
    dynamic). Each graph step is marked as a new iteration, so the previous step's outputs (read by then)
    may be overwritten. A compiled `fn` that fails at its first call (compilation happens there) is reported
    on stderr and `fn` runs from then on; `active` says whether the compiled path is in use. `fn` must not
    keep state between calls other than the model's (its parameters and buffers are shared).
    """

    def __init__(self, fn: Callable, device: torch.device | str, mode: str | None, batch_size: int):
        check_compile_mode(mode)
        self.fn, self.mode, self.batch_size = fn, mode, batch_size
        self.compiled, self.active = maybe_compile(fn, device, enabled=mode is not None, mode=mode)
        self.error: str | None = None      # why a compiled fn was given up, if it was
        self._tried = False

    def __call__(self, x: torch.Tensor, *rest):
        if not self.active or x.shape[0] != self.batch_size:
            return self.fn(x, *rest)
        if self.mode in CUDA_GRAPH_MODES:
            mark = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)
            if mark is not None:
                mark()
        if self._tried:
            return self.compiled(x, *rest)
        self._tried = True
        try:
            return self.compiled(x, *rest)
        except Exception as e:  # noqa: BLE001 - any compiler failure: the eager step computes the same
            self.active = False
            first = (str(e).strip().splitlines() or [""])[0][:200]
            self.error = f"{type(e).__name__}: {first}"
            print(f"resemote: torch.compile failed ({type(e).__name__}); running the plain step instead: {first}",
                  file=sys.stderr)
            return self.fn(x, *rest)
