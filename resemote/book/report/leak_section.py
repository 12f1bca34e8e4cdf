"""The book's leakage section, worded: the clean-test figure of every result cell, the leak dose-response
experiment's tables, figures and readings, and the audit's copy counts. It formats; the inference drawn from the
leak experiment is computed in `resemote.analysis.leak_inference`, and the leaking itself is `resemote.leakage`'s.

- `clean_score` / `clean_cell`: a run's accuracy on the test images with no copy in training or validation,
  as the run wrote it (metrics.json `clean_test`), else re-scored from its `test_predictions.csv` against a
  dataset summary of the same data (its list of copied test files), else a sentence naming what the run
  lacks. Nothing here reads an image or a weight.
- `leak_points`, `leak_table`, `dose_response_figure`, `leak_reading`: the runs of the experiments marked
  `leak: true` in runs.yml (`leakage`, `leakage_fitted` and their `_copies` twins, whose leaked images are
  released-style copies), each labelled with its data, budget, recipe, training subset and copies; the
  fraction-0 run of a series is its clean run. Leaked runs appear nowhere else (`base.select` leaves them out
  of every other selection).
- `leak_inference_table`, `grid_table`: the inference `resemote.analysis.leak_inference` draws from a fitted dose's
  measured recall of its leaked images (m) and a clean accuracy (c), the leaked fraction F = (claim - c) / (m - c)
  that would print the paper's claim, as tables: arithmetic on measurements, labelled as such, never a result.
- `clean_counts_table`, `load_near_precision`, `near_precision_table`: the audit's copies of test images.
"""
from __future__ import annotations

import json
import statistics
import textwrap
from pathlib import Path

import pandas as pd

from resemote import paper
from resemote.analysis.leak_inference import FITTED, POINT_COLUMNS, dose_trend
from resemote.leakage import PREDICTIONS, leak_block, read_predictions, rescore_predictions
from resemote.book.records import Entry
from resemote.training.protocols import SUMMARIES
from resemote.book.report.entries import NOT_RUN, PROFILE_ROWS, SYNTHETIC_TAG, TITLES, device_kind, select

LEAK_EXPERIMENTS = ("leakage", "leakage_copies", "leakage_fitted", "leakage_fitted_copies")  # *_copies: released-style
SUBSETS = ("all", "leaked", "clean")


def score_text(s: dict | None, n_of: bool = False) -> str:
    """'45.12 (95% CI 43.20-47.01; n=3,022)' from a score; the reason where it is missing."""
    if not s:
        return NOT_RUN
    if s.get("accuracy") is None:
        return s.get("missing") or "no such test image (n=0)"
    lo, hi = s["ci95"]
    of = f" of {s['n_test']:,}" if n_of and s.get("n_test") else ""
    return f"{s['accuracy'] * 100:.2f} (95% CI {lo * 100:.2f}-{hi * 100:.2f}; n={s['n']:,}{of})"


def subset_rows(m: dict) -> list[tuple[str, str]]:
    """A run's metrics table rows (`tables.metrics_table`) for its clean test images and, in the leak experiment,
    its leaked ones."""
    rows = [("clean test images: accuracy (%)", score_text(m.get("clean_test"), n_of=True)
             if m.get("clean_test") else "not computed (run made before clean-test figures were written)")]
    if m.get("leak"):
        rows.insert(0, ("LEAK EXPERIMENT", f"{m['leak_test_fraction']:.0%} of the test images added to training "
                                           f"({m['leak_copies']}); not a reproduction"))
        rows.append(("leaked test images: accuracy (%)", score_text(m["leak"]["leaked"])))
    return rows


def _summary_for(m: dict, datasets: list[dict]) -> dict | None:
    for d in datasets or []:
        s = d.get("summary") or {}
        if s.get("dataset") == m.get("dataset") and s.get("fingerprint") == m.get("data_fingerprint") \
                and s.get("clean_test"):
            return d
    return None


def clean_score(e: Entry, datasets: list[dict] | None = None) -> dict | str:
    """The entry's clean-test score (a dict with accuracy, ci95, n, n_test and `source`), or why there is none."""
    m, what = e.metrics, f"{'recorded run' if e.recorded else 'run'} {e.id}"
    c = m.get("clean_test")
    if c and c.get("accuracy") is not None:
        return {**c, "source": "written by the run"}
    if c and c.get("missing"):
        return f"{what}: {c['missing']}"
    if c:
        return f"{what}: none of its test images is clean (n=0)"
    preds = e.run.path / PREDICTIONS if e.run else None
    if preds is not None and preds.is_file():
        d = _summary_for(m, datasets)
        if d is None:
            return (f"{what} has test predictions, but no audited copy of {TITLES.get(m['dataset'], m['dataset'])} "
                    f"with data {m['data_fingerprint']} is here to score them against (put the dataset under "
                    f"data/{m['dataset']} and run `make book`)")
        s = rescore_predictions(read_predictions(preds), d["summary"]["clean_test"]["copied"])
        return {**s, "source": f"re-scored from its {PREDICTIONS} and the audit of dataset summary {d['name']}"}
    if e.recorded:
        return (f"{what} has no test predictions ({PREDICTIONS}) and, like every record, no weights: it cannot be "
                f"re-scored; a new run of its cell, published, brings both")
    return f"{what} has no test predictions ({PREDICTIONS}): `resemote rescore runs/{e.id}` adds them from its weights"


CLEAN = "clean test images only: accuracy (%), 95% CI, n"  # the label of every clean-test row or column


def clean_cell(entries: list[Entry], datasets: list[dict] | None = None) -> str:
    """A result cell of clean-test accuracy (%): like `base.accuracy_cell` (live runs, then recorded ones labelled
    with their device), each with its interval and n; then what any run of the cell lacks."""
    scored = [(e, clean_score(e, datasets)) for e in entries]
    parts = []
    for recorded in (False, True):
        ok = [(e, s) for e, s in scored if e.recorded == recorded and isinstance(s, dict)]
        if not ok:
            continue
        if len(ok) == 1:
            text = score_text(ok[0][1])
        else:
            accs = [s["accuracy"] * 100 for _, s in ok]
            sizes = "/".join(sorted({format(s["n"], ",") for _, s in ok}))
            text = f"{statistics.mean(accs):.2f} ± {statistics.stdev(accs):.2f} (n={len(ok)} runs of {sizes} clean images)"
        if recorded:
            text += f" (recorded, {'/'.join(sorted({device_kind(e.metrics) for e, _ in ok}))})"
        parts.append(text)
    parts += [s for _, s in scored if isinstance(s, str)]
    return "; ".join(parts) if parts else NOT_RUN


# --- the dose-response experiment ----------------------------------------------------------------------------------
def _group(e: Entry) -> str:
    """The data and budget a leak run belongs to: one figure per group."""
    n = e.params.get("epochs")
    epochs = f"{n} epoch{'' if n == 1 else 's'}"
    if e.synthetic:
        s = e.info.synthetic or {}
        return f"synthetic stand-in ({SYNTHETIC_TAG}), {epochs}, {s.get('n_train')} training images"
    x = leak_block(e.params)
    sub = f", stratified training subset of {x['train_subset']:,} images" if x.get("train_subset") else ", whole training split"
    proto = e.params.get("protocol", "paper")
    recipe = f", {SUMMARIES.get(proto, proto)}" if proto != "paper" else ""
    return (f"{TITLES.get(e.params.get('dataset'), '')}, {PROFILE_ROWS.get(e.info.profile, e.info.profile)}"
            f" ({epochs}, batch {e.params.get('batch_size')}){recipe}{sub}")


def _budget(e: Entry) -> str:
    """A group in a few words, for a table cell: 'FER2013, 14 epochs, fit recipe, 1,000 images'."""
    if e.synthetic:
        return f"synthetic, {e.params.get('epochs')} epochs, {(e.info.synthetic or {}).get('n_train')} images"
    x = leak_block(e.params)
    proto = e.params.get("protocol", "paper")
    return (f"{TITLES.get(e.params.get('dataset'), '')}, {e.params.get('epochs')} epochs, "
            f"{'paper' if proto == 'paper' else proto} recipe, "
            + (f"{x['train_subset']:,} images" if x.get("train_subset") else "whole training split"))


def leak_points(entries: list[Entry]) -> pd.DataFrame:
    """One row per finished leak-experiment run, series and test subset: group (data and budget; `budget` says it in
    a few words), copies ('as-is',
    'released'), fraction leaked, subset (all / leaked / clean test images), accuracy, interval and n (%), run, and
    the run's training accuracy (%) in its last epoch (history.csv; None without a history) and its epochs."""
    rows = []
    for exp in LEAK_EXPERIMENTS:
        for e in select(entries, experiment=exp):
            m, x = e.metrics, leak_block(e.params)
            series = "released" if exp.endswith("_copies") else "as-is"
            if x.get("leak_copies", series) != series:
                continue
            f = x.get("leak_test_fraction", 0.0)
            leak = m.get("leak") or {}
            subsets = {"all": {"accuracy": m["test_accuracy"], "ci95": m["test_accuracy_ci95"],
                               "n": sum(sum(r) for r in m["confusion_matrix"])},
                       "leaked": leak.get("leaked"), "clean": leak.get("clean") or m.get("clean_test")}
            hist = e.run.history if e.run else []
            train_acc = hist[-1]["train_acc"] * 100 if hist else None  # its last epoch, leaked images included
            for name, s in subsets.items():
                if not s or s.get("accuracy") is None:
                    continue
                rows.append({"group": _group(e), "budget": _budget(e), "synthetic": e.synthetic, "copies": series, "fraction": f,
                             "subset": name, "accuracy": s["accuracy"] * 100, "low": s["ci95"][0] * 100,
                             "high": s["ci95"][1] * 100, "n": s["n"], "run": e.id, "recorded": e.recorded,
                             "dataset": m["dataset"], "train_acc": train_acc, "epochs": len(hist)})
    return pd.DataFrame(rows, columns=POINT_COLUMNS)


def leak_table(points: pd.DataFrame) -> pd.DataFrame:
    """The points as a table: per group, copies and fraction, accuracy (%) with interval and n on each subset, and the
    run's training accuracy in its last epoch (how far it had fitted what it trained on, leaked images included)."""
    if not len(points):
        return pd.DataFrame()
    rows = []
    for (g, c, f), p in points.groupby(["group", "copies", "fraction"], sort=True):
        if c == "released" and f == 0 and len(points[(points["group"] == g) & (points["copies"] == "as-is")
                                                     & (points["fraction"] == 0)]):
            continue  # the clean run, already a row of the as-is series
        row = {"budget": p["budget"].iloc[0], "copies": c, "leaked fraction": f"{f:.0%}"}
        for s in SUBSETS:
            q = p[p["subset"] == s]
            row[f"{s} test images (%)"] = (f"{q['accuracy'].iloc[0]:.2f} ({q['low'].iloc[0]:.2f}-{q['high'].iloc[0]:.2f};"
                                           f" n={int(q['n'].iloc[0]):,})" if len(q) else "-")
        t = p["train_acc"].iloc[0]
        row["training images right, last epoch (%)"] = "-" if pd.isna(t) else f"{t:.1f}"
        row["run"] = p["run"].iloc[0] + (" (recorded)" if p["recorded"].iloc[0] else "")
        rows.append(row)
    return pd.DataFrame(rows)


def dose_response_figure(points: pd.DataFrame, group: str, missing: list[float] | None = None):
    """Test accuracy (%) against the fraction of test images leaked into training, for one group: each series'
    accuracy on all, leaked and clean test images with their 95% intervals as bands; the fraction-0 run (the
    clean run) and, on real FER2013, the paper's claim as horizontal lines. `missing`: fractions not run yet."""
    import matplotlib.pyplot as plt
    p = points[points["group"] == group]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    styles = {"all": ("-", "o"), "leaked": ("--", "^"), "clean": (":", "s")}
    colours = {"as-is": "tab:red", "released": "tab:purple"}
    for (copies, subset), q in p.groupby(["copies", "subset"], sort=True):
        q = q.sort_values("fraction")
        ls, mk = styles[subset]
        ax.plot(q["fraction"], q["accuracy"], ls, marker=mk, color=colours[copies],
                label=f"{subset} test images, leaked {'as they are' if copies == 'as-is' else 'as released-style copies'}")
        ax.fill_between(q["fraction"], q["low"], q["high"], color=colours[copies], alpha=0.12)
    clean_run = p[(p["fraction"] == 0) & (p["subset"] == "all")]
    if len(clean_run):
        ax.axhline(clean_run["accuracy"].iloc[0], color="tab:green", lw=1,
                   label=f"the clean run (nothing leaked): {clean_run['accuracy'].iloc[0]:.2f}")
    real = not bool(p["synthetic"].any()) and len(p) and p["dataset"].iloc[0] in paper.RESEMOTENET_ACCURACY
    if real:
        claim = paper.RESEMOTENET_ACCURACY[p["dataset"].iloc[0]]
        ax.axhline(claim, color="black", lw=1, ls="-.", label=f"the paper's claim: {claim:.2f}")
    for f in missing or []:
        ax.axvline(f, color="grey", lw=0.8, ls=(0, (1, 3)))
        ax.annotate("not run", (f, ax.get_ylim()[0]), rotation=90, va="bottom", ha="right", fontsize=8, color="grey")
    ticks = sorted(set(p["fraction"]) | set(missing or []))
    ax.set_xticks(ticks, [f"{f:.0%}" for f in ticks])
    ax.set_xlabel("fraction of the test images added to training")
    ax.set_ylabel("test accuracy (%)")
    note = "" if real else "\n(not a measurement of any real dataset)" if p["synthetic"].any() else ""
    ax.set_title(textwrap.fill(group, 95) + note, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


TREND = {"rising": "it rose with every larger dose", "falling": "it fell with every larger dose",  # `dose_trend`
         "unsteady": "it did not rise steadily with the dose"}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def leak_reading(points: pd.DataFrame, group: str) -> str:
    """A plain reading of one group's dose-response, every number taken from its runs: each leaked fraction's
    change on all test images against the run with nothing leaked, whether it moved steadily with the dose, its
    leaked and clean images, and which changes stand out from their 95% intervals (one run per fraction)."""
    p = points[points["group"] == group]
    out = []
    for copies in ("as-is", "released"):
        q = p[p["copies"] == copies]
        base = q[(q["fraction"] == 0) & (q["subset"] == "all")]
        fs = sorted(set(q["fraction"]) - {0})
        if not len(base) or not fs:
            continue
        b, lo0, hi0 = base[["accuracy", "low", "high"]].iloc[0]

        def row(f, s):
            r = q[(q["fraction"] == f) & (q["subset"] == s)]
            return r.iloc[0] if len(r) else None

        def pct(f, s):
            r = row(f, s)
            return f"{r['accuracy']:.2f}%" if r is not None else "not measured"
        how = "as they are" if copies == "as-is" else "as released-style copies"
        names = [f"{f:.0%}" for f in fs]
        alls = [row(f, "all") for f in fs]
        moved = _and([f"{r['accuracy']:.2f}% ({r['accuracy'] - b:+.2f} points)" for r in alls])
        text = (f"Leaking {_and(names)} of the test images into training {how} moved the accuracy on all test "
                f"images from {b:.2f}% (nothing leaked) to {moved}")
        if len(fs) > 1:
            text += ": " + TREND[dose_trend([b] + [r["accuracy"] for r in alls])]
        out.append(text + ".")
        leaked, clean = [pct(f, "leaked") for f in fs], [pct(f, "clean") for f in fs]
        seen_better = all(row(f, "leaked") is not None and row(f, "clean") is not None
                          and row(f, "leaked")["accuracy"] > row(f, "clean")["accuracy"] for f in fs)
        if len(fs) == 1:
            out.append(f"On the leaked images themselves it was {leaked[0]}, on the clean ones {clean[0]}.")
        else:
            out.append(f"On the leaked images themselves the runs scored {_and(leaked)}, on their clean ones "
                       f"{_and(clean)}" + ("; every run did better on what it had seen." if seen_better else "."))
        fitted = _fit_sentence(q)
        if fitted:
            out.append(fitted)
        # one run per fraction: say which changes stand out from their own uncertainty
        overlap = [r["low"] <= hi0 and lo0 <= r["high"] for r in alls]
        if len(fs) == 1:
            r = alls[0]
            out.append(f"The two runs' 95% intervals on all test images ({lo0:.2f}-{hi0:.2f}% and {r['low']:.2f}-"
                       f"{r['high']:.2f}%) " + ("overlap: with one run each, this change is not told apart from "
                                                "run-to-run noise." if overlap[0] else "do not overlap" + SEEDS + "."))
        elif all(overlap):
            out.append(f"Every leaked run's 95% interval on all test images overlaps the clean run's ({lo0:.2f}-"
                       f"{hi0:.2f}%): with one run per fraction, none of these changes is told apart from run-to-run "
                       "noise.")
        elif not any(overlap):
            out.append(f"No leaked run's 95% interval on all test images overlaps the clean run's ({lo0:.2f}-{hi0:.2f}%)"
                       + SEEDS + ".")
        else:
            over = [n for n, o in zip(names, overlap) if o]
            apart = [n for n, o in zip(names, overlap) if not o]
            out.append(f"On all test images, the 95% {'interval' if len(over) == 1 else 'intervals'} of the "
                       f"{_and(over)} {'run overlaps' if len(over) == 1 else 'runs overlap'} the clean run's "
                       f"({lo0:.2f}-{hi0:.2f}%): with one run per fraction, "
                       f"{'that change is' if len(over) == 1 else 'those changes are'} not told apart from run-to-run "
                       f"noise; {'that' if len(apart) == 1 else 'those'} of the {_and(apart)} "
                       f"{'run does' if len(apart) == 1 else 'runs do'} not" + SEEDS + ".")
    return " ".join(out)


# said wherever a dose is told apart from the clean run: its intervals hold the test set's sampling only
SEEDS = ("; but each interval is the test set's bootstrap of one run, and with one seed per dose the spread from "
         "seed to seed is not measured, so a dose told apart this way may still be within what another seed gives")

def _fit_sentence(q: pd.DataFrame) -> str:
    """How far the series' runs had fitted their training images (leaked ones included), from the training accuracy
    of each run's last epoch: a leak is recalled only once the network fits what it trained on."""
    runs = q[q["subset"] == "all"].dropna(subset=["train_acc"])
    if not len(runs):
        return ""
    lo, hi = runs["train_acc"].min(), runs["train_acc"].max()
    span = f"{lo:.1f}%" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}-{hi:.1f}%"
    ep = sorted({int(x) for x in runs["epochs"]})
    many = len(runs) > 1
    when = (f"In the last of {'their' if many else 'its'} {ep[0]} epoch{'s' if ep[0] != 1 else ''}" if len(ep) == 1
            else "In their last epochs")
    text = (f"{when}, {'the runs' if many else 'the run'} classified {span} of {'their' if many else 'its'} own "
            f"training images correctly (history.csv; in a leaked run, the leaked ones among them)")
    if hi < FITTED:
        return text + (": the network had not fitted its training images, so it had not learnt the leaked ones by "
                       "heart either, and a leak could buy little.")
    return text + ": the network had fitted its training images, the leaked ones among them."


def leak_inference_table(rows: list[dict], claim: float) -> pd.DataFrame:
    """`leak_inference`'s rows for a reader: per clean accuracy c and fitted dose, c with its label, the recall m with
    its interval, n and kind of copy, and the leaked fraction F for `claim` with the range m's interval gives (or
    why there is none); then F, c, m, copies and run as they are. An inference from measurements, not a result."""
    out = []
    for r in rows:
        how = "as they are" if r["copies"] == "as-is" else "as released-style copies"
        f, lo, hi = r["F"], r["F low"], r["F high"]
        text = ("none: c reaches the claim" if f == 0 else "none: m is at or below the claim" if f is None
                else f"{f:.0%}" + (f" ({lo:.0%}-{hi:.0%})" if lo is not None and hi is not None and
                                   round(lo, 2) != round(hi, 2) else ""))
        out.append({"clean accuracy c (%)": f"{r['c']:.2f}: {r['c label']}",
                    "recall of leaked images m (%)": f"{r['m']:.2f} ({r['low']:.2f}-{r['high']:.2f}; "
                                                     f"n={r['n']:,}), leaked {how}",
                    f"leaked fraction for {claim:.2f}%": text, "F": f, "c": r["c"], "m": r["m"],
                    "copies": r["copies"], "run": r["run"]})
    return pd.DataFrame(out)


NO_SHARE = "no share prints it"   # a grid cell where F = (claim - c) / (m - c) has no value in (0, 1]


def grid_cell(f: float | None, c: float, claim: float) -> str:
    """One cell of the grid (`inference_grid`'s F for clean accuracy c): '57%', or why no share prints `claim`."""
    if f is not None and not pd.isna(f):
        return f"{f:.0%}"
    if c >= claim:
        return f"none needed: c is at or above {claim:.2f}%"
    return f"{NO_SHARE} (m ≤ {claim:.2f}%)"


def grid_table(grid: pd.DataFrame) -> pd.DataFrame:
    """The grid (`inference_grid`) for a reader: one row per recall m, one column per clean accuracy c (few, so it
    stays narrow), each cell F or why there is none (`grid_cell`)."""
    if not len(grid):
        return pd.DataFrame()
    t = grid.assign(cell=[grid_cell(f, c, claim) for f, c, claim in zip(grid["F"], grid["c"], grid["claim"])],
                    row=[f"m = {m:.2f}%" + (f" ({l})" if l else "") for l, m in zip(grid["m label"], grid["m"])],
                    col=[f"c = {c:.2f}%: {l}" for l, c in zip(grid["c label"], grid["c"])])
    out = t.pivot(index="row", columns="col", values="cell")
    out = out.loc[list(dict.fromkeys(t["row"])), list(dict.fromkeys(t["col"]))]
    out.index.name, out.columns.name = "recall of leaked images m", None
    return out


def missing_fractions(entries: list[Entry], group: str) -> list[float]:
    """The fractions of a group's planned leak runs that have not finished (nothing leaked counts as 0)."""
    es = [e for e in _leak_entries(entries) if _group(e) == group]
    fin = {leak_block(e.params).get("leak_test_fraction", 0.0) for e in es if e.finished}
    return sorted({leak_block(e.params).get("leak_test_fraction", 0.0) for e in es if not e.finished} - fin)


def leak_groups(entries: list[Entry]) -> list[str]:
    """Every group (data and budget) of the planned or finished leak runs, real data first."""
    return sorted({_group(e) for e in _leak_entries(entries)}, key=lambda g: (g.startswith("synthetic"), g))


def _leak_entries(entries: list[Entry]) -> list[Entry]:
    """The planned or finished runs of a leak experiment. A superseded record is neither: the index lists it under
    every experiment it once stood in, and counted here it made a group of its old budget that would never run."""
    return [e for e in entries if set(e.info.experiments) & set(LEAK_EXPERIMENTS) and e.params
            and not e.superseded]


def leak_plan_text(entries: list[Entry], present: bool) -> str:
    """What this build does about the real-data doses when none is waiting to be made (the commands table is empty):
    whether FER2013 is here to plan them, and which of the doses shown are recorded runs made elsewhere."""
    done = [e for e in _leak_entries(entries) if e.finished and not e.synthetic]
    rec = sorted({f"{leak_block(e.params).get('leak_test_fraction', 0.0):.0%}" for e in done if e.recorded},
                 key=lambda f: float(f.rstrip("%")))
    shown = (f"The real-data doses shown above ({_and(rec)} leaked) are recorded runs, made elsewhere and named in "
             "their captions. " if rec else "")
    if present:
        return shown + "Every planned real-data run of the leak experiment has finished."
    return shown + ("FER2013 is not under data/fer2013 here, so this build plans no real-data dose of its own; with "
                    "it there, `make book` trains them (the reduced budget on a CPU) and this section lists any "
                    "missing one with its command.")


def clean_counts_table(datasets: list[dict]) -> pd.DataFrame:
    """Per dataset summary: test images audited, those with an exact, near or mirror copy in another split, and
    the clean rest every clean-test figure is computed on."""
    from resemote.book.report.entries import dataset_label
    rows = {}
    for d in datasets:
        c = d["summary"].get("clean_test")
        if c:
            rows[dataset_label(d)] = {"test images": f"{c['n_test']:,}", "with a copy in train or validation":
                                      f"{c['with_copy']:,}", "clean": f"{c['n_test'] - c['with_copy']:,}"}
        else:
            rows[dataset_label(d)] = {"test images": "-", "with a copy in train or validation":
                                      "not listed: this summary predates the clean-test list", "clean": "-"}
    return pd.DataFrame(rows).T


# --- how precise the audit's near pairs are, judged by eye -----------------------------------------------------
def load_near_precision(records: str | Path | None = None) -> list[dict]:
    """Every recorded near-pair precision (results/datasets/<name>/near-precision.json, written by
    `resemote.data.pair_sheet.near_precision_record`): names, counts and verdicts, no pixels."""
    from resemote.book.report.entries import REPO
    folder = Path(records or REPO / "results") / "datasets"
    return [json.loads(f.read_text()) for f in sorted(folder.glob("*/near-precision.json"))]


def near_precision_table(recs: list[dict]) -> pd.DataFrame:
    """Per dataset and sample: near pairs looked at, how many were one photograph twice, and the same after
    the dataset's own test (the stricter one for posed datasets), with the whole audit's near counts."""
    rows = []
    for r in recs:
        g, o = r["pairs_general_test"], r["pairs_own_test"]
        for s in r["samples"]:
            n, same, now = s["looked_at"], s["same_photograph"], s["flagged_now"]
            rows.append({
                "dataset": r.get("release") or r["title"], "near pairs sampled": s["name"],
                "looked at (of, seed)": f"{n} (of {s['pool']:,}, seed {s['seed']})",
                "one photograph twice": same, "precision, general test (%)": f"{same / n * 100:.0f}" if n else "-",
                "still flagged now": now,
                "precision now (%)": f"{s['same_photograph_flagged_now'] / now * 100:.0f}" if now else "- (none flagged)",
                "near + mirror pairs in the audit, general test -> now":
                    f"{g['near'] + g['mirror']:,} -> {o['near'] + o['mirror']:,}" + (" (posed: stricter test)"
                                                                                    if r.get("posed") else "")})
    return pd.DataFrame(rows)
