"""The jobs of `workflow/Snakefile`: `python -m resemote.book.engine_jobs JOB [options]`.

- `synthetic OUT_CSV`  write a synthetic stand-in dataset (its folder name holds its sizes and seed);
- `train RUN_ID`       execute notebooks/train.ipynb for one planned run with papermill (resuming an
                       interrupted run from its resume state, on a GPU of its own where there are several);
- `gradcam RUN_ID`     Grad-CAM overlays on the run's test faces (runs/<id>/gradcam.png);
- `cross RUN_ID --name DATASET`  the run's weights on another dataset's test split (runs/<id>/cross/);
- `dataset NAME`       execute notebooks/datasets.ipynb for one dataset (Tables I-II, audit, fingerprint);
- `book`               write the run index (runs/index.json) and build the book with Jupyter Book.

Each prints one line saying what failed and exits non-zero when it fails; the line is what the book shows.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from resemote.book.engine import PAGES, ROOT, STALE, Workflow, claimed_gpu
from resemote.book import run_index
from resemote.book.plan import repo_relative
from resemote.io import write_json
from resemote.book.records import IndexEntry, write_index


def execute(notebook: Path, output: Path, parameters: dict, title: str | None = None) -> None:
    """Run `notebook` with papermill into `output` (written only once it succeeded) and mark it so the book
    never executes it again; `title` replaces the notebook's first heading."""
    import nbformat
    import papermill as pm
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.stem + ".partial.ipynb")
    try:
        pm.execute_notebook(str(notebook), str(tmp), parameters=parameters, kernel_name="python3",
                            cwd=str(ROOT), progress_bar=False)
    except pm.PapermillExecutionError as e:  # the cell's own error line, not papermill's wrapper
        raise SystemExit(f"{e.ename}: {e.evalue}".strip().splitlines()[-1][:300]) from None
    nb = nbformat.read(str(tmp), as_version=4)
    nb.metadata.setdefault("mystnb", {})["execution_mode"] = "off"
    for c in nb.cells:  # test markers mean nothing to a reader
        c.source = "\n".join(l for l in c.source.splitlines() if l.strip() != "# NBVAL_CHECK_OUTPUT")
    if title:
        first = next(c for c in nb.cells if c.cell_type == "markdown")
        first.source = "\n".join([f"# {title}"] + first.source.splitlines()[1:])
    nbformat.write(nb, str(output))
    tmp.unlink(missing_ok=True)


def run_title(w: Workflow, rid: str) -> str:
    from resemote.data.classes import TITLES
    from resemote.book.records import SYNTHETIC_TAG
    r = w.by_id[rid]
    leak, leaks = r.spec.experiment_label(), r.spec.leaks
    if r.synthetic:
        return (f"Run {r.id}: {r.config} on synthetic faces ({SYNTHETIC_TAG}; stand-in for "
                f"{', '.join(TITLES[d] for d in r.stands_in_for)})"
                + (f"; LEAK EXPERIMENT{leak}" if leaks else ""))
    recipe = f", {r.spec.protocol} recipe" if r.spec.protocol != "paper" else ""
    title = f"Run {r.id}: {r.config} on {TITLES.get(r.dataset, r.dataset)}, seed {r.seed} ({r.profile} profile{recipe})"
    # the leak experiment is never to be mistaken for a reproduction; its fraction-0 run still names its subset
    return title + ("; LEAK EXPERIMENT" if leaks else "") + leak


def job_synthetic(out_csv: str) -> None:
    from resemote.data.synthetic import write_synthetic
    folder = Path(out_csv).parent
    n_train, n_val, n_test, seed = folder.name.removeprefix("synthetic-").split("-")
    write_synthetic(folder, int(n_train), int(n_val), int(n_test), seed=int(seed.removeprefix("s")))


def job_train(w: Workflow, rid: str) -> None:
    """One planned run. Snakemake runs this job only when the run's results are missing or out of date, so
    a directory holding finished-but-outdated results is moved to runs/_stale/; one holding resume state
    (an interrupted run) is resumed."""
    r = w.by_id[rid]
    d = w.run_dir(rid)
    if d.is_dir() and any(d.iterdir()) and not (d / "state.pt").is_file():
        stale = w.path(w.runs_dir) / STALE / f"{rid}-{time.strftime('%Y%m%d-%H%M%S')}"
        stale.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(d), stale)
        print(f"out-of-date results of {rid} moved to {repo_relative(stale)}")
    print(f"{rid}: {r.profile} profile, {r.budget()}, seed {r.seed}")
    with claimed_gpu(w.gpus_for(rid) and w.gpus, w.path(w.runs_dir) / "_gpu") as gpu:
        if gpu is not None:
            print(f"on GPU {gpu}")
        execute(ROOT / "notebooks" / "train.ipynb", w.path(w.runs_dir) / PAGES / f"{rid}.ipynb",
                {"spec": r.spec.to_json(), "out": repo_relative(d)}, title=run_title(w, rid))


def job_dataset(w: Workflow, name: str) -> None:
    from resemote.data.classes import TITLES
    synthetic = name.startswith("synthetic-")
    execute(ROOT / "notebooks" / "datasets.ipynb", w.path(w.runs_dir) / PAGES / f"datasets-{name}.ipynb",
            {"dataset": "fer2013" if synthetic else name, "root": repo_relative(w.dataset_root(name)), "name": name,
             "out": repo_relative(w.path(w.dataset_target(name)))},
            title=f"Dataset: {'synthetic faces ' + name if synthetic else TITLES.get(name, name)}")


def job_gradcam(w: Workflow, rid: str) -> None:
    """A grid of the run's test faces per class, correct and wrong predictions side by side, with the
    Grad-CAM of the predicted class (`resemote.apps.cam.cam_grid`), saved beside the run's results."""
    from resemote.apps.cam import cam_grid
    from resemote.checkpoint import load_model
    from resemote.data import get_dataset
    from resemote.data.cache import decode
    from resemote.book.records import SYNTHETIC_TAG
    r = w.by_id[rid]
    model, meta = load_model(w.run_dir(rid) / "model.safetensors", "cpu")
    test = decode(get_dataset(r.dataset, w.path(r.root), "test"), int(meta["input"]["size"][0]), progress=False)
    what = f"synthetic faces [{SYNTHETIC_TAG}]" if r.synthetic else f"{r.dataset} test split"
    fig = cam_grid(model, test.images, test.labels, per_class=2, title=f"{rid}: {r.config} on {what}")
    fig.savefig(w.path(w.cam_target(rid)), dpi=80)


def job_cross(w: Workflow, rid: str, name: str) -> None:
    """The run's weights evaluated on dataset `name`'s test split, with class coverage stated."""
    from resemote.analysis.crosseval import cross_evaluate
    m = cross_evaluate(w.run_dir(rid) / "model.safetensors", name, w.dataset_root(name), device="cpu",
                       progress=False)
    write_json(w.path(w.cross_target(rid, name)), {k: v for k, v in m.items() if k != "checkpoint"})


def job_book(w: Workflow) -> Path:
    """Write runs/index.json (what every chapter reads), stage the book's sources with the executed
    pages, and build it with Jupyter Book, warnings as errors."""
    from resemote.book.publish_site import build_stamp, write_stamp
    stamp = build_stamp()  # before building: what the book is built from (`make publish` checks it)
    entries, meta = run_index.index_entries(w)
    runs = w.path(w.runs_dir)
    write_index(runs / "index.json", entries, **meta)
    src, out = w.path(w.out_dir) / "src", w.path(w.out_dir)
    stage_book(w, entries, meta, src)
    env = {**os.environ, "RESEMOTE_RUNS": str(runs.resolve()),
           # launch buttons open the notebooks at this commit (resemote/book/launch_buttons.py); a dirty build has none
           "RESEMOTE_BOOK_COMMIT": stamp["commit"] if stamp["commit"] and not stamp["dirty"] else ""}
    jb = Path(sys.executable).with_name("jupyter-book")
    # --all: staged sources keep their files' times, so an incremental build would keep chapters that read
    # results from an earlier build; they are cheap, rebuild them all
    cmd = [str(jb), "build", str(src), "--path-output", str(out), "--all", "--warningiserror", "--keep-going",
           "--quiet"]
    t0 = time.time()
    res = subprocess.run(cmd, env=env, cwd=str(src), capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-6000:] + res.stderr[-6000:])
        raise SystemExit(f"jupyter-book build failed (exit {res.returncode})")
    html = out / "html"  # jupyter-book writes OUT/_build/html; the book is published as OUT/html
    if html.exists():
        shutil.rmtree(html)
    (out / "_build" / "html").rename(html)
    write_stamp(html, stamp)
    print(f"book built in {time.time() - t0:.0f} s: {repo_relative(html / 'index.html')}")
    return html


def record_title(page_title: str, record_id: str) -> str:
    """A recorded run's page title: its record's id (what every caption links and `results/runs/` names), not the
    local run id it was trained under; the rest of the title (config, data, seed, profile, leak) kept."""
    rest = page_title.lstrip("# ").partition(":")[2].strip() if page_title.lstrip("# ").startswith("Run ") else ""
    return f"Run {record_id} (recorded)" + (f": {rest}" if rest else "")


# the COMMIT cell's printed line (notebooks/train.py), as the checkout that executed the page wrote it
_COMMIT_LINE = re.compile(r'resemote at commit \S+: to run this code elsewhere, set COMMIT = "[^"]*"'
                          r'( \(plus the uncommitted changes this checkout had\))?')


def record_note(record: dict, folder: str) -> str:
    """The line under a recorded run's title: its record id, the commit and device that made it, and the local
    run id it was trained under (named once, as such)."""
    when = str(record.get("finished_at", ""))[:10]
    return (f"**Record** `{record['id']}` (`{folder}/record.json`): made at commit `{record.get('commit', 'unknown')}` "
            f"on {record.get('device', 'an unrecorded device')}" + (f", finished {when}" if when else "")
            + (f"; trained as local run `{record['source']}` and published under this id"
               if record.get("source") not in (None, "", record["id"]) else "") + ".")


def restate_record(nb, record: dict, folder: str) -> None:
    """A recorded run's executed page, told in its record's terms: the local run id it was trained under (and
    its runs/ folder) becomes the record's id (and folder), and the COMMIT cell's line names the commit that
    made the run (record.json), not the checkout that executed the page, which may be a later one."""
    rid, commit = record["id"], str(record.get("commit", "")).removesuffix("-dirty")
    local = record.get("source") if record.get("source") != rid else None

    def fix(text: str, output: bool = True) -> str:
        if local:
            text = re.sub(rf"(?<![\w/.-])runs/{re.escape(local)}\b", folder, text).replace(local, rid)
        if commit and output:  # the printed line only: the code that prints it stays as it is
            text = _COMMIT_LINE.sub(f'run made at commit {commit} (its record): to run this code elsewhere, set '
                                    f'COMMIT = "{commit}"', text)
        return text

    for c in nb.cells:
        c.source = fix(c.source, output=False)
        for o in c.get("outputs", []):
            if "text" in o:
                o["text"] = fix(o["text"])
            for k, v in o.get("data", {}).items():
                if k.startswith("text/") and isinstance(v, str):
                    o["data"][k] = fix(v)


def _stage_recorded(page: Path, dest: Path, record_id: str) -> None:
    import json
    import nbformat
    nb = nbformat.read(str(page), as_version=4)
    rec = page.parent / "record.json"
    record = json.loads(rec.read_text()) if rec.is_file() else None
    if record:
        restate_record(nb, record, repo_relative(page.parent))
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    lines = first.source.splitlines() if first else []
    title = record_title(lines[0] if lines and lines[0].startswith("# ") else "", record_id)
    head = [f"# {title}"] + (["", record_note(record, repo_relative(page.parent))] if record else [])
    if first is None:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(head)))
    else:
        first.source = "\n".join(head + (lines[1:] if lines and lines[0].startswith("# ") else lines))
    nbformat.write(nb, str(dest))


def stage_book(w: Workflow, entries: list[IndexEntry], meta: dict, src: Path) -> None:
    """Copy the book's sources and the executed pages into `src`: real runs (this build's and recorded ones,
    each titled with its record's id) and real datasets into book/runs/ and book/data/, the part of the book
    about the runs; synthetic runs and stand-in datasets into book/demo-runs/ and book/demo-data/, the appendix
    on synthetic faces (`_toc.yml` globs each folder under its part)."""
    from resemote.book.colab import restate_page_file
    from resemote.book.report.entries import DATA_PAGES, DEMO_DATA_PAGES, DEMO_RUN_PAGES, RUN_PAGES
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "book", src / "book", ignore=shutil.ignore_patterns("_build"))
    out = {k: src / "book" / k for k in (RUN_PAGES, DATA_PAGES, DEMO_RUN_PAGES, DEMO_DATA_PAGES)}
    for folder in out.values():
        folder.mkdir(exist_ok=True)
    runs = w.path(w.runs_dir)
    for e in entries:
        recorded = e.kind != "live"
        page = runs / e.path / "page.ipynb" if recorded else runs / PAGES / f"{e.id}.ipynb"
        if not (e.page and page.is_file()):
            continue
        dest = out[DEMO_RUN_PAGES if e.synthetic else RUN_PAGES] / f"{e.id}.ipynb"
        if recorded:
            _stage_recorded(page, dest, e.id)
        else:
            shutil.copy(page, dest)
        restate_page_file(dest, runs / e.path)  # its Colab estimate, if it miscounted
    live = {d["name"] for d in meta["datasets"] if d["kind"] == "live" and d["status"] == "current"}
    for d in meta["datasets"]:
        page = runs / PAGES / f"datasets-{d['name']}.ipynb"
        if d["kind"] == "live" and d["status"] == "current" and page.is_file():
            shutil.copy(page, out[DEMO_DATA_PAGES if d.get("synthetic") else DATA_PAGES] / f"{d['name']}.ipynb")
        elif d["kind"] == "recorded" and d["name"] not in live:  # its record's tables and audit; faces if here
            record_page(w, d, (runs / d["path"]).parent, out[DATA_PAGES] / f"{d['name']}.ipynb")
    for key, what in ((RUN_PAGES, "real-data run"), (DATA_PAGES, "real dataset page"),
                      (DEMO_RUN_PAGES, "synthetic run"), (DEMO_DATA_PAGES, "synthetic dataset page")):
        if not any(out[key].iterdir()):  # the toc's globs must match
            (out[key] / "none.md").write_text(f"# No {what}s\n\nNo {what} has been made in this build.\n")


def record_page(w: Workflow, d: dict, record: Path, out: Path) -> None:
    """A recorded dataset's page: notebooks/datasets.ipynb on its record (computing nothing), its faces drawn
    only where the same data is under data/<name>; a page that fails is left out, said in one line."""
    from resemote.data.classes import TITLES
    try:
        execute(ROOT / "notebooks" / "datasets.ipynb", out,
                {"dataset": d["name"], "name": d["name"], "record": repo_relative(record),
                 "root": repo_relative(w.dataset_root(d["name"]))},
                title=f"Dataset: {TITLES.get(d['name'], d['name'])} (recorded)")
    except SystemExit as e:
        print(f"the page of recorded dataset {d['name']} is left out: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m resemote.book.engine_jobs", description=__doc__.splitlines()[0])
    p.add_argument("job", choices=["synthetic", "train", "gradcam", "cross", "dataset", "book"])
    p.add_argument("target", nargs="?")
    p.add_argument("--name", help="the dataset of a cross job")
    for opt, default in (("plan", "runs.yml"), ("runs", "runs"), ("data", "data"), ("out", "_build"),
                         ("records", "results"), ("profile", "auto")):
        p.add_argument(f"--{opt}", default=default)
    p.add_argument("--gpus", type=int, default=-1)
    p.add_argument("--partial", action="store_true")
    a = p.parse_args(argv)
    if a.job == "synthetic":
        job_synthetic(a.target)
        return 0
    w = Workflow(a.plan, a.runs, a.data, a.out, a.records, a.profile, a.gpus, a.partial)
    from resemote.errors import ResEmoteError
    try:
        {"train": lambda: job_train(w, a.target), "gradcam": lambda: job_gradcam(w, a.target),
         "cross": lambda: job_cross(w, a.target, a.name), "dataset": lambda: job_dataset(w, a.target),
         "book": lambda: job_book(w)}[a.job]()
    except ResEmoteError as e:
        print(f"resemote: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
