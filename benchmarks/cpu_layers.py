"""Per-layer forward and backward times of one training step on the CPU, and the whole step, plain and fast.

    .venv/bin/python benchmarks/cpu_layers.py [--config C1] [--batch 16] [--repeats 9] [--out FILE.md]

For every conv and linear layer of the network, at the input it sees in a training step at batch `--batch`
(64 x 64 images), the forward pass and the backward pass (the input's gradient, except for the first layer,
and the weight's and bias's) are timed with the plain `F.conv2d` / `F.linear` and, for convs, with
`resemote.gemmconv.gemm_conv2d` (the matrix-product path `accel.for_device` takes on small maps); the two
alternate repeat by repeat so that a shared machine's load falls on both, and medians are reported. Then the
whole step (forward, backward, fused SGD), the model's own layers against `accel.for_device`, alternating
step by step, split into its three phases; then the profiler's top operators of the fast step.

GFLOP/s count every kernel tap at every output pixel (`zoo.conv_linear_macs`, 2 FLOPs per multiply-add), the
backward pass as twice the forward (once where the input needs no gradient). Writes a Markdown report (and
`--json`) and prints it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from resemote import accel  # noqa: E402
from resemote.perf.bench import cpu_peak_gflops, hardware_stamp  # noqa: E402
from resemote.gemmconv import gemm_conv2d, small_output  # noqa: E402
from resemote.models import conv_linear_macs, create_model  # noqa: E402


def layer_inputs(model: nn.Module, batch: int) -> dict[str, torch.Size]:
    """The input shape of every conv and linear layer in a training-mode forward pass at `batch`."""
    shapes, names = {}, {id(m): n for n, m in model.named_modules()}

    def record(mod, inp, out) -> None:  # a hook that returned a value would replace the layer's output
        shapes.setdefault(names[id(mod)], inp[0].shape)
    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.train()
    with torch.no_grad():
        model(torch.randn(batch, 3, 64, 64))
    for h in hooks:
        h.remove()
    return shapes


def time_layer(fns: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """{name: (forward ms, backward ms)} medians; `fns[name]()` returns (output, backward closure)."""
    times = {k: ([], []) for k in fns}
    for _ in range(2):  # warm-up: oneDNN's kernel choice, the allocator
        for f in fns.values():
            out, back = f()
            back(out)
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            out, back = f()
            t1 = time.perf_counter()
            back(out)
            t2 = time.perf_counter()
            times[k][0].append((t1 - t) * 1e3)
            times[k][1].append((t2 - t1) * 1e3)
    return {k: (statistics.median(a), statistics.median(b)) for k, (a, b) in times.items()}


def _leaf(t: torch.Tensor | None) -> torch.Tensor | None:
    return t.detach().clone().requires_grad_() if t is not None else None


def conv_fns(mod: nn.Conv2d, shape: torch.Size, first: bool) -> dict:
    x = torch.randn(shape, requires_grad=not first)
    w, b = _leaf(mod.weight), _leaf(mod.bias)
    s, p = mod.stride[0], mod.padding[0]

    def make(conv):
        def run():
            for t in (x, w, b):
                if t is not None:
                    t.grad = None
            out = conv(x, w, b, s, p)
            return out, lambda o: o.backward(torch.ones_like(o))
        return run
    fns = {"plain": make(lambda *a: F.conv2d(*a))}
    if small_output(mod, shape[-2], shape[-1]):
        fns["gemm"] = make(gemm_conv2d)
    return fns


def linear_fns(mod: nn.Linear, shape: torch.Size) -> dict:
    x = torch.randn(shape, requires_grad=True)
    w, b = _leaf(mod.weight), _leaf(mod.bias)

    def run():
        for t in (x, w, b):
            if t is not None:
                t.grad = None
        out = F.linear(x, w, b)
        return out, lambda o: o.backward(torch.ones_like(o))
    return {"plain": run}


def step_times(config: str, batch: int, repeats: int) -> dict:
    """The whole step, the model's own layers ("plain") and `accel.for_device` ("fast"), alternating."""
    paths = {}
    for name in ("plain", "fast"):
        torch.manual_seed(0)
        m = create_model(config)
        if name == "fast":
            accel.for_device(m, "cpu")
        opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4, **accel.sgd_options("cpu"))
        paths[name] = (m.train(), opt)
    x, y = torch.randn(batch, 3, 64, 64), torch.randint(0, 7, (batch,))
    phases = {k: {"forward": [], "backward": [], "sgd": []} for k in paths}

    def step(name):
        m, opt = paths[name]
        t0 = time.perf_counter()
        loss = F.cross_entropy(m(x), y)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    for _ in range(2):
        for k in paths:
            step(k)
    for _ in range(repeats):
        for k in paths:
            for phase, sec in zip(("forward", "backward", "sgd"), step(k)):
                phases[k][phase].append(sec * 1e3)
    out = {}
    for k, ph in phases.items():
        med = {p: statistics.median(v) for p, v in ph.items()}
        med["step"] = statistics.median([a + b + c for a, b, c in zip(*ph.values())])
        out[k] = med
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step("fast")
    top = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:12]
    out["fast_top_ops"] = [{"op": e.key, "ms_per_step": e.self_cpu_time_total / 1e3 / 3, "calls_per_step": e.count / 3}
                           for e in top]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="C1")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--out", type=Path, help="write the Markdown report here (and FILE.json)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    accel.keep_freed_memory("cpu")  # as training does: otherwise page faults dominate large gradients
    torch.manual_seed(0)
    model = create_model(a.config)
    shapes = layer_inputs(model, a.batch)
    macs = conv_linear_macs(model, 64)
    mods = dict(model.named_modules())
    first = next(iter(shapes))
    rows = []
    for name, shape in shapes.items():
        mod = mods[name]
        fns = conv_fns(mod, shape, name == first) if isinstance(mod, nn.Conv2d) else linear_fns(mod, shape)
        t = time_layer(fns, a.repeats)
        fwd_gflop = 2 * macs[name] * a.batch / 1e9
        bwd_gflop = fwd_gflop * (1 if name == first else 2)
        rows.append({"layer": name, "input": list(shape), "fwd_gflop": fwd_gflop, "bwd_gflop": bwd_gflop,
                     **{f"{k}_fwd_ms": v[0] for k, v in t.items()}, **{f"{k}_bwd_ms": v[1] for k, v in t.items()}})
        print(f"{name:24s} {str(tuple(shape)):22s} " + "  ".join(f"{k}: {f:6.1f} / {b:6.1f} ms" for k, (f, b) in t.items()),
              file=sys.stderr)
    step = step_times(a.config, a.batch, a.repeats)
    peak = cpu_peak_gflops()
    report = {**hardware_stamp(torch.device("cpu")), "config": a.config, "batch": a.batch, "repeats": a.repeats,
              "cpu_peak": peak, "layers": rows, "step": step,
              "command": "python benchmarks/cpu_layers.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    text = markdown(report)
    print(text)
    if a.out:
        a.out.write_text(text)
        a.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


def markdown(r: dict) -> str:
    peak = r["cpu_peak"]["gflops"] if r["cpu_peak"] else None
    lines = [f"# {r['config']} training step at batch {r['batch']}, per layer, on {r['device']}",
             "", f"`{r['command']}` - {r['date']}, torch {r['torch_version']}, load average "
             f"{r.get('load_average_1min', float('nan')):.1f}, medians of {r['repeats']} alternating repeats."
             + (f" Nominal fp32 peak {peak:.0f} GFLOP/s ({r['cpu_peak']['threads']} x {r['cpu_peak']['ghz']:.2f} GHz "
                f"x {r['cpu_peak']['flop_per_cycle']})." if peak else ""), "",
             "| layer | input | GFLOP fwd / bwd | plain fwd ms | plain bwd ms | plain bwd/fwd | GEMM fwd ms | "
             "GEMM bwd ms | best GFLOP/s |", "|---|---|---|---|---|---|---|---|---|"]
    tot = {"plain": 0.0, "best": 0.0}
    for row in r["layers"]:
        pf, pb = row["plain_fwd_ms"], row["plain_bwd_ms"]
        gf, gb = row.get("gemm_fwd_ms"), row.get("gemm_bwd_ms")
        best = min(pf + pb, (gf + gb) if gf is not None else float("inf"))
        tot["plain"] += pf + pb
        tot["best"] += best
        gflops = (row["fwd_gflop"] + row["bwd_gflop"]) / best * 1e3
        lines.append(f"| {row['layer']} | {'x'.join(map(str, row['input']))} | {row['fwd_gflop']:.2f} / "
                     f"{row['bwd_gflop']:.2f} | {pf:.1f} | {pb:.1f} | {pb / pf:.1f} | "
                     + (f"{gf:.1f} | {gb:.1f}" if gf is not None else "- | -") + f" | {gflops:.0f} |")
    lines += ["", f"Sum over these layers: plain {tot['plain']:.0f} ms, best of the two {tot['best']:.0f} ms.", "",
              "Whole step (median ms; the fast path is `accel.for_device`: small-map convs as GEMMs):", "",
              "| path | forward | backward | SGD | step | images/s | GFLOP/s | share of peak |", "|---|---|---|---|---|---|---|---|"]
    train_gflop = sum(row["fwd_gflop"] + row["bwd_gflop"] for row in r["layers"])
    for k in ("plain", "fast"):
        s = r["step"][k]
        g = train_gflop / s["step"] * 1e3
        lines.append(f"| {k} | {s['forward']:.0f} | {s['backward']:.0f} | {s['sgd']:.0f} | {s['step']:.0f} | "
                     f"{r['batch'] / s['step'] * 1e3:.1f} | {g:.1f} | " + (f"{g / peak:.0%} |" if peak else "- |"))
    lines += ["", "Top operators of the fast step (profiler, self CPU time per step):", "",
              "| operator | ms per step | calls per step |", "|---|---|---|"]
    lines += [f"| `{o['op']}` | {o['ms_per_step']:.1f} | {o['calls_per_step']:.0f} |" for o in r["step"]["fast_top_ops"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
