"""Tables built from results: the datasets' computed Tables I-II and audit counts (from dataset summaries),
Tables III and IV beside the paper's claims, per-run tables, provenance and compute (from the run index)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from resemote import paper
from resemote.book.records import Entry
from resemote.training.rundir import Run
from resemote.book.report.leak_section import subset_rows
from resemote.book.report.entries import (CLASSES, DATASETS, NOT_RUN, PROFILE_ROWS, REPO, SUBSTITUTE, SYNTHETIC_TAG,
                                          TITLES, accuracy_cell, runs_dir, dataset_label, device_kind, mean_sd,
                                          select, short_commit)


# --- datasets ------------------------------------------------------------------------------------------------
def computed_table1(datasets: list[dict]) -> pd.DataFrame:
    """Table I from dataset summaries (`load_datasets`), beside the paper's values."""
    rows = {}
    for d in datasets:
        s, st = d["summary"], d["summary"]["stats"]
        published = None if d["synthetic"] else paper.TABLE_I.get(s["dataset"])
        h, w = st["image_size"]
        rows[dataset_label(d)] = {
            "release": s["release"], "data fingerprint": s["fingerprint"], "channels": st["channels"],
            "image size": f"{h} x {w}", "total samples (label files)": f"{st['total']:,}",
            "total samples (decoded)": f"{sum(sum(v.values()) for v in s['decoded']['splits'].values()):,}",
            "classes": len(st["classes"]),
            "paper: channels / size / total": (f"{published[0]} / {published[1]} / {published[2]:,}"
                                               if published else "- (not in the paper)")}
    return pd.DataFrame(rows)


def computed_table2(datasets: list[dict]) -> pd.DataFrame:
    """Images per class and split: label-file counts, the decoded counts where they differ, and the paper's
    train/test counts beside them (cells where the data and the paper disagree are marked '≠')."""
    cols = {}
    for d in datasets:
        s, name = d["summary"], dataset_label(d)
        for split, counts in s["stats"]["splits"].items():
            vals = [counts.get(c, 0) for c in CLASSES]
            cols[(name, f"{split} (label files)")] = vals + [sum(vals)]
            dec = s["decoded"]["splits"].get(split, {})
            dvals = [dec.get(c, 0) for c in CLASSES]
            if dvals != vals:
                cols[(name, f"{split} (decoded)")] = dvals + [sum(dvals)]
        published = None if d["synthetic"] else paper.TABLE_II.get(s["dataset"])
        for k, split in ((0, "train"), (1, "test")) if published else ():
            pv = [p[k] for p in published] + [sum(p[k] for p in published)]
            ours = cols.get((name, f"{split} (label files)"))
            cols[(name, f"paper {split}")] = [f"{v}" if ours is None or ours[i] == v else f"{v} ≠"
                                              for i, v in enumerate(pv)]
    # faces with no canonical class, by reason (CK+'s contempt; FER+'s contempt, whose count completes the
    # 8-class FER+ table, and the faces its majority vote leaves without a label): rows below the total
    reasons = list(dict.fromkeys(r for d in datasets for c in d["summary"]["stats"].get("dropped", {}).values()
                                 for r in c))
    for (name, col), vals in cols.items():
        d = next(d for d in datasets if dataset_label(d) == name)
        split = col.removesuffix(" (label files)")
        dropped = d["summary"]["stats"].get("dropped", {}).get(split, {}) if col.endswith("(label files)") else None
        vals += [dropped.get(r, 0) if dropped is not None else "" for r in reasons]
    return pd.DataFrame(cols, index=list(CLASSES) + ["Total"] + [f"dropped: {r}" for r in reasons])


def label_counts_table(records: list[dict]) -> pd.DataFrame:
    """Images per class and split of each dataset counted from its label file alone (a `label-counts.json`
    record: no image was present, so nothing was decoded or audited), the paper's train / test counts beside
    (≠ marks a disagreement), as in `computed_table2`."""
    cols = {}
    for r in records:
        name = f"{r['stats'].get('dataset') or TITLES.get(r['dataset'], r['dataset'])} (label file)"
        published = paper.TABLE_II.get(r["dataset"])
        for k, split in enumerate(("train", "test")):
            counts = r["stats"]["splits"].get(split)
            if counts is None:
                continue
            ours = [counts.get(c, 0) for c in CLASSES]
            cols[(name, split)] = ours + [sum(ours)]
            if published:
                pv = [p[k] for p in published]
                cols[(name, f"paper {split}")] = [f"{v:,}" if v == o else f"{v:,} ≠" for v, o in zip(pv, ours)] + \
                    [f"{sum(pv):,}" if sum(pv) == sum(ours) else f"{sum(pv):,} ≠"]
    return pd.DataFrame(cols, index=list(CLASSES) + ["Total"])


def audit_table(datasets: list[dict]) -> pd.DataFrame:
    """One row per dataset summary: duplicate pairs within and across splits, by kind, and pairs whose two
    images carry different labels."""
    rows = {}
    for d in datasets:
        a = d["summary"]["audit"]
        # 'within train', 'train / test': headers that wrap, so that the table fits a 1280 px page
        split_pairs = {k.replace("within-", "within ").replace("-", " / "): n for k, n in a["summary"].items()}
        rows[dataset_label(d)] = {**split_pairs, **{f"{k} pairs": n for k, n in a["kinds"].items()},
                                  "images in a pair": a["files_in_pairs"], "pairs with two labels": a["label_conflicts"]}
    return pd.DataFrame(rows).T.fillna(0).astype(int) if rows else pd.DataFrame()


def pairs_table(pairs: list[dict], limit: int = 12) -> pd.DataFrame:
    return pd.DataFrame([{"kind": p["kind"], "image": f"{p['a']['split']}: {p['a']['path']}",
                          "its duplicate": f"{p['b']['split']}: {p['b']['path']}", "distance": p["distance"]}
                         for p in pairs[:limit]])


# --- Tables III and IV -------------------------------------------------------------------------------------------
def _real_rows(entries: list[Entry], **where) -> dict[str, list[Entry]]:
    """Finished real-data entries per profile row (paper protocol, reduced budget), live and recorded."""
    return {row: select(entries, synthetic=False, profile=p, **where) for p, row in PROFILE_ROWS.items()}


def results_table(entries: list[Entry], experiment: str = "table3", config: str = "C1",
                  datasets: list[dict] | None = None, synthetic: bool | None = None) -> pd.DataFrame:
    """Test accuracy (%) per dataset: the paper's claim; this companion on the real data with the paper's
    protocol and with the reduced budget (live and recorded runs, and their difference where both exist);
    and, on its own row, the synthetic stand-in. Below each of ours, the same runs on the clean test images
    only (no copy in training or validation; `report.leak_section.clean_cell`, re-scored against `datasets`' audits
    where a run did not write it). `synthetic`: False, the claim and real-data rows only; True, the stand-in
    rows only; None, both."""
    from resemote.book.report.leak_section import CLEAN as clean, clean_cell
    rows = {"ResEmoteNet, paper's claim (Roy et al. 2024)":
            {TITLES[d]: f"{paper.RESEMOTENET_ACCURACY[d]:.2f}" for d in DATASETS}} if synthetic is not True else {}
    for p, label in PROFILE_ROWS.items() if synthetic is not True else ():
        sel = {d: select(entries, experiment=experiment, dataset=d, config=config, synthetic=False, profile=p)
               for d in DATASETS}
        rows[f"this companion, {label}"] = {TITLES[d]: accuracy_cell(sel[d]) for d in DATASETS}
        rows[f"this companion, {label}: {clean}"] = {TITLES[d]: clean_cell(sel[d], datasets) for d in DATASETS}
    if synthetic is False:
        return pd.DataFrame(rows).T
    sel = {d: select(entries, experiment=experiment, dataset=d, config=config, synthetic=True) for d in DATASETS}
    rows[f"stand-in ({SYNTHETIC_TAG})"] = {TITLES[d]: accuracy_cell(sel[d]) for d in DATASETS}
    rows[f"stand-in ({SYNTHETIC_TAG}): {clean}"] = {TITLES[d]: clean_cell(sel[d], datasets) for d in DATASETS}
    return pd.DataFrame(rows).T


def ablation_table(entries: list[Entry], dataset: str = "rafdb", datasets: list[dict] | None = None,
                   substitutes: tuple[str, ...] = ("fer2013",), synthetic: bool | None = None) -> pd.DataFrame:
    """Table IV: the paper's accuracy and 'loss' per configuration beside ours (accuracy %, test
    cross-entropy) on the real data (per profile, each with its accuracy on the clean test images only:
    `report.leak_section.clean_cell`) and, separately, on the synthetic stand-in. Each dataset of `substitutes` gets its
    own column (paper protocol; 'not run' until it has run), labelled as standing in for the
    paper's RAF-DB: it never fills RAF-DB's. `synthetic`: False, the paper's and real-data columns only; True,
    the configurations and the stand-in's columns only; None, all."""
    from resemote.book.report.leak_section import clean_cell
    rows = []
    # Every substitute has its column, run or not (a missing result shows as missing; `ablation_substitute_note`
    # says what makes it), so that the chapter's promise of a FER2013 column holds in every build.
    subs = [d for d in substitutes if d != dataset]
    # The paper's protocol always has its column (missing shows as "not run"); another real-data profile only
    # where the plan runs Table IV with it, so that no column waits for runs no command would make.
    profiles = {p: label for p, label in PROFILE_ROWS.items()
                if p == "paper" or select(entries, experiment="table4", synthetic=False, profile=p, finished=False)}
    for c, (acc, loss, removed) in paper.TABLE_IV.items():
        row = {"config": c, "removed": removed}
        if synthetic is True:
            profiles, subs = {}, []
        else:
            row.update({"paper acc. (%)": f"{acc:.2f}", "paper loss (%)": f"{loss:.2f}"})
        for p, label in profiles.items():
            r = select(entries, experiment="table4", dataset=dataset, config=c, synthetic=False, profile=p)
            row[f"ours acc. (%), {TITLES[dataset]}, {label}"] = accuracy_cell(r)
            row[f"ours clean acc. (%), {TITLES[dataset]}, {label}"] = clean_cell(r, datasets)
        for d in subs:
            row[f"ours acc. (%), {TITLES[d]}, {SUBSTITUTE}"] = accuracy_cell(select(
                entries, experiment="table4", dataset=d, config=c, synthetic=False, profile="paper"))
        if synthetic is False:
            rows.append(row)
            continue
        # Short headers so that the nine columns fit a 1280 px page; the caption spells out the synthetic tag.
        s = select(entries, experiment="table4", dataset=dataset, config=c, synthetic=True)
        # the stand-in's budget in its accuracy cell, not a column of its own: ten columns overflow a 1280 px page
        budget = f" ({s[0].params.get('epochs')} ep., {s[0].info.synthetic['n_train']} img.)" if s else ""
        row["ours acc. (%), synthetic stand-in (budget)"] = accuracy_cell(s) + budget
        row["ours test CE, synthetic stand-in"] = mean_sd([e.metrics["test_loss"] for e in s], 1, 3)
        rows.append(row)
    return pd.DataFrame(rows)


def ablation_substitute_note(entries: list[Entry], substitutes: tuple[str, ...] = ("fer2013",),
                             dataset: str = "rafdb") -> str:
    """One line per substitute column of `ablation_table`: how many of its configurations have run, and, where
    some have not, what makes them (the plan's runs of it, or the dataset and profile it needs)."""
    out = []
    for d in substitutes:
        if d == dataset:
            continue
        done = {e.info.config for e in select(entries, experiment="table4", dataset=d, synthetic=False,
                                                      profile="paper")}
        planned = [e for e in select(entries, experiment="table4", dataset=d, synthetic=False, profile="paper",
                                     finished=False) if not e.finished]
        have = f"{TITLES[d]} column ({SUBSTITUTE}): {len(done)} of {len(paper.TABLE_IV)} configurations run"
        if len(done) == len(paper.TABLE_IV):
            out.append(have + ".")
        elif planned:
            out.append(have + f"; {len(planned)} planned run{'s' if len(planned) != 1 else ''} of it "
                              "not made yet, each with its command on the All runs page.")
        else:
            out.append(have + f"; this build plans none: they need {TITLES[d]} under data/{d} and the paper's "
                              "budget (`make book PROFILE=paper`, 80 epochs, three seeds: a GPU's job).")
    return " ".join(out)


def run_budget(e: Entry) -> tuple:
    """What a run's accuracy was bought with, from its parameters: epochs, batch size, learning rate, protocol,
    and the training and test images it had (a synthetic stand-in's sizes, or a training subset)."""
    p, s = e.params, e.info.synthetic or e.params.get("synthetic") or {}
    return (p.get("epochs"), p.get("batch_size"), p.get("lr"), p.get("protocol"), s.get("n_train"), s.get("n_test"),
            e.subset_size)


def short_budget(e: Entry) -> str:
    """'8 ep., batch 16, 560 train / 280 test img.': a run's budget in a few words (`run_budget`)."""
    epochs, batch, _, protocol, n_train, n_test, subset = run_budget(e)
    imgs = (f", {n_train} train / {n_test} test img." if n_train else
            f", {subset:,} train img." if subset else "")
    return f"{epochs} ep., batch {batch}{imgs}" + ("" if protocol in (None, "paper") else f", {protocol} recipe")


OTHER_BUDGET = "†"  # marks a result whose budget differs from ResEmoteNet C1's in the same table


def baselines_table(entries: list[Entry], dataset: str, synthetic: bool, experiment: str = "baselines") -> pd.DataFrame:
    """Same protocol, same splits: every network of the experiment on one dataset (or its stand-in), with
    mean ± sd over seeds, parameters, GFLOPs and training time. Each row's budget comes from its runs'
    parameters; an accuracy bought with another budget than C1's row (epochs, batch, learning rate, protocol
    or images) is marked `OTHER_BUDGET`, since the two are then not comparable."""
    from resemote.models import MODELS
    rows = []
    configs = dict.fromkeys(e.info.config for e in select(entries, experiment=experiment, dataset=dataset,
                                                               synthetic=synthetic, finished=False))
    profiles = {"demo": SYNTHETIC_TAG} if synthetic else PROFILE_ROWS
    ref = {p: select(entries, experiment=experiment, dataset=dataset, config="C1", synthetic=synthetic,
                     profile=None if synthetic else p) for p in profiles}
    for c in configs:
        for p, label in profiles.items():
            ref_budget = run_budget(ref[p][0]) if ref[p] else None
            r = select(entries, experiment=experiment, dataset=dataset, config=c, synthetic=synthetic,
                       profile=None if synthetic else p)
            m = r[0].metrics if r else {}
            if not r and synthetic is False and p == "reduced":
                continue
            other = bool(r) and ref_budget is not None and any(run_budget(e) != ref_budget for e in r)
            rows.append({"model": MODELS[c].title if c in MODELS else c, "data / budget": label,
                         "test acc. (%)": accuracy_cell(r) + (f" {OTHER_BUDGET}" if other else ""),
                         "budget": short_budget(r[0]) if r else "-",
                         "parameters": f"{m['parameters']:,}" if "parameters" in m else "-",
                         "GFLOPs": f"{m['gflops']:.3f}" if "gflops" in m else "-",
                         "training (min)": mean_sd([e.metrics["train_seconds"] / 60 for e in r], 1, 1) if r else "-"})
    return pd.DataFrame(rows)


def sensitivity_points(entries: list[Entry], synthetic: bool, dataset: str = "rafdb") -> pd.DataFrame:
    """The sensitivity study as points: test accuracy (%) per batch size (mean and sd over seeds), and the
    best validation accuracy within the first E/2, 3E/4 and E epochs of the batch-16 run(s). Reading the
    epoch axis off one run is equivalent to shorter runs here because the paper protocol's schedule
    (x0.1 on a validation plateau) does not depend on the total number of epochs, and the test split is
    not looked at before the end; it is the validation, not the test, accuracy."""
    import statistics
    runs = select(entries, experiment="sensitivity", dataset=dataset, synthetic=synthetic,
                  profile=None if synthetic else "paper")
    label = f"stand-in ({SYNTHETIC_TAG})" if synthetic else f"{TITLES[dataset]}, paper protocol"
    rows: list[dict] = []
    for b in sorted({e.params["batch_size"] for e in runs}):
        accs = [e.metrics["test_accuracy"] * 100 for e in runs if e.params["batch_size"] == b]
        rows.append({"data": label, "axis": "batch_size", "value": b, "accuracy": statistics.mean(accs),
                     "sd": statistics.stdev(accs) if len(accs) > 1 else None, "n": len(accs)})
    best: dict[int, list[float]] = {}  # epochs -> best validation accuracy within them, one per batch-16 run
    for e in (e for e in runs if e.params["batch_size"] == 16):
        total = len(e.run.history)
        for k in sorted({max(1, round(total / 2)), max(1, round(3 * total / 4)), total}):
            best.setdefault(k, []).append(max(h["val_acc"] for h in e.run.history[:k]) * 100)
    for k, accs in sorted(best.items()):
        rows.append({"data": label, "axis": "epochs", "value": k, "n": len(accs), "accuracy": statistics.mean(accs),
                     "sd": statistics.stdev(accs) if len(accs) > 1 else None})
    return pd.DataFrame(rows, columns=["data", "axis", "value", "accuracy", "sd", "n"])


# Test splits that hold the same faces under another label set: FER+ relabels FER2013's faces, and its Test split
# is FER2013's PrivateTest. Scoring a model across such a pair measures the label sets, not other data.
SAME_FACES = (frozenset({"fer2013", "ferplus"}),)


def same_faces(a: str, b: str) -> bool:
    """Whether datasets `a` and `b` are the same faces under two label sets (`SAME_FACES`)."""
    return a != b and frozenset({a, b}) in SAME_FACES


def cross_matrix(entries: list[Entry], synthetic: bool = False, root: str | Path | None = None,
                 relabelled: bool = False) -> pd.DataFrame:
    """Accuracy (%) of Table III's C1 runs (rows: trained on, with the budget and whether recorded) on every
    test split (columns): a run's own test split is Table III, the rest from `cross` jobs; NaN where not run.
    Live runs, and recorded ones whose records carry their cross results (made where they ran: a record
    keeps no weights to test here); mean over seeds. A pair of test splits with the same faces under another
    label set (`SAME_FACES`) is no test on other data: it is left out, and `relabelled=True` gives it alone,
    the runs of those datasets scored against each label set ('<dataset> labels' columns)."""
    import statistics
    runs = select(entries, experiment="table3", config="C1", synthetic=synthetic)
    cells: dict[tuple[str, str], list[float]] = {}
    own = []
    for e in runs:
        d = e.metrics["dataset"]
        if relabelled and not any(d in pair for pair in SAME_FACES):
            continue
        title = TITLES[d]
        row = (f"stand-in ({SYNTHETIC_TAG})" if synthetic else
               title + (", reduced budget" if e.info.profile == "reduced" else "")
               + (", recorded" if e.recorded else ""))
        col = row if synthetic else title + (" labels" if relabelled else "")
        own.append(col)
        cells.setdefault((row, col), []).append(e.metrics["test_accuracy"] * 100)
        for name, path in (e.info.cross or {}).items():
            if same_faces(d, name) != relabelled:
                continue
            m = json.loads(((Path(root) if root else runs_dir()) / path).read_text())
            col = TITLES.get(name, name) + (" labels" if relabelled else "")
            cells.setdefault((row, col), []).append(m["accuracy"] * 100)
    if relabelled:  # a row with nothing but its own cell shows no relabelling
        cells = {k: v for k, v in cells.items() if sum(r == k[0] for r, _ in cells) > 1}
    rows = sorted({r for r, _ in cells})
    own = sorted(set(own) & {c for _, c in cells})
    cols = own + sorted({c for _, c in cells} - set(own))
    return pd.DataFrame([[statistics.mean(cells[r, c]) if (r, c) in cells else float("nan") for c in cols]
                         for r in rows], index=pd.Index(rows, name="trained on"), columns=cols)


SAME_FACES_CELL = "same faces: see below"


def cross_cells(m: pd.DataFrame) -> pd.DataFrame:
    """`cross_matrix` as the chapter shows it: accuracies to two decimals, an empty cell 'not run', except where the
    row's training set and the column's test set are the same faces (`SAME_FACES`): that cell is shown apart."""
    by_title = {t: d for d, t in TITLES.items()}

    def dataset(label: str) -> str | None:
        return next((d for t, d in by_title.items() if label == t or label.startswith(t + ",")), None)

    out = m.round(2).astype(object)
    for r in m.index:
        for c in m.columns:
            if pd.isna(m.loc[r, c]):
                a, b = dataset(r), dataset(c)
                out.loc[r, c] = SAME_FACES_CELL if a and b and same_faces(a, b) else NOT_RUN
    return out


def cross_caption(entries: list[Entry], synthetic: bool = False) -> str:
    """The caption of `cross_matrix`: what kind of runs its rows are (this build's, recorded, or both) and the
    runs themselves, named (`base.caption`)."""
    from resemote.book.report.entries import caption
    runs = select(entries, experiment="table3", config="C1", synthetic=synthetic)
    if synthetic:
        return caption(f"Test accuracy (%) across datasets ({SYNTHETIC_TAG}).", runs)
    rec, live = any(e.recorded for e in runs), any(not e.recorded for e in runs)
    kind = ("this build's runs and recorded runs (each recorded row says so)" if rec and live else
            "recorded runs, made elsewhere; their records carry these results" if rec else "this build's runs")
    return caption(f"Test accuracy (%) across datasets (real data: {kind}).", runs)


def cam_figures(entries: list[Entry], root: str | Path | None = None) -> list[tuple[Entry, Path]]:
    """(entry, image) of every current live run with a Grad-CAM figure, in index order."""
    out = []
    for e in entries:
        path = e.info.gradcam
        if e.finished and path:
            out.append((e, (Path(root) if root else runs_dir()) / path))
    return out


def released_table(folder: str | Path | None = None) -> pd.DataFrame:
    """Recorded evaluations of the authors' released checkpoints (results/released/*.json, written by
    `resemote evaluate --checkpoint <their .pth> ... --json`)."""
    rows = []
    for f in sorted(Path(folder or REPO / "results" / "released").glob("*.json")):
        m = json.loads(f.read_text())
        lo, hi = m["accuracy_ci95"]
        rows.append({"checkpoint": Path(m.get("checkpoint", f.stem)).name, "data": m.get("dataset_title"),
                     "split": m["split"], "accuracy (%)": f"{m['accuracy'] * 100:.2f} ({lo * 100:.2f}-{hi * 100:.2f})",
                     "balanced (%)": f"{m['balanced_accuracy'] * 100:.2f}", "device": m.get("device"),
                     "commit": str(m.get("git_commit", ""))[:10], "data fingerprint": m.get("data_fingerprint"),
                     "record": f"results/released/{f.name}"})
    return pd.DataFrame(rows)


# --- one run --------------------------------------------------------------------------------------------------
def per_class_table(run: Run) -> pd.DataFrame:
    pc = run.metrics["per_class"]
    return pd.DataFrame([{"class": c, "precision": round(pc[c]["precision"], 3), "recall": round(pc[c]["recall"], 3),
                          "f1": round(pc[c]["f1"], 3), "support": int(pc[c]["support"])} for c in run.metrics["classes"]])


def metrics_table(run: Run) -> pd.DataFrame:
    """The headline numbers a run wrote, as read from its metrics.json."""
    m = run.metrics
    lo, hi = m["test_accuracy_ci95"]
    data = f"Synthetic ({SYNTHETIC_TAG})" if run.synthetic else TITLES.get(m["dataset"], m["dataset"])
    rows = [("data", data), ("config / protocol / seed", f"{m['config']} / {m['protocol']} / {m['seed']}"),
            ("epochs run / best (val.) epoch", f"{m.get('epochs_run', m['epochs'])} / {m['best_epoch']}"),
            ("test accuracy (%)", f"{m['test_accuracy'] * 100:.2f} (95% CI {lo * 100:.2f}-{hi * 100:.2f})"),
            *subset_rows(m),
            ("balanced accuracy (%)", f"{m['balanced_accuracy'] * 100:.2f}"),
            ("majority-class rate (%)", f"{m.get('majority_class_rate', float('nan')) * 100:.2f}"),
            ("macro F1", f"{m['macro_f1']:.3f}"), ("test cross-entropy", f"{m['test_loss']:.4f}"),
            ("training time (s)", f"{m['train_seconds']:.1f}"),
            ("inference (ms / image)", f"{m['inference_ms_per_image']:.2f}"),
            ("device", m["device"]), ("torch", m["torch_version"]), ("commit", str(m["git_commit"])),
            ("data fingerprint", m["data_fingerprint"]), ("finished at", m["finished_at"])]
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


# --- provenance and compute --------------------------------------------------------------------------------------
def _cell(e: Entry) -> tuple:
    """What names a run's cell: the command that makes it, and its dataset, config and seed."""
    return (e.info.command, e.info.dataset, e.info.config, e.info.seed)


def _recorded_cells(entries: list[Entry]) -> dict[tuple, str]:
    """Every cell a current record fills -> that record's id."""
    return {_cell(e): e.id for e in entries if e.recorded and e.finished and not e.superseded and e.info.command}


def _status(e: Entry, recorded: dict[tuple, str]) -> str:
    """A run's status; a run not made here whose cell a record fills says so."""
    by = recorded.get(_cell(e)) if not (e.finished or e.recorded) else None
    if e.in_progress:  # a long run's progress: how far it is, never a score
        return f"{e.status}: epoch {len(e.run.history)} of {e.params.get('epochs')}"
    return e.status + (f" here (recorded elsewhere: {by})" if by else "")


def provenance_table(entries: list[Entry]) -> pd.DataFrame:
    """One row per index entry: what it is, its status, and where its numbers come from. Seven columns whose
    cells wrap, so that at 1280 px the table fits its page and the commit and device stay in view: the run's
    settings in one cell, and what made it (commit, device, date) in another."""
    rows, recorded = [], _recorded_cells(entries)
    for e in entries:
        m = e.metrics or (e.run.metrics if e.superseded else {})  # history keeps its numbers
        if e.in_progress:  # its provenance from the record; no test accuracy exists yet
            m = {"git_commit": e.info.record["commit"], "device": e.info.record["device"],
                 "data_fingerprint": e.info.record["data_fingerprint"]}
        why = e.info.error or e.info.note
        status = _status(e, recorded) + (f": {why}" if why else "")
        data = f"Synthetic ({SYNTHETIC_TAG})" if e.synthetic else TITLES.get(e.info.dataset, "")
        stands = ", ".join(TITLES.get(d, d) for d in e.info.stands_in_for)
        settings = (f"{data}{f' (stand-in for {stands})' if e.synthetic and stands else ''}; "
                    f"{e.info.config}, seed {e.info.seed}; {e.info.profile} profile"
                    + (f": {e.info.budget}" if e.info.budget else ""))
        made = "; ".join(x for x in (f"commit {short_commit(m)}" if m else "", m.get("device", ""),
                                     str(m.get("finished_at", ""))[:10]) if x)
        rows.append({
            "run": e.id, "kind": ("recorded (history)" if e.superseded else "recorded") if e.recorded else "this build",
            "settings": settings, "status": status,
            "test acc. (%)": f"{m['test_accuracy'] * 100:.2f}" if "test_accuracy" in m else "",
            "made at": made, "data fingerprint": m.get("data_fingerprint", "")})
    return pd.DataFrame(rows)


def commands_table(entries: list[Entry], experiment: str | None = None) -> pd.DataFrame:
    """Every real-data run of the plan not made (or failed), with the one command that makes it where
    `make book` then finds it. A run whose cell a record fills says so: it is missing from this build only."""
    recorded = _recorded_cells(entries)
    rows = [{"run": e.id, "data": TITLES.get(e.info.dataset, ""), "config": e.info.config,
             "seed": e.info.seed, "status": _status(e, recorded), "command": e.info.command}
            for e in entries if not e.finished and not e.synthetic and not e.recorded  # a record is made already
            and (experiment is None or experiment in e.info.experiments)]
    return pd.DataFrame(rows)


def missing_real(entries: list[Entry], experiment: str, datasets, configs) -> list[str]:
    """The (dataset, config) cells of an experiment with no real-data result, as 'RAF-DB C3'."""
    return [f"{TITLES[d]} {c}" for d in datasets for c in configs
            if not select(entries, experiment=experiment, dataset=d, config=c, synthetic=False)]


def compute_table(entries: list[Entry]) -> pd.DataFrame:
    """Training time and inference latency: the paper's per dataset, and every finished run's."""
    rows = [{"source": "paper's claim", "data": TITLES[d], "config": "C1", "training": f"{h:g} h",
             "inference (ms / image)": f"{ms:g}", "device": paper.COMPUTE_DEVICES, "budget": "80 epochs, batch 16"}
            for d, (h, ms) in paper.COMPUTE.items()]
    for e in entries:
        if not e.finished:
            continue
        m = e.metrics
        rows.append({"source": f"{'recorded run' if e.recorded else 'run'} {e.id} (commit {short_commit(m)})",
                     "data": f"Synthetic ({SYNTHETIC_TAG})" if e.synthetic else TITLES.get(m["dataset"]),
                     "config": m["config"], "training": f"{m['train_seconds'] / 60:.1f} min",
                     "inference (ms / image)": f"{m['inference_ms_per_image']:.2f}", "device": m["device"],
                     "budget": e.info.budget})
    return pd.DataFrame(rows)


def cpu_epoch_estimate(entries: list[Entry], dataset: str = "fer2013", epochs: int | None = None) -> dict | None:
    """The paper's budget on a CPU, from one stated figure: the median epoch time (history.csv's seconds) of the
    finished real C1 run on `dataset`'s whole training split, made on a CPU, with the most epochs (the latest of
    those). The median, not the fastest epoch: on a shared machine the epochs of one run differ by a factor of
    two, and the fastest would understate every one of them. None where no such run exists."""
    import statistics
    epochs = epochs or int(paper.SETUP_PAPER["epochs"])
    runs = [e for e in select(entries, experiment="table3", dataset=dataset, config="C1", synthetic=False)
            if e.run and e.run.history and not e.subset_size
            and str(e.metrics.get("device", "")).startswith("cpu")]
    if not runs:
        return None
    e = max(runs, key=lambda e: (len(e.run.history), str(e.metrics.get("finished_at", ""))))
    secs = [float(h["seconds"]) for h in e.run.history]
    med = statistics.median(secs)
    return {"entry": e, "epochs_seen": len(secs), "median_s": med, "fastest_s": min(secs), "slowest_s": max(secs),
            "epochs": epochs, "hours": med * epochs / 3600}


def cpu_estimate_markdown(entries: list[Entry], dataset: str = "fer2013") -> str:
    """One sentence: the paper's budget on a CPU, per seed, from `cpu_epoch_estimate`, its basis said."""
    est = cpu_epoch_estimate(entries, dataset)
    if est is None:
        return (f"No finished real {TITLES[dataset]} C1 run made on a CPU is in this build, so no CPU estimate of "
                "the paper's budget is given.")
    from resemote.book.report.entries import cite_runs
    e = est["entry"]
    return (f"On a CPU, the paper's {est['epochs']} epochs of C1 on {TITLES[dataset]} would take about "
            f"**{est['hours']:.0f} h per seed**: the median epoch of run {e.id} ({cite_runs([e])}; "
            f"{est['epochs_seen']} epochs on {e.metrics['device']}) took {est['median_s']:,.0f} s, times "
            f"{est['epochs']}. The estimate rests on that median alone; the same run's epochs took "
            f"{est['fastest_s']:,.0f}-{est['slowest_s']:,.0f} s, so a seed on that machine may take noticeably "
            "more or less.")


def load_benchmarks(folder: str | Path | None = None) -> list[tuple[str, dict]]:
    folder = Path(folder) if folder else REPO / "benchmarks"
    out = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append((p.name, json.loads(p.read_text())))
        except (OSError, ValueError):
            continue
    return out


def _bench_value(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.3g}" if isinstance(v, (int, float)) else str(v)


def benchmarks_table(benchmarks: list[tuple[str, dict]]) -> pd.DataFrame:
    """One row per recorded benchmark file (benchmarks/*.json): `resemote bench --json`'s training rates, or,
    for a per-layer timing (benchmarks/cpu_layers.py), the rates its whole-step times give (batch / step time).
    A value a file does not hold shows as '-', never as NaN."""
    rows = []
    for name, b in benchmarks:
        inf = b.get("inference") or {}
        fast, base, kind = (b.get("fast") or {}).get("images_per_s"), (b.get("baseline") or {}).get("images_per_s"), \
            "resemote bench: fast vs released-style"
        step = b.get("step") or {}
        if fast is None and isinstance(step.get("fast"), dict) and b.get("batch"):
            ms = {k: (step.get(k) or {}).get("step") for k in ("fast", "plain")}
            fast, base = (b["batch"] * 1000 / ms[k] if ms[k] else None for k in ("fast", "plain"))
            kind = f"per-layer timing: one step of batch {b['batch']}, fast vs plain layers"
        speedup = b.get("speedup", fast / base if fast and base else None)
        torch = f", torch {b['torch_version']}" if b.get("torch_version") else ""
        rows.append({"file": f"benchmarks/{name}", "kind": kind, "device": (b.get("device") or "-") + torch,
                     "train images/s (fast)": f"{fast:.1f}" if fast else "-",
                     "train images/s (baseline)": f"{base:.1f}" if base else "-",
                     "speed-up": f"{speedup:.2f}" if speedup else "-",
                     # keys as words, so that the cell wraps instead of widening the table
                     "inference": ", ".join(f"{k.replace('_', ' ')} {_bench_value(v)}" for k, v in inf.items()
                                            if not isinstance(v, (dict, list))) or "-"})
    return pd.DataFrame(rows)


def profiles_table(profiles: dict[str, dict]) -> pd.DataFrame:
    """The run plan's profiles (runs.yml), one row each: a setting a profile leaves to its protocol says so (the
    learning rate, with the protocol's value), one it does not have says '-': never NaN."""
    from resemote.training.protocols import PROTOCOLS
    keys = list(dict.fromkeys(k for p in profiles.values() for k in p))
    rows = {}
    for name, p in profiles.items():
        row = {}
        for k in keys:
            v = p.get(k)
            if k == "lr" and v is None and p.get("protocol") in PROTOCOLS:
                v = f"the protocol's ({PROTOCOLS[p['protocol']].lr:g})"
            elif k == "synthetic":
                v = ("- (the real data)" if not v else
                     f"{v['n_train']:,} train / {v['n_val']:,} val / {v['n_test']:,} test images, seed {v['seed']}"
                     if all(x in v for x in ("n_train", "n_val", "n_test", "seed")) else str(v))
            elif isinstance(v, list):
                v = ", ".join(str(x) for x in v)
            row[k] = "-" if v is None else str(v)
        rows[name] = row
    return pd.DataFrame(rows).T


__all__ = ["device_kind"]
