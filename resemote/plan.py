"""The run plan (runs.yml): decide which runs to execute, execute them with papermill, build the book.

`resemote book` does, in order:
1. resolve runs.yml: every experiment x dataset x config x seed, with the `paper` profile where
   data/<dataset>/ holds the dataset and the `demo` profile on a synthetic stand-in where it does not;
   identical stand-ins collapse into one run that stands in for several datasets and experiments;
2. write the synthetic datasets the stand-ins need (runs/_data/);
3. execute notebooks/datasets.ipynb (dataset tables, sample grids, leakage audit) unless current;
4. execute notebooks/train.ipynb once per run unless its results are current (same parameters, training
   code and data fingerprint); a run whose code or data changed is moved to runs/_stale/ and run again;
5. write runs/index.json (what the book's chapters read), stage the book with the executed notebooks as
   pages, and build it with jupyter-book, warnings as errors. Nothing trains at build time.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .io import write_json

ROOT = Path(__file__).resolve().parents[1]
# modules that do not affect a training run's numbers (the book's own code, the CLI, data audits)
NOT_TRAINING_CODE = {"report.py", "plan.py", "cli.py", "stats.py", "audit.py", "bench.py", "__main__.py"}


def load_plan(path: str | Path | None = None) -> dict:
    return yaml.safe_load(Path(path or ROOT / "runs.yml").read_text())


@dataclass
class PlannedRun:
    id: str
    dataset: str                      # what the loader reads ("fer2013" for synthetic data)
    config: str
    protocol: str
    epochs: int
    batch_size: int
    lr: float | None
    seed: int
    device: str
    image_size: int
    profile: str
    synthetic: dict | None = None     # generator parameters of a synthetic stand-in
    root: str = ""                    # dataset root, relative to the repository when inside it
    experiments: list[str] = field(default_factory=list)
    stands_in_for: list[str] = field(default_factory=list)

    def train_params(self) -> dict:
        """The parameters that define the run (and its id): everything but bookkeeping."""
        return {k: getattr(self, k) for k in ("dataset", "config", "protocol", "epochs", "batch_size", "lr",
                                              "seed", "device", "image_size", "synthetic")}

    def notebook_params(self, out: str) -> dict:
        p = {k: v for k, v in self.train_params().items() if k != "synthetic"}
        p.update(root=self.root, out=out, lr=-1.0 if self.lr is None else self.lr)  # -1: protocol's lr
        return p


def dataset_present(data_dir: Path, name: str) -> bool:
    d = data_dir / name
    return d.is_dir() and any(p.name != "README.md" for p in d.iterdir())


def synthetic_root(runs_dir: Path, s: dict) -> Path:
    return runs_dir / "_data" / f"synthetic-{s['n_train']}-{s['n_val']}-{s['n_test']}-s{s['seed']}"


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        return str(p.resolve())


def resolve(plan: dict, data_dir: Path, runs_dir: Path, present: set[str] | None = None) -> list[PlannedRun]:
    """Every run the plan asks for, given which datasets are present (default: found under `data_dir`);
    identical runs merged."""
    runs: dict[str, PlannedRun] = {}
    for exp_name, exp in plan["experiments"].items():
        for dataset in exp["datasets"]:
            here = dataset_present(data_dir, dataset) if present is None else dataset in present
            profile = "paper" if here else "demo"
            base = plan["profiles"][profile]
            for config in exp["configs"]:
                prof = {**base, **((exp.get(profile) or {}).get(config) or {})}
                synth = prof.get("synthetic") if profile == "demo" else None
                for seed in prof.get("seeds", [0]):
                    r = PlannedRun(
                        id="", dataset="fer2013" if synth else dataset, config=config,
                        protocol=prof.get("protocol", "paper"), epochs=int(prof["epochs"]),
                        batch_size=int(prof["batch_size"]), lr=prof.get("lr"), seed=int(seed),
                        device=prof.get("device", "auto"), image_size=int(prof.get("image_size", 64)),
                        profile=profile, synthetic=dict(synth) if synth else None,
                        root=_rel(synthetic_root(runs_dir, synth) if synth else data_dir / dataset))
                    key = json.dumps(r.train_params(), sort_keys=True)
                    digest = hashlib.sha256(key.encode()).hexdigest()[:6]
                    r.id = f"{'synthetic' if synth else dataset}-{config}-s{seed}-{digest}"
                    r = runs.setdefault(r.id, r)
                    if exp_name not in r.experiments:
                        r.experiments.append(exp_name)
                    if dataset not in r.stands_in_for:
                        r.stands_in_for.append(dataset)
    return list(runs.values())


# --- what makes a result current --------------------------------------------------------------------------
def _hash_files(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def code_fingerprint() -> str:
    """The training code: every module of the package but the book's, the CLI's and the audits'."""
    return _hash_files([p for p in (ROOT / "resemote").rglob("*.py") if p.name not in NOT_TRAINING_CODE])


def data_fingerprint(dataset: str, root: str | Path) -> str:
    """Cheap identity of a dataset on disk: each split's source fingerprint (label files, image sizes)."""
    from .data import dataset_class
    root = ROOT / root if not Path(root).is_absolute() else Path(root)
    cls = dataset_class(dataset)
    h = hashlib.sha256()
    for split in cls.splits:
        try:
            h.update(cls(root, split).source_fingerprint().encode())
        except Exception as e:  # a split this copy lacks still changes the identity
            h.update(f"{split}: {type(e).__name__}".encode())
    return h.hexdigest()[:16]


def stamp_of(r: PlannedRun) -> dict:
    return {"params": r.train_params(), "code": code_fingerprint(),
            "data": data_fingerprint(r.dataset, r.root)}


def is_current(run_dir: Path, stamp_file: Path, stamp: dict) -> bool:
    """Finished, and made with these parameters, this training code and this data. A finished run made
    by hand with the papermill command the book prints (no stamp yet) is adopted if its parameters match."""
    if not (run_dir / "metrics.json").is_file():
        return False
    if stamp_file.is_file():
        return json.loads(stamp_file.read_text()).get("run") == stamp
    params = json.loads((run_dir / "params.json").read_text())
    keys = ("dataset", "config", "protocol", "epochs", "batch_size", "seed", "image_size")
    return all(params.get(k) == stamp["params"].get(k) for k in keys)


def paper_commands(dataset: str, config: str = "C1", plan: dict | None = None) -> list[str]:
    """The papermill commands (one per seed) that make the `paper`-profile runs of `dataset`/`config`
    exactly as `resemote book` would (same run directories, so the book picks them up)."""
    runs = resolve(plan or load_plan(), ROOT / "data", ROOT / "runs", present={dataset})
    return [papermill_cli(r, f"runs/{r.id}") for r in runs
            if not r.synthetic and r.dataset == dataset and r.config == config]


# --- executing notebooks --------------------------------------------------------------------------------------
def execute(notebook: Path, output: Path, parameters: dict, log=print, title: str | None = None) -> None:
    """Run `notebook` with papermill into `output`, and mark it so the book never executes it again;
    `title` replaces the notebook's first heading (each run page gets its own)."""
    import nbformat
    import papermill as pm
    t0 = time.time()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.stem + ".partial.ipynb")
    pm.execute_notebook(str(notebook), str(tmp), parameters=parameters, kernel_name="python3", cwd=str(ROOT),
                        progress_bar=False)
    nb = nbformat.read(str(tmp), as_version=4)
    nb.metadata.setdefault("mystnb", {})["execution_mode"] = "off"
    for cell in nb.cells:  # test markers mean nothing to a reader
        cell.source = "\n".join(l for l in cell.source.splitlines() if l.strip() != "# NBVAL_CHECK_OUTPUT")
    if title:
        first = next(c for c in nb.cells if c.cell_type == "markdown")
        lines = first.source.splitlines()
        first.source = "\n".join([f"# {title}"] + lines[1:])
    nbformat.write(nb, str(output))
    tmp.unlink(missing_ok=True)
    log(f"  executed {notebook.name} -> {_rel(output)} in {time.time() - t0:.0f} s")


def _notebook_hash(name: str) -> str:
    return _hash_files([ROOT / "notebooks" / name])


def run_datasets_page(runs_dir: Path, data_dir: Path, synth_roots: list[Path], log=print) -> None:
    from .data import DATASETS
    present = [d for d in DATASETS if dataset_present(data_dir, d)]
    stamp = {"present": {d: data_fingerprint(d, data_dir / d) for d in present},
             "synthetic": sorted(_rel(p) for p in synth_roots), "notebook": _notebook_hash("datasets.ipynb"),
             "code": _hash_files(list((ROOT / "resemote").rglob("*.py")))}
    page = runs_dir / "_pages"
    f = page / "stamp.json"
    if (page / "datasets.ipynb").is_file() and f.is_file() and json.loads(f.read_text()) == stamp:
        log("datasets page is current")
        return
    log(f"datasets page: {', '.join(present) or 'no real dataset'} + {len(synth_roots)} synthetic")
    execute(ROOT / "notebooks" / "datasets.ipynb", page / "datasets.ipynb",
            {"data_dir": _rel(data_dir), "synthetic_roots": ",".join(_rel(p) for p in synth_roots),
             "out": _rel(page / "datasets.json")}, log)
    write_json(f, stamp)


def run_all(runs: list[PlannedRun], runs_dir: Path, log=print) -> list[dict]:
    """Execute every planned run that is not current; return the index entries. A run's executed
    notebook and its stamp live in runs/_pages/ (the run directory itself belongs to `train`)."""
    index = []
    nb_hash = _notebook_hash("train.ipynb")
    pages = runs_dir / "_pages"
    for i, r in enumerate(runs, 1):
        d, page, stamp_file = runs_dir / r.id, pages / f"{r.id}.ipynb", pages / f"{r.id}.stamp.json"
        stamp = stamp_of(r)
        current = is_current(d, stamp_file, stamp)
        if current and page.is_file() and json.loads(stamp_file.read_text()).get("notebook") == nb_hash:
            log(f"[{i}/{len(runs)}] {r.id}: current, skipped")
        else:
            if d.is_dir() and not current and (d / "params.json").is_file():
                stale = runs_dir / "_stale" / f"{r.id}-{time.strftime('%Y%m%d-%H%M%S')}"
                stale.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(d), stale)
                log(f"[{i}/{len(runs)}] {r.id}: code or data changed; old results kept in {_rel(stale)}")
            what = "re-rendering its page" if current else f"{r.profile} profile, {r.config}, {r.epochs} epochs"
            log(f"[{i}/{len(runs)}] {r.id}: {what}, seed {r.seed}" + (" (synthetic stand-in)" if r.synthetic else ""))
            try:
                execute(ROOT / "notebooks" / "train.ipynb", page, r.notebook_params(_rel(d)), log, title=run_title(r))
                write_json(stamp_file, {"run": stamp, "notebook": nb_hash})
            except Exception as e:  # one failed run (a damaged dataset, say) must not stop the others
                error = str(e).strip().splitlines()[-1][:300] if str(e).strip() else type(e).__name__
                log(f"  FAILED: {error}")
                page.unlink(missing_ok=True)
                index.append({**asdict(r), "params": r.train_params(), "path": _rel(d),
                              "command": papermill_cli(r, _rel(d)), "error": error})
                continue
        index.append({**asdict(r), "params": r.train_params(), "path": _rel(d),
                      "command": papermill_cli(r, _rel(d))})
    return index


def run_title(r: PlannedRun) -> str:
    names = {"fer2013": "FER2013", "rafdb": "RAF-DB", "affectnet": "AffectNet-7", "expw": "ExpW"}
    if r.synthetic:
        return (f"Run {r.id}: {r.config} on synthetic faces (synthetic - pipeline demonstration; stand-in for "
                f"{', '.join(names[d] for d in r.stands_in_for)})")
    return f"Run {r.id}: {r.config} on {names.get(r.dataset, r.dataset)}, seed {r.seed}"


def papermill_cli(r: PlannedRun, out: str) -> str:
    args = " ".join(f"-p {k} {v}" for k, v in r.notebook_params(out).items())
    return f"papermill notebooks/train.ipynb {out}.ipynb {args}"  # writes the page beside the run


# --- the book ------------------------------------------------------------------------------------------------
def stage_book(runs_dir: Path, src: Path) -> None:
    """Copy the book's sources and the executed notebooks into `src` (a build folder)."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "book", src / "book", ignore=shutil.ignore_patterns("README-section.md", "_build"))
    (src / "book" / "runs").mkdir(exist_ok=True)
    (src / "book" / "generated").mkdir(exist_ok=True)
    index = json.loads((runs_dir / "index.json").read_text())
    for e in index["runs"]:
        page = runs_dir / "_pages" / f"{e['id']}.ipynb"
        if page.is_file():
            shutil.copy(page, src / "book" / "runs" / f"{e['id']}.ipynb")
    if not any((src / "book" / "runs").iterdir()):  # the toc's glob must match something
        (src / "book" / "runs" / "none.md").write_text(
            "# No run pages\n\nNo run has finished yet; see the table of planned runs.\n")
    ds = runs_dir / "_pages" / "datasets.ipynb"
    if ds.is_file():
        shutil.copy(ds, src / "book" / "generated" / "datasets.ipynb")
    else:
        (src / "book" / "generated" / "datasets.md").write_text(
            "# Datasets, computed\n\nThe datasets notebook has not been executed; run `resemote book`.\n")


def build_book(runs_dir: Path, out: Path, data_dir: Path, log=print) -> Path:
    src = out / "src"
    stage_book(runs_dir, src)
    env = {**os.environ, "RESEMOTE_RUNS": str(runs_dir.resolve()), "RESEMOTE_DATA": str(data_dir.resolve())}
    jb = Path(sys.executable).with_name("jupyter-book")
    # --all: the staged sources keep their files' times, so an incremental build would keep chapters that
    # read results from an earlier build; they are cheap, rebuild them all
    cmd = [str(jb), "build", str(src), "--path-output", str(out), "--all", "--warningiserror", "--keep-going",
           "--quiet"]
    t0 = time.time()
    res = subprocess.run(cmd, env=env, cwd=str(src), capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-6000:] + res.stderr[-6000:])
        raise SystemExit(f"jupyter-book build failed (exit {res.returncode})")
    # jupyter-book writes OUT/_build/html; the book is published as OUT/html (make book: _build/html)
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    (out / "_build" / "html").rename(html)
    log(f"book built in {time.time() - t0:.0f} s: {_rel(html / 'index.html')}")
    return html


def main(plan_file: str | None = None, runs_dir: str | None = None, data_dir: str | None = None,
         out: str | None = None, build: bool = True, run: bool = True, dry_run: bool = False) -> Path | None:
    runs_path = Path(runs_dir or ROOT / "runs").resolve()
    data_path = Path(data_dir or ROOT / "data").resolve()
    plan = load_plan(plan_file)
    runs = resolve(plan, data_path, runs_path)
    print(f"plan: {len(runs)} runs ({sum(bool(r.synthetic) for r in runs)} synthetic stand-ins)")
    if dry_run:
        for r in runs:
            print(f"  {r.id}: {', '.join(r.experiments)} for {', '.join(r.stands_in_for)}; {papermill_cli(r, 'OUT')}")
        return None
    t0 = time.time()
    synth = sorted({synthetic_root(runs_path, r.synthetic) for r in runs if r.synthetic})
    for s in synth:
        if not (s / "fer2013.csv").is_file():
            from .data.synthetic import write_synthetic
            n = [int(x) for x in s.name.split("-")[1:4]]
            write_synthetic(s, *n, seed=int(s.name.rsplit("-s", 1)[1]))
            print(f"wrote synthetic data {_rel(s)}")
    if run:
        run_datasets_page(runs_path, data_path, synth)
        index = run_all(runs, runs_path)
        write_json(runs_path / "index.json", {"plan": _rel(Path(plan_file or ROOT / "runs.yml")), "runs": index})
        print(f"runs done in {time.time() - t0:.0f} s")
    else:  # index what is there, run nothing
        index = [{**asdict(r), "params": r.train_params(), "path": _rel(runs_path / r.id),
                  "command": papermill_cli(r, _rel(runs_path / r.id))} for r in runs]
        write_json(runs_path / "index.json", {"plan": _rel(Path(plan_file or ROOT / "runs.yml")), "runs": index})
    html = build_book(runs_path, Path(out or ROOT / "_build").resolve(), data_path) if build else None
    failed = [e["id"] for e in index if e.get("error")]
    if failed:
        raise SystemExit(f"{len(failed)} run(s) failed: {', '.join(failed)} (the book shows them as failed)")
    return html


# --- for the notebooks' defaults ------------------------------------------------------------------------------
def prepare_paths(root: str, out: str, synthetic_size: str = "100,40,60", seed: int = 0) -> tuple[str, str, bool]:
    """(root, out, synthetic): an empty `root` means a small synthetic dataset (written once, under the
    system's temporary folder); an empty `out` means a fresh temporary run directory."""
    import tempfile
    made = False
    if not root:
        n = [int(x) for x in synthetic_size.split(",")]
        d = Path(tempfile.gettempdir()) / "resemote-notebooks" / f"synthetic-{'-'.join(map(str, n))}-s{seed}"
        if not (d / "fer2013.csv").is_file():
            from .data.synthetic import write_synthetic
            write_synthetic(d, *n, seed=seed)
        root, made = str(d), True
    if not out:
        out = tempfile.mkdtemp(prefix="resemote-run-")
    return root, out, made or (Path(root) / "SYNTHETIC.json").is_file()
