"""The engine (workflow/Snakefile + resemote.book.engine): what a job depends on, what a change redoes, a crashed
run, an interrupted build resumed, GPUs handed out one per job, and the cluster paths (a dry run against
the SLURM profile, a real run through the cluster-generic executor with a local submit script)."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from resemote.book import engine

pytestmark = pytest.mark.xdist_group("tiny_repo")  # one worker builds the tiny repository once


def test_a_run_depends_on_the_code_it_imports_and_not_on_the_book():
    train = set(engine.code_files(*engine.TRAINING_MODULES))
    assert {"resemote/training/loop.py", "resemote/models/resemotenet.py", "resemote/data/fer2013.py",
            "resemote/data/rafdb.py", "resemote/device_images.py", "resemote/__init__.py"} <= train
    # the library's training closure: nothing of the book's machinery (the record publisher, the report, the
    # plan, the workflow), the tools, the performance tools or the command line
    assert not {f for f in train if f.startswith(("resemote/book/", "resemote/analysis/", "resemote/apps/",
                                                  "resemote/perf/")) or f == "resemote/cli.py"}, train
    book = set(engine.code_files(*engine.BOOK_MODULES))
    assert "resemote/book/report/entries.py" in book and "resemote/book/report/claims.py" in book
    # a lazily imported module counts (training imports it inside a function or through the registry)
    assert "resemote/evaluation.py" in train and "resemote/data/expw.py" in train


def _jobs(dry_run_output: str) -> list[str]:
    """(rule, wildcard) of every job a Snakemake dry run lists."""
    return re.findall(r"^(?:local)?rule (\w+):", dry_run_output, flags=re.M)


def _dry_run(repo, *extra: str) -> str:
    p = repo.run(sys.executable, "-m", "snakemake", "all", "--dry-run", "--cores", "1", *extra,
                 "--config", "plan=plan.yml", "profile=reduced", "gpus=0", check=False)
    return p.stdout + p.stderr


def test_the_first_build_finishes_the_others_and_fails_for_the_crash(tiny_repo):
    out = tiny_repo.first_build.stdout
    assert tiny_repo.first_build.returncode == 1, out[-3000:]               # a run failed: it says so
    assert re.search(r"failed: rafdb-C1-s0-\w+: .*list_patition_label\.txt", out)
    assert "the book shows them as failed" in out
    assert (tiny_repo.root / "_build" / "html" / "index.html").is_file()


def test_nothing_changed_nothing_is_redone(tiny_repo):
    """Only the crashed jobs are tried again (their results are missing); nothing that finished is redone."""
    p = tiny_repo.book(check=False)
    out = p.stdout + p.stderr
    jobs = re.findall(r"wildcards: (?:run|name)=(\S+)", out)
    assert jobs and all(j.startswith("rafdb") for j in jobs), jobs


@pytest.mark.parametrize("module", ["report/entries.py", "records.py"])
def test_a_book_side_change_redoes_no_run(tiny_repo, module):
    """The report and the record publisher are the book's machinery: editing them rebuilds the book only."""
    f = tiny_repo.root / "resemote" / "book" / module
    original, stat = f.read_text(), f.stat()
    f.write_text(original + "\n# touched\n")
    try:
        jobs = _dry_run(tiny_repo)
        runs = re.findall(r"wildcards: run=(\S+)", jobs)
        assert all(r.startswith("rafdb-") for r in runs), runs             # only the crashed runs are retried
        assert "book" in _jobs(jobs)
    finally:
        f.write_text(original)
        os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_training_change_redoes_every_run(tiny_repo):
    f = tiny_repo.root / "resemote" / "training" / "loop.py"
    original, stat = f.read_text(), f.stat()
    f.write_text(original.replace("        opt.zero_grad(set_to_none=True)",
                                  "        opt.zero_grad(set_to_none=True)  # a change to the loop", 1))
    try:
        runs = set(re.findall(r"rule train:\n(?:.*\n)*?\s+wildcards: run=(\S+)", _dry_run(tiny_repo)))
        made = {e["id"] for e in json.loads((tiny_repo.root / "runs" / "index.json").read_text())["runs"]}
        assert runs == made, (runs, made)                                    # every run, synthetic included
    finally:
        f.write_text(original)
        os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not {r for r in re.findall(r"wildcards: run=(\S+)", _dry_run(tiny_repo)) if r.startswith("synthetic")}


def test_slurm_profile_dry_run_requests_one_gpu_per_training_job(tiny_repo):
    """The acceptance command as a user types it (a --config on the command line would replace the
    profile's settings, so the tiny plan stands in for runs.yml here)."""
    runs_yml = tiny_repo.root / "runs.yml"
    original = runs_yml.read_text()
    runs_yml.write_text((tiny_repo.root / "plan.yml").read_text())
    image = tiny_repo.root / "data" / "expw" / "image"   # an image there: present, the paper profile applies
    image.mkdir(parents=True)
    (image / "FAKE.jpg").write_bytes(b"FAKE")
    try:
        p = tiny_repo.run(sys.executable, "-m", "snakemake", "--profile", "workflow/profiles/slurm", "--dry-run",
                          check=False)
    finally:
        runs_yml.write_text(original)
        shutil.rmtree(tiny_repo.root / "data" / "expw")
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    blocks = out.split("rule ")
    train = [b for b in blocks if b.startswith("train:")]
    real = [b for b in train if "run=expw-" in b]
    assert len(real) == 3 and all(re.search(r"resources:.*gpu=1", b) for b in real), train
    assert all(re.search(r"resources:.*gpu=0", b) for b in train if "run=synthetic-" in b)
    assert any(b.startswith("dataset:") for b in blocks) and "book:" in out


def _cluster_profile(tmp: Path) -> Path:
    """A cluster-generic profile whose submit script starts each job script in the background and whose
    status script reports it running, then success or failed from its exit code."""
    prof = tmp / "cluster"
    prof.mkdir()
    jobs = tmp / "jobs"
    jobs.mkdir()
    (prof / "submit.sh").write_text(f"""#!/bin/bash
# $1: the job script Snakemake wrote. Print a job id; run the script detached; keep its exit code.
id=$(date +%s%N)
( bash "$1" > {jobs}/$id.out 2>&1; echo $? > {jobs}/$id.exit ) > /dev/null 2>&1 &
echo $id
""")
    (prof / "status.sh").write_text(f"""#!/bin/bash
if [ ! -f {jobs}/$1.exit ]; then echo running; elif [ "$(cat {jobs}/$1.exit)" = 0 ]; then echo success;
else echo failed; fi
""")
    for s in ("submit.sh", "status.sh"):
        (prof / s).chmod(0o755)
    (prof / "config.yaml").write_text(yaml.safe_dump({
        "executor": "cluster-generic", "cluster-generic-submit-cmd": str(prof / "submit.sh"),
        "cluster-generic-status-cmd": str(prof / "status.sh"), "jobs": 2, "latency-wait": 30,
        "rerun-incomplete": True, "max-status-checks-per-second": 5}))
    return prof


def test_a_tiny_plan_runs_through_a_cluster_executor(tiny_repo, tmp_path):
    plan = yaml.safe_load((tiny_repo.root / "plan.yml").read_text())
    plan["experiments"] = {"table3": {"datasets": ["expw"], "configs": ["C1"]}}
    (tiny_repo.root / "cluster.yml").write_text(yaml.safe_dump(plan))
    prof = _cluster_profile(tmp_path)
    p = tiny_repo.run(sys.executable, "-m", "snakemake", "runs", "--profile", str(prof), "--config",
                      "plan=cluster.yml", "runs=runs_cluster", "data=data_cluster", "gpus=0", check=False,
                      timeout=1200)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    submitted = {f.stem: f.read_text().strip() for f in (tmp_path / "jobs").glob("*.exit")}
    assert len(submitted) == 3 and set(submitted.values()) == {"0"}     # the run, its Grad-CAM, the data page
    logs = " ".join(f.read_text() for f in (tmp_path / "jobs").glob("*.out"))
    assert all(f"rule {r}" in logs or f"rule: {r}" in logs or r in logs for r in ("train", "gradcam", "dataset"))
    done = [d.name for d in (tiny_repo.root / "runs_cluster").iterdir() if (d / "metrics.json").is_file()]
    assert len(done) == 1 and done[0].startswith("synthetic-C1-s0-")
    assert (tiny_repo.root / "runs_cluster" / done[0] / "gradcam.png").is_file()


def test_an_interrupted_build_resumes_the_killed_run(tiny_repo):
    plan = {**yaml.safe_load((tiny_repo.root / "plan.yml").read_text())}
    plan["profiles"]["demo"] = {**plan["profiles"]["demo"], "epochs": 4}
    plan["experiments"] = {"table3": {"datasets": ["expw"], "configs": ["C1"]}}
    (tiny_repo.root / "long.yml").write_text(yaml.safe_dump(plan))
    args = [sys.executable, "-m", "resemote", "book", "--plan", "long.yml", "--runs", "runs_long", "--data",
            "data_long", "--no-estimate", "--no-build"]
    p = subprocess.Popen(args, cwd=tiny_repo.root, env=tiny_repo.env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True,
                         # Ctrl-C as a terminal delivers it, even where the tests run in the background of a
                         # non-interactive shell (which starts its children with SIGINT ignored)
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    runs = tiny_repo.root / "runs_long"
    deadline = time.time() + 600
    while time.time() < deadline and not list(runs.glob("synthetic-*/history.csv")):
        time.sleep(0.2)
    os.killpg(p.pid, signal.SIGINT)                                       # Ctrl-C: the whole build
    p.communicate(timeout=120)
    run = next(runs.glob("synthetic-*"))
    assert (run / "state.pt").is_file() and not (run / "metrics.json").exists(), "interrupted too late"
    before = (run / "history.csv").read_text().splitlines()[1:]
    again = tiny_repo.run(*args, check=False)
    assert again.returncode == 0, again.stdout[-3000:]
    log = (runs / "_logs" / f"{run.name}.log").read_text()
    assert "out-of-date results" not in log                              # the resume state was kept
    history = (run / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in history] == [1, 2, 3, 4]
    assert history[0] == before[0]                      # epoch 1 (with its wall time) was not trained again
    assert (run / "metrics.json").is_file() and not (run / "state.pt").exists()


def test_each_gpu_job_claims_its_own_gpu(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with engine.claimed_gpu(2, tmp_path) as a:
        seen_a = os.environ["CUDA_VISIBLE_DEVICES"]
        code = ("import os, sys; from pathlib import Path; from resemote.book.engine import claimed_gpu\n"
                f"with claimed_gpu(2, Path({str(tmp_path)!r})) as g: print(g, os.environ['CUDA_VISIBLE_DEVICES'])")
        job = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}  # another job's environment
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=job)
    assert (a, seen_a) == (0, "0") and other.stdout.split() == ["1", "1"]  # the second job got the other GPU
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")                      # a scheduler chose already
    with engine.claimed_gpu(2, tmp_path) as g:
        assert g is None and os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    assert engine.visible_gpus() == 1


def test_the_book_does_not_depend_on_its_own_log(tmp_path):
    """Its own log as an input made every `make book` after the first rebuild the book and fail (Snakemake
    removes a job's log before running it): the second `make book` of a fresh clone exited 2."""
    from conftest import TINY_PLAN
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(TINY_PLAN))
    logs = tmp_path / "runs" / "_logs"
    logs.mkdir(parents=True)
    for name in ("book.log", "synthetic-C1-s0-x.log"):
        (logs / name).write_text("")
    w = engine.Workflow(str(tmp_path / "plan.yml"), str(tmp_path / "runs"), str(tmp_path / "data"),
                        str(tmp_path / "b"), str(tmp_path / "results"), gpus=0, partial=True)
    inputs = {Path(f).name for f in w.book_inputs()}
    assert "synthetic-C1-s0-x.log" in inputs and "book.log" not in inputs
