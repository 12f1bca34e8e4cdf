"""The engine behind `make book`: Snakemake (`workflow/Snakefile`) decides what to (re)run, this module is
what the Snakefile reads and what its jobs call.

- `Workflow`: the resolved plan for one invocation (which datasets are present, which real-data profile,
  which runs), and every job's declared inputs: the notebook, the code it imports (`code_files`, found by
  reading the imports, so no list of modules is kept by hand), the data files, and the data's source
  fingerprint as a parameter. Snakemake reruns a job when any of these change and only then.
- the jobs themselves (`python -m resemote.book.engine_jobs JOB ...`): a synthetic stand-in, one training run
  (papermill over notebooks/train.ipynb, on a GPU of its own when there are several), one dataset page (papermill
  over notebooks/datasets.ipynb), and the book (the run index, `resemote.book.run_index`, then Jupyter Book).
`resemote book` (`make book`), which runs Snakemake on this, is `resemote.book.book_command`.
"""
from __future__ import annotations

import ast
import fcntl
import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from resemote.book import plan as P
from resemote.data.classes import TITLES
from resemote.errors import ResEmoteError

ROOT = P.ROOT
SNAKEFILE = ROOT / "workflow" / "Snakefile"
LOGS, PAGES, DATASETS_DIR, STALE = "_logs", "_pages", "_datasets", "_stale"
# the modules whose code decides a job's outputs; resemote.book.report only formats what the notebooks show, so a
# change there rebuilds the book but redoes no run and no dataset page
TRAINING_MODULES = ("resemote.training",)
DATASET_MODULES = ("resemote.analysis.stats",)
BOOK_MODULES = ("resemote.book.report", "resemote.book.engine_jobs")
CAM_EXPERIMENTS = ("table3", "table4", "baselines")
CAM_MODULES = ("resemote.apps.cam", "resemote.checkpoint")
CROSS_MODULES = ("resemote.analysis.crosseval",)


# --- the code a job depends on ----------------------------------------------------------------------------
def _module_file(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _imports(name: str, f: Path, registries: bool = True) -> set[str]:
    """Package modules `f` imports anywhere (also inside functions), and, with `registries`, the modules
    named by 'resemote.x.y:Name' strings (the dataset registry's imports on first use)."""
    pkg = name if f.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(f.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}  # `from . import x` imports module x
        elif (registries and isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value.startswith("resemote.") and ":" in node.value):
            out.add(node.value.split(":")[0])
    return {m for m in out if m == "resemote" or m.startswith("resemote.")}


def code_files(*modules: str, registries: bool = True) -> list[str]:
    """The package's source files that `modules` import, directly or not (parents' __init__ included),
    relative to the repository: what a job that imports `modules` depends on. `registries=False` leaves out
    the dataset loaders that the registry would import only when a dataset is read."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            mod = ".".join(parts[:i])
            f = _module_file(mod)
            if f is not None and mod not in seen:
                seen[mod] = f
                todo += sorted(_imports(mod, f, registries))
    return sorted(str(f.relative_to(ROOT)) for f in seen.values())


def _files_under(*paths: Path) -> list[str]:
    out = []
    for p in paths:
        if p.is_file():
            out.append(str(p))
        elif p.is_dir():
            out += [str(f) for f in sorted(p.rglob("*")) if f.is_file() and "_build" not in f.parts]
    return out


# --- GPUs ---------------------------------------------------------------------------------------------------
def visible_gpus() -> int:
    """CUDA GPUs this process may use (CUDA_VISIBLE_DEVICES, else nvidia-smi), without importing torch."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return len([d for d in env.split(",") if d.strip() and d.strip() != "-1"])
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in out.splitlines())


@contextmanager
def claimed_gpu(n: int, lock_dir: Path):
    """Hold one of `n` local GPUs for as long as the block runs, and make it the only one the job sees.
    Snakemake's `--resources gpu=N` caps how many GPU jobs run at once but tells no job which GPU it got,
    so each job takes an exclusive lock on a free GPU id. Where a scheduler already chose (SLURM sets
    CUDA_VISIBLE_DEVICES) or there is no GPU, nothing is claimed."""
    if n <= 0 or "CUDA_VISIBLE_DEVICES" in os.environ:
        yield None
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(n):
            f = open(lock_dir / f"gpu{i}.lock", "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            os.environ["CUDA_VISIBLE_DEVICES"] = str(i)
            try:
                yield i
            finally:
                del os.environ["CUDA_VISIBLE_DEVICES"]
                f.close()
            return
        time.sleep(1)


# --- one invocation's resolved plan -------------------------------------------------------------------------
@dataclass
class Workflow:
    plan_file: str = "runs.yml"
    runs_dir: str = "runs"
    data_dir: str = "data"
    out_dir: str = "_build"
    records_dir: str = "results"
    profile: str = "auto"        # the real-data profile: auto, paper, reduced
    gpus: int = -1               # GPUs for training jobs; -1: count the visible ones
    partial: bool = False        # the book from what exists (after some runs failed)
    plan: dict = field(init=False)

    @classmethod
    def from_config(cls, config: dict) -> "Workflow":
        """From Snakemake's --config (plan=, runs=, data=, out=, records=, profile=, gpus=, partial=)."""
        names = {"plan": "plan_file", "runs": "runs_dir", "data": "data_dir", "out": "out_dir",
                 "records": "records_dir", "profile": "profile"}
        kw = {names[k]: str(v) for k, v in config.items() if k in names}
        return cls(**kw, gpus=int(config.get("gpus", -1)), partial=str(config.get("partial", 0)) in ("1", "True"))

    def __post_init__(self) -> None:
        self.plan = P.load_plan(self.path(self.plan_file))
        if self.gpus < 0:
            self.gpus = visible_gpus()
        self.present = frozenset(d for d in TITLES if P.dataset_present(self.path(self.data_dir), d))
        self.profile_used, self.why = P.choose_profile(self.profile, self.gpus)
        self.runs = P.resolve(self.plan, self.present, self.profile_used, self.path(self.data_dir),
                              self.path(self.runs_dir))
        self.by_id = {r.id: r for r in self.runs}

    def rel(self, p: Path) -> str:
        """A path as the run index gives it: relative to the runs folder, so the index moves with it."""
        return os.path.relpath(os.path.abspath(p), os.path.abspath(self.path(self.runs_dir)))

    def path(self, p: str | Path) -> Path:
        return Path(p) if Path(p).is_absolute() else ROOT / p

    def args(self) -> str:
        """The options that rebuild this workflow inside a job."""
        return (f"--plan {self.plan_file} --runs {self.runs_dir} --data {self.data_dir} --out {self.out_dir} "
                f"--records {self.records_dir} --profile {self.profile_used} --gpus {self.gpus}")

    # -- targets -----------------------------------------------------------------------------------------
    def run_dir(self, rid: str) -> Path:
        return self.path(self.runs_dir) / rid

    def run_target(self, rid: str) -> str:
        return f"{self.runs_dir}/{rid}/metrics.json"

    def log(self, name: str) -> Path:
        return self.path(self.runs_dir) / LOGS / f"{name}.log"

    @cached_property
    def dataset_names(self) -> list[str]:
        """Real datasets present, then the synthetic stand-ins' data: one dataset page each."""
        synth = sorted({P.synthetic_name(r.synthetic) for r in self.runs if r.synthetic})
        return sorted(self.present) + synth

    def dataset_root(self, name: str) -> Path:
        return (self.path(self.runs_dir) / "_data" / name if name.startswith("synthetic-")
                else self.path(self.data_dir) / name)

    def dataset_target(self, name: str) -> str:
        return f"{self.runs_dir}/{DATASETS_DIR}/{name}.json"

    def targets(self) -> list[str]:
        return ([self.run_target(r.id) for r in self.runs] + [self.dataset_target(n) for n in self.dataset_names]
                + [self.cam_target(r.id) for r in self.cam_runs()]
                + [self.cross_target(r.id, n) for r, n in self.cross_jobs()])

    def cam_runs(self) -> list[P.PlannedRun]:
        """Runs whose test faces get a Grad-CAM figure: the paper's tables' and the baselines' (the
        sensitivity study's variants of C1 would repeat C1's)."""
        return [r for r in self.runs if set(r.experiments) & set(CAM_EXPERIMENTS)]

    def cam_target(self, rid: str) -> str:
        return f"{self.runs_dir}/{rid}/gradcam.png"

    def cross_jobs(self) -> list[tuple[P.PlannedRun, str]]:
        """(run, dataset): every real-data Table III run tested on every other real dataset present
        (CK+ included: a test set only); synthetic stand-ins are never crossed with real data."""
        return [(r, d) for r in self.runs if "table3" in r.experiments and not r.synthetic
                for d in sorted(self.present) if d != r.dataset]

    def cross_target(self, rid: str, name: str) -> str:
        return f"{self.runs_dir}/{rid}/cross/{name}.json"

    def book_target(self) -> str:
        return f"{self.out_dir}/html/index.html"

    # -- job inputs --------------------------------------------------------------------------------------
    def data_inputs(self, name: str) -> list[str]:
        """Files whose change must redo a job reading dataset `name` (a synthetic stand-in's csv is made by
        its own job); an image folder has none, its source fingerprint (a parameter) covers it."""
        if name.startswith("synthetic-"):
            return [f"{self.runs_dir}/_data/{name}/fer2013.csv"]
        return [str(f) for f in self._sources(name)[0]]

    def source_fingerprint(self, name: str) -> str:
        return "synthetic" if name.startswith("synthetic-") else self._sources(name)[1]

    @cached_property
    def _source_cache(self) -> dict:
        return {}

    def _sources(self, name: str) -> tuple[list[Path], str]:
        if name not in self._source_cache:
            from resemote.data import dataset_class
            cls, root = dataset_class(name), self.dataset_root(name)
            files, fps = [], []
            for split in cls.splits:
                try:
                    ds = cls(root, split)
                    files += [f for f in ds.source_files() if f not in files]
                    fps.append(ds.source_fingerprint())
                except ResEmoteError as e:  # a damaged dataset still has an identity; its job reports it
                    fps.append(str(e))
            self._source_cache[name] = files, "|".join(fps)
        return self._source_cache[name]

    def data_name(self, rid: str) -> str:
        r = self.by_id[rid]
        return P.synthetic_name(r.synthetic) if r.synthetic else r.dataset

    def gpus_for(self, rid: str) -> int:
        r = self.by_id[rid]
        return int(self.gpus > 0 and r.device in ("auto", "cuda") and not r.synthetic)

    def book_inputs(self) -> list[str]:
        """Everything the book reads: results (only those that exist, after failures), the logs of failed
        jobs, its sources, its code and the recorded results."""
        results = self.targets()
        if self.partial:
            results = [t for t in results if self.path(t).is_file()]
        # never the book's own log: as an input it would make every build differ from the one before
        logs = [str(f) for f in sorted((self.path(self.runs_dir) / LOGS).glob("*.log"))
                if f != self.log("book")] if self.partial else []
        sources = _files_under(ROOT / "book", ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "benchmarks",
                               self.path(self.records_dir), self.path(self.plan_file))
        return results + logs + sources + code_files(*BOOK_MODULES)

    # -- the plan's cells a record may fill ---------------------------------------------------------------
    def real_runs(self, dataset: str, profile: str) -> list[P.PlannedRun]:
        """The plan's runs of `dataset` under a real-data `profile`, as if it were present: the cells a record of
        it may fill (resolved once per dataset and profile, however many records there are)."""
        key = (dataset, profile)
        if key not in self._real_runs:
            self._real_runs[key] = [r for r in P.resolve(self.plan, {dataset}, profile, self.path(self.data_dir),
                                                         self.path(self.runs_dir))
                                    if not r.synthetic and r.dataset == dataset]
        return self._real_runs[key]

    @cached_property
    def _real_runs(self) -> dict:
        return {}


def plan_params(r: P.PlannedRun) -> dict:
    """What decides a planned run's results: its cell and a synthetic stand-in's generator (a Snakemake
    param of its job, so a change of either redoes it)."""
    return {**r.spec.cell(), "synthetic": r.synthetic}
