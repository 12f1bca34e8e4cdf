"""`resemote bench`: the baseline sees the images the fast path sees, the JSON has its fields, errors are lines."""
import json

import numpy as np
import pytest
import torch

from resemote.perf import bench as B
from resemote.cli import main
from resemote.errors import ResEmoteError
from resemote.device_images import to_input


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
    # the same path with every conv through oneDNN, timed in the same run: what the layer rewrites buy
    assert r["layer_speedup"] == pytest.approx(r["fast"]["images_per_s"] / r["plain_layers"]["images_per_s"])
    assert "small-map convs as GEMMs" in r["fast"]["pipeline"]
    assert "small-map" not in r["plain_layers"]["pipeline"]
    assert r["fast"]["gflops_per_s"] == pytest.approx(r["fast"]["images_per_s"] * 3 * r["gflops"])
    if r["cpu_peak"]:  # Linux
        assert r["fast"]["share_of_peak"] == pytest.approx(r["fast"]["gflops_per_s"] / r["cpu_peak"]["gflops"])
        assert "plain layers:" in B.format_bench(r) and "of the cores' nominal peak" in B.format_bench(r)
    assert "fused SGD" in r["fast"]["pipeline"] and not r["fast"]["compiled"]
    assert r["fast"]["interleaved_batches"] == 1  # CPU: the paths alternate batch by batch
    i = r["inference"]
    assert i["batch1_ms"] > 0 and i["batch1_ms_plain"] > 0 and i["batched_images_per_s"] > 0
    assert i["max_abs_logit_diff_fast_vs_plain"] < 1e-4 and not i["bf16_autocast"]
    assert r["paper_run_estimate_min"]["paper"] == 180.0
    assert "fast:" in B.format_bench(r)


def test_cpu_peak_from_the_vector_extensions():
    info = "processor\t: 0\ncpu MHz\t\t: 2000.000\nflags\t\t: fpu sse2 avx avx2 fma\n"
    p = B.cpu_peak_gflops(threads=2, cpuinfo=info)
    assert p["gflops"] == pytest.approx(2 * 2.0 * 32) and p["flop_per_cycle"] == 32
    assert B.cpu_peak_gflops(4, info.replace("fma", "fma avx512f"))["gflops"] == pytest.approx(4 * 2.0 * 64)
    assert B.cpu_peak_gflops(1, info.replace(" avx2 fma", ""))["flop_per_cycle"] == 16
    assert B.cpu_peak_gflops(1, "flags\t: avx2 fma\n") is None  # no clock: no figure rather than a guess


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

        def forward(self, *args):
            raise RuntimeError("inductor: no working C++ compiler")

    monkeypatch.setattr(B.accel, "maybe_compile", lambda fn, dev, enabled=True, mode=None: (Broken(fn), True))
    imgs, labels = B.synthetic_images(6, seed=1)
    imgs = np.stack([np.resize(i, (64, 64)) for i in imgs])
    epoch, info = B.prepare_fast(imgs, labels, torch.device("cpu"), batch_size=3, compile=True, warmup=1)
    assert info["compiled"] is False and "torch.compile" not in info["pipeline"]
    assert info["compile_error"] == "RuntimeError: inductor: no working C++ compiler"
    assert "torch.compile failed (RuntimeError)" in capsys.readouterr().err
    seconds, results = B.run_interleaved({"fast": epoch}, torch.device("cpu"), chunk=1)
    assert seconds["fast"] > 0 and np.isfinite(results["fast"][0])


def test_a_working_compiler_times_full_batches_compiled_and_the_last_one_eagerly(monkeypatch):
    """What `resemote bench --compile-mode reduce-overhead` runs: the step `train --compile-mode` runs."""
    seen = []

    def fake_compile(fn, dev, enabled=True, mode=None):
        def compiled(x, y):
            seen.append(len(y))
            return fn(x, y)
        return compiled, True

    monkeypatch.setattr(B.accel, "maybe_compile", fake_compile)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: None)
    imgs, labels = B.synthetic_images(7, seed=1)
    imgs = np.stack([np.resize(i, (64, 64)) for i in imgs])
    epoch, info = B.prepare_fast(imgs, labels, torch.device("cpu"), config="cnn", batch_size=3,
                                 compile_mode="reduce-overhead", warmup=1)
    assert info["compiled"] is True and info["compile_mode"] == "reduce-overhead" and info["compile_error"] is None
    # batches of 3 and 4 (a final batch of one joins the one before): the 4 runs eagerly, in the warm-up
    # (three batches for CUDA graphs, here the two there are) as in each epoch
    assert seen == [3]
    seen.clear()
    B.run_interleaved({"fast": epoch}, torch.device("cpu"), chunk=None)
    assert seen == [3]
    with pytest.raises(ResEmoteError, match="unknown compile mode"):
        B.bench("cpu", images=4, compile_mode="turbo")


def _gpu_check():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpu_check_summary_judges_only_what_was_measured_in_the_issues_setting(tmp_path):
    """benchmarks/gpu-check.sh's summary: met / not met / not measured, and a stopped run's projection."""
    import subprocess
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu-check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    g = _gpu_check()
    bench = {"device": "cuda (NVIDIA H200)", "images": 28709, "speedup": 12.0,
             "fast": {"images_per_s": 24000.0, "compiled": True}, "baseline": {"images_per_s": 2000.0},
             "inference": {"batch1_ms": 0.4, "batch1_ms_plain": 1.1, "batched_images_per_s": 40000.0, "batch": 256}}
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    runs = tmp_path / "runs"
    for name, n_epochs, finished in (("fer2013-C1-s0", 80, True), ("fer2013-C1-s1", 30, False)):
        d = runs / name
        d.mkdir(parents=True)
        (d / "params.json").write_text(json.dumps({"seed": int(name[-1]), "epochs": 80,
                                                   "split_sizes": {"train": 28709, "val": 3589, "test": 3589}}))
        rows = ["epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds"]
        rows += [f"{e},0.001,1.0,0.5,1.0,0.5,{30.0 if e == 1 else 1.2 if finished else 5.0}" for e in range(1, n_epochs + 1)]
        (d / "history.csv").write_text("\n".join(rows) + "\n")
        if finished:
            (d / "metrics.json").write_text(json.dumps({"train_seconds": 130.0, "test_accuracy": 0.7}))
    (tmp_path / "steps.tsv").write_text("bench\t0\t100\ntrain-fer2013-C1-s0\t0\t200\n")
    g.main(["summary", "--out", str(tmp_path / "s.json"), "--bench", str(tmp_path / "bench.json"), "--runs", str(runs),
            "--steps", str(tmp_path / "steps.tsv"), "--env", str(tmp_path / "missing.json")])
    s = json.loads((tmp_path / "s.json").read_text())
    # one finished 80-epoch run of 8; it took 130 s > 120 s; bench 12x; batch-1 0.4 ms; 40,000 < 50,000 img/s
    assert [t["met"] for t in s["targets"]] == [False, False, True, True, False]
    assert s["targets"][0]["measured"] == 1
    assert s["targets"][1]["measured_s"] == 130.0 and s["targets"][1]["projected_s"] == pytest.approx(30 + 79 * 1.2)
    stopped = s["runs"][1]
    assert not stopped["finished"] and stopped["epochs_run"] == 30
    assert stopped["projected_80_epochs_s"] == pytest.approx(30 + 79 * 5.0)
    assert s["runs"][0]["step"] == {"name": "train-fer2013-C1-s0", "exit": 0, "seconds": 200}
    assert s["environment"] is None  # a missing piece is null, not a failure

    # the same numbers from a CPU bench are reported, not judged
    (tmp_path / "bench.json").write_text(json.dumps({**bench, "device": "cpu (x)", "images": 64}))
    g.main(["summary", "--out", str(tmp_path / "s.json"), "--bench", str(tmp_path / "bench.json")])
    s = json.loads((tmp_path / "s.json").read_text())
    assert [t["met"] for t in s["targets"]] == [None] * 5 and s["targets"][2]["measured"] == 12.0


def test_gpu_check_subset_is_stratified_and_keeps_the_layout(tmp_path):
    src = tmp_path / "fer"
    for split, prefix, counts in (("train", "Training", {"happy": 30, "disgust": 3}),
                                  ("test", "PublicTest", {"happy": 10, "disgust": 2}),
                                  ("test", "PrivateTest", {"happy": 10, "disgust": 2})):
        for cls, n in counts.items():
            (src / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                (src / split / cls / f"{prefix}_{i}.jpg").write_bytes(b"x")
    counts = _gpu_check().subset(src, tmp_path / "sub", 11, 6)
    assert counts == {"Training": 11, "PublicTest": 3, "PrivateTest": 3}  # at least one image per class
    assert len(list((tmp_path / "sub" / "train" / "disgust").iterdir())) == 1
    assert len(list((tmp_path / "sub" / "test" / "happy").glob("PrivateTest_*"))) == 2
