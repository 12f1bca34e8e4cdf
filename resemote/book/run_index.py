"""The run index (`runs/index.json`): what the book reads, built from the engine's resolved plan.

One entry per planned run (its status from its run directory and its job's log) and per recorded run
(`results/runs/`) placed in the cells of the plan it was made for; a record that fills no cell but was made for
a run of the plan at another budget is kept as history, and of several records of one cell the newest fills it.
`resemote.book.engine_jobs` writes it (`records.write_index`) before the book is built; `resemote.book.report`
reads it back (`records.load_entries`).
"""
from __future__ import annotations

import json
from dataclasses import replace

from resemote.book import plan as P
from resemote.book.engine import PAGES, Workflow, plan_params
from resemote.book.records import (CURRENT, FAILED, IN_PROGRESS, LIVE, NOT_RUN, RECORDED, SUPERSEDED, IndexEntry,
                                   cell, error_line, load_records, status_of)
from resemote.data.classes import TITLES


def index_entries(w: Workflow) -> tuple[list[IndexEntry], dict]:
    """One entry per planned run (its status from its directory and its job's log), then every recorded
    run placed in the cells it was made for; and the index's metadata."""
    runs = w.path(w.runs_dir)
    entries = []
    for r in w.runs:
        status, error = status_of(runs / r.id, r.spec.cell(), w.log(r.id))
        cross = {d: w.rel(w.path(w.cross_target(r.id, d))) for d in sorted(w.present)
                 if w.path(w.cross_target(r.id, d)).is_file()}
        cam = w.path(w.cam_target(r.id))
        entries.append(replace(index_fields(r), kind=LIVE, params=plan_params(r), budget=r.budget(),
                               status=status, error=error, path=w.rel(runs / r.id), cross=cross,
                               gradcam=w.rel(cam) if cam.is_file() and status == CURRENT else None,
                               page=(runs / PAGES / f"{r.id}.ipynb").is_file() and status == CURRENT,
                               command=P.papermill_command(r, w.runs_dir)))
    datasets = dataset_entries(w)
    live_fp = {d["name"]: d.get("fingerprint") for d in datasets if d["kind"] == LIVE}
    unplaced = []
    for rec in load_records(w.path(w.records_dir), "runs"):
        placed = record_entries(w, rec, live_fp)
        history = history_entry(w, rec, live_fp) if isinstance(placed, str) else None
        if history:
            entries.append(history)
        elif isinstance(placed, str):
            unplaced.append({"id": rec["record"]["id"], "reason": placed,
                             "path": P.repo_relative(rec["path"])})
        entries += placed if isinstance(placed, list) else []
    entries = supersede_older_records(entries)
    meta = {"plan": w.plan_file, "profiles": w.plan["profiles"], "profile": w.profile_used,
            "profile_reason": w.why,
            "gpus": w.gpus, "present": sorted(w.present), "datasets": datasets,
            "unplaced_records": unplaced}
    return entries, meta


def record_entries(w: Workflow, rec: dict, live_fp: dict) -> list[IndexEntry] | str:
    """Index entries of a recorded run, one per cell of the plan it was made for, or why it fills none:
    other parameters than any planned run, or other data than the copy present here."""
    params = json.loads((rec["path"] / "params.json").read_text())
    meta, d = rec["record"], params["dataset"]
    other = _other_data(meta, d, live_fp)
    if other:
        return other
    out = []
    for profile in P.REAL_PROFILES:
        for r in w.real_runs(d, profile):
            if r.spec.cell() == cell(params):
                # a long run's progress shows its curve only; it is never read as a result
                status = IN_PROGRESS if meta.get("status") == IN_PROGRESS else CURRENT
                out.append(IndexEntry(
                    id=meta["id"], kind=RECORDED, status=status, error=None, path=w.rel(rec["path"]), record=meta,
                    profile=profile, config=r.config, seed=r.seed, dataset=d, synthetic=None,
                    experiments=r.experiments, stands_in_for=[d], params=cell(params), budget=r.budget(),
                    page=(rec["path"] / "page.ipynb").is_file(), command=P.papermill_command(r, w.runs_dir),
                    # its weights' results on other test sets, made where it ran (cross jobs)
                    cross={f.stem: w.rel(f) for f in sorted((rec["path"] / "cross").glob("*.json"))}))
    return out or "its parameters match no run of the plan (runs.yml)"

def history_entry(w: Workflow, rec: dict, live_fp: dict) -> IndexEntry | None:
    """A recorded run that fills no cell but was made for a run of the plan at another budget (e.g. the
    reduced profile's 3 epochs, now 9): an index entry marked superseded, its numbers kept for the run
    list as history, never read into a cell. None if it matches no run of the plan even so."""
    params = json.loads((rec["path"] / "params.json").read_text())
    meta, d = rec["record"], params["dataset"]
    if _other_data(meta, d, live_fp):
        return None
    mine = {k: v for k, v in cell(params).items() if k != "epochs"}
    now = []
    for profile in P.REAL_PROFILES:
        for r in w.real_runs(d, profile):
            if {k: v for k, v in r.spec.cell().items() if k != "epochs"} == mine:
                now.append((profile, r))
    if not now:
        return None
    profile, r = now[0]
    budgets = ", ".join(f"{x.epochs} ({p})" for p, x in now)
    return IndexEntry(id=meta["id"], kind=RECORDED, status=SUPERSEDED, error=None, path=w.rel(rec["path"]),
                      record=meta, profile="history", config=r.config, seed=r.seed, dataset=d,
                      synthetic=None, experiments=r.experiments, stands_in_for=[d], params=cell(params),
                      budget=f"{params['epochs']} epochs, batch {params['batch_size']}", page=False,
                      note=f"history: made at {params['epochs']} epochs; the plan now trains this run for {budgets} "
                           f"epochs", command=P.papermill_command(r, w.runs_dir))

def dataset_entries(w: Workflow) -> list[dict]:
    """Each dataset page's summary: live ones (made here) and recorded ones (results/datasets/)."""
    out = []
    for name in w.dataset_names:
        f = w.path(w.dataset_target(name))
        status = CURRENT if f.is_file() else (FAILED if w.log(f"datasets-{name}").is_file() else NOT_RUN)
        s = json.loads(f.read_text()) if f.is_file() else {}
        log = w.log(f"datasets-{name}")
        out.append({"name": name, "kind": LIVE, "status": status, "path": w.rel(f),
                    "root": w.rel(w.dataset_root(name)),
                    "synthetic": name.startswith("synthetic-"), "fingerprint": s.get("fingerprint"),
                    "error": error_line(log.read_text(errors="replace")) if status == FAILED else None})
    for rec in load_records(w.path(w.records_dir), "datasets"):
        out.append({"name": rec["record"]["dataset"], "kind": RECORDED, "status": CURRENT,
                    "path": w.rel(rec["path"] / "summary.json"), "synthetic": False, "record": rec["record"],
                    "fingerprint": rec["record"]["data_fingerprint"], "error": None})
    return out


def index_fields(r: P.PlannedRun) -> IndexEntry:
    """A planned run's entry in the run index, before its status: its spec (every setting) and where the plan
    puts it."""
    s = r.spec
    return IndexEntry(id=r.id, dataset=s.dataset, config=s.config, seed=s.seed, profile=r.profile,
                      synthetic=s.synthetic, experiments=r.experiments, stands_in_for=r.stands_in_for,
                      spec=json.loads(s.to_json()))


def _other_data(meta: dict, d: str, live_fp: dict) -> str | None:
    """Why a record of dataset `d` cannot fill a cell here: made on other data than the copy present."""
    if d in live_fp and live_fp[d] and live_fp[d] != meta["data_fingerprint"]:
        return (f"made on other data ({TITLES.get(d, d)} fingerprint {meta['data_fingerprint']}; the copy here "
                f"has {live_fp[d]})")
    return None


def supersede_older_records(entries: list[IndexEntry]) -> list[IndexEntry]:
    """Where several records fill the same cell (same profile and settings: the same run made twice, e.g.
    at two commits), the newest fills it and the others become history; a seed is never counted twice."""
    newest: dict[tuple, IndexEntry] = {}
    for e in entries:
        if e.kind == RECORDED and e.status == CURRENT:
            k = (e.profile, json.dumps(e.params, sort_keys=True))
            if k not in newest or e.record.get("finished_at", "") > newest[k].record.get("finished_at", ""):
                newest[k] = e
    out = []
    for e in entries:
        k = (e.profile, json.dumps(e.params, sort_keys=True))
        if e.kind == RECORDED and e.status == IN_PROGRESS and k in newest:
            # a finished record of the same cell (e.g. made on a GPU meanwhile) supersedes the progress
            e = replace(e, status=SUPERSEDED, profile="history", page=False,
                        note=f"history: the finished record {newest[k].id} fills this cell")
        elif e.kind == RECORDED and e.status == CURRENT and newest[k] is not e:
            e = replace(e, status=SUPERSEDED, profile="history", page=False,
                        note=f"history: the newer record {newest[k].id} of the same run fills this cell")
        out.append(e)
    return out
