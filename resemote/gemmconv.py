"""Convolutions on small maps as matrix products over the kernel taps that meet the map (CPU training).

C1's residual blocks run wide 3 x 3 convs on 4 x 4, 2 x 2 and 1 x 1 maps (at 64 x 64 inputs). oneDNN's
convolution kernels, built for large maps, are slow there: on two AVX2 cores the backward pass of
res_block3's 2048-channel conv took ~0.5 s of a ~1.3 s training step at batch 16, for 0.27 GFLOP of
work (`benchmarks/cpu_layers.py` prints the table). Two facts make these layers cheap:

- a 3 x 3 pad-1 conv on a 1 x 1 map only ever multiplies the centre tap by a real pixel (the other eight
  meet zero padding), and res_block3's stride-2 conv on a 2 x 2 map only its lower-right 2 x 2 taps;
- with few output pixels (N x Ho x Wo rows), the conv is one matrix product of the unfolded input
  (im2col) with the weight, and its two gradients are two more: the shapes BLAS is good at.

`gemm_conv2d` computes exactly that: the forward pass and both gradients as three GEMMs (over the live taps
where they are few, `CROP_AT`). The weight gradient of a tap that meets only padding is exactly zero, as in the
plain conv, so SGD (with its
weight decay and momentum) updates every weight as the plain step does; results agree with `F.conv2d` to
float rounding (tests/test_gemmconv.py). `GemmConv2d` is an `nn.Conv2d` (same parameters, same state_dict)
that takes this path on the CPU when the output map is small, and `F.conv2d` otherwise;
`use_gemm_convs(model)` switches a model's plain convs to it in place.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# output maps of at most this many pixels take the GEMM path (C1 at 64 x 64: res_block1-3, 4 x 4 to 1 x 1);
# on larger maps oneDNN's direct kernels win (measured: benchmarks/cpu_layers.py)
MAX_OUTPUT_PIXELS = 16
# training crops the weight to its live taps only where they are at most this share of the kernel (res_block3's
# 1 x 1 conv2: 1/9); otherwise gathering the taps every step costs more than multiplying the padding zeros
# (res_block3's conv1, 4/9 live: 55 against 71 ms forward + backward, measured); inference gathers them once
CROP_AT = 1 / 3


def live_taps(size: int, kernel: int, stride: int, padding: int) -> tuple[int, int, int]:
    """(first, end) of the kernel taps along one axis that meet a real pixel of a `size`-long input for
    some output position, and the output length. Taps outside [first, end) only ever meet padding."""
    out = (size + 2 * padding - kernel) // stride + 1
    live = [t for t in range(kernel) if any(0 <= i * stride + t - padding < size for i in range(out))]
    return live[0], live[-1] + 1, out


class _Geometry:
    """Where the live taps of one conv read: the crop of the padded input, the kernel box and output size."""

    def __init__(self, x_shape: torch.Size, w_shape: torch.Size, stride: int, padding: int,
                 crop_at: float = 1.0):
        _, _, h, w = x_shape
        self.r0, self.r1, self.ho = live_taps(h, w_shape[2], stride, padding)
        self.c0, self.c1, self.wo = live_taps(w, w_shape[3], stride, padding)
        if (self.r1 - self.r0) * (self.c1 - self.c0) > crop_at * w_shape[2] * w_shape[3]:
            self.r0, self.r1, self.c0, self.c1 = 0, w_shape[2], 0, w_shape[3]   # keep every tap
        self.kh, self.kw = self.r1 - self.r0, self.c1 - self.c0
        self.full = (self.kh, self.kw) == tuple(w_shape[2:])
        self.stride, self.padding, self.w_shape = stride, padding, tuple(w_shape)
        # the window of the padded input that the live taps read
        self.rows = (self.r0, self.r0 + (self.ho - 1) * stride + self.kh)
        self.cols = (self.c0, self.c0 + (self.wo - 1) * stride + self.kw)

    def weight_box(self, weight: torch.Tensor) -> torch.Tensor:
        """The live taps as a (C_out, C_in * kh * kw) matrix: the weight itself where every tap is live, else
        a gathered copy (as a strided view BLAS would copy it itself, column by column, ~4x slower; one tap
        by `select`, ~2x faster than index_select)."""
        if self.full:
            return weight.reshape(weight.shape[0], -1)
        if self.kh == self.kw == 1:
            return weight[:, :, self.r0, self.c0].contiguous()
        co, ci, kh, kw = weight.shape
        return weight.reshape(co * ci, kh * kw).index_select(1, self.taps(weight.device)).view(co, -1)

    def taps(self, device: torch.device) -> torch.Tensor:
        """Flat indices (row * kw + col) of the live taps, row-major over their box."""
        kw = self.w_shape[3]
        return torch.tensor([r * kw + c for r in range(self.r0, self.r1) for c in range(self.c0, self.c1)],
                            device=device)

    def weight_grad(self, gw: torch.Tensor) -> torch.Tensor:
        """The (C_out, C_in * kh * kw) gradient of the live taps as the whole weight's gradient: taps that
        meet only padding get exactly zero, as in the plain conv's gradient."""
        if self.full:
            return gw.view(self.w_shape)
        co, ci, kh, kw = self.w_shape
        grad = gw.new_zeros(co * ci, kh * kw)
        grad.index_copy_(1, self.taps(gw.device), gw.view(co * ci, -1))
        return grad.view(self.w_shape)

    def unfold(self, x: torch.Tensor) -> torch.Tensor:
        """im2col over the live taps: (N * Ho * Wo, C_in * kh * kw)."""
        p = self.padding
        xp = F.pad(x, (p, p, p, p)) if p else x
        xp = xp[:, :, self.rows[0]:self.rows[1], self.cols[0]:self.cols[1]]
        n = x.shape[0]
        if self.ho == 1 and self.wo == 1:
            return xp.reshape(n, -1)
        cols = F.unfold(xp, (self.kh, self.kw), stride=self.stride)          # (N, C kh kw, Ho Wo)
        # row-major, also at N = 1 (where reshape would keep the transposed view): MKL multiplies a weight by
        # a column-major cols.T ~2x faster than by a row-major one at a few rows (measured at batch 1)
        return cols.transpose(1, 2).reshape(n * self.ho * self.wo, -1).contiguous()

    def fold(self, cols: torch.Tensor, x_shape: torch.Size) -> torch.Tensor:
        """The adjoint of `unfold`: (N * Ho * Wo, C_in * kh * kw) -> the gradient of the input x."""
        n, c, h, w = x_shape
        p = self.padding
        win = (self.rows[1] - self.rows[0], self.cols[1] - self.cols[0])
        if self.ho == 1 and self.wo == 1:
            g = cols.reshape(n, c, *win)
        else:
            g = F.fold(cols.reshape(n, self.ho * self.wo, -1).transpose(1, 2), win, (self.kh, self.kw),
                       stride=self.stride)
        gp = g.new_zeros(n, c, h + 2 * p, w + 2 * p)                       # the padded input's gradient
        gp[:, :, self.rows[0]:self.rows[1], self.cols[0]:self.cols[1]] = g
        return gp[:, :, p:p + h, p:p + w] if p else gp


class _GemmConv(torch.autograd.Function):
    # Each product is taken in the operand order MKL runs fastest here with few rows (N Ho Wo = 16..256):
    # weight @ cols.T rather than cols @ weight.T, weight.T @ grad.T rather than grad @ weight (~1.5-2x on
    # res_block2-3's shapes, measured on 2 AVX2 cores); the transposes are views.
    @staticmethod
    def forward(ctx, x, weight, bias, stride: int, padding: int):
        geo = _Geometry(x.shape, weight.shape, stride, padding, CROP_AT)
        cols, wk = geo.unfold(x), geo.weight_box(weight)                    # (N Ho Wo, K), (C_out, K)
        out = torch.addmm(bias[:, None], wk, cols.t()) if bias is not None else wk @ cols.t()
        ctx.save_for_backward(cols, wk)
        ctx.geo, ctx.x_shape, ctx.has_bias = geo, x.shape, bias is not None
        # (C_out, N Ho Wo) -> (N, C_out, Ho, Wo), contiguous as F.conv2d returns it
        return out.view(-1, x.shape[0], geo.ho, geo.wo).transpose(0, 1).contiguous()

    @staticmethod
    def backward(ctx, grad_out):
        cols, wk = ctx.saved_tensors
        geo = ctx.geo
        g = grad_out.permute(0, 2, 3, 1).reshape(-1, wk.shape[0])           # (N Ho Wo, C_out)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = geo.fold((wk.t() @ g.t()).t(), ctx.x_shape)            # d cols = g @ wk
        if ctx.needs_input_grad[1]:
            grad_w = geo.weight_grad(g.t() @ cols)                           # (C_out, K) first
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = g.sum(0)
        return grad_x, grad_w, grad_b, None, None


def gemm_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1,
                padding: int = 0) -> torch.Tensor:
    """`F.conv2d(x, weight, bias, stride, padding)` (square stride and padding, no groups or dilation),
    computed as matrix products over the live taps; differentiable in all three tensors."""
    return _GemmConv.apply(x, weight, bias, stride, padding)


class GemmConv2d(nn.Conv2d):
    """An `nn.Conv2d` that computes small output maps on the CPU with `gemm_conv2d` (see the module doc)."""

    def _gemm_ok(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dim() == 4 and x.dtype == torch.float32
                and small_output(self, x.shape[2], x.shape[3]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._gemm_ok(x):
            return gemm_conv2d(x, self.weight, self.bias, self.stride[0], self.padding[0])
        return super().forward(x)


def supports(conv: nn.Module) -> bool:
    """Whether `conv` is a plain Conv2d that `GemmConv2d` computes the same way."""
    return (type(conv) is nn.Conv2d and conv.groups == 1 and conv.dilation == (1, 1)
            and conv.padding_mode == "zeros" and isinstance(conv.padding, tuple)
            and conv.stride[0] == conv.stride[1] and conv.padding[0] == conv.padding[1])


def use_gemm_convs(model: nn.Module) -> int:
    """Switch every plain `nn.Conv2d` of `model` that `supports` to `GemmConv2d`, in place (the class only:
    parameters, names and state_dict are untouched). Returns how many were switched."""
    n = 0
    for m in model.modules():
        if supports(m):
            m.__class__ = GemmConv2d
            n += 1
    return n


class FixedGemmConv(nn.Module):
    """An inference-only conv for one input size, as a matrix product over its live taps, the weight matrix
    gathered once here (`accel.fast_inference`: at batch 1 the CPU is bound by reading weights, and the
    dropped taps are most of them: res_block3's 56.6M weights become 12.6M)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
                 in_hw: tuple[int, int]):
        super().__init__()
        self.geo = _Geometry(torch.Size((1, weight.shape[1], *in_hw)), weight.shape, stride, padding)
        self.in_hw = tuple(in_hw)
        self.weight = nn.Parameter(self.geo.weight_box(weight.detach()).contiguous(), requires_grad=False)
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False) if bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[2:]) != self.in_hw:
            raise ValueError(f"this conv was prepared for {self.in_hw} maps, got {tuple(x.shape[2:])}")
        cols = self.geo.unfold(x)
        # weight @ cols.T, not cols @ weight.T: with a few rows (batch 1) MKL's kernel for this operand order
        # streams the weight ~2x faster here (measured: 2.9 against 6.0 ms for res_block2's conv2)
        out = (torch.addmm(self.bias[:, None], self.weight, cols.t()) if self.bias is not None
               else self.weight @ cols.t())                                   # (C_out, N Ho Wo)
        return out.view(-1, x.shape[0], self.geo.ho, self.geo.wo).transpose(0, 1)


def small_output(conv: nn.Conv2d, h: int, w: int | None = None) -> bool:
    """Whether `conv` on an h x w map (w = h if not given) has at most MAX_OUTPUT_PIXELS outputs (the GEMM
    path's domain)."""
    out = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip((h, h if w is None else w), conv.kernel_size,
                                                           conv.stride, conv.padding)]
    return 0 < out[0] * out[1] <= MAX_OUTPUT_PIXELS
