"""The leak experiment's inference (`resemote.analysis.leak_inference`) against numbers worked out by hand: the
needed fraction, which groups fitted and what they recalled, the grid of what-ifs, and the bound with copies."""
from __future__ import annotations

import pandas as pd
import pytest

from resemote.analysis import leak_inference as I


def test_needed_fraction_by_hand():
    # claim 70, clean 50, recall 90: 0.5·90 + 0.5·50 = 70
    assert I.needed_fraction(70.0, 50.0, 90.0) == pytest.approx(0.5)
    # claim 70, clean 60, recall 100: 0.25·100 + 0.75·60 = 25 + 45 = 70
    assert I.needed_fraction(70.0, 60.0, 100.0) == pytest.approx(0.25)
    assert I.needed_fraction(70.0, 70.0, 100.0) == 0.0          # clean reaches the claim: nothing needed
    assert I.needed_fraction(70.0, 75.0, 60.0) == 0.0           # ... whatever the recall
    assert I.needed_fraction(70.0, 50.0, 70.0) is None          # recall at the claim: no share lifts c to it


def _run(group, copies, fraction, train_acc, synthetic=False, **acc):
    """One run's rows of the points table: one per subset given (accuracy, with a ±1 interval; n 100)."""
    return [{"group": group, "budget": "b", "synthetic": synthetic, "copies": copies, "fraction": fraction,
             "subset": s, "accuracy": a, "low": a - 1.0, "high": a + 1.0, "n": 100, "run": f"{group}-{copies}-{fraction}",
             "recorded": True, "dataset": "fer2013", "train_acc": train_acc, "epochs": 14} for s, a in acc.items()]


POINTS = pd.DataFrame(
    _run("fit", "as-is", 0.0, 95.0, all=40.0, clean=40.0)
    + _run("fit", "as-is", 0.25, 92.0, all=55.0, leaked=97.0, clean=41.0)
    + _run("fit", "as-is", 0.5, 96.0, all=70.0, leaked=99.0, clean=41.0)
    + _run("fit", "released", 0.5, 93.0, all=50.0, leaked=60.0, clean=40.0)
    # not fitted: one run below 90%; more fractions than "fit", still never read
    + _run("short", "as-is", 0.0, 60.0, all=45.0) + _run("short", "as-is", 0.1, 80.0, all=46.0, leaked=70.0)
    + _run("short", "as-is", 0.25, 95.0, all=47.0, leaked=75.0) + _run("short", "as-is", 0.5, 95.0, all=48.0, leaked=80.0)
    # a run without a history (train_acc None) leaves its group unread; so does a synthetic group
    + _run("nohist", "as-is", 0.5, None, all=60.0, leaked=99.0) + _run("synth", "as-is", 0.5, 99.0, True, leaked=99.0),
    columns=I.POINT_COLUMNS)


def test_only_fitted_real_groups_are_read_and_their_largest_dose_gives_the_recall():
    assert I.fitted_groups(POINTS) == ["fit"]
    rec = I.fitted_recall(POINTS)
    assert [(r["group"], r["copies"], r["fraction"], r["m"], r["low"], r["high"], r["n"]) for r in rec] == [
        ("fit", "as-is", 0.5, 99.0, 98.0, 100.0, 100), ("fit", "released", 0.5, 60.0, 59.0, 61.0, 100)]
    as_is, released = I.fitted_doses(rec)
    assert (as_is["m"], released["m"]) == (99.0, 60.0)
    assert I.fitted_doses([r for r in rec if r["copies"] == "released"]) == (None, None)


def test_leak_inference_by_hand():
    rows = I.leak_inference(POINTS, [("ours", 50.0), ("above", 72.0)], 70.0)
    assert [(r["c label"], r["copies"]) for r in rows] == [("ours", "as-is"), ("above", "as-is"),
                                                           ("ours", "released"), ("above", "released")]
    ours = rows[0]
    assert ours["F"] == pytest.approx(20 / 49)        # (70 - 50) / (99 - 50)
    assert ours["F low"] == pytest.approx(20 / 50)    # from m's upper end, 100
    assert ours["F high"] == pytest.approx(20 / 48)   # from m's lower end, 98
    assert rows[1]["F"] == 0.0                        # c = 72 already above the claim
    assert rows[2]["F"] is None                       # m = 60 below the claim: no share prints it


def test_the_grid_by_hand():
    recalls = I.grid_recalls({65.0: "copies", 90.0: "as-is"}, "what-if")
    assert recalls == [("copies", 65.0), ("what-if", 71.25), ("what-if", 77.5), ("what-if", 83.75), ("as-is", 90.0)]
    assert I.grid_recalls({90.0: "as-is"}, "what-if") == [("as-is", 90.0)]
    g = I.inference_grid(70.0, [("a", 50.0), ("b", 60.0), ("c", 75.0)], [("low", 65.0), ("high", 90.0)])
    assert list(zip(g["c label"], g["m label"])) == [("a", "low"), ("a", "high"), ("b", "low"), ("b", "high"),
                                                     ("c", "low"), ("c", "high")]
    # F = (70 - c) / (m - c): only m = 90 lifts a or b to 70; c = 75 needs no share (F has no value in (0, 1])
    expected = [None, 20 / 40, None, 10 / 30, None, None]
    for got, want in zip(g["F"], expected):
        assert pd.isna(got) if want is None else got == pytest.approx(want)
    assert set(g["claim"]) == {70.0}


def test_the_bound_the_steps_and_the_headline():
    assert I.max_with_copies(0.1, 60.0) == pytest.approx(64.0)     # 10 copies right of 100, 60% of the other 90
    assert I.recall_steps(60.0, 80.0) == [60.0, 65.0, 70.0, 75.0, 80.0]
    assert I.recall_steps(80.0, 80.0) == [80.0]
    assert (I.dose_trend([30.0, 40.0, 50.0]), I.dose_trend([50.0, 40.0]), I.dose_trend([30.0, 50.0, 40.0])) == (
        "rising", "falling", "unsteady")
    q = I.headline_doses(POINTS)   # the fitted group, though "short" has more doses
    assert list(q["group"].unique()) == ["fit"] and list(q["fraction"]) == [0.0, 0.25, 0.5]
    assert list(q["accuracy"]) == [40.0, 55.0, 70.0]
    q = I.headline_doses(POINTS[POINTS["group"] != "fit"])   # none fitted: the group with most doses
    assert list(q["group"].unique()) == ["short"] and len(q) == 4
