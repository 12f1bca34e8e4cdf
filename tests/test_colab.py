"""The Colab T4 estimate counts what a run trains on (the leak experiment's subset plus its leaked test images),
and a page executed before that was so has its estimate recomputed from the run's params.json when staged.

Every split size and page below is a FAKE fixture made here."""
from __future__ import annotations

import json

import pytest

from resemote.book import colab
from resemote.models import model_summary

FWD = model_summary("C1")["gflops"] * 1e9
SPLITS = {"train": {"Angry": 2000, "Happy": 1000}, "val": {"Angry": 300}, "test": {"Angry": 200, "Happy": 200}}


def _total(n_train: int, n_val: int, n_test: int, epochs: int) -> float:
    return epochs * (3 * FWD * n_train + FWD * n_val) + FWD * n_test  # FLOPs: 3 forward passes a training image


def test_the_estimate_counts_the_subset_and_the_leaked_test_images():
    whole = colab.t4_estimate("C1", SPLITS, epochs=2)
    assert whole.n_train == 3000 and whole.total_pflops == pytest.approx(_total(3000, 300, 400, 2) / 1e15)
    e = colab.t4_estimate("C1", SPLITS, epochs=2, train_subset=700, leak_test_fraction=0.25, leak_copies="as-is")
    assert (e.n_train, e.subset, e.leaked, e.n_val, e.n_test) == (700 + 100, 700, 100, 300, 400)
    assert e.total_pflops == pytest.approx(_total(800, 300, 400, 2) / 1e15)
    md = e.markdown()
    assert "2 epochs of 800 training images" in md
    assert "Its training images are a stratified subset of 700 images of the training split plus 100 test " \
           "images leaked into it." in md
    assert "3,000" not in md
    # a subset larger than the split is the split
    assert colab.t4_estimate("C1", SPLITS, epochs=1, train_subset=10_000).n_train == 3000


def test_the_counts_are_the_ones_the_leak_experiment_cuts():
    """Per class, as resemote.leakage cuts them: 10% of 55 + 55 test images is 6 + 6, not 11."""
    import numpy as np
    from resemote.leakage import leaked_test_indices, training_subset
    splits = {"train": {"Angry": 333, "Happy": 667, "Sad": 45}, "val": {"Angry": 10}, "test": {"Angry": 55, "Sad": 55}}
    train = np.repeat(np.arange(3), [333, 667, 45])
    test = np.repeat(np.arange(2), [55, 55])
    e = colab.t4_estimate("C1", splits, epochs=1, train_subset=500, leak_test_fraction=0.1)
    assert e.leaked == len(leaked_test_indices(test, 0.1, seed=0)) == 12
    assert e.subset == len(training_subset(train, 500))
    assert e.n_train == e.subset + 12


def test_work_is_written_without_scientific_notation():
    assert [colab._sig(x) for x in (546.63, 3.14159, 0.01234, 12.0)] == ["550", "3.1", "0.012", "12"]
    md = colab.t4_estimate("C1", {"train": {"a": 28709}, "val": {"a": 3589}, "test": {"a": 3589}}, 9).markdown()
    assert "e+" not in md and "550 TFLOP" in md          # 9 x (3 x 28,709 + 3,589) + 3,589 forwards of C1


def _page(n_train: int) -> dict:
    est = colab.t4_estimate("C1", {"train": {"a": n_train}, "val": {"a": 50}, "test": {"a": 40}}, 3)
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# FAKE page"]},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 1,
         "source": ["from resemote import colab\n", "colab.t4_estimate(run.config, summary['splits'], 3)"],
         "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/markdown": [est.markdown()], "text/plain": [repr(est)]}}]}]}


def test_a_leak_page_is_restated_from_its_params(tmp_path):
    params = {"config": "C1", "epochs": 3, "image_size": 64, "train_subset": 60,
              "split_sizes": {"train": 70, "val": 50, "test": 40, "leaked_into_train": 10}}
    fixed = colab.restate_page(_page(1000), params)        # the page counted the whole FAKE split of 1,000
    md = fixed["cells"][1]["outputs"][0]["data"]["text/markdown"][0]
    assert "3 epochs of 70 training images" in md and "subset of 60 images" in md and "10 test images leaked" in md
    assert md.endswith("the page as executed counted 1,000 training images, not the 70 the run trained on.")
    assert "n_train=70" in fixed["cells"][1]["outputs"][0]["data"]["text/plain"][0]
    assert colab.restate_page(_page(70), params) is None    # counted right: left alone
    assert colab.restate_page(_page(1000), {"config": "C1", "epochs": 3}) is None  # no split sizes: nothing to say
    # on files: a staged copy rewritten, a run without params.json left alone
    page = tmp_path / "page.ipynb"
    page.write_text(json.dumps(_page(1000)))
    run = tmp_path / "run"
    run.mkdir()
    assert not colab.restate_page_file(page, run)
    (run / "params.json").write_text(json.dumps(params))
    assert colab.restate_page_file(page, run)
    assert "not the 70 the run trained on" in page.read_text()
    assert not colab.restate_page_file(page, run)           # the second time there is nothing left to restate
