"""`resemote book` (`make book`): say what will run and how long it should take here, then let Snakemake
(`workflow/Snakefile`, read through `resemote.book.engine.Workflow`) run it, twice: every run, dataset page,
Grad-CAM figure and cross-dataset test with --keep-going, then the book from whatever finished, so one
crashed run shows in the book as failed instead of stopping it. The exit status is non-zero when a run failed.
"""
from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from resemote.book import checkout, plan as P
from resemote.data.classes import TITLES
from resemote.book.engine import LOGS, ROOT, SNAKEFILE, Workflow
from resemote.book import run_index
from resemote.errors import ResEmoteError
from resemote.book.records import FAILED


def seconds_per_image(config: str, device: str, batch_size: int, image_size: int, steps: int = 3) -> float:
    """Training seconds per image of `config` on `device`, timed over a few steps of random faces with the
    model and optimizer set up as `train` sets them up (`training.model_and_optimizer`)."""
    import numpy as np
    import torch
    from resemote.device_images import DeviceImages
    from resemote.env import resolve_device
    from resemote.training import model_and_optimizer, train_one_epoch
    dev = resolve_device(device)
    torch.manual_seed(0)
    model, opt = model_and_optimizer(config, dev, lr=1e-3, momentum=0.9, weight_decay=1e-4)
    n = batch_size * (steps + 1)
    data = DeviceImages(np.random.default_rng(0).integers(0, 256, (n, image_size, image_size), dtype=np.uint8),
                        np.arange(n) % 7, dev)
    batches = list(data.batches(batch_size))
    train_one_epoch(model, opt, batches[:1])  # warm-up: allocations, kernel choice
    t0 = time.perf_counter()
    loss, _ = train_one_epoch(model, opt, batches[1:])
    float(loss)  # waits for the device
    return (time.perf_counter() - t0) / (n - batch_size)


def estimates(w: Workflow) -> list[tuple[P.PlannedRun, float | None]]:
    """(run, estimated seconds) of every real-data run, from its dataset's split sizes (label files) and a
    few timed training steps of its network on this machine; None for a run that has already finished."""
    from resemote.analysis.stats import dataset_stats
    sizes, speed, out = {}, {}, []
    for r in (r for r in w.runs if not r.synthetic):
        if w.path(w.run_target(r.id)).is_file():  # the output Snakemake checks for the run
            out.append((r, None))
            continue
        if r.dataset not in sizes:
            try:
                sizes[r.dataset] = {k: sum(v.values()) for k, v in dataset_stats(r.dataset, r.root)["splits"].items()}
            except ResEmoteError:
                sizes[r.dataset] = {}  # its job will report what is wrong with it
        key = (r.config, r.device, r.batch_size, r.spec.image_size)
        if key not in speed:
            speed[key] = seconds_per_image(*key)
        out.append((r, P.estimate_seconds(r, sizes[r.dataset], speed[key])))
    return out


def describe(w: Workflow, timed: list[tuple[P.PlannedRun, float | None]]) -> str:
    real = sorted(w.present)
    lines = [f"plan: {len(w.runs)} runs ({sum(bool(r.synthetic) for r in w.runs)} on synthetic stand-ins); "
             f"datasets present: {', '.join(TITLES[d] for d in real) or 'none'}"]
    if real:
        lines.append(f"real-data profile: {w.profile_used} ({w.why})")
    for r, s in timed:
        lines.append(f"  {r.id}: {TITLES[r.dataset]} {r.config} seed {r.seed}, {r.budget()}: " +
                     (f"about {P.format_duration(s)} here" if s is not None else
                      f"finished ({w.runs_dir}/{r.id}), kept unless its settings, data or code changed"))
    if timed:
        todo = [s for _, s in timed if s is not None]
        lines.append(f"  estimated training time of the {len(todo)} real-data run(s) still to train: "
                     f"{P.format_duration(sum(todo))}")
        if w.profile_used == "reduced":
            paper = P.resolve(w.plan, w.present, "paper", w.path(w.data_dir), w.path(w.runs_dir))
            n = sum(1 for r in paper if not r.synthetic)
            lines.append(f"  the paper profile ({n} real-data runs of 80 epochs) would take far longer here: "
                         f"`make book PROFILE=paper` (see `resemote book --profile paper --dry-run`)")
    return "\n".join(lines)


@contextmanager
def exclusive(runs_dir: Path):
    """One `resemote book` at a time per runs folder (an OS lock: it goes with the process, however it ends)."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    f = open(runs_dir / ".engine.lock", "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ResEmoteError(f"another `resemote book` is using {runs_dir}; wait for it to finish") from None
    try:
        yield
    finally:
        f.close()


def snakemake(w: Workflow, targets: list[str], *flags: str, partial: bool = False, cores: str = "all") -> int:
    config = [f"plan={w.plan_file}", f"runs={w.runs_dir}", f"data={w.data_dir}", f"out={w.out_dir}",
              f"records={w.records_dir}", f"profile={w.profile_used}", f"gpus={w.gpus}",
              f"partial={int(partial)}"]
    cmd = [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(SNAKEFILE), "--directory", str(ROOT),
           "--cores", cores, "--resources", f"gpu={max(w.gpus, 0)}", "--rerun-incomplete",
           "--nolock",  # `exclusive` locks the runs folder instead: a killed build leaves no stale lock
           *flags,
           "--config", *config]
    return subprocess.run(cmd).returncode


def main(plan_file: str = "runs.yml", runs: str = "runs", data: str = "data", out: str = "_build",
         records: str = "results", profile: str = "auto", run: bool = True, build: bool = True,
         dry_run: bool = False, cores: str = "all", estimate: bool = True) -> int:
    """`resemote book`: the plan and its time estimate, then every run and dataset page (Snakemake,
    --keep-going), then the book from what exists. Non-zero when a run failed (the book shows it)."""
    checkout()  # outside a checkout: one line saying what this needs, before anything is read or written
    w = Workflow(plan_file, runs, data, out, records, profile)
    print(describe(w, estimates(w) if estimate and run else []), flush=True)
    if dry_run:
        return snakemake(w, ["all"], "--dry-run", "--quiet", "rules", cores=cores)
    rc = 0
    with exclusive(w.path(w.runs_dir)):
        t0 = time.time()
        if run:
            rc = snakemake(w, ["runs"], "--keep-going", cores=cores)
            print(f"runs: {'done' if rc == 0 else 'some failed'} in {P.format_duration(time.time() - t0)}")
        if build:
            if run:
                rc_book = snakemake(w, ["book"], partial=True, cores=cores)
            else:  # build from the results already there, running nothing
                from resemote.book.engine_jobs import job_book
                w.partial = True
                job_book(w)
                rc_book = 0
            if rc_book:
                raise ResEmoteError(f"the book did not build; see {w.runs_dir}/{LOGS}/book.log")
    entries, _ = run_index.index_entries(w)
    failed = [e for e in entries if e.status == FAILED]
    for e in failed:
        print(f"failed: {e.id}: {e.error}")
    if failed or rc:
        print(f"{len(failed)} run(s) failed; the book shows them as failed")
        return 1
    return 0
