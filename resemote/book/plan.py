"""The run plan (`runs.yml`) resolved into runs: what to train, with which settings, for which cells.

Pure: `resolve` turns the plan, the set of datasets present and the chosen profile into `PlannedRun`s,
and nothing here executes anything (`resemote.book.engine` and `workflow/Snakefile` do). For every experiment
x dataset x config x seed (x the values an experiment varies), a present dataset gets the chosen real-data
profile (`paper`, or `reduced` for a CPU-sized budget) and an absent one the `demo` profile on a synthetic
stand-in. Identical runs are merged, so one synthetic run can stand in for several datasets and experiments.

Each run is a `resemote.training.spec.RunSpec`, and its id is the spec's: the same settings always map to the
same run directory `runs/<id>`, whether the engine or a person with papermill made it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import yaml

from resemote.book import ROOT
from resemote.errors import ResEmoteError
from resemote.training.spec import RunSpec

REAL_PROFILES = ("paper", "reduced")


def load_plan(path: str | Path | None = None) -> dict:
    return yaml.safe_load(Path(path or ROOT / "runs.yml").read_text())


@dataclass
class PlannedRun:
    """A run of the plan: its specification, and where the plan puts it (profile, experiments, the datasets
    a synthetic stand-in stands in for)."""

    spec: RunSpec
    profile: str
    experiments: list[str] = field(default_factory=list)
    stands_in_for: list[str] = field(default_factory=list)

    # the settings read most often, by name
    id = property(lambda self: self.spec.id)
    dataset = property(lambda self: self.spec.dataset)       # what the loader reads ("fer2013" for synthetic data)
    config = property(lambda self: self.spec.config)
    seed = property(lambda self: self.spec.seed)
    epochs = property(lambda self: self.spec.epochs)
    batch_size = property(lambda self: self.spec.batch_size)
    root = property(lambda self: self.spec.root)             # relative to the repository when inside it
    synthetic = property(lambda self: self.spec.synthetic)   # a synthetic stand-in's generator
    device = property(lambda self: self.spec.device)

    def budget(self) -> str:
        return self.spec.budget()


# what a loader reads: images, or a table of them (FER2013's and FER+'s CSVs hold their pixels)
DATA_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".csv"})


def dataset_present(data_dir: Path, name: str) -> bool:
    """data/<name> holds something to train on: an image or a CSV anywhere under it (the search stops at the first).
    A label file alone (RAF-DB's list_patition_label.txt without its images) is not a dataset to train on: the
    plan gives it the synthetic stand-in, and `resemote stats --labels-only` counts it."""
    d = Path(data_dir) / name
    return d.is_dir() and any(p.suffix.lower() in DATA_SUFFIXES and p.is_file() for p in d.rglob("*"))


def synthetic_name(s: dict) -> str:
    return f"synthetic-{s['n_train']}-{s['n_val']}-{s['n_test']}-s{s['seed']}"


def repo_relative(p: Path) -> str:
    """`p` relative to the repository when inside it (symbolic links kept: data/ may link elsewhere)."""
    p = Path(os.path.abspath(p))
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def resolve(plan: dict, present: set[str] | frozenset[str], profile: str = "paper",
            data_dir: Path = ROOT / "data", runs_dir: Path = ROOT / "runs") -> list[PlannedRun]:
    """Every run the plan asks for, given which datasets are present and the real-data profile;
    identical runs merged. An experiment may override a profile per config (`<profile>: {C2: {...}}`)
    and per config and dataset (`<profile>: {C1: {ferplus: {...}}}`), vary settings (`vary: {batch_size:
    [16, 32]}`: one run per value), and name the real-data profiles it runs under (`profiles: [paper]`;
    default both): a present dataset gets no run of an experiment that does not run under the chosen profile.
    Test images may be leaked into training only in an experiment marked `leak: true`:
    any other experiment fills a reproduction cell, and asking it to leak is refused."""
    if profile not in plan["profiles"]:
        raise ValueError(f"unknown profile {profile!r}: expected one of {', '.join(plan['profiles'])}")
    runs: dict[str, PlannedRun] = {}
    for exp_name, exp in plan["experiments"].items():
        vary = exp.get("vary") or {}
        for dataset in exp["datasets"]:
            prof_name = profile if dataset in present else "demo"
            if prof_name != "demo" and prof_name not in exp.get("profiles", REAL_PROFILES):
                continue
            for config, *values in product(exp["configs"], *vary.values()):
                over = (exp.get(prof_name) or {}).get(config) or {}
                own = over.get(dataset) or {}  # `C1: {ferplus: {epochs: 5}}`: for that dataset alone
                over = {k: v for k, v in over.items() if k not in exp["datasets"]}
                prof = {**plan["profiles"][prof_name], **over, **own, **dict(zip(vary, values))}
                synth = prof.get("synthetic") if prof_name == "demo" else None
                for seed in prof.get("seeds", [0]):
                    # the profile's settings (and an experiment's block, where it sets one) as one spec
                    spec = RunSpec.from_params({
                        **prof, "dataset": "fer2013" if synth else dataset, "config": config, "seed": int(seed),
                        "root": repo_relative(runs_dir / "_data" / synthetic_name(synth) if synth else data_dir / dataset),
                        "synthetic": dict(synth) if synth else None})
                    if spec.leaks and not exp.get("leak"):
                        raise ResEmoteError(
                            f"runs.yml: experiment {exp_name} asks to leak test images into training "
                            f"({spec.experiment_label(short=True)}); only an experiment marked `leak: true` may, "
                            f"never one that fills a reproduction cell")
                    r = PlannedRun(spec, prof_name)
                    r = runs.setdefault(r.id, r)
                    if exp_name not in r.experiments:
                        r.experiments.append(exp_name)
                    if dataset not in r.stands_in_for:
                        r.stands_in_for.append(dataset)
    return list(runs.values())


def choose_profile(requested: str, gpus: int) -> tuple[str, str]:
    """The real-data profile to run and why: `auto` means the paper's budget where a GPU is visible and
    the reduced one on a CPU, where the paper's 80 epochs x 3 seeds would take days."""
    if requested != "auto":
        return requested, "as requested"
    if gpus:
        return "paper", f"{gpus} GPU(s) visible"
    return "reduced", "no GPU visible: the paper profile would take days on a CPU"


def papermill_command(r: PlannedRun, runs_dir: str = "runs") -> str:
    """The command that makes run `r` by hand exactly where the engine would, so `make book` adopts it."""
    args = " ".join(f"-p {k} {v}" for k, v in r.spec.scalars(f"{runs_dir}/{r.id}").items())
    return f"papermill notebooks/train.ipynb {runs_dir}/_pages/{r.id}.ipynb {args}"


def estimate_seconds(r: PlannedRun, split_sizes: dict[str, int], seconds_per_image: float) -> float:
    """Wall time of run `r`: every epoch trains on the training split and evaluates the validation split
    (about a third of a training step's cost per image), then the test split once."""
    val, test = split_sizes.get("val", 0), split_sizes.get("test", 0)
    return seconds_per_image * (r.epochs * (r.spec.training_images(split_sizes) + val / 3) + test / 3)


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
