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
        if ((experiment and experiment not in e.info.get("experiments", []))
                or (e.leaked and not (experiment or "").startswith("leak"))
                or (dataset and dataset not in e.info.get("stands_in_for", []))
                or (config and e.info.get("config") != config)
                or (synthetic is not None and e.synthetic != synthetic)
                or (profile and e.info.get("profile") != profile)
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


def cite_runs(entries: Iterable[Entry]) -> str:
    """Caption text naming runs: live ones with their commit, recorded ones with commit, device, date and
    data fingerprint."""
    parts = []
    for e in entries:
        if not e.finished:
            continue
        m = e.metrics
        if e.recorded:
            parts.append(f"{e.id} (recorded: commit {short_commit(m)}, {m.get('device')}, "
                         f"{str(m.get('finished_at', ''))[:10]}, data {m.get('data_fingerprint')})")
        else:
            parts.append(f"{e.id} (commit {short_commit(m)})")
    return "runs " + ", ".join(parts) if parts else "no finished runs"


def caption(text: str, entries: Iterable[Entry] | None = None) -> str:
    """Caption text that names the runs behind a table or figure."""
    entries = list(entries or [])
    return f"{text} Source: {cite_runs(entries)}." if entries else text


def table(df: pd.DataFrame, caption: str, index: bool = False):
    """A captioned HTML table (pandas Styler with a stable id, so rebuilds give identical HTML), wrapped so
    that a wide table scrolls inside the page instead of running off it."""
    uid = hashlib.sha1(caption.encode()).hexdigest()[:8]
    st = (df.style.set_caption(caption).set_uuid(uid).format(precision=2, thousands=",")
          .set_table_attributes('class="resemote-table"'))
    if not index:
        st = st.hide(axis="index")
    return st
