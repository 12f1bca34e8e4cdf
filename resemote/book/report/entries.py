"""What every table and figure of the book starts from: the run index and the dataset summaries (written
by the engine, read here through `resemote.book.records`), and the shared formatting (cells, captions, tables).

Three kinds of numbers appear, always labelled:
- the paper's claims and others' measurements (`resemote.paper`), cited;
- this companion's results: a *live* run made by this build, or a *recorded* run made elsewhere
  (committed in results/, with its commit, device, date and data fingerprint), each naming its run;
- synthetic stand-ins, tagged with `SYNTHETIC_TAG`, which never fill a real dataset's cell.
A result that does not exist shows as `NOT_RUN`; a failed one never shows as a result.
"""
from __future__ import annotations

import hashlib
import json
import os
import statistics
from pathlib import Path
from typing import Iterable

import pandas as pd

from resemote.book import ROOT as REPO
from resemote.data.classes import CLASSES, TITLES
from resemote.book.records import (CURRENT, FAILED, NOT_RUN, RECORDED, SUPERSEDED, SYNTHETIC_TAG, Entry,
                                   load_entries as _load, load_index_meta)

DATASETS = ("fer2013", "rafdb", "affectnet", "expw")
PROFILE_ROWS = {"paper": "paper protocol (80 epochs)", "reduced": "reduced budget"}
SUBSTITUTE = "in place of the paper's RAF-DB"  # a FER2013 run of an experiment the paper ran on RAF-DB
__all__ = ["CLASSES", "CURRENT", "DATASETS", "FAILED", "NOT_RUN", "SUBSTITUTE", "SUPERSEDED", "SYNTHETIC_TAG",
           "TITLES"]


def runs_dir() -> Path:
    return Path(os.environ.get("RESEMOTE_RUNS", REPO / "runs"))


def load_entries(root: str | Path | None = None) -> list[Entry]:
    """The run index of this build (default: `runs_dir()`): live runs, recorded runs, synthetic stand-ins."""
    return _load(Path(root) if root else runs_dir())


def index_meta(root: str | Path | None = None) -> dict:
    return load_index_meta(Path(root) if root else runs_dir())


def load_datasets(root: str | Path | None = None, synthetic: bool | None = None) -> list[dict]:
    """Every dataset summary the index lists that exists: {entry, summary}; recorded ones carry `record`."""
    root = Path(root) if root else runs_dir()
    out = []
    for d in index_meta(root).get("datasets", []):
        if d["status"] != CURRENT or (synthetic is not None and d["synthetic"] != synthetic):
            continue
        path = root / d["path"]
        if path.is_file():
            out.append({**d, "summary": json.loads(path.read_text())})
    return out


def data_root(d: dict, root: str | Path | None = None) -> Path:
    """Where a live dataset summary's data lies (for figures that show its images; never printed)."""
    return (Path(root) if root else runs_dir()) / d["root"]


def dataset_label(d: dict) -> str:
    """How a table names a dataset summary: its title, and what kind of data it is."""
    s = d["summary"]
    if d["synthetic"]:
        return f"Synthetic {d['name']} ({SYNTHETIC_TAG})"
    return f"{s['title']} ({'recorded' if d['kind'] == RECORDED else 'this build'})"


def select(entries: Iterable[Entry], *, experiment: str | None = None, dataset: str | None = None,
           config: str | None = None, synthetic: bool | None = None, profile: str | None = None,
           recorded: bool | None = None, finished: bool = True) -> list[Entry]:
    """Entries of one experiment standing for `dataset` in `config` (and of one profile, kind, ...). A run with
    test images leaked into its training (the leak experiment) is selected only for a leak experiment."""
    sel = []
    for e in entries:
        if ((experiment and experiment not in e.info.experiments)
                or (e.leaked and not (experiment or "").startswith("leak"))
                or (dataset and dataset not in e.info.stands_in_for)
                or (config and e.info.config != config)
                or (synthetic is not None and e.synthetic != synthetic)
                or (profile and e.info.profile != profile)
                or (recorded is not None and e.recorded != recorded)
                or (finished and not e.finished)):
            continue
        sel.append(e)
    return sel


# --- cells and captions -------------------------------------------------------------------------------------
def mean_sd(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """'m' for one value, 'm ± sd (n=k)' for several (sample standard deviation)."""
    v = [x * scale for x in values]
    if not v:
        return NOT_RUN
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f} (n={len(v)})"


def short_commit(m: dict) -> str:
    return str(m.get("git_commit") or "unknown")[:10]


def device_kind(m: dict) -> str:
    return str(m.get("device", "")).split(" ", 1)[0].upper() or "?"


def device_label(m: dict) -> str:
    """How a cell names a recorded run's hardware: 'CPU', 'MPS', or a GPU with its name ('CUDA, NVIDIA H200')."""
    kind, name = device_kind(m), str(m.get("device", "")).partition(" (")[2].rstrip(")")
    return f"{kind}, {name}" if kind.startswith("CUDA") and name else kind


def accuracy_cell(entries: list[Entry], key: str = "test_accuracy", scale: float = 100, digits: int = 2) -> str:
    """A result cell from live and recorded runs of one cell: each mean ± sd, recorded ones labelled with
    their device; where both exist, their difference (did this build reproduce the record?)."""
    live = [e.metrics[key] for e in entries if not e.recorded]
    rec = [e for e in entries if e.recorded]
    parts = []
    if live:
        parts.append(mean_sd(live, scale, digits))
    if rec:
        devices = "/".join(sorted({device_label(e.metrics) for e in rec}))
        parts.append(f"{mean_sd([e.metrics[key] for e in rec], scale, digits)} (recorded, {devices})")
    if live and rec:
        diff = (statistics.mean(live) - statistics.mean(e.metrics[key] for e in rec)) * scale
        parts.append(f"this build − recorded: {diff:+.{digits}f}")
    return "; ".join(parts) if parts else NOT_RUN


# Where `resemote.book.engine_jobs.stage_book` puts the executed pages, relative to the chapters (book/*.md): real runs
# and datasets in the book's run part, synthetic ones in the appendix on synthetic faces.
RUN_PAGES, DATA_PAGES = "runs", "data"
DEMO_RUN_PAGES, DEMO_DATA_PAGES = "demo-runs", "demo-data"
APPENDIX = "demo"  # the appendix chapter (book/demo.md) a chapter points to for what the synthetic runs show


def page_folder(e: Entry) -> str:
    """The folder of the book (beside the chapters) that holds a run's page."""
    return DEMO_RUN_PAGES if e.synthetic else RUN_PAGES

# a dataset's short name ('FER+', not 'FER+ (majority vote, 7 classes)'), for source lines and page one's
# sentences: its page says the rest
SHORT_TITLES = {k: v.split(" (")[0] for k, v in TITLES.items()}


def run_label(e: Entry) -> str:
    """A run as a source line names it: 'FER2013 C1 9 ep (recorded)', 'synthetic C1 8 ep (synthetic)'; the
    seed, batch size, training subset and leak only where they are not the plain run's."""
    p = {**e.info.params, **(e.params or {})}
    data = "synthetic" if e.synthetic else SHORT_TITLES.get(p.get("dataset") or e.info.dataset, "?")
    parts = [data, str(p.get("config") or e.info.config)]
    if p.get("seed"):
        parts.append(f"seed {p['seed']}")
    if p.get("epochs") is not None:
        parts.append(f"{p['epochs']} ep")
    if p.get("batch_size") not in (None, 16):
        parts.append(f"batch {p['batch_size']}")
    parts += [e.experiment_label()] if e.experiment_label() else []
    kind = "synthetic" if e.synthetic else "recorded" if e.recorded else "this build"
    return f"{' '.join(parts)} ({kind})"


def cite_runs(entries: Iterable[Entry]) -> str:
    """The finished runs behind a table or figure as short labels, each linking to its run page (which holds
    the full provenance: commit, device, date, data fingerprint). A run cited twice (a record filling the cells
    of two profiles) is named once."""
    parts: dict[str, str] = {}
    for e in entries:
        if not e.finished or e.id in parts:
            continue
        label = run_label(e)
        parts[e.id] = (f'<a href="{page_folder(e)}/{e.id}.html" title="{e.id}">{label}</a>' if e.info.page
                       else label)
    return ", ".join(parts.values()) if parts else "no finished runs"


def caption(text: str, entries: Iterable[Entry] | None = None) -> str:
    """Caption text, then one line naming the runs behind the table or figure ('Sources: ...')."""
    entries = [e for e in entries or [] if e.finished]
    if not entries:
        return text
    return f"{text} Source{'s' if len({e.id for e in entries}) > 1 else ''}: {cite_runs(entries)}.".strip()


def appendix_note(what: str, produce: str) -> str:
    """The one line (Markdown) a chapter shows where a real result is missing: what is missing, what would make
    it, and a link to the appendix that shows the pipeline making it on synthetic faces."""
    return (f"**Missing:** {what}. {produce}. The pipeline's demonstration on synthetic faces is in "
            f'<a href="{APPENDIX}.html">the appendix</a>.')


def coverage_lines(entries: list[Entry], datasets: list[dict], label_counts: list[dict] = ()) -> list[str]:
    """What this build's results did with each dataset, one line per group of datasets treated alike: trained
    (ResEmoteNet C1, with budget, device and kind), a test set only (cross-dataset), counted from its label
    file, or not available. Computed from the run index and the records, so it says what the book shows."""
    budgets = {"reduced": "a reduced budget", "paper": "the paper's budget"}
    trained: dict[str, list[Entry]] = {}
    for e in select(entries, experiment="table3", config="C1", synthetic=False):
        trained.setdefault(e.info.dataset or e.metrics["dataset"], []).append(e)
    crossed = {name: d for d, runs in trained.items() for e in runs for name in (e.info.cross or {})}
    counted = {d["name"] for d in datasets if not d["synthetic"]}
    labels_only = {c.get("dataset") for c in label_counts}
    groups: dict[str, list[str]] = {}
    for name in (*DATASETS, "ferplus", "ckplus", "jaffe"):
        if name in trained:
            runs = list({e.id: e for e in trained[name]}.values())
            how = "; ".join(sorted({f"{budgets.get(e.info.profile, e.info.profile)} "
                                    f"({e.params.get('epochs')} epochs, {device_kind(e.metrics)}, "
                                    f"{'recorded' if e.recorded else 'this build'})" for e in runs}))
            what = f"ResEmoteNet C1 trained and tested at {how}"
        elif name in crossed:
            what = "a test set only, for the models trained on " + _and(
                sorted({TITLES[d] for d, runs in trained.items() for e in runs if name in (e.info.cross or {})}))
        elif name in counted:
            what = "counted and audited; no run trained or tested on it"
        elif name in labels_only:
            what = "counted from its label file; its images are not available here"
        else:
            what = "not available here"
        groups.setdefault(what, []).append(TITLES[name])
    return [f"{_and(names)}: {what}." for what, names in groups.items()]


def _and(items: list[str]) -> str:
    """'A', 'A and B', 'A, B and C' (a title may hold a comma itself)."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def table(df: pd.DataFrame, caption: str, index: bool = False):
    """A captioned HTML table (pandas Styler with a stable id, so rebuilds give identical HTML), wrapped so
    that a wide table scrolls inside the page instead of running off it."""
    uid = hashlib.sha1(caption.encode()).hexdigest()[:8]
    st = (df.style.set_caption(caption).set_uuid(uid).format(precision=2, thousands=",")
          .set_table_attributes('class="resemote-table"'))
    if not index:
        st = st.hide(axis="index")
    return st
