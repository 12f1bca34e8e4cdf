"""Which runs one GPU call can finish, and how many side by side: the plan of benchmarks/gpu-check.sh.

Pure: no torch, no clock, no files. It reads
- a calibration (written by `resemote.perf.gpucalib` on the GPU, made up in the tests): for each network and
  batch size, a *key* such as "C1@16", the seconds of one training step when k training processes of it run
  side by side (`step_s`: {"1": alone, "2": ..., ...}), one validation pass (`val_s`, alone) and the end of a
  run (`final_s`: the test evaluation and the batch-1 latency, alone); and `startup_s`, the seconds a training
  process needs before its first step (Python, torch, the data, the CUDA context, the model);
- the candidate runs in priority order (`candidates`: runs.yml's `gpu` section resolved against the plan);
- the split sizes and the budget in seconds.

A run's predicted duration with k processes side by side (`run_seconds`):

    (startup + epochs x (steps per epoch x step(k) + val x step(k) / step(1)) + final) x (1 + margin)

where step(k) is measured with k copies of the run's own network: runs of different networks side by side
are assumed to slow each other as copies of their own network do. The summary of every GPU call sets the
predicted finish times beside the actual ones, so this approximation is checked each time it is used.

The plan (`plan`): for each k, the candidates are taken in priority order and each goes to the slot that
frees first; a run predicted to finish after the budget is not started (a shorter, later one may still be).
The k chosen is the one whose started runs come first in priority order (compared run by run, so C1's three
seeds beat any number of later runs), then the one with more runs, then the one that finishes earlier.
The launcher applies the same rule (`pick`) with the clock instead of the prediction of when a slot frees.
"""
from __future__ import annotations

from pathlib import Path

from resemote.errors import ResEmoteError
from resemote.book.plan import PlannedRun, resolve

MARGIN = 0.1          # predicted durations are stretched by this share: what the model leaves out
MEMORY_SHARE = 0.9    # at most this share of the GPU's memory for the processes side by side


def key(config: str, batch_size: int) -> str:
    """The calibration's name for a network at a batch size, e.g. 'C1@16'."""
    return f"{config}@{batch_size}"


def run_key(r: PlannedRun) -> str:
    return key(r.config, r.batch_size)


# --- the candidates ------------------------------------------------------------------------------------
def candidates(plan: dict, data_dir: Path | str = "data", runs_dir: Path | str = "runs",
               epochs: int | None = None) -> list[PlannedRun]:
    """The runs runs.yml's `gpu` section names, in its priority order, as the plan resolves them for its
    dataset and profile (so a run's id is the one `make book` gives the same settings). `epochs` replaces
    every run's budget (a rehearsal on the CPU; the ids follow)."""
    g = plan.get("gpu")
    if not g or not g.get("priority"):
        raise ResEmoteError("runs.yml: expected a `gpu` section with a `priority` list (see runs.yml)")
    dataset, profile = g.get("dataset", "fer2013"), g.get("profile", "paper")
    real = [r for r in resolve(plan, {dataset}, profile, Path(data_dir), Path(runs_dir))
            if not r.synthetic and r.dataset == dataset]
    out: dict[str, PlannedRun] = {}
    for i, item in enumerate(g["priority"], 1):
        exp = item.get("experiment")
        if exp not in plan["experiments"]:
            raise ResEmoteError(f"runs.yml gpu.priority item {i}: expected an experiment of the plan, got {exp!r}")
        seeds, sizes = item.get("seeds"), item.get("batch_size")
        picked = [r for c in item.get("configs", []) for r in real
                  if exp in r.experiments and r.config == c
                  and (seeds is None or r.seed in seeds) and (sizes is None or r.batch_size in sizes)]
        if not picked:
            raise ResEmoteError(f"runs.yml gpu.priority item {i} ({exp} {item.get('configs')}): the {profile} "
                                f"profile plans no such run on {dataset}")
        # within an item: configs in the order given, then batch sizes, then seeds
        order = {c: j for j, c in enumerate(item["configs"])}
        for r in sorted(picked, key=lambda r: (order[r.config], r.batch_size, r.seed)):
            out.setdefault(r.id, r)
    runs = list(out.values())
    if epochs is not None:
        for r in runs:
            r.spec = r.spec.with_(epochs=int(epochs))
    return runs


def train_args(r: PlannedRun) -> list[str]:
    """The `resemote train` options that make run `r` (the root, --out and the speed options are the
    launcher's)."""
    return r.spec.cli_args()


# --- durations -----------------------------------------------------------------------------------------
def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Training steps of one epoch (`pipeline.batch_slices`: a final batch of one joins the one before)."""
    full, rest = divmod(n_train, batch_size)
    return max(1, full + (rest > 1))


def step_seconds(entry: dict, k: int) -> float | None:
    """A key's seconds per step with k processes side by side: measured, or interpolated linearly between
    the measured k around it; None beyond the largest k measured."""
    pts = sorted((int(n), float(s)) for n, s in (entry.get("step_s") or {}).items() if s)
    for (k0, s0), (k1, s1) in zip(pts, pts[1:]):
        if k0 <= k <= k1:
            return s0 + (s1 - s0) * (k - k0) / (k1 - k0)
    return pts[0][1] if pts and pts[0][0] == k else None


def run_seconds(cal: dict, r: PlannedRun, k: int, split_sizes: dict, margin: float = MARGIN) -> float | None:
    """Predicted wall time of run `r` with k processes side by side (module docstring); None where the
    calibration has no figure for it."""
    entry = (cal.get("keys") or {}).get(run_key(r))
    if not entry or entry.get("error"):
        return None
    step, alone = step_seconds(entry, k), step_seconds(entry, 1)
    if step is None or alone is None:
        return None
    val = float(entry.get("val_s", 0.0)) * step / alone
    epoch = steps_per_epoch(int(r.spec.training_images(split_sizes)), r.batch_size) * step + val
    total = float(cal.get("startup_s", 0.0)) + float(entry.get("build_s", 0.0)) + r.epochs * epoch \
        + float(entry.get("final_s", 0.0))
    return total * (1 + margin)


def fits_memory(cal: dict, r: PlannedRun, k: int) -> bool:
    """Whether k processes of `r`'s network fit the GPU's memory (always, where none is stated)."""
    total = cal.get("gpu_memory_gib")
    need = ((cal.get("keys") or {}).get(run_key(r)) or {}).get("memory_gib")
    return not total or not need or k * float(need) <= MEMORY_SHARE * float(total)


def pick(remaining: list[tuple[PlannedRun, float | None]], elapsed: float, budget: float) -> int | None:
    """Index of the first run, in priority order, predicted to finish within the budget if started now."""
    for i, (_, seconds) in enumerate(remaining):
        if seconds is not None and elapsed + seconds <= budget:
            return i
    return None


# --- the plan ------------------------------------------------------------------------------------------
def simulate(cal: dict, runs: list[PlannedRun], k: int, budget: float, split_sizes: dict,
             margin: float = MARGIN) -> dict:
    """The schedule with k slots: runs in priority order, each in the slot that frees first, none started
    that is predicted to finish after `budget` seconds."""
    slots = [0.0] * k
    planned, skipped = [], []
    remaining = []
    for r in runs:
        s = run_seconds(cal, r, k, split_sizes, margin)
        if s is None:
            skipped.append({"id": r.id, "key": run_key(r), "reason": f"not calibrated at {k} side by side"})
        elif not fits_memory(cal, r, k):
            skipped.append({"id": r.id, "key": run_key(r), "reason": f"{k} processes would not fit the GPU's memory"})
        else:
            remaining.append((r, s))
    while remaining:
        slot = min(range(k), key=lambda i: slots[i])
        i = pick(remaining, slots[slot], budget)
        if i is None:
            break
        # runs before i do not fit even in the slot that frees first: they never will
        for r, s in remaining[:i]:
            skipped.append({"id": r.id, "key": run_key(r), "reason": f"predicted {s:.0f} s: would end after "
                            f"the budget ({budget:.0f} s) in the first free slot (at {slots[slot]:.0f} s)"})
        r, s = remaining.pop(i)
        remaining = remaining[i:]
        planned.append({"id": r.id, "key": run_key(r), "label": label(r), "slot": slot, "start_s": slots[slot],
                        "duration_s": s, "finish_s": slots[slot] + s})
        slots[slot] += s
    for r, s in remaining:
        skipped.append({"id": r.id, "key": run_key(r), "reason": f"predicted {s:.0f} s: would end after the "
                        f"budget ({budget:.0f} s) in the first free slot (at {min(slots):.0f} s)"})
    order = {r.id: i for i, r in enumerate(runs)}
    skipped.sort(key=lambda x: order[x["id"]])
    return {"k": k, "runs": planned, "not_started": skipped,
            "makespan_s": max((p["finish_s"] for p in planned), default=0.0)}


def _rank(sim: dict, runs: list[PlannedRun]) -> tuple:
    started = {p["id"] for p in sim["runs"]}
    return (tuple(r.id in started for r in runs), len(started), -sim["makespan_s"], -sim["k"])


def plan(cal: dict, runs: list[PlannedRun], budget: float, split_sizes: dict, *, max_k: int | None = None,
         min_k: int = 1, margin: float = MARGIN) -> dict:
    """The best schedule over every k the calibration measured, from `min_k` (a rehearsal of the
    side-by-side path may insist on 2) to `max_k` (module docstring), with the others' summaries under
    `alternatives`; JSON-ready."""
    measured = sorted({int(k) for e in (cal.get("keys") or {}).values() for k in (e.get("step_s") or {})})
    ks = [k for k in range(max(1, min_k), (max(measured) if measured else 0) + 1) if max_k is None or k <= max_k]
    if not ks:
        return {"k": 0, "runs": [], "not_started": [{"id": r.id, "key": run_key(r), "reason": "no calibration"}
                                                    for r in runs],
                "makespan_s": 0.0, "budget_s": budget, "margin": margin, "alternatives": []}
    sims = [simulate(cal, runs, k, budget, split_sizes, margin) for k in ks]
    best = max(sims, key=lambda s: _rank(s, runs))
    return {**best, "budget_s": budget, "margin": margin, "split_sizes": dict(split_sizes),
            "alternatives": [{"k": s["k"], "started": len(s["runs"]), "makespan_s": round(s["makespan_s"], 1),
                              "runs": [p["id"] for p in s["runs"]]} for s in sims]}


def label(r: PlannedRun) -> str:
    return f"{r.config} seed {r.seed}, batch {r.batch_size}, {r.epochs} epochs"


def format_plan(p: dict) -> str:
    """The plan as a few lines for the log."""
    lines = [f"plan: {len(p['runs'])} run(s), {p['k']} side by side, predicted to end at "
             f"{p['makespan_s']:.0f} s of a {p['budget_s']:.0f} s budget (durations +{p['margin']:.0%})"]
    lines += [f"  slot {x['slot']}: {x['id']} ({x['label']}) {x['start_s']:.0f} -> {x['finish_s']:.0f} s"
              for x in p["runs"]]
    lines += [f"  not started: {x['id']}: {x['reason']}" for x in p["not_started"]]
    lines += ["  k = " + ", ".join(f"{a['k']}: {a['started']} run(s) by {a['makespan_s']:.0f} s"
                                   for a in p["alternatives"])] if p["alternatives"] else []
    return "\n".join(lines)


__all__ = ["MARGIN", "candidates", "fits_memory", "format_plan", "key", "pick", "plan", "run_key", "run_seconds",
           "simulate", "step_seconds", "steps_per_epoch", "train_args"]
