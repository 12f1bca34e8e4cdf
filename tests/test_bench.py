"""`resemote bench`: the baseline sees the images the fast path sees, the JSON has its fields, errors are lines."""
import json

import numpy as np
import pytest
import torch

from resemote import bench as B
from resemote.cli import main
from resemote.errors import ResEmoteError
from resemote.pipeline import to_input


def test_baseline_and_fast_path_feed_the_model_the_same_input(tmp_path):
    imgs, labels = B.synthetic_images(6, seed=3)
    items = B.write_jpegs(imgs, labels, tmp_path)
    assert len(list(tmp_path.rglob("*.jpg"))) == 6
    ds = B.JpegFolder(items, B.released_transform())
    torch.manual_seed(0)
    x = torch.stack([ds[i][0] for i in range(6)])  # some randomly flipped, as in the released code
    ours = to_input(torch.from_numpy(B.decode_once(items)))
    assert x.shape == ours.shape == (6, 3, 64, 64)
    # each baseline image is ours or ours mirrored, to one grey level (PIL resizes RGB vs L)
    d = torch.minimum((x - ours).abs().amax((1, 2, 3)), (x - ours.flip(-1)).abs().amax((1, 2, 3)))
    assert float(d.max()) <= 1.01 / 255 / 0.225
    assert [y for _, y in (ds[i] for i in range(6))] == labels.tolist()


def test_bench_json_on_cpu():
    r = B.bench("cpu", images=10, epochs=1, batch_size=4, repeats=3, inference_batch=4, progress=False)
    json.dumps(r)
    assert r["device"].startswith("cpu (") and r["torch_version"] == torch.__version__
    for k in ("fast", "baseline"):
        assert r[k]["images_per_s"] > 0 and len(r[k]["epoch_seconds"]) == 1 and np.isfinite(r[k]["train_loss"][0])
    assert r["speedup"] == pytest.approx(r["fast"]["images_per_s"] / r["baseline"]["images_per_s"])
    assert "fused SGD" in r["fast"]["pipeline"] and not r["fast"]["compiled"]
    assert r["fast"]["interleaved_batches"] == 1  # CPU: the paths alternate batch by batch
    i = r["inference"]
    assert i["batch1_ms"] > 0 and i["batch1_ms_plain"] > 0 and i["batched_images_per_s"] > 0
    assert i["max_abs_logit_diff_fast_vs_plain"] < 1e-4 and not i["bf16_autocast"]
    assert r["paper_run_estimate_min"]["paper"] == 180.0
    assert "fast:" in B.format_bench(r)


def test_bench_errors_are_one_line(capsys):
    assert main(["bench", "--images", "1"]) == 2
    assert "expected --images >= 2" in capsys.readouterr().err
    assert main(["bench", "--threads", "0"]) == 2
    assert "--threads >= 1" in capsys.readouterr().err
    with pytest.raises(ResEmoteError, match="unknown configuration"):
        B.bench("cpu", images=4, config="C9")
    if not torch.cuda.is_available():
        assert main(["bench", "--device", "cuda"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err


def test_a_compiler_failing_at_the_first_call_falls_back_to_the_plain_step(monkeypatch, capsys):
    from torch import nn

    class Broken(nn.Module):  # what a torch.compile that fails at its first call looks like
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            raise RuntimeError("inductor: no working C++ compiler")

    monkeypatch.setattr(B.accel, "maybe_compile", lambda fn, dev, enabled=True, mode=None: (Broken(fn), True))
    imgs, labels = B.synthetic_images(6, seed=1)
    imgs = np.stack([np.resize(i, (64, 64)) for i in imgs])
    epoch, info = B.prepare_fast(imgs, labels, torch.device("cpu"), batch_size=3, compile=True, warmup=1)
    assert info["compiled"] is False and "torch.compile" not in info["pipeline"]
    assert "torch.compile failed (RuntimeError)" in capsys.readouterr().err
    seconds, results = B.run_interleaved({"fast": epoch}, torch.device("cpu"), chunk=1)
    assert seconds["fast"] > 0 and np.isfinite(results["fast"][0])
