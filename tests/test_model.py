"""The model against the facts of the released network (the authors' code, github.com/ArnabKumarRoy02/ResEmoteNet)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resemote.models.resemotenet import CONFIGS, ResEmoteNet, count_parameters


def test_c1_state_dict_matches_released_layout():
    sd = ResEmoteNet("C1").state_dict()
    assert len(sd) == 94
    assert count_parameters(ResEmoteNet("C1")) == 80_238_599
    expected = {
        "conv1.weight": (64, 3, 3, 3), "conv2.weight": (128, 64, 3, 3), "conv3.weight": (256, 128, 3, 3),
        "se.fc.0.weight": (16, 256), "se.fc.2.weight": (256, 16),
        "res_block1.conv1.weight": (512, 256, 3, 3), "res_block1.shortcut.0.weight": (512, 256, 1, 1),
        "res_block2.conv2.weight": (1024, 1024, 3, 3), "res_block3.conv1.weight": (2048, 1024, 3, 3),
        "res_block3.shortcut.1.running_var": (2048,), "fc1.weight": (1024, 2048), "fc2.weight": (512, 1024),
        "fc3.weight": (256, 512), "fc4.weight": (7, 256), "fc4.bias": (7,),
    }
    for k, shape in expected.items():
        assert tuple(sd[k].shape) == shape, k
    assert "se.fc.0.bias" not in sd  # the SE linears have no bias


def _shapes(model, x):
    out = {}
    names = ["conv1", "conv2", "conv3", "se", "res_block1", "res_block2", "res_block3"]
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: out.__setitem__(n, tuple(o.shape[1:])))
             for n in names if getattr(model, n, None) is not None]
    model(x)
    for h in hooks:
        h.remove()
    return out


def test_c1_stage_shapes():
    s = _shapes(ResEmoteNet("C1").eval(), torch.zeros(2, 3, 64, 64))
    # convs are hooked before their pool: 64 @ 64x64 then pooled to 32, etc.
    assert s["conv1"] == (64, 64, 64) and s["conv2"] == (128, 32, 32) and s["conv3"] == (256, 16, 16)
    assert s["se"] == (256, 8, 8)
    assert s["res_block1"] == (512, 4, 4) and s["res_block2"] == (1024, 2, 2) and s["res_block3"] == (2048, 1, 1)


@pytest.mark.parametrize("config,blocks_in,first_conv_in", [
    ("C3", (16, 8, 4), 3), ("C4", (32, 16, 8), 3), ("C5", (8, 4), None), ("C6", (8,), None)])
def test_ablation_reading(config, blocks_in, first_conv_in):
    """Removed convs take their pool with them; the next stage reads the previous output's width."""
    m = ResEmoteNet(config).eval()
    s = _shapes(m, torch.zeros(2, 3, 64, 64))
    res = [k for k in ("res_block1", "res_block2", "res_block3") if k in s]
    assert len(res) == len(blocks_in)
    assert all(s[r][2] == b // 2 for r, b in zip(res, blocks_in))
    assert s[res[-1]][0] == 2048
    if config == "C3":
        assert m.conv2.in_channels == 3 and not hasattr(m, "conv1")
    if config == "C4":
        assert m.conv3.in_channels == 3
    if config == "C5":
        assert m.res_block2.conv1.in_channels == 256 and not hasattr(m, "res_block1")
    if config == "C6":
        assert m.res_block3.conv1.in_channels == 256


def test_c2_has_no_se():
    assert ResEmoteNet("C2").se is None and not any(k.startswith("se.") for k in ResEmoteNet("C2").state_dict())


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_config_forward_and_backward(config):
    torch.manual_seed(0)
    m = ResEmoteNet(config)
    x = torch.randn(3, 3, 64, 64)
    y = m(x)
    assert y.shape == (3, 7)
    F.cross_entropy(y, torch.tensor([0, 3, 6])).backward()
    assert all(p.grad is not None for p in m.parameters())


def test_unknown_config_is_refused():
    with pytest.raises(ValueError, match="expected one of C1, C2"):
        ResEmoteNet("C9")


def test_flops_of_c1_and_c4():
    """About 0.67 GFLOP per 64x64 image for C1 (2 x multiply-accumulates); C4 about 8x that."""
    def flops(model):
        total = 0
        def hook(m, i, o):
            nonlocal total
            if isinstance(m, nn.Conv2d):
                total += 2 * o.numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
            elif isinstance(m, nn.Linear):
                total += 2 * o.numel() * m.in_features
        hs = [mod.register_forward_hook(hook) for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
        model.eval()(torch.zeros(1, 3, 64, 64))
        for h in hs:
            h.remove()
        return total
    c1, c4 = flops(ResEmoteNet("C1")), flops(ResEmoteNet("C4"))
    assert 0.64e9 < c1 < 0.70e9
    assert 7 < c4 / c1 < 9


class ReferenceNet(nn.Module):
    """The released architecture re-stated independently from facts about the released code (not our model
    file): used to check that C1 computes the same function for the same weights."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.conv2, self.bn2 = nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128)
        self.conv3, self.bn3 = nn.Conv2d(128, 256, 3, padding=1), nn.BatchNorm2d(256)
        self.se = nn.Module()
        self.se.fc = nn.Sequential(nn.Linear(256, 16, bias=False), nn.ReLU(), nn.Linear(16, 256, bias=False))
        for i, (a, b) in enumerate([(256, 512), (512, 1024), (1024, 2048)], 1):
            blk = nn.Module()
            blk.conv1, blk.bn1 = nn.Conv2d(a, b, 3, 2, 1), nn.BatchNorm2d(b)
            blk.conv2, blk.bn2 = nn.Conv2d(b, b, 3, 1, 1), nn.BatchNorm2d(b)
            blk.shortcut = nn.Sequential(nn.Conv2d(a, b, 1, 2), nn.BatchNorm2d(b))
            setattr(self, f"res_block{i}", blk)
        self.fc1, self.fc2, self.fc3, self.fc4 = (nn.Linear(2048, 1024), nn.Linear(1024, 512),
                                                  nn.Linear(512, 256), nn.Linear(256, 7))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)
        s = torch.sigmoid(self.se.fc(x.mean((2, 3))))
        x = x * s[:, :, None, None]
        for b in (self.res_block1, self.res_block2, self.res_block3):
            x = F.relu(b.bn2(b.conv2(F.relu(b.bn1(b.conv1(x))))) + b.shortcut(x))
        x = x.mean((2, 3))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        return self.fc4(x)


def test_c1_computes_the_released_function():
    torch.manual_seed(1)
    ref = ReferenceNet()
    # non-trivial BN statistics
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    ours = ResEmoteNet("C1")
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), ref.eval()(x), rtol=1e-4, atol=1e-5)
