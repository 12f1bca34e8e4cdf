"""The calibration `resemote.perf.gpuplan` plans from: each network's training step timed alone and with k
training processes side by side, on this device, as `resemote train` runs it.

K worker processes start together (multiprocessing, spawn: each its own CUDA context, or a client of the
CUDA MPS server where one runs). Each loads the data as a training run does (`training.load_splits`: the
decode cache; random faces of the given split sizes where no dataset is named) and says when it is ready:
the slowest start is the plan's `startup_s`. Then, for each key (a network at a batch size, in the order
given, while the time allowed lasts), every worker builds the network, its fused SGD and its step
(`accel.for_device`, `accel.StaticCompiled` with the compile mode the runs will use) and runs a few warm-up
steps (compilation happens there: `build_s`); for each k of `levels`, workers 0..k-1 pass a barrier together
and time the step for `seconds` while the others wait (`step_s[k]`, the slowest of the k). Worker 0 then
times one validation pass (`val_s`) and the end of a run alone (`final_s`: the test evaluation and the
batch-1 latency). A key that fails (out of memory, a compiler error) is recorded with its error and left out
of the plan.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import time
from typing import Callable

TIMEOUT = 600.0  # seconds a worker may take for one phase before the calibration gives it up


def _data(dataset: str, root: str | None, sizes: dict, image_size: int, seed: int) -> tuple[dict, dict]:
    """(split arrays, facts): the real splits through the decode cache, or random faces of `sizes`."""
    import numpy as np
    if root:
        from resemote.data.splits import load_splits
        d = load_splits(dataset, root, image_size, progress=False)
        return ({k: d[k] for k in ("train", "val", "test")},
                {"split_sizes": {k: int(len(d[k][1])) for k in ("train", "val", "test")},
                 "data_fingerprint": d["fingerprint"]})
    rng = np.random.default_rng(seed)
    arrays = {k: (rng.integers(0, 256, (int(n), image_size, image_size), dtype=np.uint8),
                  rng.integers(0, 7, int(n))) for k, n in sizes.items()}
    return arrays, {"split_sizes": {k: int(n) for k, n in sizes.items()}, "data_fingerprint": None}


def _timed_steps(model, opt, forward, data, batch_size: int, seconds: float, dev, seed: int,
                 min_steps: int = 1) -> tuple[float, int]:
    """(seconds per step, steps) of the training step over `data` for at least `seconds`."""
    import torch
    from resemote.env import sync
    from resemote.training import train_one_epoch
    gen = torch.Generator().manual_seed(seed)
    n, chunk = 0, 1
    sync(dev)
    t0 = time.perf_counter()
    while True:
        batches = itertools.islice(data.batches(batch_size, shuffle=True, flip=True, generator=gen), chunk)
        loss, _ = train_one_epoch(model, opt, batches, forward=forward)
        float(loss)  # waits for the GPU
        n += chunk
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and n >= min_steps:
            return elapsed / n, n
        chunk = min(2 * chunk, 64)


def _worker(i: int, conn, barrier, spawned: float, device: str, dataset: str, root: str | None, sizes: dict,
            image_size: int, compile_mode: str | None, seconds: float, warmup: int, levels: list[int],
            threads: int) -> None:
    import torch
    from resemote import accel
    from resemote.env import device_name, resolve_device
    from resemote.evaluation import evaluate, inference_ms_per_image
    from resemote.device_images import DeviceImages
    from resemote.training import class_weights, training_forward
    from resemote.models import create_model
    torch.set_num_threads(threads)
    try:
        dev = resolve_device(device)
        accel.keep_freed_memory(dev)
        t = time.perf_counter()
        arrays, facts = _data(dataset, root, sizes, image_size, seed=i)
        load_s = time.perf_counter() - t
        data = {k: DeviceImages(*arrays[k], device=dev) for k in arrays}
        weights = class_weights(arrays["train"][1]).to(dev)
        if dev.type == "cuda":
            torch.zeros(1, device=dev).sum().item()  # the context exists before the clock stops
        info = {**facts, "load_s": load_s, "device": device_name(dev)}
        if dev.type == "cuda":
            info["gpu_memory_gib"] = torch.cuda.get_device_properties(dev).total_memory / 2**30
        conn.send(("ready", time.time() - spawned, info))
    except Exception as e:  # noqa: BLE001 - reported to the parent, which gives up
        conn.send(("error", f"{type(e).__name__}: {e}".splitlines()[0][:300], None))
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if msg is None:
            return
        config, batch_size = msg
        out: dict = {}
        model = opt = forward = None
        try:
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
            t = time.perf_counter()
            torch.manual_seed(i)
            model = accel.for_device(create_model(config).to(dev), dev)
            opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4,
                                  **accel.sgd_options(dev))
            forward = accel.StaticCompiled(training_forward(model, weights, dev), dev, compile_mode, batch_size)
            _timed_steps(model, opt, forward, data["train"], batch_size, 0.0, dev, seed=i, min_steps=warmup)
            out["build_s"] = time.perf_counter() - t
            out["compiled"] = bool(forward.active)
            out["step_s"] = {}
            for k in levels:
                barrier.wait(TIMEOUT)
                if i < k:
                    out["step_s"][str(k)], _ = _timed_steps(model, opt, forward, data["train"], batch_size, seconds,
                                                            dev, seed=i)
                barrier.wait(TIMEOUT)
            if i == 0:
                t = time.perf_counter()
                evaluate(model, data["val"], class_weights=weights, ci=False)
                out["val_s"] = time.perf_counter() - t
                t = time.perf_counter()
                evaluate(model, data["test"], class_weights=weights)
                inference_ms_per_image(model, dev, image_size)
                out["final_s"] = time.perf_counter() - t
            barrier.wait(TIMEOUT)
            if dev.type == "cuda":
                out["memory_gib"] = torch.cuda.max_memory_reserved(dev) / 2**30
            conn.send(("ok", out, None))
        except KeyboardInterrupt:  # the whole calibration is being stopped
            return
        except Exception as e:  # noqa: BLE001 - this key fails, the others go on
            try:
                barrier.abort()  # the other workers stop waiting for this one
            except Exception:  # noqa: BLE001
                pass
            conn.send(("error", f"{type(e).__name__}: {e}".splitlines()[0][:300] if str(e) else type(e).__name__,
                       None))
        finally:
            del model, opt, forward
            if dev.type == "cuda":
                torch.cuda.empty_cache()


def calibrate(keys: list[tuple[str, int]], levels: list[int], *, device: str = "cuda", dataset: str = "fer2013",
              root: str | None = None, sizes: dict | None = None, image_size: int = 64,
              compile_mode: str | None = None, seconds: float = 1.0, warmup: int = 3, budget_s: float | None = None,
              threads: int | None = None, sharing: str = "", log: Callable[[str], None] = print,
              on_key: Callable[[dict], None] | None = None) -> dict:
    """Time `keys` ((network, batch size), in priority order) alone and side by side at each k of `levels`
    (module docstring) and return the calibration `resemote.perf.gpuplan` reads. `budget_s` bounds the whole
    calibration: no key starts after it (one already going finishes); keys not reached are listed under
    `not_calibrated`. `on_key(calibration so far)` after each key, so that a calibration stopped from outside
    (SIGINT) still leaves what it measured; stopped so, it returns what it has."""
    from resemote.perf.gpuplan import key as key_name
    t_start = time.perf_counter()
    levels = sorted({int(k) for k in levels if int(k) >= 1})
    n = max(levels)
    threads = threads or max(1, (os.cpu_count() or 1) // n)
    sizes = sizes or {"train": 28709, "val": 3589, "test": 3589}
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n)
    pipes = [ctx.Pipe() for _ in range(n)]
    spawned = time.time()
    procs = [ctx.Process(target=_worker, daemon=True, args=(
        i, pipes[i][1], barrier, spawned, device, dataset, root, sizes, image_size, compile_mode, seconds, warmup,
        levels, threads)) for i in range(n)]
    for p in procs:
        p.start()
    cal: dict = {"levels": levels, "workers": n, "threads_per_worker": threads, "compile_mode": compile_mode,
                 "sharing": sharing, "seconds_per_level": seconds, "warmup_steps": warmup, "keys": {},
                 "not_calibrated": []}

    def receive(i: int):
        conn = pipes[i][0]
        if not conn.poll(TIMEOUT):
            return "error", f"worker {i} gave no answer in {TIMEOUT:.0f} s", None
        try:
            return conn.recv()
        except EOFError:
            return "error", f"worker {i} ended (exit code {procs[i].exitcode})", None

    done: set[str] = set()
    try:
        ready = [receive(i) for i in range(n)]
        errors = [r[1] for r in ready if r[0] != "ready"]
        if errors:
            cal["error"] = errors[0]
            log(f"calibration: a worker could not start: {errors[0]}")
            cal["not_calibrated"] = [key_name(c, b) for c, b in keys]
            return cal
        info = ready[0][2]
        cal.update(startup_s=max(r[1] for r in ready), **info)
        log(f"calibration: {n} workers ready after {cal['startup_s']:.1f} s on {info['device']} "
            f"(data {info['split_sizes']}, loaded in {info['load_s']:.1f} s)")
        last = 0.0
        for j, (config, batch_size) in enumerate(keys):
            name = key_name(config, batch_size)
            used = time.perf_counter() - t_start
            if budget_s is not None and used + last > budget_s:
                cal["not_calibrated"] = [key_name(c, b) for c, b in keys[j:]]
                log(f"calibration: {used:.0f} s used of {budget_s:.0f}: not calibrated: "
                    + ", ".join(cal["not_calibrated"]))
                break
            t = time.perf_counter()
            for conn, _ in pipes:
                conn.send((config, batch_size))
            answers = [receive(i) for i in range(n)]
            bad = [a[1] for a in answers if a[0] != "ok"]
            if bad:
                cal["keys"][name] = {"config": config, "batch_size": batch_size, "error": bad[0]}
                barrier.reset()
            else:
                first = answers[0][1]
                steps = {k: max(a[1]["step_s"].get(k, 0.0) for a in answers) for k in first["step_s"]}
                cal["keys"][name] = {"config": config, "batch_size": batch_size, "step_s": steps,
                                     "build_s": max(a[1]["build_s"] for a in answers),
                                     "val_s": first["val_s"], "final_s": first["final_s"],
                                     "compiled": first["compiled"],
                                     "memory_gib": max((a[1].get("memory_gib") or 0.0) for a in answers) or None}
            last = time.perf_counter() - t
            done.add(name)
            if on_key:
                on_key(cal)
            e = cal["keys"][name]
            log(f"calibration: {name} in {last:.1f} s: " + (f"error {e['error']}" if "error" in e else
                ", ".join(f"k={k} {s * 1000:.2f} ms/step" for k, s in e["step_s"].items())
                + f"; validation {e['val_s']:.2f} s, end of run {e['final_s']:.2f} s, build {e['build_s']:.1f} s"))
            if any(procs[i].exitcode is not None for i in range(n)):
                cal["not_calibrated"] = [key_name(c, b) for c, b in keys[j + 1:]]
                log("calibration: a worker ended; the calibration stops here")
                break
    except KeyboardInterrupt:
        cal["stopped"] = "interrupted"
        cal["not_calibrated"] = [key_name(c, b) for c, b in keys if key_name(c, b) not in done]
        log("calibration: interrupted; what was measured is kept")
    finally:
        for conn, _ in pipes:
            try:
                conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for p in procs:
            p.join(5 if cal.get("stopped") else 20)
            if p.is_alive():
                p.terminate()
        cal["seconds"] = time.perf_counter() - t_start
    return cal
