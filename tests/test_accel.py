"""Speed options: the inference rewrite equals the plain model, the CPU training path stays exact, and the
CUDA-only branches run on the CPU device wherever they can."""
import contextlib
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resemote import accel
from resemote.models.resemotenet import ResEmoteNet
from resemote.device_images import DeviceImages
from resemote.training import train_one_epoch


def _randomised(config: str = "C1", seed: int = 0) -> ResEmoteNet:
    """A model whose BatchNorms are not the identity, so that folding them is really tested."""
    torch.manual_seed(seed)
    m = ResEmoteNet(config)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.normal_(0, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.normal_(0, 0.2)
    return m.eval()


@pytest.mark.parametrize("size", [64, 32])  # 64: res_block3 on 2 x 2 -> 1 x 1; 32: res_block2 too, res_block3 on 1 x 1
def test_fast_inference_equals_the_plain_model(size):
    m = _randomised()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    fast = accel.fast_inference(m, size)
    assert not fast.training
    x = torch.randn(3, 3, size, size)
    with torch.inference_mode():
        want, got, one = m(x), fast(x), fast(x[:1])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(one, want[:1], atol=1e-5, rtol=1e-4)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())  # the model is left untouched
    if size == 64:  # res_block3's unused taps are gone: 80.2M -> 36.2M weights read per image
        assert sum(p.numel() for p in fast.parameters()) < 0.46 * sum(p.numel() for p in m.parameters())


def test_fast_inference_keeps_spatial_blocks_and_refuses_other_sizes():
    m = _randomised("C6")  # res_block3 alone, on an 8 x 8 map: folded, not reduced to a point
    fast = accel.fast_inference(m, 64)
    assert isinstance(fast.blocks[0], accel._FoldedBlock)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), m(x), atol=1e-5, rtol=1e-4)
        with pytest.raises(ValueError, match="prepared for 64 x 64"):
            fast(torch.randn(1, 3, 48, 48))


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_autocast_and_layout_are_cuda_only():
    assert isinstance(accel.autocast_context("cpu"), contextlib.nullcontext)
    assert isinstance(accel.autocast_context("mps"), contextlib.nullcontext)
    ac = accel.autocast_context("cuda")
    assert isinstance(ac, torch.autocast) and ac.fast_dtype == torch.bfloat16
    x = torch.randn(2, 3, 8, 8)
    assert accel.to_channels_last(x, "cpu") is x
    # the CUDA branch, exercised on CPU tensors: the same values in NHWC memory order
    y = accel.to_channels_last(x, "cuda")
    assert y.is_contiguous(memory_format=torch.channels_last) and torch.equal(x, y)
    m = accel.to_channels_last(nn.Conv2d(3, 4, 3), "cuda")
    assert m.weight.is_contiguous(memory_format=torch.channels_last)
    assert accel.to_channels_last(torch.zeros(3, 4), "cuda").shape == (3, 4)  # non-4D tensors pass through


def test_sgd_options_and_compile_guard():
    assert accel.sgd_options("cpu") == {"fused": True} and accel.sgd_options("cuda") == {"fused": True}
    assert accel.sgd_options("mps") == {}
    fn = lambda x: x + 1  # noqa: E731
    assert accel.maybe_compile(fn, "cpu") == (fn, False)  # never on the CPU or MPS: the plain path
    assert accel.maybe_compile(fn, "mps") == (fn, False)
    assert accel.maybe_compile(fn, "cuda", enabled=False) == (fn, False)
    assert not accel.compile_available("cpu")


def _tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 7))


def test_fused_cpu_sgd_matches_the_plain_loop_and_repeats_exactly():
    """train() uses the fused SGD on the CPU: the plain loop's values to rounding, the same bits every time."""
    g = torch.Generator().manual_seed(1)
    data = DeviceImages(torch.randint(0, 256, (24, 16, 16), generator=g, dtype=torch.uint8).numpy(),
                        torch.randint(0, 7, (24,), generator=g).numpy())
    out = []
    for opts in ({}, accel.sgd_options("cpu"), accel.sgd_options("cpu")):
        torch.manual_seed(0)
        m = _tiny()
        opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4, **opts)
        loss, correct = train_one_epoch(m, opt, data.batches(6, shuffle=True, flip=True,
                                                             generator=torch.Generator().manual_seed(0)))
        out.append((float(loss), int(correct), [p.detach().clone() for p in m.parameters()]))
    (l0, c0, p0), (l1, c1, p1), (l2, c2, p2) = out
    assert abs(l0 - l1) < 1e-5 and c0 == c1
    for a, b, c in zip(p0, p1, p2):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5)  # fused rounds once where the loop rounds twice
        assert torch.equal(b, c)  # deterministic: what exact resume needs


def test_train_one_epoch_is_the_plain_step_on_cpu():
    """The shared step adds nothing on the CPU: a hand-written eager loop gives the same bits."""
    g = torch.Generator().manual_seed(2)
    data = DeviceImages(torch.randint(0, 256, (12, 16, 16), generator=g, dtype=torch.uint8).numpy(),
                        torch.randint(0, 7, (12,), generator=g).numpy())
    torch.manual_seed(0)
    a = _tiny()
    b = _tiny()
    b.load_state_dict(a.state_dict())
    oa = torch.optim.SGD(a.parameters(), lr=0.05, momentum=0.9)
    ob = torch.optim.SGD(b.parameters(), lr=0.05, momentum=0.9)
    torch.manual_seed(5)
    train_one_epoch(a, oa, data.batches(4))
    torch.manual_seed(5)
    b.train()
    for x, y in data.batches(4):
        loss = F.cross_entropy(b(x), y)
        ob.zero_grad()
        loss.backward()
        ob.step()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_step_and_inference():
    dev = torch.device("cuda")
    m = _randomised().to(dev)
    fast = accel.fast_inference(m, 64)
    x = torch.randn(4, 3, 64, 64, device=dev)
    with torch.inference_mode(), accel.autocast_context(dev):
        got = fast(x).float()
    want = m(x)
    assert (got.argmax(1) == want.argmax(1)).float().mean() >= 0.75
    m.train()
    m = accel.to_channels_last(m, dev)
    opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, **accel.sgd_options(dev))
    data = DeviceImages(torch.randint(0, 256, (32, 64, 64), dtype=torch.uint8).numpy(),
                        torch.randint(0, 7, (32,)).numpy(), dev)
    loss, correct = train_one_epoch(m, opt, data.batches(16, shuffle=True, flip=True,
                                                         generator=torch.Generator().manual_seed(0)))
    assert torch.isfinite(loss)


def test_static_compiled_routes_full_batches_and_falls_back_once(monkeypatch, capsys):
    calls = []
    plain = lambda x, y: ("plain", len(x))  # noqa: E731

    def fake_compile(fn, device, enabled=True, mode=None):
        def compiled(x, y):
            calls.append(len(x))
            if fail["now"]:
                raise RuntimeError("triton: no ptxas\nmore detail")
            return "compiled", len(x)
        return (compiled, True) if enabled else (fn, False)

    fail = {"now": False}
    marks = []
    monkeypatch.setattr(accel, "maybe_compile", fake_compile)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: marks.append(1))
    step = accel.StaticCompiled(plain, "cuda", "default", batch_size=4)
    x4, x3 = torch.zeros(4, 3, 8, 8), torch.zeros(3, 3, 8, 8)
    assert step(x4, None) == ("compiled", 4) and step(x3, None) == ("plain", 3) and calls == [4]
    fail["now"] = True  # a failure after the first call is a real error, not a compiler to give up on
    with pytest.raises(RuntimeError, match="no ptxas"):
        step(x4, None)

    fresh = accel.StaticCompiled(plain, "cuda", "reduce-overhead", batch_size=4)
    assert fresh(x4, None) == ("plain", 4) and not fresh.active  # failed at its first call: the plain step
    assert fresh.error == "RuntimeError: triton: no ptxas"
    assert "torch.compile failed (RuntimeError); running the plain step" in capsys.readouterr().err
    assert fresh(x4, None) == ("plain", 4) and calls == [4, 4, 4]
    assert len(marks) == 1  # CUDA graph modes mark each compiled step as a new iteration; "default" does not

    off = accel.StaticCompiled(plain, "cuda", None, batch_size=4)  # no mode: never compiled
    assert not off.active and off(x4, None) == ("plain", 4)
    with pytest.raises(Exception, match="unknown compile mode 'fast'"):
        accel.StaticCompiled(plain, "cuda", "fast", batch_size=4)


def test_static_compiled_is_the_plain_step_on_the_cpu():
    plain = lambda x: x + 1  # noqa: E731
    step = accel.StaticCompiled(plain, "cpu", "reduce-overhead", batch_size=2)
    assert not step.active and step.compiled is plain and torch.equal(step(torch.zeros(2)), torch.ones(2))


def test_normalisation_constants_are_made_once_per_device():
    """`to_input` must not build its mean and std per batch: on CUDA that is a blocking copy (a host sync)."""
    from resemote import device_images as pipeline
    u8 = torch.randint(0, 256, (2, 4, 4), dtype=torch.uint8)
    a = pipeline.to_input(u8)
    mean, std = pipeline._mean_std(torch.device("cpu"))
    assert pipeline._mean_std(torch.device("cpu"))[0] is mean
    want = (u8.float().div(255).unsqueeze(1) - torch.tensor(pipeline.IMAGENET_MEAN).view(1, 3, 1, 1)) \
        / torch.tensor(pipeline.IMAGENET_STD).view(1, 3, 1, 1)
    assert torch.equal(a, want)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_step_takes_the_odd_batch_eagerly_and_snapshots_are_pinned():
    """What `train --compile-mode reduce-overhead` runs on a GPU: full batches through CUDA graphs (or the
    plain step, with the compiler's error, where it fails), the odd last batch eagerly, and resume-state
    copies to pinned host memory that hold the values of the moment they were taken."""
    from resemote.training.runwriter import host_snapshot
    from resemote.training import training_forward
    dev = torch.device("cuda")
    m = accel.to_channels_last(_randomised().train().to(dev), dev)
    opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, **accel.sgd_options(dev))
    data = DeviceImages(torch.randint(0, 256, (37, 64, 64), dtype=torch.uint8).numpy(),
                        torch.randint(0, 7, (37,)).numpy(), dev)  # batches of 16, 16 and 5
    step = accel.StaticCompiled(training_forward(m, None, dev), dev, "reduce-overhead", 16)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        loss, correct = train_one_epoch(m, opt, data.batches(16, shuffle=True, flip=True, generator=g), forward=step)
    assert torch.isfinite(loss) and 0 <= int(correct) <= 37
    assert step.active or step.error
    snap, ready = host_snapshot({"model": m.state_dict()}, dev)
    want = {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
    train_one_epoch(m, opt, data.batches(16, shuffle=True, flip=True, generator=g), forward=step)  # moves on
    ready()
    assert all(snap["model"][k].is_pinned() and torch.equal(snap["model"][k], want[k]) for k in want)



_FAULTS = """
import resource, sys, torch
from resemote import accel
print(accel.keep_freed_memory(sys.argv[1]))
torch.manual_seed(0)
m = torch.nn.Linear(4096, 4096)    # a 67 MB gradient: above glibc's 32 MB limit, so mmap-ed by default
opt = torch.optim.SGD(m.parameters(), lr=0.1)
x = torch.randn(16, 4096)
faults = []
for _ in range(6):                 # training steps as `train_one_epoch` makes them
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    opt.zero_grad(set_to_none=True)
    m(x).square().mean().backward()
    opt.step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults[3:])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_reuses_pages_on_the_cpu():
    import subprocess

    def steady_faults(device: str) -> tuple[str, list[int]]:
        out = subprocess.run([sys.executable, "-c", _FAULTS, device], capture_output=True, text=True,
                             check=True).stdout.split()
        return out[0], [int(n) for n in out[1:]]
    pages = 4096 * 4096 * 4 // 4096               # 16,384 pages of 4 KiB in the weight's gradient
    applied, faults = steady_faults("cpu")
    assert applied == "True" and max(faults) < pages // 20    # steady state: the heap's pages are reused
    applied, faults = steady_faults("meta")        # not a CPU device: glibc's defaults, left alone
    assert applied == "False" and min(faults) >= pages        # the gradient mapped afresh and faulted in
