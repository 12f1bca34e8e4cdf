"""Small-map convs as matrix products (resemote.gemmconv): the plain conv's outputs and gradients to float
rounding, the plain step's weights after a few SGD steps, every weight (dead taps included) updated, and the
same bits every time (what exact CPU resume needs)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resemote import accel, gemmconv
from resemote.gemmconv import GemmConv2d, gemm_conv2d, live_taps, use_gemm_convs
from resemote.models.resemotenet import ResEmoteNet


def test_live_taps_by_hand():
    # 3 x 3 pad 1 on a 1 x 1 map: one output, only the centre tap meets the pixel
    assert live_taps(1, 3, 1, 1) == (1, 2, 1)
    # stride 2 on a 2 x 2 map (res_block3's conv1 at 64 x 64): output 0 reads rows -1, 0, 1: taps 1 and 2
    assert live_taps(2, 3, 2, 1) == (1, 3, 1)
    # 2 x 2 map, stride 1: output 0 reads -1..1, output 1 reads 0..2; every tap meets a pixel somewhere
    assert live_taps(2, 3, 1, 1) == (0, 3, 2)
    assert live_taps(4, 1, 2, 0) == (0, 1, 2)  # a 1 x 1 stride-2 shortcut


# (in, out, map, kernel, stride, padding): every residual-block conv of C1 at 64 and 32 px inputs, and odd ones
GEOMETRIES = [(16, 24, 1, 3, 1, 1), (16, 24, 2, 3, 2, 1), (16, 24, 2, 3, 1, 1), (16, 24, 4, 3, 1, 1),
              (16, 24, 8, 3, 2, 1), (16, 24, 2, 1, 2, 0), (16, 24, 4, 1, 2, 0), (8, 12, 3, 3, 1, 1),
              (8, 12, 5, 3, 2, 1), (8, 12, 3, 3, 1, 0), (8, 12, 1, 1, 1, 0)]


@pytest.mark.parametrize("crop_at", [1.0, 1 / 3, 0.0])  # always crop; the default; never crop
@pytest.mark.parametrize("cin,cout,size,k,s,p", GEOMETRIES)
def test_outputs_and_gradients_equal_the_plain_conv(cin, cout, size, k, s, p, crop_at, monkeypatch):
    monkeypatch.setattr(gemmconv, "CROP_AT", crop_at)
    g = torch.Generator().manual_seed(size * 10 + k)
    x = torch.randn(5, cin, size, size, generator=g)
    w = torch.randn(cout, cin, k, k, generator=g) * 0.1
    b = torch.randn(cout, generator=g)
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    plain = [t.clone().requires_grad_() for t in (x, w, b)]
    got, want = gemm_conv2d(*leaves, s, p), F.conv2d(*plain, s, p)
    assert got.shape == want.shape and got.is_contiguous()
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    up = torch.randn(want.shape, generator=g)
    got.backward(up)
    want.backward(up)
    for a, e in zip(leaves, plain):
        torch.testing.assert_close(a.grad, e.grad, atol=1e-5, rtol=1e-5)
    assert leaves[1].grad.stride() == w.stride()  # the weight's layout: AccumulateGrad keeps it as given


def test_taps_that_meet_only_padding_get_exactly_zero_gradient():
    w = torch.randn(6, 4, 3, 3, requires_grad=True)
    gemm_conv2d(torch.randn(3, 4, 1, 1), w, None, 1, 1).sum().backward()
    dead = torch.ones(3, 3, dtype=torch.bool)
    dead[1, 1] = False
    assert torch.all(w.grad[:, :, dead] == 0) and torch.all(w.grad[:, :, 1, 1] != 0)


def test_the_module_switch_keeps_parameters_and_falls_back_on_large_maps():
    torch.manual_seed(0)
    m = ResEmoteNet("C1")
    before = {k: v.clone() for k, v in m.state_dict().items()}
    assert use_gemm_convs(m) == 12  # res_block1-3: two convs and a shortcut each; the stem too (large maps)
    assert isinstance(m.res_block3.conv2, GemmConv2d) and isinstance(m.conv1, GemmConv2d)
    assert isinstance(m.conv1, nn.Conv2d)  # still a Conv2d: FLOP counting, BN folding, checkpoints see one
    assert list(m.state_dict()) == list(before) and all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())
    conv = m.conv2  # a 32 x 32 map: F.conv2d, the very same bits
    x = torch.randn(2, 64, 32, 32)
    assert not conv._gemm_ok(x) and torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias, 1, 1))
    assert m.res_block3.conv2._gemm_ok(torch.randn(2, 2048, 1, 1))
    assert use_gemm_convs(m) == 0  # switched once


def _steps(model: nn.Module, n: int, seed: int = 0) -> list[torch.Tensor]:
    """n SGD steps of the paper's optimizer on random batches (dropout on: the masks come from the same
    seeded generator for both paths); returns the losses and leaves the weights in the model."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4, **accel.sgd_options("cpu"))
    g = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    torch.manual_seed(seed)
    for _ in range(n):
        x, y = torch.randn(4, 3, 64, 64, generator=g), torch.randint(0, 7, (4,), generator=g)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return losses


def _gradients(model: nn.Module, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss and every parameter's gradient of one training step's backward pass (dropout on)."""
    model.train()
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x, y = torch.randn(4, 3, 64, 64, generator=g), torch.randint(0, 7, (4,), generator=g)
    loss = F.cross_entropy(model(x), y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_one_c1_step_has_the_plain_steps_gradients():
    """The matrix-product convs against F.conv2d over a whole C1 backward pass. The two sum in different
    orders, and oneDNN's kernels differ by CPU, so the comparison is relative to each gradient's norm. A conv
    bias in front of a BatchNorm has a gradient that is zero up to rounding (about 1e-8 here), so it is held
    to the whole gradient's norm instead. Measured (worst tensor, ||fast - plain|| / ||plain||, conv biases
    aside): 1.7e-5 on a Xeon with AVX-512 (bf16, fp16, VNNI), 3.1e-5 on the same machine with
    ONEDNN_MAX_CPU_ISA=AVX2; 1e-4 leaves room for other CPUs, and a wrong tap or a lost term is off by O(1)."""
    torch.manual_seed(0)
    plain = ResEmoteNet("C1")
    fast = ResEmoteNet("C1")
    fast.load_state_dict(plain.state_dict())
    use_gemm_convs(fast)
    lp, gp = _gradients(plain)
    lf, gf = _gradients(fast)
    torch.testing.assert_close(lf, lp, atol=1e-5, rtol=1e-5)
    total = torch.sqrt(sum(g.norm() ** 2 for g in gp.values()))
    for name, g in gp.items():
        assert (gf[name] - g).norm() <= 1e-4 * g.norm() + 1e-6 * total, name


def test_a_few_c1_steps_on_the_fast_path_repeat_bit_for_bit():
    torch.manual_seed(0)
    start = ResEmoteNet("C1").state_dict()
    fast, again = ResEmoteNet("C1"), ResEmoteNet("C1")
    for m in (fast, again):
        m.load_state_dict(start)
        use_gemm_convs(m)
    lf, la = _steps(fast, 3), _steps(again, 3)
    assert torch.equal(torch.stack(la), torch.stack(lf))
    for (name, f), a in zip(fast.state_dict().items(), again.state_dict().values()):
        assert torch.equal(f, a), name  # deterministic: a resumed CPU run ends where an uninterrupted one does
    # the taps that never meet res_block3's 1 x 1 map still moved (weight decay and momentum), as in the plain step
    w0, w = start["res_block3.conv2.weight"][:, :, 0, 0], fast.state_dict()["res_block3.conv2.weight"][:, :, 0, 0]
    assert not torch.equal(w, w0)


def test_fast_inference_uses_the_gathered_taps_and_matches_at_batch_one():
    torch.manual_seed(0)
    m = ResEmoteNet("C1").eval()
    fast = accel.fast_inference(m, 64)
    convs = [b.conv2 for b in fast.blocks]
    assert all(isinstance(c, gemmconv.FixedGemmConv) for c in convs)
    assert convs[2].weight.shape == (2048, 2048)  # res_block3's conv2: the centre tap only
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), m(x), atol=1e-5, rtol=1e-4)
        with pytest.raises(ValueError, match=r"prepared for \(1, 1\) maps"):
            convs[2](torch.randn(1, 2048, 2, 2))
