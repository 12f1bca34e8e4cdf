"""What the leak dose-response experiment lets one infer about a printed score, as arithmetic on its measurements.

The experiment adds a share of the test images to training on purpose and measures two things per dose: how often
the network then answers its leaked test images right (the recall m, %) and how far it fitted its own training
images (training accuracy in its last epoch). A recall is read only from a dose whose every run fitted them
(at least `FITTED`%), since an unfitted network has not learnt the leaked images either. From such an m and a clean
accuracy c (what a model scores on images it never saw), the share F of the test images that, answered right at m
while the rest score c, prints a claim is F = (claim - c) / (m - c): `needed_fraction`, per measured dose in
`leak_inference`, over a grid of c and m (measured ends, evenly spaced what-ifs between) in `inference_grid`.
Every function here computes on numbers, plain rows or a points table; none reads a run, and what it gives is an
inference from measurements, never a result.

The points table has one row per leak run and test subset (`POINT_COLUMNS`); the book builds it from its run
index (`resemote.book.report.leak_section.leak_points`) and words what this module computes.
"""
from __future__ import annotations

import pandas as pd

FITTED = 90.0  # % of its own training images right in its last epoch: below it, a network has not fitted them

# The points table: group (data and budget), copies ('as-is' / 'released'), leaked fraction (0-1), subset ('all',
# 'leaked', 'clean' test images), accuracy with its 95% interval (low, high) and n (%), the run, and the run's
# training accuracy in its last epoch (%, None without a history) and its epochs.
POINT_COLUMNS = ["group", "budget", "synthetic", "copies", "fraction", "subset", "accuracy", "low", "high", "n", "run",
                 "recorded", "dataset", "train_acc", "epochs"]


def fitted_groups(points: pd.DataFrame) -> list[str]:
    """The real-data groups whose every run classified at least `FITTED`% of its own training images in its last
    epoch: those where a leaked image can be recalled, so the only ones a recall is read from."""
    out = []
    for g, q in points[~points["synthetic"].astype(bool)].groupby("group", sort=True):
        runs = q[q["subset"] == "all"]
        if len(runs) and runs["train_acc"].notna().all() and (runs["train_acc"] >= FITTED).all():
            out.append(g)
    return out


def fitted_recall(points: pd.DataFrame) -> list[dict]:
    """Per fitted group and kind of copy, the accuracy on the leaked test images (the recall m, %) of its run with
    the largest fraction leaked: {group, copies, fraction, m, low, high, n, run}."""
    out = []
    for g in fitted_groups(points):
        q = points[(points["group"] == g) & (points["subset"] == "leaked")]
        for copies, r in q.groupby("copies", sort=True):
            r = r.sort_values("fraction").iloc[-1]
            out.append({"group": g, "copies": copies, "fraction": r["fraction"], "m": r["accuracy"],
                        "low": r["low"], "high": r["high"], "n": int(r["n"]), "run": r["run"]})
    return out


def fitted_doses(recalls: list[dict]) -> tuple[dict | None, dict | None]:
    """Of `fitted_recall`'s rows, the first dose leaked as they are and the dose of the same group leaked as
    released-style copies (None where either is missing): one group's pair, never mixed across budgets."""
    as_is = next((r for r in recalls if r["copies"] == "as-is"), None)
    if as_is is None:
        return None, None
    return as_is, next((r for r in recalls if r["group"] == as_is["group"] and r["copies"] == "released"), None)


def needed_fraction(claim: float, clean: float, recall: float) -> float | None:
    """The fraction F of the test images that, recalled at `recall` % while the rest score `clean` %, prints
    `claim` %: F * recall + (1 - F) * clean = claim. 0 where clean already reaches the claim; None where no
    fraction can (recall not above the claim)."""
    if clean >= claim:
        return 0.0
    if recall <= claim:
        return None
    return (claim - clean) / (recall - clean)


def leak_inference(points: pd.DataFrame, cleans: list[tuple[str, float]], claim: float) -> list[dict]:
    """For each measured recall m of a fitted dose (`fitted_recall`) and each clean accuracy c (label, %), the
    leaked fraction F that turns c into `claim`, and the range m's 95% interval gives: one row per pair,
    {c label, c, and the `fitted_recall` row (group, copies, fraction, m, low, high, n, run), F, F low (from m's
    upper end), F high (from its lower end)}; each F as `needed_fraction` gives it (0 or None where there is none)."""
    rows = []
    for r in fitted_recall(points):
        for label, c in cleans:
            f, lo, hi = (needed_fraction(claim, c, m) for m in (r["m"], r["high"], r["low"]))
            rows.append({"c label": label, "c": c, **r, "F": f, "F low": lo, "F high": hi})
    return rows


def recall_steps(low: float, high: float, steps: int = 4) -> list[float]:
    """`steps` + 1 recalls (%) evenly spaced from `low` to `high`, both measured: the grid's columns between them
    are what-ifs, not measurements."""
    if steps < 1 or high <= low:
        return sorted({low, high})
    return [low + (high - low) * k / steps for k in range(steps + 1)]


def grid_recalls(measured: dict[float, str], between: str, steps: int = 4) -> list[tuple[str, float]]:
    """The grid's recalls (label, %): the measured ones (recall -> label) at the ends and, where there are two,
    what-ifs evenly spaced between them (`recall_steps`), labelled `between`."""
    ms = recall_steps(min(measured), max(measured), steps) if len(measured) > 1 else list(measured)
    return [(measured.get(m, between), m) for m in ms]


def inference_grid(claim: float, cleans: list[tuple[str, float]], recalls: list[tuple[str, float]]) -> pd.DataFrame:
    """F = (claim - c) / (m - c) for every clean accuracy c (label, %) and every recall m of leaked test images
    (label, %): the share of the test images that, recognised at m while the rest score c, prints `claim`. One row
    per pair: c label, c, m label, m, F (None where no share in (0, 1] prints the claim: c at or above it needs
    none, m at or below it allows none) and the claim. Arithmetic on measurements: an inference, never a result."""
    rows = []
    for cl, c in cleans:
        for ml, m in recalls:
            f = needed_fraction(claim, c, m)
            rows.append({"c label": cl, "c": c, "m label": ml, "m": m, "F": f if f is not None and 0 < f <= 1 else None,
                         "claim": claim})
    return pd.DataFrame(rows, columns=["c label", "c", "m label", "m", "F", "claim"])


def max_with_copies(share: float, clean: float) -> float:
    """The most a model scoring `clean` % on unseen images can print when a `share` (0-1) of the test images have a
    copy in training and every one of them is answered right (recall 100%, the most generous case)."""
    return share * 100 + (1 - share) * clean


def headline_doses(points: pd.DataFrame) -> pd.DataFrame:
    """The real-data doses leaked as they are that a one-line reading of the experiment is taken from: the runs on
    all test images of one group, by fraction; the group is, among the fitted groups if any (else among all), the
    one with most fractions. Empty where no such run is there."""
    p = points[(~points["synthetic"].astype(bool)) & (points["copies"] == "as-is") & (points["subset"] == "all")]
    if not len(p):
        return p
    fitted = fitted_groups(points)
    pool = p[p["group"].isin(fitted)] if p["group"].isin(fitted).any() else p
    group = pool.groupby("group")["fraction"].nunique().idxmax()
    return p[p["group"] == group].sort_values("fraction")


def dose_trend(accuracies: list[float]) -> str:
    """How accuracies ordered by dose moved from each to the next: 'rising' (every step up), 'falling' (every
    step down) or 'unsteady'."""
    steps = [y - x for x, y in zip(accuracies, accuracies[1:])]
    return "rising" if all(d > 0 for d in steps) else "falling" if all(d < 0 for d in steps) else "unsteady"
