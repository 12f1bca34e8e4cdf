"""Beyond the paper's four datasets: FER+ (its own row beside the released repository's claim), CK+ and JAFFE
as outside test sets beside the repository's claims, FER2013's labels measured against FER+'s, and the
notes a dataset summary carries (dropped, ignored, grouped). Numbers come from run results and records only;
the claims from `resemote.paper`."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from resemote import paper
from resemote.analysis.ferplus_agreement import AGREEMENT_RECORD, OUTCOMES, SCORE_FILE
from resemote.book.records import Entry
from resemote.book.report.entries import CLASSES, NOT_RUN, PROFILE_ROWS, REPO, TITLES, accuracy_cell, runs_dir, select
from resemote.book.report.leak_section import CLEAN, clean_cell

OUTSIDE = ("ckplus", "jaffe")  # test sets only here
SCORE_COMMAND = "resemote ferplus-score --checkpoint runs/<run> --fer2013 data/fer2013 --ferplus data/ferplus"
AGREEMENT_COMMAND = "resemote ferplus-agreement --fer2013 data/fer2013 --ferplus data/ferplus --record results"


def _pct(x: float) -> str:
    return f"{x * 100:.2f}"


def _trained(e: Entry) -> str:
    label = PROFILE_ROWS.get(e.info.profile, e.info.profile)
    return f"{e.id} ({label}{', recorded' if e.recorded else ''})"


def _cross(e: Entry, name: str, root: Path) -> dict | None:
    path = (e.info.cross or {}).get(name)
    return json.loads((root / path).read_text()) if path else None


def _coverage(m: dict) -> str:
    cov = m.get("coverage", {})
    parts = [f"{len(cov.get('present_classes', []))} classes tested"]
    if cov.get("absent_from_test"):
        parts.append(f"no {', '.join(cov['absent_from_test'])}")
    if cov.get("dropped"):
        parts.append("dropped: " + ", ".join(f"{k} {v}" for k, v in cov["dropped"].items()))
    return "; ".join(parts)


def outside_claims_table(entries: list[Entry], root: str | Path | None = None) -> pd.DataFrame:
    """CK+ and JAFFE as outside test sets, and FER+: the released repository's README claim (where it makes
    one, with the classes its own confusion matrix shows) beside this companion's results, each naming the
    run, its budget and the classes it could test."""
    root = Path(root) if root else runs_dir()
    rows = []
    trained = [e for d in ("fer2013", "ferplus")
               for e in select(entries, experiment="table3", dataset=d, config="C1", synthetic=False)]
    for name in OUTSIDE:
        claim = paper.RELEASED_README.get(name)
        ours = [(e, m) for e in trained if (m := _cross(e, name, root))]
        base = {"test set": TITLES[name],
                "released repository's README (claim)": (f"{claim[0]:.2f}% ({claim[1]})" if claim else
                                                          "- (no claim)")}
        if not ours:  # the engine's cross job makes it once a Table III run has finished
            todo = [e.id for d in ("fer2013", "ferplus") for e in select(
                entries, experiment="table3", dataset=d, config="C1", synthetic=False, finished=False)]
            rows.append({**base, "this companion": NOT_RUN, "classes": "-",
                         "model": (f"made by `make book` with data/{name} present, once a Table III C1 run has "
                                   "finished: " + "; ".join(f"python -m resemote.book.engine_jobs cross {i} --name {name}"
                                                           for i in todo)) if todo else
                         f"a Table III C1 run (FER2013 or FER+), then `make book` with data/{name} present"})
        for e, m in ours:
            lo, hi = m["accuracy_ci95"]
            rows.append({**base, "this companion": f"{_pct(m['accuracy'])} (95% CI {_pct(lo)}-{_pct(hi)}, "
                                                   f"n={m['n']:,}; {m['split']} split)",
                         "model": f"C1 trained on {TITLES[m['trained_on']] if m.get('trained_on') in TITLES else '?'}"
                                  f", {_trained(e)}", "classes": _coverage(m)})
    claim = paper.RELEASED_README["ferplus"]
    runs = select(entries, experiment="table3", dataset="ferplus", config="C1", synthetic=False)
    rows.append({"test set": TITLES["ferplus"],
                 "released repository's README (claim)": f"{claim[0]:.2f}% ({claim[1]})",
                 "this companion": accuracy_cell(runs), "model": ", ".join(_trained(e) for e in runs) or
                 "C1 trained on FER+ (see below)", "classes": "7 (majority vote; contempt dropped)"})
    return pd.DataFrame(rows)


def ferplus_table(entries: list[Entry], datasets: list[dict] | None = None) -> pd.DataFrame:
    """FER+ (not in the paper): the released repository's claim and this companion's C1 per budget (the
    7-class mapping of the majority vote), with its accuracy on the clean test images (no copy in training or
    validation; `report.leak_section.clean_cell`) and the command that makes a missing run."""
    claim = paper.RELEASED_README["ferplus"]
    rows = {"released repository's README (claim; 8 classes)": {"test accuracy (%)": f"{claim[0]:.2f}",
                                                                   CLEAN: "-", "command": ""}}
    for p, label in PROFILE_ROWS.items():
        done = select(entries, experiment="table3", dataset="ferplus", config="C1", synthetic=False, profile=p)
        todo = [e for e in select(entries, experiment="table3", dataset="ferplus", config="C1", synthetic=False,
                                  profile=p, finished=False) if not e.finished]
        if not done and not todo and p != "reduced":
            continue
        rows[f"this companion, {label} (7 classes)"] = {
            "test accuracy (%)": accuracy_cell(done), CLEAN: clean_cell(done, datasets) if done else NOT_RUN,
            "command": "" if done else (todo[0].info.command if todo else
                                        "make book with data/ferplus present (data/README.md)")}
    return pd.DataFrame(rows).T


# --- FER2013's labels against FER+'s ----------------------------------------------------------------------------
def load_agreement(records: str | Path | None = None) -> dict | None:
    """The recorded label-agreement counts (results/datasets/ferplus/label-agreement.json), or None."""
    f = Path(records or REPO / "results") / AGREEMENT_RECORD
    return json.loads(f.read_text()) if f.is_file() else None


def _rate(agree: int, n: int) -> str:
    return f"{agree / n * 100:.1f} (n={n:,})" if n else "-"


def agreement_summary(a: dict) -> pd.DataFrame:
    """Per split: how the FER+ faces joined FER2013's files, and how often the labels agree."""
    rows = {}
    for name, t in list(a["splits"].items()) + [("all", a["all"])]:
        rows[{"train": "Training", "val": "PublicTest", "test": "PrivateTest"}.get(name, "all")] = {
            "FER+ faces": t["faces"], "joined to one file": t["matched"],
            "several files (FER2013 duplicates)": t["ambiguous"], "no file": t["unmatched"],
            "FER+ has one of the 7 classes": t["comparable"],
            "FER2013 label = FER+ majority (%)": _rate(t["agree"], t["comparable"]),
            "the same, duplicates with one FER2013 label (%)": _rate(t["ambiguous_agree"], t["ambiguous_comparable"])}
    return pd.DataFrame(rows).T


def agreement_by_class(a: dict) -> pd.DataFrame:
    """Per FER2013 class (rows) and split (columns): how often FER+'s majority agrees with FER2013's label."""
    cols = {}
    for name, t in list(a["splits"].items()) + [("all", a["all"])]:
        split = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}.get(name, "all")
        cols[f"{split} (%)"] = [_rate(t["by_class"][c]["agree"], t["by_class"][c]["comparable"]) for c in CLASSES]
    return pd.DataFrame(cols, index=list(CLASSES))


def agreement_outcomes(a: dict) -> pd.DataFrame:
    """All splits: what FER+'s majority says (rows) for the faces FER2013 labels each class (columns). FER2013's
    seven classes are the columns and FER+'s eleven outcomes the rows, each label set named once: eleven
    'FER+: ...' columns ran past a 1280 px page."""
    return pd.DataFrame([[a["all"]["by_class"][c]["ferplus"][o] for c in CLASSES] for o in OUTCOMES],
                        index=pd.Index(list(OUTCOMES), name="FER+ majority"),
                        columns=pd.MultiIndex.from_product([["FER2013 label"], list(CLASSES)]))


def ferplus_scores(entries: list[Entry]) -> pd.DataFrame:
    """Every finished real-data FER2013 C1 run: its PrivateTest predictions against FER2013's labels and FER+'s
    majority on the same faces (the run's ferplus-labels.json), or the command that makes it."""
    rows = []
    for e in select(entries, experiment="table3", dataset="fer2013", config="C1", synthetic=False):
        f = e.run.path / SCORE_FILE
        if not f.is_file():
            rows.append({"run": _trained(e), "every PrivateTest face, FER2013 labels (%)": NOT_RUN,
                         "same faces, FER2013 labels (%)": NOT_RUN, "same faces, FER+ majority (%)": NOT_RUN,
                         "faces": "-", "command": SCORE_COMMAND.replace("<run>", e.id)})
            continue
        s = json.loads(f.read_text())

        def cell(x: dict) -> str:
            lo, hi = x["accuracy_ci95"]
            return f"{_pct(x['accuracy'])} ({_pct(lo)}-{_pct(hi)})"
        rows.append({"run": _trained(e), "every PrivateTest face, FER2013 labels (%)": cell(s["fer2013_labels_all"]),
                     "same faces, FER2013 labels (%)": cell(s["common"]["fer2013_labels"]),
                     "same faces, FER+ majority (%)": cell(s["common"]["ferplus_labels"]),
                     "faces": f"{s['comparable']:,} of {s['faces']:,}", "command": ""})
    return pd.DataFrame(rows)


# --- notes of a dataset summary ---------------------------------------------------------------------------------
def dataset_notes(summary: dict) -> list[str]:
    """What a dataset summary says besides its counts: faces with no canonical class, files left out on
    purpose, and how the split grouped faces."""
    st = summary["stats"]
    notes = []
    for split, d in st.get("dropped", {}).items():
        notes.append(f"{split}: dropped, no canonical class: " + ", ".join(f"{k} {v:,}" for k, v in d.items()))
    for split, files in st.get("ignored", {}).items():
        notes.append(f"{split}: left out on purpose (not damage): "
                     + "; ".join(f"{f['path']} ({f['reason']})" for f in files))
    g = st.get("grouping")
    if g:
        notes.append(f"split grouping: {g['copy_links']:,} copy links between faces ({g['links_across_photo_split']:,} "
                     f"of them across a split made by photo alone); grouping by photo and copies moved "
                     f"{g['faces_moved']:,} of {g['faces']:,} faces")
    return notes
