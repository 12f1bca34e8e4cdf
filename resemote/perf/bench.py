"""`resemote bench`: the project's training and inference paths against a released-code-style pipeline.

Both train one network (ResEmoteNet C1 by default, or any `resemote.models` name) with SGD (momentum 0.9,
weight decay 1e-4, lr 1e-3) at batch 16 on the same synthetic 48 x 48 faces (`resemote.data.synthetic`),
written once as JPEG files:

- baseline, as the released code does it: a Dataset that opens each JPEG with PIL for every item of every
  epoch, torchvision Resize((64, 64)), Grayscale(3), RandomHorizontalFlip, ToTensor, Normalize(ImageNet),
  a shuffling DataLoader, and an eager fp32 step;
- fast, the project's own path: the files decoded once into a uint8 array (timed separately as
  `decode_s`), held on the device (`resemote.device_images.DeviceImages`), and `resemote.training.train_one_epoch`,
  the very step `resemote train` runs (fused SGD; bf16 autocast and NHWC on CUDA; optional torch.compile;
  on the CPU the small-map convs as GEMMs, `resemote.gemmconv`);
- on the CPU also plain layers: the fast path with every conv through oneDNN (the step before the small-map
  GEMMs), so one run shows what the layer rewrite buys.

Throughput is images / median epoch time (a few warm-up batches first, untimed); on the CPU the two paths
alternate batch by batch and each path's epoch time is the sum of its own batches' times. Inference is
batch-1 latency (median of repeats) of the plain eval model and of `accel.fast_inference`, and batched
images/s. Training FLOPs are 3x the forward count (`zoo.count_flops`: every kernel tap at every output
pixel), set against the cores' nominal fp32 peak (`cpu_peak_gflops`). Timings on a shared machine are
noisy: the JSON records the load average beside them.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from resemote import accel
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.env import sync, cpu_model, device_name
from resemote.evaluation import latency_ms
from resemote.device_images import IMAGENET_MEAN, IMAGENET_STD, DeviceImages, to_input
from resemote.models import create_model, model_summary

LR, MOMENTUM, WEIGHT_DECAY = 1e-3, 0.9, 1e-4  # the released training script's optimizer
FER2013_TRAIN, PAPER_EPOCHS = 28_709, 80


# --- data -----------------------------------------------------------------------------------------------
def synthetic_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic 48 x 48 faces (FER2013's size) and labels."""
    from resemote.data.synthetic import make_split
    return make_split(n, np.random.default_rng(seed))


def write_jpegs(images: np.ndarray, labels: np.ndarray, folder: Path, quality: int = 95) -> list[tuple[str, int]]:
    """One JPEG per image under folder/<class>/, as image-folder datasets ship; returns (path, label)."""
    items = []
    for i, (img, y) in enumerate(zip(images, labels)):
        d = folder / CLASSES[int(y)]
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"{i:06d}.jpg"
        Image.fromarray(img, mode="L").save(p, quality=quality)
        items.append((str(p), int(y)))
    return items


class JpegFolder(torch.utils.data.Dataset):
    """The released code's dataset: a PIL open + decode + transforms per item, every epoch."""

    def __init__(self, items: list[tuple[str, int]], transform):
        self.items, self.transform = items, transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, y = self.items[i]
        return self.transform(Image.open(path).convert("RGB")), y


def released_transform(size: int = 64):
    from torchvision import transforms
    return transforms.Compose([
        transforms.Resize((size, size)),
        transforms.Grayscale(num_output_channels=3),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def decode_once(items: list[tuple[str, int]], size: int = 64) -> np.ndarray:
    """The fast path's one-time decode: each JPEG to a size x size uint8 gray array (PIL bilinear, as Resize)."""
    out = np.empty((len(items), size, size), np.uint8)
    for i, (p, _) in enumerate(items):
        with Image.open(p) as im:
            out[i] = np.asarray(im.convert("L").resize((size, size), Image.BILINEAR))
    return out


# --- training -------------------------------------------------------------------------------------------
def _model(config: str, dev: torch.device, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model(config).to(dev)


def _chunks(it, chunk: int | None):
    """`it` in lists of `chunk` items, or whole (one piece) where `chunk` is None."""
    if chunk is None:
        yield it
        return
    while part := list(itertools.islice(it, chunk)):
        yield part


def run_interleaved(epochs: dict, dev: torch.device, chunk: int | None) -> tuple[dict, dict]:
    """Run one epoch of each path, alternating pieces of `chunk` batches (whole epochs where None), so that
    a shared machine's load falls on all paths alike. Returns ({path: seconds}, {path: (loss, accuracy)})."""
    gens = {k: run(chunk) for k, run in epochs.items()}
    seconds, results = dict.fromkeys(gens, 0.0), {}
    while gens:
        for k in list(gens):
            sync(dev)
            t = time.perf_counter()
            try:
                next(gens[k])
            except StopIteration as stop:
                results[k] = stop.value
                del gens[k]
            sync(dev)
            seconds[k] += time.perf_counter() - t
    return seconds, results


def prepare_baseline(items: list[tuple[str, int]], dev: torch.device, *, config: str = "C1",
                     batch_size: int = 16, workers: int = 0, seed: int = 0, warmup: int = 2):
    """The released-code-style loop (DataLoader over JPEG files, eager fp32 SGD), warmed up: returns
    (run one epoch -> (loss, accuracy), description)."""
    model = _model(config, dev, seed)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    g = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(JpegFolder(items, released_transform()), batch_size=batch_size,
                                         shuffle=True, num_workers=workers, generator=g, drop_last=False,
                                         pin_memory=dev.type == "cuda", persistent_workers=workers > 0)

    def step(x, y):
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach() * len(y), (logits.argmax(1) == y).sum()

    def epoch(chunk: int | None):  # a generator: yields after each piece of `chunk` batches
        model.train()
        loss_sum, correct = torch.zeros((), device=dev), torch.zeros((), device=dev, dtype=torch.long)
        for part in _chunks(iter(loader), chunk):
            for x, y in part:
                if len(y) < 2:  # BatchNorm cannot train on one image (res_block3 sees 1 x 1); the released code crashes
                    continue
                l, c = step(x, y)
                loss_sum += l
                correct += c
            yield
        return float(loss_sum) / len(items), float(correct) / len(items)

    model.train()
    for i, (x, y) in enumerate(loader):  # warm-up: allocator, oneDNN/cuDNN kernel choice
        if i >= warmup:
            break
        step(x, y)
    return epoch, {"workers": workers, "pipeline": "JPEG per item via PIL + torchvision transforms in a "
                                                   "DataLoader, eager fp32"}


def prepare_fast(images: np.ndarray, labels: np.ndarray, dev: torch.device, *, config: str = "C1",
                 batch_size: int = 16, seed: int = 0, compile: bool = False, compile_mode: str | None = None,
                 warmup: int = 2, plain_layers: bool = False):
    """The project's path (uint8 on the device and `train.train_one_epoch`, the step `resemote train`
    runs, compiled as `train --compile-mode` compiles it), warmed up: returns (run one epoch -> (loss,
    accuracy), description). `compile_mode` alone implies `compile`; `compile` alone is mode "default".
    `plain_layers`: the model's own layers, without `accel.for_device` (on the CPU: oneDNN for every conv,
    the step as it was before the small-map GEMMs)."""
    from resemote.training import model_and_optimizer, train_one_epoch, training_forward
    torch.manual_seed(seed)
    model, opt = model_and_optimizer(config, dev, LR, MOMENTUM, WEIGHT_DECAY, device_layers=not plain_layers)
    mode = (compile_mode or "default") if compile or compile_mode else None
    forward = accel.StaticCompiled(training_forward(model, None, dev), dev, mode, batch_size)
    data = DeviceImages(images, labels, dev)
    g = torch.Generator().manual_seed(seed)
    # CUDA graphs: the first full batch compiles, the next warms up, the third records
    warmup = max(warmup, 3) if forward.active else warmup
    warm = [(x, y) for _, (x, y) in zip(range(warmup), data.batches(batch_size, shuffle=True, flip=True,
                                                                       generator=torch.Generator().manual_seed(seed)))]
    train_one_epoch(model, opt, warm, forward=forward)  # a compiler failing here leaves the plain step
    compiled = forward.active

    def epoch(chunk: int | None):  # a generator: yields after each piece of `chunk` batches
        loss_sum, correct = 0, 0
        for part in _chunks(data.batches(batch_size, shuffle=True, flip=True, generator=g), chunk):
            l, c = train_one_epoch(model, opt, part, forward=forward)
            loss_sum, correct = loss_sum + l, correct + c
            yield
        return float(loss_sum) / len(data), float(correct) / len(data)

    opts = ["uint8 resident on the device", "device-side flip + normalisation"]
    if dev.type == "cpu" and not plain_layers:
        opts.append("small-map convs as GEMMs")
    if accel.sgd_options(dev).get("fused"):
        opts.append("fused SGD")
    if dev.type == "cuda":
        opts += ["bf16 autocast", "channels_last"]
    if compiled:
        opts.append("torch.compile")
    return epoch, {"compiled": compiled, "compile_mode": mode if compiled else None,
                   "compile_error": forward.error,
                   "pipeline": ", ".join(opts)}


def _summary(n: int, times: list[float], outs: list, **extra) -> dict:
    med = statistics.median(times)
    return {"images_per_s": n / med, "epoch_seconds": times, "epoch_seconds_median": med,
            "train_loss": [o[0] for o in outs], "train_acc": [o[1] for o in outs], **extra}


# --- inference ------------------------------------------------------------------------------------------
def _latency_ms(model, x: torch.Tensor, dev: torch.device, repeats: int, warmup: int = 5, amp: bool = True
                ) -> float:
    with accel.autocast_context(dev) if amp else contextlib.nullcontext():
        return latency_ms(model, x, dev, repeats, warmup)


def bench_inference(dev: torch.device, *, config: str = "C1", batch: int = 256, repeats: int = 30,
                    seed: int = 0, size: int = 64) -> dict:
    """Batch-1 latency (plain eval and `fast_inference`) and batched throughput of the fast model."""
    model = _model(config, dev, seed).eval()
    fast = accel.fast_inference(model, size, dev)
    x1 = to_input(torch.zeros(1, size, size, dtype=torch.uint8, device=dev))
    xb = to_input(torch.randint(0, 256, (batch, size, size), dtype=torch.uint8, device=dev))
    with torch.inference_mode():
        diff = float((model(xb[:8]) - fast(xb[:8])).abs().max())
    plain, quick = [], []
    for _ in range(repeats):  # alternate call by call, so load spikes fall on both alike
        plain.append(_latency_ms(model, x1, dev, 1, warmup=1, amp=False))  # eager fp32, as the released code runs
        quick.append(_latency_ms(fast, x1, dev, 1, warmup=1))
    plain_fp32, fast_ms = statistics.median(plain), statistics.median(quick)
    batched_ms = _latency_ms(fast, xb, dev, max(3, repeats // 5), warmup=2)
    return {"batch1_ms_plain": plain_fp32, "batch1_ms": fast_ms, "batch": batch,
            "batched_images_per_s": batch / batched_ms * 1000, "max_abs_logit_diff_fast_vs_plain": diff,
            "bf16_autocast": dev.type == "cuda"}


# --- the command ----------------------------------------------------------------------------------------
def cpu_peak_gflops(threads: int | None = None, cpuinfo: str | None = None) -> dict | None:
    """Nominal fp32 peak of the cores torch computes on: threads x clock x FLOPs per cycle, the last from
    the vector extensions (`cpuinfo`, by default /proc/cpuinfo): 32 with AVX2 + FMA (two 256-bit FMA pipes,
    as on AMD Zen 2-4 and Intel since Haswell), 64 with AVX-512. None where it is not readable (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = open("/proc/cpuinfo").read()
        except OSError:
            return None
    info = cpuinfo
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    mhz = [float(ln.split(":", 1)[1]) for ln in info.splitlines() if ln.startswith("cpu MHz")]
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= set(flags) else 16 if "avx" in flags else 8
    if not mhz:
        return None
    threads = threads or torch.get_num_threads()
    return {"gflops": threads * mhz[0] / 1000 * per_cycle, "threads": threads, "ghz": mhz[0] / 1000,
            "flop_per_cycle": per_cycle, "how": "threads x clock (cpu MHz) x fp32 FLOPs per cycle per core"}


def hardware_stamp(dev: torch.device) -> dict:
    stamp = {"device": device_name(dev), "cpu": cpu_model(), "cpu_count": os.cpu_count(),
             "torch_threads": torch.get_num_threads(), "torch_version": torch.__version__,
             "python": platform.python_version(), "platform": platform.platform(),
             "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        stamp["load_average_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    if dev.type == "cuda":
        stamp["cuda"] = torch.version.cuda
        stamp["gpu"] = torch.cuda.get_device_name(dev)
    return stamp


def bench(device: str = "cpu", images: int = 256, epochs: int = 1, *, config: str = "C1", batch_size: int = 16,
          workers: int = 0, compile: bool = False, compile_mode: str | None = None, inference_batch: int = 256, repeats: int = 30, seed: int = 0,
          skip_baseline: bool = False, threads: int | None = None, progress: bool = True) -> dict:
    """Run the benchmark (see the module docstring) and return its JSON-ready result."""
    from resemote.env import resolve_device
    if images < 2 or epochs < 1 or batch_size < 2:
        raise ResEmoteError(f"expected --images >= 2, --epochs >= 1, --batch-size >= 2; "
                            f"got {images}, {epochs}, {batch_size}")
    if repeats < 1 or inference_batch < 1 or workers < 0 or (threads is not None and threads < 1):
        raise ResEmoteError(f"expected --repeats >= 1, --inference-batch >= 1, --workers >= 0, --threads >= 1; "
                            f"got {repeats}, {inference_batch}, {workers}, {threads}")
    summary = model_summary(config, 64)  # an unknown name: one line, before any work
    accel.check_compile_mode(compile_mode)
    dev = resolve_device(device)
    if threads:
        torch.set_num_threads(threads)
    imgs, labels = synthetic_images(images, seed)
    with tempfile.TemporaryDirectory(prefix="resemote-bench-") as tmp:
        items = write_jpegs(imgs, labels, Path(tmp))
        t = time.perf_counter()
        decoded = decode_once(items)
        decode_s = time.perf_counter() - t
        runs = {"fast": prepare_fast(decoded, labels, dev, config=config, batch_size=batch_size, seed=seed,
                                     compile=compile, compile_mode=compile_mode)}
        if dev.type == "cpu":  # what the CPU layer rewrites (accel.for_device) buy, in the same run
            runs["plain_layers"] = prepare_fast(decoded, labels, dev, config=config, batch_size=batch_size,
                                                seed=seed, plain_layers=True)
        if not skip_baseline:
            runs["baseline"] = prepare_baseline(items, dev, config=config, batch_size=batch_size,
                                                workers=workers, seed=seed)
        # on the CPU the paths alternate batch by batch (a shared machine's load falls on both alike);
        # on an accelerator, whole epochs (nothing else shares it, and per-call overhead would count)
        chunk = 1 if dev.type == "cpu" else None
        times, outs = {k: [] for k in runs}, {k: [] for k in runs}
        for _ in tqdm(range(epochs), desc="bench", unit="epoch", disable=not progress, leave=False):
            sec, res = run_interleaved({k: run for k, (run, _) in runs.items()}, dev, chunk)
            for k in runs:
                times[k].append(sec[k])
                outs[k].append(res[k])
    fast = _summary(images, times["fast"], outs["fast"], decode_s=decode_s, interleaved_batches=chunk,
                    **runs["fast"][1])
    base = _summary(images, times["baseline"], outs["baseline"], **runs["baseline"][1]) if not skip_baseline else None
    plain = (_summary(images, times["plain_layers"], outs["plain_layers"], **runs["plain_layers"][1])
             if "plain_layers" in runs else None)
    train_gflop = 3 * summary["gflops"]  # forward + backward (two products per forward one) per image
    peak = cpu_peak_gflops() if dev.type == "cpu" else None
    for path in (fast, plain, base):
        if path is not None:
            path["gflops_per_s"] = path["images_per_s"] * train_gflop
            path["share_of_peak"] = path["gflops_per_s"] / peak["gflops"] if peak else None
    inf = bench_inference(dev, config=config, batch=inference_batch, repeats=repeats, seed=seed)
    per_epoch = FER2013_TRAIN / fast["images_per_s"]
    return {
        **hardware_stamp(dev),
        "command": "resemote " + " ".join(sys.argv[1:]) if sys.argv and "resemote" in sys.argv[0] else None,
        "config": config, "model": summary["model"], "parameters": summary["parameters"],
        "gflops": summary["gflops"], "images": images, "epochs": epochs,
        "batch_size": batch_size, "image_size": 64, "optimizer": f"SGD lr {LR}, momentum {MOMENTUM}, wd {WEIGHT_DECAY}",
        "fast": fast, "plain_layers": plain, "baseline": base,
        "speedup": fast["images_per_s"] / base["images_per_s"] if base else None,
        "layer_speedup": fast["images_per_s"] / plain["images_per_s"] if plain else None,
        "train_gflop_per_image": train_gflop, "cpu_peak": peak,
        "inference": inf,
        "paper_run_estimate_min": {  # 80 epochs over FER2013's 28,709 training images, training steps only
            "fast": PAPER_EPOCHS * per_epoch / 60,
            "baseline": PAPER_EPOCHS * FER2013_TRAIN / base["images_per_s"] / 60 if base else None,
            "paper": 180.0},
    }


def format_bench(r: dict) -> str:
    """A short human-readable summary."""
    lines = [f"{r['device']}, torch {r['torch_version']}, {r['config']}, {r['images']} images x {r['epochs']} epochs, "
             f"batch {r['batch_size']} (load average {r.get('load_average_1min', float('nan')):.1f})",
             f"  fast:     {r['fast']['images_per_s']:8.1f} images/s  ({r['fast']['pipeline']}; "
             f"one-time decode {r['fast']['decode_s']:.2f} s)"]
    if r.get("plain_layers"):
        lines.append(f"  plain layers: {r['plain_layers']['images_per_s']:4.1f} images/s  (the same path, every conv "
                     f"through oneDNN; the layer rewrites give {r['layer_speedup']:.2f}x)")
    if r["baseline"]:
        lines.append(f"  baseline: {r['baseline']['images_per_s']:8.1f} images/s  ({r['baseline']['pipeline']}, "
                     f"{r['baseline']['workers']} workers)")
        lines.append(f"  speed-up: {r['speedup']:.2f}x")
    if r.get("cpu_peak"):
        p = r["cpu_peak"]
        lines.append(f"  fp32 work: fast {r['fast']['gflops_per_s']:.1f} GFLOP/s = {r['fast']['share_of_peak']:.0%} of "
                     f"the cores' nominal peak {p['gflops']:.0f} GFLOP/s ({p['threads']} x {p['ghz']:.2f} GHz x "
                     f"{p['flop_per_cycle']}; {r['train_gflop_per_image']:.2f} GFLOP per training image)")
    i = r["inference"]
    lines.append(f"  inference: batch 1 {i['batch1_ms']:.2f} ms (plain eval {i['batch1_ms_plain']:.2f} ms), "
                 f"batch {i['batch']} {i['batched_images_per_s']:.0f} images/s")
    e = r["paper_run_estimate_min"]
    lines.append(f"  80 epochs of FER2013 (training steps only): fast {e['fast']:.1f} min"
                 + (f", baseline {e['baseline']:.1f} min" if e["baseline"] else "") + ", paper 180 min")
    return "\n".join(lines)
