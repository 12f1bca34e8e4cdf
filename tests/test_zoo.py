"""The model registry: names, the baselines against independent hand counts of their parameters and FLOPs,
every network trains a step, baselines go through train / load_model / fast inference like ResEmoteNet."""
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resemote import accel
from resemote.errors import ResEmoteError
from resemote.models.resemotenet import CONFIGS
from resemote.models import MODELS, count_flops, count_parameters, create_model, model_names, model_summary

from conftest import run_cli

BASELINES = ["resnet18", "resnet34", "vgg", "cnn", "cnn-se"]


# --- independent counts, from the architectures as the released code defines them --------------------------------
# parameters: conv k*k*cin*cout (+ cout bias), BN 2*c, linear in*out + out;
# multiply-accumulates: out_h * out_w * k*k*cin*cout per conv, in*out per linear (x2 = FLOPs)
def conv(k, cin, cout, out_hw, bias=True):
    return k * k * cin * cout + (cout if bias else 0), out_hw * out_hw * k * k * cin * cout


def linear(i, o, bias=True):
    return i * o + (o if bias else 0), i * o


def bn(c):
    return 2 * c, 0


def total(*parts):
    return sum(p for p, _ in parts), 2 * sum(m for _, m in parts)


def resnet_counts(blocks):
    parts = [conv(7, 3, 64, 32, bias=False), bn(64)]  # 7x7 stride 2 on 64 -> 32; no max-pool after it
    cin, hw = 64, 32
    for stage, (c, n) in enumerate(zip((64, 128, 256, 512), blocks)):
        for j in range(n):
            stride = 2 if stage > 0 and j == 0 else 1
            hw //= stride
            parts += [conv(3, cin, c, hw, bias=False), bn(c), conv(3, c, c, hw, bias=False), bn(c)]
            if stride != 1 or cin != c:
                parts += [conv(1, cin, c, hw, bias=False), bn(c)]
            cin = c
    return total(*parts, linear(512, 7))


def vgg_counts():
    parts = []
    for (cin, c), hw in zip([(3, 64), (64, 128), (128, 256)], (64, 32, 16)):
        parts += [conv(3, cin, c, hw), conv(3, c, c, hw), bn(c)]  # one BN per pair
    return total(*parts, linear(256 * 8 * 8, 4096), linear(4096, 1024), linear(1024, 7))


def cnn_counts(se=False, size=64):
    parts, cin = [], 3
    for c, hw in zip((64, 128, 256, 512, 1024), (size, size // 2, size // 4, size // 8, size // 16)):
        parts += [conv(3, cin, c, hw), bn(c)]
        cin = c
    head = (1024, 1024, 2048, 512, 7) if se else (1024, 2048, 1024, 512, 7)
    if se:
        parts += [linear(1024, 64, bias=False), linear(64, 1024, bias=False)]
    return total(*parts, *(linear(a, b) for a, b in zip(head, head[1:])))


def c1_counts():
    parts = [conv(3, 3, 64, 64), bn(64), conv(3, 64, 128, 32), bn(128), conv(3, 128, 256, 16), bn(256),
             linear(256, 16, bias=False), linear(16, 256, bias=False)]
    for cin, c, hw in ((256, 512, 4), (512, 1024, 2), (1024, 2048, 1)):
        parts += [conv(3, cin, c, hw), bn(c), conv(3, c, c, hw), bn(c), conv(1, cin, c, hw), bn(c)]
    return total(*parts, linear(2048, 1024), linear(1024, 512), linear(512, 256), linear(256, 7))


EXPECTED = {"resnet18": resnet_counts([2, 2, 2, 2]), "resnet34": resnet_counts([3, 4, 6, 3]),
            "vgg": vgg_counts(), "cnn": cnn_counts(), "cnn-se": cnn_counts(se=True), "C1": c1_counts()}


def test_registry():
    assert model_names() == list(CONFIGS) + BASELINES
    assert [n for n, s in MODELS.items() if s.family == "ResEmoteNet"] == list(CONFIGS)
    assert all(s.family == "baseline" for n, s in MODELS.items() if n in BASELINES)
    assert len({s.title for s in MODELS.values()}) == len(MODELS)
    assert all(s.description and "\n" not in s.description for s in MODELS.values())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_parameters_and_flops_match_hand_counts(name):
    params, flops = EXPECTED[name]
    model = create_model(name)
    assert count_parameters(model) == params
    assert count_flops(model, 64) == flops
    s = model_summary(name, 64)  # the meta-device measurement training records
    assert (s["parameters"], s["gflops"]) == (params, flops / 1e9) and s["model"] == MODELS[name].title


def test_model_baselines_and_zoo_import_no_circle():
    """count_parameters lives below all three (resemote.models.util); the networks never import the registry."""
    from resemote.models import baselines, resemotenet as model, util
    from resemote import models as zoo
    from resemote.book.engine import _imports
    from pathlib import Path
    deps = {m.__name__: _imports(m.__name__, Path(m.__file__)) for m in (model, baselines, zoo, util)}
    assert "resemote.models" not in deps["resemote.models.resemotenet"] | deps["resemote.models.baselines"]
    assert not {d for d in deps["resemote.models.util"] if d != "resemote"}
    assert model.count_parameters is zoo.count_parameters is util.count_parameters


def test_c1_is_unchanged():
    assert EXPECTED["C1"][0] == 80_238_599 and 0.66e9 < EXPECTED["C1"][1] < 0.68e9


def test_resnet18_is_torchvisions_without_the_stem_pool():
    from torchvision.models import resnet18
    ours = create_model("resnet18")
    assert count_parameters(ours) == count_parameters(resnet18(num_classes=7))
    assert isinstance(ours.maxpool, nn.Identity)
    assert (ours.conv1.kernel_size, ours.conv1.stride, ours.conv1.padding) == ((7, 7), (2, 2), (3, 3))


@pytest.mark.parametrize("name", BASELINES)  # C1-C6: tests/test_model.py::test_every_config_forward_and_backward
def test_every_baseline_forward_and_backward(name):
    torch.manual_seed(0)
    m = create_model(name)
    y = m(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 7)
    F.cross_entropy(y, torch.tensor([0, 6])).backward()
    assert all(p.grad is not None for p in m.parameters())
    with torch.device("meta"):
        assert create_model(name, num_classes=3)(torch.zeros(1, 3, 64, 64)).shape == (1, 3)


def test_unknown_name_and_unusable_size_are_one_line():
    with pytest.raises(ResEmoteError) as e:
        create_model("resnet50")
    msg = str(e.value)
    assert "\n" not in msg and "'resnet50'" in msg and all(n in msg for n in model_names())
    with pytest.raises(ResEmoteError, match=r"VGG-style CNN \(vgg\) cannot take 48 x 48 inputs"):
        model_summary("vgg", 48)


def _randomised(model: nn.Module) -> nn.Module:
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.normal_(0, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.normal_(0, 0.2)
    return model.eval()


@pytest.mark.parametrize("name", ["vgg", "cnn-se", "resnet18"])  # shared BN; SE; projection shortcuts
def test_fast_inference_of_baselines_folds_bn_and_matches(name):
    torch.manual_seed(0)
    m = _randomised(create_model(name))
    before = {k: v.clone() for k, v in m.state_dict().items()}
    fast = accel.fast_inference(m, 64)
    assert not fast.training
    called = {n.target for n in fast.graph.nodes if n.op == "call_module"}
    assert not any(isinstance(fast.get_submodule(t), nn.BatchNorm2d) for t in called)  # all folded
    x = torch.randn(3, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), m(x), atol=1e-5, rtol=1e-4)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())


def test_untraceable_model_falls_back_to_plain_eval_copy():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

        def forward(self, x):
            return self.bn(self.conv(x)) if x.sum() > 0 else x  # data-dependent: torch.fx cannot trace it

    m = Branchy().train()
    fast = accel.fast_inference(m, 8)
    assert isinstance(fast, Branchy) and fast is not m and not fast.training and m.training
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), m.eval()(x))


def test_inference_latency_of_a_baseline():
    from resemote.evaluation import inference_ms_per_image
    assert inference_ms_per_image(create_model("cnn"), "cpu", 64, repeats=2, warmup=1) > 0


def test_train_a_baseline_records_it_and_reloads(tmp_path, synth_root):
    from resemote.checkpoint import load_model
    from resemote.training import RunSpec, train
    out = tmp_path / "run"
    # 32 x 32 images: a quarter of the work, and the FLOPs must be those of the run's image size
    m = train(RunSpec("fer2013", root=synth_root, config="cnn", epochs=1, batch_size=16, lr=0.01, device="cpu", image_size=32), out, progress=False)
    params, flops = cnn_counts(size=32)
    assert params == EXPECTED["cnn"][0] and flops < EXPECTED["cnn"][1] / 3
    assert m["config"] == "cnn" and m["model"] == "Plain CNN"
    assert m["parameters"] == params and m["gflops"] == pytest.approx(flops / 1e9)
    assert json.loads((out / "metrics.json").read_text())["model"] == "Plain CNN"
    assert json.loads((out / "model.json").read_text())["config"] == "cnn"
    for path in (out / "model.safetensors", out / "model", out):  # file, stem, run directory
        model, meta = load_model(path)
        assert type(model).__name__ == "PlainCNN" and meta["config"] == "cnn" and not model.training


def test_cli_unknown_model_is_one_line(tmp_path, synth_root):
    code, out, err = run_cli("train", "--model", "resnet50", "--dataset", "fer2013", "--root", str(synth_root),
                             "--out", str(tmp_path / "o"), "--device", "cpu")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "unknown configuration 'resnet50'" in err and "resnet18" in err and "cnn-se" in err
    assert not (tmp_path / "o").exists()
