"""The leak experiment where the network fits its training images: the `fit` recipe (dropout, flips, class weights
and plateau rule off, the last epoch tested), its doses in the repository's plan, and the arithmetic from a fitted
dose's recall to the leaked fraction that would print the paper's claim (`analysis.leak_inference`), as the book words
it (`report.leak_section`)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from resemote.book import plan, records
from resemote.analysis import leak_inference as I
from resemote.book.report import leak_section as L
from resemote.errors import ResEmoteError
from resemote.models import create_model
from resemote.training.protocols import PROTOCOLS


def test_without_dropout_two_training_passes_agree_and_the_weights_are_the_same():
    x = torch.randn(4, 3, 64, 64)
    torch.manual_seed(0)
    on = create_model("C1").train()
    torch.manual_seed(0)
    off = create_model("C1", dropout=False).train()
    assert on.state_dict().keys() == off.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(on.state_dict().values(), off.state_dict().values()))
    with torch.no_grad():
        assert not torch.equal(on(x), on(x))            # dropout draws anew on every pass
        assert torch.equal(off(x), off(x))              # nothing random left (BatchNorm uses the batch either way)
    with pytest.raises(ResEmoteError, match="vgg cannot be trained without dropout"):
        create_model("vgg", dropout=False)


def test_the_fit_recipe_tests_its_last_epoch_and_names_itself(synth_root, tmp_path):
    from resemote.training import RunSpec, train
    p = PROTOCOLS["fit"]
    assert (p.dropout, p.flip, p.class_weights, p.plateau_factor, p.keep) == (False, False, False, None, "last")
    assert PROTOCOLS["paper"].dropout and PROTOCOLS["paper"].keep == "best"
    m = train(RunSpec("fer2013", root=synth_root, protocol="fit", epochs=3, batch_size=16, device="cpu"), tmp_path / "r", progress=False)
    hist = pd.read_csv(tmp_path / "r" / "history.csv")
    assert m["best_epoch"] == 3 and m["val_accuracy"] == pytest.approx(hist["val_acc"].iloc[-1])
    settings = json.loads((tmp_path / "r" / "params.json").read_text())["protocol_settings"]
    assert settings["dropout"] is False and settings["keep"] == "last"
    fake = {**m, "git_commit": "abcdef1234567", "device": "cpu (FAKE)", "train_subset": 1000,
            "leak_test_fraction": 0.5, "leak_copies": "released"}
    assert records.record_id(fake) == "fer2013-C1-s0-3ep-fit-cpu-abcdef1-sub1000-leak0.5-released"
    assert records.record_id({**fake, "protocol": "paper"}) == "fer2013-C1-s0-3ep-cpu-abcdef1-sub1000-leak0.5-released"


def test_the_repository_plan_has_the_fitted_doses_and_no_new_stand_in():
    p = plan.load_plan()
    fitted = [r for r in plan.resolve(p, {"fer2013"}, "reduced")
              if {"leakage_fitted", "leakage_fitted_copies"} & set(r.experiments)]
    assert sorted((r.spec.experiment().get("leak_test_fraction", 0), r.spec.experiment().get("leak_copies") or "") for r in fitted) == \
        [(0, ""), (0.25, "as-is"), (0.5, "as-is"), (0.5, "released")]
    assert all(r.spec.protocol == "fit" and r.spec.experiment().get("train_subset") == 1000 and r.profile == "reduced" for r in fitted)
    assert all(r.budget().startswith("14 epochs, batch 16, fit recipe, stratified training subset of 1,000") for r in fitted)
    clean = [r for r in fitted if not r.spec.experiment().get("leak_test_fraction", 0)][0]
    assert clean.experiments == ["leakage_fitted", "leakage_fitted_copies"]  # one clean run for both series
    assert not [r for r in plan.resolve(p, {"fer2013"}, "paper") if "leakage_fitted" in r.experiments]
    # where FER2013 is absent, the fitted experiments reuse the leak experiment's stand-ins: no run of their own
    without = {**p, "experiments": {k: v for k, v in p["experiments"].items() if not k.startswith("leakage_fitted")}}
    assert {r.id for r in plan.resolve(p, set(), "reduced")} == {r.id for r in plan.resolve(without, set(), "reduced")}


def test_needed_fraction_mixes_back_to_the_claim():
    for c, m in ((53.86, 100.0), (58.0, 97.5), (66.0, 88.0)):
        f = I.needed_fraction(79.79, c, m)
        assert f * m + (1 - f) * c == pytest.approx(79.79)
    assert I.needed_fraction(79.79, 53.86, 100.0) == pytest.approx(25.93 / 46.14)
    assert I.needed_fraction(79.79, 80.0, 95.0) == 0.0       # the clean score already reaches the claim
    assert I.needed_fraction(79.79, 50.0, 79.0) is None      # recall below the claim: no fraction reaches it


def _points(train_acc: float, group: str) -> list[dict]:
    rows = []
    for f, subsets in ((0.0, {"all": 30.0, "clean": 29.0}), (0.5, {"all": 60.0, "leaked": 96.0, "clean": 28.0})):
        for s, a in subsets.items():
            rows.append({"group": group, "synthetic": False, "copies": "as-is", "fraction": f, "subset": s,
                         "accuracy": a, "low": a - 1.0, "high": min(a + 1.0, 100.0), "n": 1794 if s == "leaked" else 3589,
                         "run": f"FAKE-{group}-{f}", "recorded": True, "dataset": "fer2013", "train_acc": train_acc,
                         "epochs": 12})
    return rows


def test_the_inference_reads_only_fitted_groups():
    points = pd.DataFrame(_points(97.0, "fitted") + _points(43.0, "9 epochs"))
    assert I.fitted_groups(points) == ["fitted"]
    t = L.leak_inference_table(I.leak_inference(points, [("our best", 53.86), ("others' low end", 58.0)], 79.79), 79.79)
    assert list(t["run"].unique()) == ["FAKE-fitted-0.5"] and list(t["c"]) == [53.86, 58.0]
    f = (79.79 - 53.86) / (96.0 - 53.86)
    assert t["F"].iloc[0] == pytest.approx(f)
    lo, hi = (79.79 - 53.86) / (97.0 - 53.86), (79.79 - 53.86) / (95.0 - 53.86)   # from m's interval 95-97
    assert t.iloc[0, 2] == f"{f:.0%} ({lo:.0%}-{hi:.0%})"
    assert I.leak_inference(pd.DataFrame(_points(43.0, "9 epochs")), [("x", 50.0)], 79.79) == []
    assert L.leak_inference_table([], 79.79).empty


def test_the_leak_table_lists_the_clean_run_once():
    """The fraction-0 run is the clean run of both series (as they are, released-style copies): one row."""
    rows = _points(97.0, "fitted")
    rows += [{**r, "copies": "released", "run": r["run"] + "-released"} for r in _points(97.0, "fitted")
             if r["fraction"] == 0.5] + [{**r, "copies": "released"} for r in _points(97.0, "fitted") if r["fraction"] == 0]
    for r in rows:
        r["budget"] = "FAKE budget"
    t = L.leak_table(pd.DataFrame(rows))
    assert list(zip(t["copies"], t["leaked fraction"])) == [("as-is", "0%"), ("as-is", "50%"), ("released", "50%")]
    assert list(t["training images right, last epoch (%)"]) == ["97.0"] * 3


def test_the_inference_grid_is_the_mixing_sum_in_every_cell():
    cleans, recalls = [("ours", 53.86), ("low", 58.0), ("high", 66.0)], [("copies", 56.96), ("as-is", 99.0)]
    g = I.inference_grid(79.79, cleans, recalls)
    assert len(g) == 6 and list(g["c"]) == [53.86, 53.86, 58.0, 58.0, 66.0, 66.0]
    t = L.grid_table(g)
    for _, r in g.iterrows():
        cell = t.loc[f"m = {r['m']:.2f}% ({r['m label']})", f"c = {r['c']:.2f}%: {r['c label']}"]
        if r["m"] == 99.0:     # F·m + (1 − F)·c = claim, F in (0, 1]
            assert r["F"] * r["m"] + (1 - r["F"]) * r["c"] == pytest.approx(79.79) and 0 < r["F"] <= 1
            assert cell == f"{(79.79 - r['c']) / (99.0 - r['c']):.0%}"
        else:                  # 56.96 <= 79.79: no share prints the claim
            assert pd.isna(r["F"]) and cell == "no share prints it (m ≤ 79.79%)"
    above = I.inference_grid(79.79, [("above", 80.0)], [("m", 99.0)])
    assert pd.isna(above["F"].iloc[0]) and L.grid_table(above).iloc[0, 0].startswith("none needed")
    assert t.shape == (2, 3) and list(t.index) == ["m = 56.96% (copies)", "m = 99.00% (as-is)"]
    assert t.loc["m = 99.00% (as-is)", "c = 66.00%: high"] == f"{13.79 / 33.0:.0%}"     # (79.79-66)/(99-66) = 42%
    assert I.recall_steps(56.96, 99.0) == pytest.approx([56.96, 67.47, 77.98, 88.49, 99.0])
    assert I.max_with_copies(445 / 3589, 66.0) == pytest.approx(445 / 3589 * 100 + (1 - 445 / 3589) * 66.0)
