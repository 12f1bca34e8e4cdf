"""Page one: what the records show, in sentences, a compact claims table and one chart per accuracy claim.

Every sentence is built over whatever records exist, never over a record id: the best real result of a dataset
is the one with the largest training budget (most epochs; over its seeds, one run per seed), so a new record
(an 80-epoch GPU run, a Colab run) changes the sentence without anyone editing prose. Synthetic stand-ins are
never read here (`select(..., synthetic=False)` throughout, and dataset summaries of real data only). Verdicts
follow `claims` (a reduced budget never tests an 80-epoch claim); this module only groups and words them.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from resemote import paper
from resemote.analysis.leak_inference import (FITTED, dose_trend, fitted_doses, fitted_recall, grid_recalls,
                                              headline_doses, inference_grid, leak_inference, max_with_copies)
from resemote.book.records import Entry
from resemote.book.report.entries import (CLASSES, DATASETS, REPO, SHORT_TITLES, TITLES, device_label, load_datasets,
                                          load_entries, runs_dir, select)
from resemote.book.report.claims import (NOT_CHECKED, NOT_REPRODUCED, PERMUTED, REPRODUCED, ablation_rows, accuracy_row,
                                         count_rows, load_label_counts, one_per_seed, seed_interval, sensitivity_rows)
from resemote.book.report.other_datasets import load_agreement
from resemote.book.report.leak_section import TREND, clean_score, grid_table, leak_inference_table, leak_points
from resemote.book.report.paper_tables import is_permutation
from resemote.book.report.progress import progress_sentence
from resemote.book.report.tables import cpu_epoch_estimate
from resemote.training.protocols import SUMMARIES

PAPER_EPOCHS = int(paper.SETUP_PAPER["epochs"])  # the budget every accuracy claim is made at
TRAINED = (*DATASETS, "ferplus")      # the datasets a Table III C1 run can be trained on
OUTSIDE = ("ckplus", "jaffe")         # test sets only


def _doc(page: str, text: str) -> str:
    """A link to a chapter inside Markdown output (MyST parses it; a {doc} role resolves the page's title)."""
    return f"{{doc}}`{text} <{page}>`"


def _and(items: list[str]) -> str:
    items = [i for i in items if i]
    return "" if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _n(k: int, word: str) -> str:
    return f"{k} {word}{'' if k == 1 else 's'}"


@dataclass
class Findings:
    """The records page one reads: the run index, real dataset summaries, label-file counts, label agreement."""

    entries: list[Entry]
    datasets: list[dict]                       # real dataset summaries only (this build's first, then recorded)
    label_counts: list[dict] = field(default_factory=list)
    agreement: dict | None = None
    root: Path = field(default_factory=runs_dir)   # the run index's folder (cross results are relative to it)

    def summary(self, name: str) -> dict | None:
        """The real summary of dataset `name` (this build's before a recorded one), or None."""
        ds = sorted((d for d in self.datasets if d["summary"]["dataset"] == name and not d["synthetic"]),
                    key=lambda d: d["kind"] == "recorded")
        return ds[0]["summary"] if ds else None


def load_findings(root: str | Path | None = None, records: str | Path | None = None) -> Findings:
    """Page one's records: the index under `root` (default `runs_dir()`), the label-file counts and the FER+ label
    agreement under `records` (default the repository's results/)."""
    root = Path(root) if root else runs_dir()
    return Findings(load_entries(root), load_datasets(root, synthetic=False), load_label_counts(records),
                    load_agreement(records), root)


# --- the best real result of a dataset -------------------------------------------------------------------------
@dataclass
class Best:
    dataset: str
    runs: list[Entry]       # one per seed, all of the largest budget there is
    epochs: int
    mean: float
    low: float
    high: float
    clean: dict | None      # the clean-test score of a single run (None for several seeds, or none written)

    @property
    def paper_budget(self) -> bool:
        return self.epochs >= PAPER_EPOCHS

    def budget(self) -> str:
        """'9 epochs (reduced budget)' / '80 epochs (the paper's budget)'."""
        kind = "the paper's budget" if self.paper_budget else "reduced budget"
        return f"{self.epochs} epochs ({kind})"

    def label(self) -> str:
        """'9 epochs (reduced budget; 1 run, recorded on CPU)'."""
        return f"{self.budget()[:-1]}; {self.where()})"

    def where(self) -> str:
        """'1 run, recorded on CPU' / '3 seeds, recorded on CUDA, NVIDIA H200; this build'."""
        rec = sorted({device_label(e.metrics) for e in self.runs if e.recorded})
        parts = ([f"recorded on {'/'.join(rec)}"] if rec else []) + (
            ["this build"] if any(not e.recorded for e in self.runs) else [])
        n = len(self.runs)
        return f"{n} {'seeds' if n > 1 else 'run'}, {'; '.join(parts)}"

    def accuracy(self) -> str:
        if len(self.runs) > 1:
            return f"{self.mean:.2f}% (mean of {len(self.runs)} seeds; interval {self.low:.2f}-{self.high:.2f})"
        return f"{self.mean:.2f}% (95% interval {self.low:.2f}-{self.high:.2f})"

    def clean_text(self) -> str:
        c = self.clean
        return f"{c['accuracy'] * 100:.2f}% on its {c['n']:,} clean test images" if c else ""


def best_result(f: Findings, dataset: str, config: str = "C1") -> Best | None:
    """The real result of `config` on `dataset` with the largest budget (most epochs), over one run per seed;
    None where no real run has finished. Leaked runs never count (`select`)."""
    seen: dict[str, Entry] = {}
    for e in select(f.entries, experiment="table3", dataset=dataset, config=config, synthetic=False):
        seen.setdefault(e.id, e)   # a record filling several cells of the plan is one run
    if not seen:
        return None
    epochs = max(e.params.get("epochs") or e.metrics.get("epochs") or 0 for e in seen.values())
    runs = one_per_seed([e for e in seen.values() if (e.params.get("epochs") or e.metrics.get("epochs")) == epochs])
    mean, lo, hi = seed_interval(runs)
    clean = None
    if len(runs) == 1:
        s = clean_score(runs[0], f.datasets)
        clean = s if isinstance(s, dict) and s.get("accuracy") is not None else None
    return Best(dataset, runs, epochs, mean, lo, hi, clean)


STILL_LEARNING = 3   # epochs: validation loss falling across this many last epochs counts as still learning


def _still_rising(e: Entry) -> str:
    """How training ended, by a stated rule: the last `STILL_LEARNING` epochs' validation loss and accuracy, and
    whether the loss fell from each of them to the next (then the run is called still learning; else nothing is
    claimed beyond the numbers)."""
    h = e.run.history if e.run else []
    if len(h) < STILL_LEARNING:
        return ""
    last = h[-STILL_LEARNING:]
    first, end = int(last[0]["epoch"]), int(last[-1]["epoch"])
    shown = (f"over its last {STILL_LEARNING} epochs ({first}-{end}) validation loss read "
             + _and([f"{r['val_loss']:.3f}" for r in last]) + " and validation accuracy "
             + _and([f"{r['val_acc'] * 100:.2f}%" for r in last]))
    falling = all(b["val_loss"] < a["val_loss"] for a, b in zip(last, last[1:]))
    rule = f"by the rule used here (validation loss falling across the last {STILL_LEARNING} epochs)"
    return shown + (f": {rule}, it was still learning" if falling else f": {rule}, it is not called still learning")


def _others(dataset: str) -> list[tuple[str, str]]:
    """Others' re-runs of ResEmoteNet on `dataset` (setting, result), from `paper.OTHERS`."""
    return [(w.removeprefix("ResEmoteNet ").strip(), r) for d, w, r, _, _ in paper.OTHERS
            if d == dataset and w.startswith("ResEmoteNet")]


def others_source(dataset: str) -> str:
    """Where others' retrained ResEmoteNet range on `dataset` comes from, in words ('the released repository's GitHub
    issues #7 #16 ...'), from `paper.OTHERS`; '' where none is listed."""
    for d, w, _, src, _ in paper.OTHERS:
        if d == dataset and w.startswith("ResEmoteNet retrained") and "leaky" not in w:
            m = re.search(r"issues? (.*)$", src)
            return f"the released repository's GitHub issues {m.group(1)}" if m else src
    return ""


def others_range(dataset: str) -> tuple[float, float] | None:
    """The range of others' retrained ResEmoteNet on the standard split ('about 58-66%' -> (58, 66)), or None."""
    for w, r in _others(dataset):
        m = re.search(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)%", r)
        if w.startswith("retrained") and "leaky" not in w and m:
            return float(m.group(1)), float(m.group(2))
    return None


# --- the sentences ----------------------------------------------------------------------------------------------
def _accuracy_sentence(f: Findings, d: str) -> str | None:
    b = best_result(f, d)
    if b is None:
        return None
    claim = paper.RESEMOTENET_ACCURACY.get(d) or paper.RELEASED_README.get(d, (None,))[0]
    whose = "the paper's" if d in paper.RESEMOTENET_ACCURACY else "the released repository's README's"
    s = (f"**{SHORT_TITLES[d]}:** ResEmoteNet (the full network, C1 in the paper's ablation) trained for "
         f"{b.label()} reaches {b.accuracy()}"
         + (f" and {b.clean_text()}" if b.clean else "")
         + (f", against {whose} {claim:.2f}%" if claim is not None else ""))
    if d == "ferplus":
        s += " (eight classes there, seven here)"
    rng = others_range(d)
    if rng:
        s += (f"; others who retrained the authors' released code report about {rng[0]:g}-{rng[1]:g}% "
              f"({others_source(d)})")
    s += "."
    if not b.paper_budget:
        s += f" A reduced budget tests no claim about {PAPER_EPOCHS}-epoch training"
        rising = _still_rising(b.runs[0]) if len(b.runs) == 1 else ""
        s += f"; {rising}." if rising else "."
    return s + f" ({_doc('results', 'Results')})"


def _copies_sentence(f: Findings) -> str | None:
    parts, none = [], []
    for name in ("fer2013", "ferplus", "rafdb", "affectnet", "expw", "ckplus", "jaffe"):
        s = f.summary(name)
        c = (s or {}).get("clean_test")
        if not c or not c.get("n_test"):
            continue
        if c["with_copy"]:
            parts.append(f"{c['with_copy']:,} of {SHORT_TITLES[name]}'s {c['n_test']:,} test images "
                         f"({c['with_copy'] / c['n_test']:.1%})")
        else:
            none.append(SHORT_TITLES[name])
    if not parts and not none:
        return None
    text = (f"{_and(parts)} have a copy (the same photograph, exact, near or mirrored) in training or validation"
            if parts else "")
    if none:
        text += ("; " if text else "") + f"none of {_and(none)}'s test images has one"
    text = text[0].upper() + text[1:]
    return text + (". Every score here is also given on the clean test images alone "
                   f"({_doc('audit', 'Audit')}).")


def _agreement_sentence(f: Findings) -> str | None:
    a = f.agreement
    if not a or not a["all"].get("comparable"):
        return None
    t = a["all"]
    rates = {c: t["by_class"][c]["agree"] / t["by_class"][c]["comparable"] for c in CLASSES
             if t["by_class"][c]["comparable"]}
    low = sorted(rates, key=rates.get)[:2]
    return (f"FER2013's own label matches the majority label of FER+ (the same faces relabelled by ten crowd "
            f"annotators each) on {t['agree'] / t['comparable']:.1%} of the {t['comparable']:,} faces where that "
            f"majority is one of the seven classes; least on "
            + _and([f"{c} ({rates[c]:.1%})" for c in low])
            + f", so part of any FER2013 error is label noise ({_doc('datasets', 'Datasets')}).")


def count_findings(f: Findings, name: str) -> dict | None:
    """Table I/II for one dataset from its records: {'total', 'train', 'test': (ours, published, verdict), 'source'}
    (verdict `PERMUTED` where a column holds the published numbers under other classes), or None without data."""
    rows = count_rows(name, f.datasets, f.label_counts)
    if rows[0]["verdict"] == NOT_CHECKED:
        return None
    s = f.summary(name)
    stats = s["stats"] if s else next(r for r in f.label_counts if r["dataset"] == name)["stats"]
    source = ("counted from its images" if s else "counted from its label file; images not present")
    out = {"source": source, "total": (stats["total"], paper.TABLE_I[name][2], rows[0]["verdict"])}
    if name != "expw":
        for i, split in ((0, "train"), (1, "test")):
            ours = [stats["splits"].get(split, {}).get(c, 0) for c in CLASSES]
            pub = [p[i] for p in paper.TABLE_II[name]]
            v = REPRODUCED if ours == pub else PERMUTED if is_permutation(ours, pub) else NOT_REPRODUCED
            out[split] = (ours, pub, v)
    return out


def _counts_sentence(f: Findings, name: str) -> str | None:
    c = count_findings(f, name)
    if c is None:
        return None
    title = TITLES[name]
    ok = [k for k in ("total", "train", "test") if k in c and c[k][2] == REPRODUCED]
    what = {"total": "Table I's total", "train": "Table II's training counts", "test": "Table II's test counts"}
    s = f"**{title}'s counts**, {c['source']}: "
    s += ("all of Table I's and Table II's counts match" if len(ok) == len([k for k in c if k != "source"]) else
          f"{_and([what[k] for k in ok])} match" if ok else "none of the published counts match")
    for k in ("total", "train", "test"):
        if k not in c or c[k][2] == REPRODUCED:
            continue
        ours, pub, v = c[k]
        if v == PERMUTED:
            moved = [f"{cl} {p:,} (the count of {CLASSES[ours.index(p)]})" for cl, o, p in zip(CLASSES, ours, pub)
                     if o != p]
            s += (f"; {what[k]} are the {'PrivateTest' if name == 'fer2013' else 'test'} split's per-class counts "
                  f"under the wrong classes, a permutation: the paper gives " + _and(moved[:3])
                  + (f" and {len(moved) - 3} more" if len(moved) > 3 else ""))
        elif k == "total":
            s += f"; the total is {ours:,}, not the published {pub:,}"
        else:
            differ = [cl for cl, o, p in zip(CLASSES, ours, pub) if o != p]
            s += f"; {what[k]} differ in {_and(differ)}"
    return s + f" ({_doc('datasets', 'Datasets')})."


def _cross_sentence(f: Findings) -> str | None:
    parts = []
    for d in ("fer2013", "ferplus"):
        b = best_result(f, d)
        if b is None or len(b.runs) != 1:
            continue
        e = b.runs[0]
        scores = []
        for name in OUTSIDE:
            path = (e.info.cross or {}).get(name)
            if not path or not (f.root / path).is_file():
                continue
            m = json.loads((f.root / path).read_text())
            absent = m.get("coverage", {}).get("absent_from_test") or []
            scores.append(f"{m['accuracy'] * 100:.2f}% of {TITLES[name]}'s {m['n']:,} images"
                          + (f" (no {_and(absent)} there)" if absent else ""))
        if scores:
            parts.append(f"trained on {SHORT_TITLES[d]} ({b.epochs} epochs), C1 classifies {_and(scores)}")
    if not parts:
        return None
    claims = [f"{v[0]:.2f}% on {TITLES[k]}" for k, v in paper.RELEASED_README.items() if k in OUTSIDE]
    s = "Across datasets, " + "; ".join(parts)
    if claims:
        s += (f". The released repository's README claims {_and(claims)}, a model trained on that dataset itself "
              "with its split unpublished, not a cross-dataset test")
    return s + f" ({_doc('results', 'Results')})."


def clean_accuracies(f: Findings, dataset: str = "fer2013") -> list[tuple[str, float]]:
    """The clean accuracies c (label, %) the leak inference starts from: our best real result of C1 on `dataset`
    (its budget named) and the two ends of others' re-runs of the released code."""
    out = []
    b = best_result(f, dataset)
    if b is not None:
        out.append((f"ours, C1, {b.epochs} epochs" + ("" if b.paper_budget else ", a reduced budget"), b.mean))
    rng = others_range(dataset)
    if rng:
        out += [("others' re-runs of the released code, low end", rng[0]),
                ("others' re-runs of the released code, high end", rng[1])]
    return out


def inference_table(f: Findings, dataset: str = "fer2013") -> pd.DataFrame:
    """`analysis.leak_inference.leak_inference` over the records, as a table (`leak_section.leak_inference_table`):
    every fitted dose's recall against `clean_accuracies`, to the paper's claim on `dataset`. Empty until a fitted
    dose is recorded."""
    claim = paper.RESEMOTENET_ACCURACY[dataset]
    return leak_inference_table(leak_inference(leak_points(f.entries), clean_accuracies(f, dataset), claim), claim)


def _leaky_retrained(dataset: str) -> tuple[str, str] | None:
    """(result, source) of others' retraining on the authors' shared, leaky copy of `dataset` (`paper.OTHERS`)."""
    for d, w, r, src, _ in paper.OTHERS:
        if d == dataset and w.startswith("ResEmoteNet retrained") and "leaky" in w:
            return r, src.replace("released repository, issues", "the released repository's GitHub issues")
    return None


def _released_condition(f: Findings, released: dict, dataset: str = "fer2013") -> tuple[str, str]:
    """The condition a low recall of released-style copies holds under: (the network that measured it, by its own
    clean-test score and training set; what others saw after retraining on the authors' leaky copy, or '')."""
    points = leak_points(f.entries)
    clean = points[(points["run"] == released["run"]) & (points["subset"] == "clean")]
    e = next(e for e in f.entries if e.id == released["run"])
    sizes = e.params.get("split_sizes") or {}
    own = sizes.get("train", 0) - sizes.get("leaked_into_train", 0)
    by = ("a network that scored " + (f"{clean['accuracy'].iloc[0]:.2f}%" if len(clean) else "what it scored")
          + " on its clean test images" + (f" after training on {own:,} images of the training split and the "
                                             "leaked copies" if own > 0 else ""))
    leaky = _leaky_retrained(dataset)
    better = (f"a network trained on the whole split may recognise altered copies far better: others who retrained the "
              f"released code on the authors' shared copy report {leaky[0]} test accuracy ({leaky[1]})" if leaky else "")
    return by, better


def _why_low(f: Findings, released: dict, dataset: str) -> tuple[str, str]:
    by, better = _released_condition(f, released, dataset)
    return by, (f"; but {better}" if better else "")


def inference_sentence(f: Findings, dataset: str = "fer2013", link: bool = True) -> str | None:
    """The inference in words: with the recall a fitted dose measured, what share of the test images would have
    to be leaked for the clean accuracies we know to print the claim; beside it, the share the audit finds
    copied in the official splits. None until a fitted dose is recorded."""
    every = inference_table(f, dataset)
    t = every[every["copies"] == "as-is"] if len(every) else every
    t = t[t["run"] == t["run"].iloc[0]] if len(t) else t   # one fitted dose's recall: never F's mixed across budgets
    fs = [(c, F) for c, F in zip(t["c"], t["F"]) if pd.notna(F)] if len(t) else []
    if not fs:
        return None
    claim = paper.RESEMOTENET_ACCURACY[dataset]
    lo, hi = min(fs, key=lambda x: x[1]), max(fs, key=lambda x: x[1])
    s = (f"*Inference, not a result:* a network that fits its training images (at least {FITTED:g}% of them right "
         f"in its last epoch) answered {t['m'].iloc[0]:.2f}% of the test images leaked into its training as they are correctly "
         f"(fitted dose); at that rate, a model scoring {hi[0]:.2f}% on unseen images would score {claim:.2f}% "
         f"with {hi[1]:.0%} of the test images leaked, one scoring {lo[0]:.2f}% with {lo[1]:.0%}")
    c = (f.summary(dataset) or {}).get("clean_test") or {}
    if c.get("n_test"):
        s += (f"; the official splits hold copies of {c['with_copy'] / c['n_test']:.1%} of the test images, so "
              f"{'that alone falls short' if c['with_copy'] / c['n_test'] < lo[1] else 'that alone could do it'}")
    rel = every[(every["copies"] == "released") & (every["run"].isin(
        [r["run"] for r in fitted_recall(leak_points(f.entries)) if r["copies"] == "released"]))]
    if len(rel):
        ours = rel.iloc[0]
        r = next(r for r in fitted_recall(leak_points(f.entries)) if r["run"] == ours["run"])
        s += (f". Leaked as released-style copies (rotated, mirrored or cropped, saved as JPEG) they were answered "
              f"right at {ours['m']:.2f}%" + (
                  ", below the claim: for {}, no share of the test images leaked that way prints it{}".format(
                      *_why_low(f, r, dataset)) if pd.isna(ours["F"]) else
                  f": from {ours['c']:.2f}% it would take {ours['F']:.0%} of them"))
    return s + (f" ({_doc('audit', 'Audit')})." if link else ".")


# --- the inference grid: F over a range of clean accuracies and recalls -------------------------------------------
@dataclass
class Inference:
    """The leak inference's inputs, each from a record or `resemote.paper`, and its grid
    (`analysis.leak_inference.inference_grid`)."""

    claim: float
    cleans: list[tuple[str, float]]
    recalls: list[tuple[str, float]]      # the grid's columns: measured ends, what-ifs between
    as_is: dict                           # `leak_inference.fitted_recall` row of the dose leaked as they are
    released: dict | None                 # the same dose leaked as released-style copies, where recorded
    condition: tuple[str, str]            # what measured the released-style recall; why others' may be higher
    copied: float | None                  # share of test images with a copy in the official splits (0-1)
    trained_on: dict                      # the as-is dose's split sizes (params.json `split_sizes`)
    grid: pd.DataFrame
    runs: list[str]


def inference(f: Findings, dataset: str = "fer2013") -> Inference | None:
    """The grid's inputs from the records: c from our best result through others' re-runs; m from the recall of
    released-style copies to that of images leaked as they are, in one fitted group (never mixed across budgets),
    with what-if recalls evenly between. None until a fitted dose leaked as they are is recorded."""
    as_is, released = fitted_doses(fitted_recall(leak_points(f.entries)))
    cleans = clean_accuracies(f, dataset)
    if as_is is None or not cleans:
        return None
    ends = {as_is["m"]: "leaked as they are, measured"}
    if released:
        ends[released["m"]] = "released-style copies, measured"
    recalls = grid_recalls(ends, "what-if, between the two")
    claim = paper.RESEMOTENET_ACCURACY[dataset]
    c = (f.summary(dataset) or {}).get("clean_test") or {}
    best = best_result(f, dataset)
    return Inference(claim, cleans, recalls, as_is, released,
                     _released_condition(f, released, dataset) if released else ("", ""),
                     c["with_copy"] / c["n_test"] if c.get("n_test") else None,
                     next((e.params.get("split_sizes") or {} for e in f.entries if e.id == as_is["run"]), {}),
                     inference_grid(claim, cleans, recalls),
                     [as_is["run"]] + ([released["run"]] if released else []) + [e.id for e in (best.runs if best else [])])


def inference_intro(inf: Inference, dataset: str = "fer2013") -> str:
    """What the grid computes, and where each input comes from."""
    a, r = inf.as_is, inf.released
    cl = inf.cleans
    s = ("*An inference from measurements, not a result.* Suppose a share F of the test images had been seen in "
         "training and were answered right as often as the leak experiment's network answered its leaked test images "
         "(m), while the rest scored what a model scores on images it never saw (c). The printed accuracy would be "
         f"F·m + (1 − F)·c, so the share that prints the paper's {inf.claim:.2f}% is F = ({inf.claim:.2f} − c) / "
         "(m − c). The sum assumes the unseen images score c whatever was leaked. ")
    s += f"The clean accuracy c runs from {cl[0][1]:.2f}% ({cl[0][0]})"
    if len(cl) > 1:
        s += (f" through {_and([f'{c:.2f}%' for _, c in cl[1:]])}, the two ends of what others report after "
              f"retraining the released code ({others_source(dataset)})")
    sizes = inf.trained_on
    made = (f"; its {sizes['train']:,} training images were {sizes['leaked_into_train']:,} leaked test images and "
            f"{sizes['train'] - sizes['leaked_into_train']:,} from the training split, so the model mostly saw "
            "leaked images" if sizes.get("train") and sizes.get("leaked_into_train") else "")
    s += (f". The recall m runs from {r['m']:.2f}% (the {r['fraction']:.0%} dose leaked as released-style copies, "
          f"measured by {inf.condition[0]})" if r else ". The recall m is") + (
        f" to {a['m']:.2f}% (the {a['fraction']:.0%} dose leaked as they are{made})")
    if r:
        s += "; the rows between are evenly spaced what-ifs, not measurements"
    return s + "."


def inference_conclusions(inf: Inference) -> str:
    """Which conclusion holds over the whole grid and which does not, computed from its cells."""
    g = inf.grid
    shares = g["F"].dropna()
    none = g[g["F"].isna()]
    out = []
    if inf.copied is not None:
        below = shares[shares <= inf.copied]
        if not len(below):
            cmax = max(c for _, c in inf.cleans)
            bound = max_with_copies(inf.copied, cmax)
            out.append(
                f"**Holds over the whole grid:** in every cell either no share prints {inf.claim:.2f}% or the share "
                f"needed" + (f" (at least {shares.min():.0%})" if len(shares) else "") + f" is more than the "
                f"{inf.copied:.1%} of test images that have a copy in the official splits, so those copies cannot by "
                f"themselves explain {inf.claim:.2f}%. Even if every copied image were answered right, a model "
                f"scoring {cmax:.2f}% on the rest would print at most {bound:.2f}%"
                + ("." if bound < inf.claim else f", which reaches {inf.claim:.2f}%."))
        else:
            out.append(f"**Does not hold over the whole grid:** in {len(below)} of {len(g)} cells the share needed is "
                       f"at or below the {inf.copied:.1%} of test images copied in the official splits, so there "
                       f"those copies alone could print {inf.claim:.2f}%.")
    if len(shares):
        text = (f"**Not settled by the grid:** how much was leaked. Where a share prints {inf.claim:.2f}%, it ranges "
                f"from {shares.min():.0%} to {shares.max():.0%} with c and m")
        if len(none):
            by, better = inf.condition
            text += (f"; in {len(none)} of {len(g)} cells, those with m at or below {inf.claim:.2f}%, no share does. "
                     f"The one m measured that low, for released-style copies, came from {by}"
                     + (f"; {better}, so whether such copies alone could print {inf.claim:.2f}% is not settled either"
                        if better else "") if by else f"; in {len(none)} of {len(g)} cells no share does")
        out.append(text + ".")
    return "\n\n".join(out)


def inference_markdown(f: Findings, dataset: str = "fer2013") -> tuple[str, pd.DataFrame, str] | None:
    """Page one's inference section: its introduction, the grid as a table and its conclusions; None until a fitted
    dose is recorded."""
    inf = inference(f, dataset)
    if inf is None:
        return None
    return inference_intro(inf, dataset), grid_table(inf.grid), inference_conclusions(inf)


def _leak_sentence(f: Findings) -> str | None:
    points = leak_points(f.entries)
    # a group where the network fitted its training images says what a leak does; else the one with most doses
    q = headline_doses(points)
    if not len(q):
        return None
    group = q["group"].iloc[0]
    if q["fraction"].nunique() < 2 or not (q["fraction"] == 0).any():
        return None
    doses = _and([f"{x:.0%}" for x in q["fraction"]])
    accs = _and([f"{a:.2f}%" for a in q["accuracy"]])
    trend = TREND[dose_trend(list(q["accuracy"]))]
    ids = set(q["run"])
    train = [e.run.history[-1]["train_acc"] * 100 for e in f.entries
             if e.id in ids and e.run and e.run.history]
    e = next(e for e in f.entries if e.id == q["run"].iloc[0])
    x, proto = e.params, e.params.get("protocol", "paper")
    recipe = ("the paper's recipe" if proto == "paper" else
              f"{SUMMARIES.get(proto, f'the {proto} recipe').split(' (')[0]}, not the paper's,")
    name = SHORT_TITLES.get(x.get("dataset"), x.get("dataset"))
    on = (f"a stratified {x['train_subset']:,}-image subset of {name}'s training split" if x.get("train_subset")
          else f"{name}'s training split")
    s = (f"The leak experiment ({x.get('epochs')} epochs of {recipe} on {on}) added {doses} of the test images to "
         f"training: test accuracy {accs}; {trend} (one run per dose)")
    leaked = points[(points["group"] == group) & (points["copies"] == "as-is") & (points["subset"] == "leaked")]
    if len(leaked):
        r = leaked.sort_values("fraction").iloc[-1]
        s += (f"; the {r['fraction']:.0%} dose classified {r['accuracy']:.2f}% of its leaked test images correctly "
              f"(images it had trained on)")
    if train:
        lo, hi = min(train), max(train)
        s += f". Training accuracy ended at {lo:.1f}" + (f"-{hi:.1f}%" if round(hi, 1) != round(lo, 1) else "%")
        if hi < FITTED:
            s += (": the network had not fitted its own training images, so it could not yet profit from having "
                  "seen a test image; these doses do not show what leakage does to a fitted network")
    return s + f" ({_doc('audit', 'Audit')})."


def finding_sentences(f: Findings) -> list[str]:
    """One sentence (or two) per finding, each from the records, each linking to the page that shows it."""
    out = [_accuracy_sentence(f, "fer2013")]
    out += [_accuracy_sentence(f, d) for d in (*DATASETS[1:], "ferplus")]
    out += [_copies_sentence(f), _agreement_sentence(f)]
    out += [_counts_sentence(f, d) for d in DATASETS]
    out += [_cross_sentence(f), _leak_sentence(f)]   # the leak inference has its own section
    return [s for s in out if s]


def findings_markdown(f: Findings) -> str:
    s = finding_sentences(f)
    return "\n".join(f"- {x}" for x in s) if s else "No real-data record is here yet: nothing has been found."


def trained_markdown(f: Findings) -> str:
    """What this companion trained, on what, at which budget; and which of the paper's datasets it could not."""
    done = []
    for d in TRAINED:
        b = best_result(f, d)
        if b:
            done.append(f"{SHORT_TITLES[d]} ({b.epochs} epochs, {b.where()})")
    missing = [SHORT_TITLES[d] for d in DATASETS if best_result(f, d) is None]
    s = (f"So far it has trained ResEmoteNet on {_and(done)}" if done else
         "No real-data run has finished yet: only synthetic stand-ins, which test the pipeline and nothing else")
    if missing:
        s += f"; {_and(missing)} {'were' if len(missing) > 1 else 'was'} not trained, for want of images"
    return s + "."


# --- the verdict --------------------------------------------------------------------------------------------------
def verdict_markdown(f: Findings) -> str:
    """Two or three sentences of measured results only: where the accuracy claims stand, what the counts show,
    what limits trust. No inference: that is `inference_markdown`'s, below, with its inputs."""
    acc = {d: accuracy_row("", paper.RESEMOTENET_ACCURACY[d], _paper_runs(f, d), [], d, "results")["verdict"]
           for d in DATASETS}
    tested = [d for d in DATASETS if acc[d] != NOT_CHECKED]
    fer = best_result(f, "fer2013")
    if not tested:
        s = (f"None of the paper's four accuracy claims has been tested at its {PAPER_EPOCHS}-epoch budget yet")
        if fer:
            s += (f": the best real FER2013 result so far, ResEmoteNet trained for {fer.budget()}, reaches "
                  f"**{fer.mean:.2f}%** against the paper's **{paper.RESEMOTENET_ACCURACY['fer2013']:.2f}%**")
            rng = others_range("fer2013")
            if rng:
                s += (f" (others who retrained the authors' released code report about {rng[0]:g}-{rng[1]:g}%, in "
                      f"{others_source('fer2013')})")
        s += "."
    else:
        rep = [TITLES[d] for d in tested if acc[d] == REPRODUCED]
        nrep = [TITLES[d] for d in tested if acc[d] != REPRODUCED]
        s = (f"Of the paper's four accuracy claims, {len(tested)} {'has' if len(tested) == 1 else 'have'} been tested "
             f"at its {PAPER_EPOCHS}-epoch budget: " + "; ".join(
                 x for x in (f"reproduced on {_and(rep)}" if rep else "", f"not reproduced on {_and(nrep)}" if nrep
                             else "") if x))
        if fer:
            s += (f". The best real FER2013 result is **{fer.mean:.2f}%** ({fer.budget()}) against the paper's "
                  f"**{paper.RESEMOTENET_ACCURACY['fer2013']:.2f}%**")
        s += "."
    going = progress_sentence(f.entries)  # a claim's run still training: how far, never a score
    if going:
        s += " " + going
    words = {"total": "total", "train": "training counts", "test": "test counts"}
    good, mixed = [], []
    for d in DATASETS:
        c = count_findings(f, d)
        if not c:
            continue
        keys = [k for k in ("total", "train", "test") if k in c]
        ok = [words[k] for k in keys if c[k][2] == REPRODUCED]
        if len(ok) == len(keys):
            good.append(TITLES[d])
            continue
        wrong = [f"its {words[k]} {'are the right numbers under the wrong classes' if c[k][2] == PERMUTED else 'differ'}"
                 for k in keys if c[k][2] != REPRODUCED]
        mixed.append(f"{TITLES[d]}'s {_and(ok)} {'are' if len(ok) > 1 or ok[0].endswith('s') else 'is'} reproduced "
                     f"but {_and(wrong)}" if ok else f"{TITLES[d]}'s counts differ: {_and(wrong)}")
    parts = ([f"{_and(good)}'s Table I and II counts are reproduced"] if good else []) + mixed
    if parts:
        text = "; ".join(parts)
        s += " " + text[0].upper() + text[1:] + "."
    c = (f.summary("fer2013") or {}).get("clean_test")
    a = f.agreement
    trust = ([f"{c['with_copy'] / c['n_test']:.0%} of FER2013's test images have a copy in its training or "
              "validation data"] if c and c.get("n_test") and c.get("with_copy") else []) + (
        [f"its labels agree with FER+ (the same faces relabelled by ten annotators each) on only "
         f"{a['all']['agree'] / a['all']['comparable']:.0%} of faces"]
        if a and a["all"].get("comparable") else [])
    if trust:
        s += " The data themselves limit what any FER2013 score means: " + _and(trust) + "."
    return s   # measured results only: the leak inference has its own section (`inference_markdown`)


def _paper_runs(f: Findings, d: str) -> list[Entry]:
    return select(f.entries, experiment="table3", dataset=d, config="C1", synthetic=False, profile="paper")


# --- the claims table -----------------------------------------------------------------------------------------------
ACC_COLUMNS = ["claim", "this companion's best real result", "others' re-runs", "verdict"]


def _accuracy_claim(f: Findings, d: str) -> dict:
    claim = paper.RESEMOTENET_ACCURACY[d]
    row = accuracy_row("", claim, _paper_runs(f, d), [], d, "results")
    b = best_result(f, d)
    if b is None:
        ours = f"no real run: needs {TITLES[d]} under data/{d}"
    else:
        ours = f"{b.accuracy()}; {b.label()}" + (f"; {b.clean_text()}" if b.clean else "")
    verdict = row["verdict"]
    if verdict == NOT_CHECKED:
        verdict += f" (needs {PAPER_EPOCHS}-epoch runs" + ("; ours is a reduced budget)" if b else ")")
    others = "; ".join(f"{w}: {r}" for w, r in _others(d)) or "-"
    return {"claim": f"Table III: {claim:.2f}% on {TITLES[d]}", "this companion's best real result": ours,
            "others' re-runs": others, "verdict": verdict}


def _group_verdict(rows: list[dict]) -> str:
    v = [r["verdict"] for r in rows]
    if all(x == REPRODUCED for x in v):
        return REPRODUCED
    return f"{v.count(REPRODUCED)} of {len(v)} reproduced, {len(v) - v.count(REPRODUCED)} not"


def claims_summary(f: Findings) -> pd.DataFrame:
    """The paper's claims for a reader: the four Table III accuracies first (best real result with its budget,
    interval and clean-test score; others' re-runs; verdict); then one row per question that the records answer
    (a dataset's Table I/II counts, the ablation, the sensitivity study); then the unchecked ones collapsed by
    what would check them."""
    rows = [_accuracy_claim(f, d) for d in DATASETS]
    todo: dict[str, list[str]] = {}
    for d in DATASETS:
        c = count_findings(f, d)
        n = len(count_rows(d, [], []))  # the claims of one dataset's counts (claims.claims_table's rows)
        if c is None:
            todo.setdefault(f"needs {TITLES[d]} under data/{d}", []).append(f"{TITLES[d]}'s Table I/II counts ({n})")
            continue
        parts, verdicts = [], []
        for k, what in (("total", "total"), ("train", "training per class"), ("test", "test per class")):
            if k not in c:
                continue
            ours, pub, v = c[k]
            verdicts.append(v)
            if k == "total":
                parts.append(f"total {ours:,} (paper {pub:,})")
            elif v != REPRODUCED:
                parts.append(f"{what}: {' / '.join(map(str, ours))} (paper {' / '.join(map(str, pub))})")
        ok = [k for k in ("train", "test") if k in c and c[k][2] == REPRODUCED]
        if ok:
            parts.append(" and ".join({"train": "training", "test": "test"}[k] for k in ok) + " per class as published")
        verdict = (REPRODUCED if all(v == REPRODUCED for v in verdicts) else
                   "; ".join(f"{ {'total': 'total', 'train': 'training column', 'test': 'test column'}[k]} "
                             f"{c[k][2]}" for k in ("total", "train", "test") if k in c and c[k][2] != REPRODUCED))
        if d == "expw":
            verdict += "; no published split to compare per class"
        rows.append({"claim": f"Tables I/II: {TITLES[d]}'s image counts", "this companion's best real result":
                     f"{'; '.join(parts)}; {c['source']}", "others' re-runs": "-", "verdict": verdict})
    for label, short, sub in (
            ("Table IV: the ablation (what removing each component costs on RAF-DB)", "Table IV's ablation drops",
             ablation_rows),
            ("Sensitivity: batch size 16 and 80 epochs were best", "the sensitivity study (batch 16, 80 epochs best)",
             sensitivity_rows)):
        rs = sub(f.entries)
        if all(r["verdict"] == NOT_CHECKED for r in rs):
            need = ("needs RAF-DB images and 80-epoch runs of C1-C6" if sub is ablation_rows
                    else "needs 80-epoch runs at four batch sizes")
            todo.setdefault(need, []).append(f"{short} ({len(rs)})")
        else:
            rows.append({"claim": label, "this companion's best real result": "; ".join(
                f"{r['claim']}: {r['this companion']}" for r in rs), "others' re-runs": "-",
                "verdict": _group_verdict(rs)})
    for need, what in todo.items():
        n = sum(int(re.search(r"\((\d+)\)$", w).group(1)) for w in what)
        rows.append({"claim": f"{_n(n, 'claim')}: " + _and([re.sub(r" \(\d+\)$", "", w) for w in what]),
                     "this companion's best real result": need, "others' re-runs": "-", "verdict": NOT_CHECKED})
    return pd.DataFrame(rows, columns=ACC_COLUMNS)


# --- one chart per accuracy claim -----------------------------------------------------------------------------------
def claims_figure(f: Findings):
    """Small multiples, one per Table III claim: the paper's figure, others' re-run range, and this companion's
    best real result with its 95% interval and budget (or 'no real run'). Records only; nothing synthetic."""
    import matplotlib.pyplot as plt
    fig, grid = plt.subplots(2, 2, figsize=(7.5, 5.6), sharey=True)
    axes = list(grid.flat)
    for ax, d in zip(axes, DATASETS):
        claim = paper.RESEMOTENET_ACCURACY[d]
        ax.axhline(claim, color="black", lw=1.5, label="the paper's claim")
        ax.annotate(f"paper {claim:.2f}", (0.02, claim), xycoords=("axes fraction", "data"), va="bottom", fontsize=9)
        rng = others_range(d)
        if rng:
            ax.axhspan(*rng, color="tab:orange", alpha=0.25, label="others' re-runs of the released code")
        b = best_result(f, d)
        if b is not None:
            colour = "tab:blue" if b.paper_budget else "tab:grey"
            ax.errorbar([0.5], [b.mean], yerr=[[b.mean - b.low], [b.high - b.mean]], fmt="o", color=colour,
                        capsize=4, label="ours, 95% interval")
            ax.annotate(f"ours {b.mean:.2f}\n{b.epochs} epochs" + ("" if b.paper_budget else " (reduced)"),
                        (0.58, b.mean), va="center", fontsize=9, color=colour)
        else:
            ax.annotate("no real run yet", (0.5, 0.5), xycoords="axes fraction", ha="center", fontsize=9,
                        color="grey")
        ax.set_title(TITLES[d], fontsize=10)
        ax.set_xlim(0, 1.2)
        ax.set_xticks([])
    axes[0].set_ylim(30, 100)
    for ax in grid[:, 0]:
        ax.set_ylabel("test accuracy (%)")
    handles = {l: h for ax in axes for h, l in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


# --- what is not tested yet, and what it costs ------------------------------------------------------------------------
def colab_url(notebook: str = "notebooks/train.ipynb") -> str | None:
    """The Colab link of `notebook`, as the run pages' launch button builds it (_config.yml; the book's commit)."""
    import yaml
    from resemote.book.launch_buttons import launch_urls
    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    url = (cfg.get("repository") or {}).get("url", "").rstrip("/")
    if "github.com/" not in url:
        return None
    org, repo = url.split("github.com/", 1)[1].split("/")[:2]
    theme = {"launch_buttons": cfg.get("launch_buttons") or {}, "path_to_docs": ""}
    ref = os.environ.get("RESEMOTE_BOOK_COMMIT") or (cfg.get("repository") or {}).get("branch") or "main"
    return launch_urls(theme, notebook, ref, org, repo).get("Colab")


def _splits(f: Findings, d: str) -> tuple[dict, str]:
    """Per-split class counts of `d` and where they come from: its images, its label file, else the paper."""
    s = f.summary(d)
    if s:
        return s["stats"]["splits"], "its images"
    rec = next((r for r in f.label_counts if r["dataset"] == d), None)
    if rec:
        return rec["stats"]["splits"], "its label file"
    return ({"train": dict(zip(CLASSES, (t for t, _ in paper.TABLE_II[d]))),
             "test": dict(zip(CLASSES, (t for _, t in paper.TABLE_II[d])))}, "the paper's Table II")


def untested_markdown(f: Findings) -> str:
    """What the records cannot say yet: the datasets whose images are missing, and the paper's 80-epoch budget,
    with its estimated GPU cost (FLOPs; `resemote.book.colab`) and the Colab link."""
    from resemote.book.colab import T4_FP32_TFLOPS, UTILISATION, t4_estimate
    lines = []
    missing = [d for d in DATASETS if f.summary(d) is None]
    if missing:
        label = [r["dataset"] for r in f.label_counts]
        lines.append("- **Datasets this build could not get:** " + _and(
            [TITLES[d] + (" (its label file only: counts checked, nothing trained)" if d in label else "")
             for d in missing])
            + ". Their accuracy claims, and RAF-DB's ablation, wait for the images under `data/<name>/` "
              "(`data/README.md` says where each comes from).")
    est, total = [], 0.0
    for d in DATASETS:
        splits, src = _splits(f, d)
        e = t4_estimate("C1", splits, PAPER_EPOCHS)
        lo, hi = e.hours
        total += hi
        est.append(f"{TITLES[d]} {lo:.1f}-{hi:.1f} h (sizes from {src})")
    full = [SHORT_TITLES[d] for d in TRAINED if (b := best_result(f, d)) and b.paper_budget]
    have = (f"{_and(full)} {'has' if len(full) == 1 else 'have'} {PAPER_EPOCHS}-epoch runs, the rest none"
            if full else "no run here has it")
    lines.append(f"- **The paper's {PAPER_EPOCHS}-epoch budget:** {have}. *Estimated* from C1's FLOPs "
                 f"(not measured), one {PAPER_EPOCHS}-epoch C1 run takes on a Colab T4 (peak {T4_FP32_TFLOPS} TFLOPS, "
                 f"assumed {UTILISATION[0]:.0%}-{UTILISATION[1]:.0%} used): " + "; ".join(est)
                 + f"; three seeds of all four, at most about {3 * total:.0f} GPU hours. "
                 "A faster GPU takes proportionally less.")
    cpu = cpu_epoch_estimate(f.entries)  # the one stated figure the compute chapter also uses: the median epoch
    if cpu:
        e = cpu["entry"]
        lines.append(f"- **On a CPU**, for scale: the FER2013 epochs of run {e.id} ({e.metrics['device']}) took "
                     f"{cpu['fastest_s']:,.0f}-{cpu['slowest_s']:,.0f} s, median {cpu['median_s']:,.0f} s; at the "
                     f"median, {cpu['epochs']} epochs would take about {cpu['hours']:.0f} h per seed (between "
                     f"{cpu['fastest_s'] * cpu['epochs'] / 3600:.0f} and {cpu['slowest_s'] * cpu['epochs'] / 3600:.0f} h "
                     "at its fastest and slowest epoch; measured per epoch, multiplied).")
    url = colab_url()
    if url:
        lines.append(f"- **Run it on a GPU:** [open `notebooks/train.ipynb` in Colab]({url}) (choose a T4 runtime, "
                     "put the dataset under `data/<name>/`, set the epochs to the paper's), then `resemote publish "
                     "runs/<id>` and commit the record: the sentences above then say what it found.")
    return "\n".join(lines)


# --- what exists on real data, for the reading guide and the runs list ---------------------------------------------
def _real_finished(f: Findings, experiment: str) -> list[Entry]:
    return [e for e in select(f.entries, experiment=experiment, synthetic=False) if e.finished]


def reading_guide(f: Findings) -> str:
    """'How to read this book': one line per chapter, saying of the chapters that hold results what they hold on
    real data now (from the run index), so the guide never promises a table or map that only synthetic runs have."""
    from resemote.book.report.tables import cam_figures
    trained = [f"{SHORT_TITLES[d]} ({b.epochs} epochs)" for d in TRAINED if (b := best_result(f, d))]
    extra = {"baselines": "standard networks trained the same way", "table4": "the ablation (C2-C6)",
             "sensitivity": "the sensitivity study"}
    have = [w for x, w in extra.items() if _real_finished(f, x)]
    lack = [w for x, w in extra.items() if not _real_finished(f, x)]
    cross = any((e.info.cross or {}) for d in TRAINED if (b := best_result(f, d)) for e in b.runs)
    res = ("- {doc}`results` and {doc}`ablation` put the paper's Tables III and IV beside our runs. On real data "
           + (f"they hold ResEmoteNet on {_and(trained)}" if trained else "they hold no run yet")
           + (" and a cross-dataset test" if cross else "")
           + (f", and {_and(have)}" if have else "") + ".")
    if lack:
        res += (f" {_and(lack)[0].upper() + _and(lack)[1:]} need{'s' if len(lack) == 1 else ''} runs of the paper's "
                f"{PAPER_EPOCHS}-epoch budget, none of which is here on real data: the appendix shows "
                f"{'it' if len(lack) == 1 else 'them'} on synthetic stand-ins only.")
    maps = cam_figures(select(f.entries, synthetic=False), f.root)
    cam = ("- {doc}`gradcam` shows which parts of a face drive a run's predictions (Grad-CAM), for the runs of "
           "this build that keep their weights: " + (f"{_n(len(maps), 'real-data run')} here." if maps else
                                                      "none on real data here (a recorded run keeps no weights); the "
                                                      "synthetic stand-ins' maps are in the appendix."))
    return "\n".join([
        "- {doc}`introduction` places the work among facial expression recognition methods.",
        "- {doc}`method` restates the architecture and gives a layer table generated from our implementation.",
        "- {doc}`datasets` recomputes the paper's Tables I and II from the data (from a label file alone where only "
        "that is here).",
        "- {doc}`setup` compares the training recipe of the paper, of the released script, and of this companion.",
        res, cam,
        "- {doc}`audit` collects what limits trust in the published numbers.",
        "- {doc}`compute` compares training and inference cost.",
        "- {doc}`run-pages` lists every run with its status and the command that makes it, then each run's page.",
        "- {doc}`demo` runs the whole pipeline on synthetic cartoon faces, to show it works end to end where no "
        "dataset is present; its numbers say nothing about the paper."])


def plan_made_text(meta: dict, entries: list[Entry]) -> str:
    """What 'every run is made' covers: the profile this build planned (`index.json`'s meta), and whether the
    paper's profile has any real run here (this build's or recorded)."""
    prof = meta.get("profile") or "?"
    profiles = meta.get("profiles") or {}
    p = profiles.get(prof, {})
    seeds = len(p.get("seeds", []))
    what = (f" ({p['epochs']} epochs, {_n(seeds, 'seed')}; an experiment may set its own, as its row says)"
            if p.get("epochs") else "")
    s = f"Every real-data run of this build's plan, the {prof} profile{what}, is made."
    if prof != "paper":
        paper_p = profiles.get("paper", {})
        n = len([e for e in entries if not e.synthetic and e.finished and e.info.profile == "paper"])
        s += (f" The paper's profile ({paper_p.get('epochs', PAPER_EPOCHS)} epochs, "
              f"{_n(len(paper_p.get('seeds', [])), 'seed')}; `make book PROFILE=paper`) was not planned here"
              + (f"; {_n(n, 'run')} of it {'is' if n == 1 else 'are'} recorded." if n else
                 ", and none of its runs is recorded: no run here tests the paper's accuracy claims."))
    return s
