"""The report's figures on FAKE run directories (tests/test_report.py's `fake_run`): the real runs' training curves
and confusion matrices as small multiples (never synthetic), panel titles and tick labels that do not run into
each other, the sensitivity figure's log axis, and when a dataset page may draw faces.

Every number below is a made-up fixture; none reaches the book."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from resemote.book import report  # noqa: E402
from test_report import fake_run  # noqa: E402


@pytest.fixture
def entries(tmp_path: Path):
    long = "fer2013-C1-s0-9ep-cpu-8f33dc7-sub7000-leak0.25-as-is-FAKE"   # as long as the longest real id
    index = [
        fake_run(tmp_path, long, dataset="fer2013", config="C1", acc=0.46, synthetic=False, experiments=["table3"],
                 stands_in_for=["fer2013"], profile="reduced", kind="recorded", epochs=9),
        fake_run(tmp_path, long.replace("0.25", "0.5"), dataset="ferplus", config="C1", acc=0.66, synthetic=False,
                 experiments=["table3"], stands_in_for=["ferplus"], profile="reduced", epochs=5, kind="recorded"),
        fake_run(tmp_path, "rafdb-C1-s0-80ep-cuda-FAKE", dataset="rafdb", config="C1", acc=0.8, synthetic=False,
                 experiments=["table3"], stands_in_for=["rafdb"], epochs=80, kind="recorded"),
        fake_run(tmp_path, "rafdb-C1-s1-80ep-cuda-FAKE", dataset="rafdb", config="C1", acc=0.7, synthetic=False,
                 experiments=["table3"], stands_in_for=["rafdb"], epochs=80, seed=1),
        fake_run(tmp_path, "synthetic-C1-FAKE", dataset="fer2013", config="C1", acc=0.5, synthetic=True,
                 experiments=["table3"], stands_in_for=["fer2013", "rafdb", "affectnet", "expw"]),
    ]
    # a history of its own per run, so that each panel can be told from the others
    for i, e in enumerate(index):
        rows = [{"epoch": k, "lr": 0.001, "train_loss": 2 - 0.1 * k - 0.01 * i, "train_acc": 0.2 + 0.02 * k + 0.01 * i,
                 "val_loss": 1.9 - 0.1 * k, "val_acc": 0.25 + 0.01 * k + 0.01 * i, "seconds": 1.0} for k in (1, 2, 3)]
        with open(Path(e["path"]) / "history.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    (tmp_path / "index.json").write_text(json.dumps({"runs": index, "datasets": []}))
    return report.load_entries(tmp_path)


def _boxes(fig, texts):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [t.get_window_extent(r) for t in texts if t.get_text()]


def _overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def _title_clashes(fig, axes) -> list[tuple[int, int]]:
    """(i, j): panel i's title overlaps panel j's plot, title, axis labels or tick labels."""
    out = []
    for i, a in enumerate(axes):
        t = _boxes(fig, [a.title if a.get_title() else a._left_title])[0]
        for j, b in enumerate(axes):
            others = [b.title, b._left_title, b.xaxis.label, b.yaxis.label, *b.get_xticklabels(), *b.get_yticklabels()]
            if j != i and (t.overlaps(b.get_window_extent()) or any(t.overlaps(x) for x in _boxes(fig, others))):
                out.append((i, j))
    return out


def test_training_curves_of_the_real_runs_only(entries):
    fig = report.history_grid(entries)
    titled = [a for a in fig.axes if a.get_title(loc="left")]
    assert len(titled) == 4                                 # the four real runs, the synthetic one left out
    assert not any(report.SYNTHETIC_TAG in a.get_title(loc="left") for a in fig.axes)
    assert sum(a.axison for a in fig.axes) == 8             # loss on the left, accuracy on the right, per run
    first = titled[0]
    assert "\nfer2013-C1-s0-9ep-cpu-8f33dc7-sub7000-leak0.25-as-is-FAKE\n" in first.get_title(loc="left")  # never cut
    assert "[recorded, cuda, commit fakefak]" in first.get_title(loc="left")
    # the lines are the run's history.csv: run 0's train loss 2 - 0.1 k, its accuracy (20 + 2 k) %
    loss = first.get_lines()[0]
    assert list(loss.get_xdata()) == [1, 2, 3] and np.allclose(loss.get_ydata(), [1.9, 1.8, 1.7])
    beside = fig.axes[1]                                    # row 1, column 2: run 0's accuracy
    assert np.allclose(beside.get_lines()[0].get_ydata(), [22, 24, 26])
    assert _title_clashes(fig, titled) == []
    assert report.history_grid([e for e in entries if e.synthetic]) is None


def test_training_curves_read_at_their_size_on_a_1280px_page(entries, tmp_path):
    """The audit's curves (eight runs, two per row asked) were drawn 9.2 in wide and shown in a 676 px column, so
    their 7-8 pt labels read at 5-6 pt. Drawn as wide as that column, nothing is scaled down: every text, as the
    reader sees it, is at least 8 pt."""
    many = entries * 2                                      # eight panels' worth of real runs, as in the audit
    fig = report.history_grid(many, per_row=2)
    fig.savefig(tmp_path / "curves.png", dpi=100, bbox_inches="tight")
    from PIL import Image
    shown_px = Image.open(tmp_path / "curves.png").size[0]  # drawn at the book's inline resolution
    scale = min(1.0, 676 / shown_px)                        # what a 676 px article column does to it
    assert scale == 1.0, shown_px
    texts = [t for a in fig.axes if a.axison for t in (a.title, a._left_title, a.xaxis.label, a.yaxis.label,
                                                       *a.get_xticklabels(), *a.get_yticklabels(),
                                                       *(a.get_legend().get_texts() if a.get_legend() else []))
             if t.get_text()]
    assert texts and min(t.get_fontsize() * scale for t in texts) >= 8
    titled = [a for a in fig.axes if a.get_title(loc="left")]
    assert len(titled) == sum(not e.synthetic for e in many)   # one title per real run
    assert _overlapping(_boxes(fig, [a._left_title for a in titled])) == []


def test_confusion_matrices_real_only_with_titles_and_labels_apart(entries):
    fig = report.confusion_grid(entries, synthetic=False)
    shown = [a for a in fig.axes if a.get_title()]
    assert len(shown) == 4 and not any(report.SYNTHETIC_TAG in a.get_title() for a in shown)
    assert _title_clashes(fig, shown) == []
    for a in shown:
        ylabels = a.get_yticklabels()
        assert [t.get_text() for t in ylabels] == list(report.CLASSES)
        assert all(t.get_rotation() == 0 for t in ylabels)
        assert _overlapping(_boxes(fig, ylabels)) == []
        assert _overlapping(_boxes(fig, a.get_xticklabels())) == []
    everything = report.confusion_grid(entries)
    titled = [a for a in everything.axes if a.get_title()]
    assert len(titled) == 5                                 # all of them, the synthetic one labelled as such
    assert report.SYNTHETIC_TAG in titled[-1].get_title() and "stand-in for" in titled[-1].get_title()
    assert _title_clashes(everything, titled) == []


def test_the_log_axis_labels_only_the_batch_sizes():
    import pandas as pd
    points = pd.DataFrame([{"data": "FAKE", "axis": "batch_size", "value": b, "accuracy": 50.0 + i, "sd": None,
                            "n": 1} for i, b in enumerate((16, 32, 64, 128))])
    fig = report.sensitivity_figure(points, "FAKE")
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["16", "32", "64", "128"]
    assert [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()] == []
    assert _overlapping(_boxes(fig, ax.get_xticklabels() + ax.get_xticklabels(minor=True))) == []


def test_a_recorded_page_draws_faces_only_from_the_recorded_data(synth_root, tmp_path):
    from resemote.data.splits import data_fingerprint
    summary = {"title": "FAKE set", "fingerprint": data_fingerprint("fer2013", synth_root)}
    assert report.images_here("fer2013", synth_root, summary, recorded=False) is None   # live: computed from it
    assert report.images_here("fer2013", synth_root, summary) is None                    # the recorded copy is here
    other = report.images_here("fer2013", synth_root, {**summary, "fingerprint": "0000FAKE"})
    assert other.startswith("No faces shown: the copy of FAKE set on disk here") and "0000FAKE" in other
    gone = report.images_here("fer2013", tmp_path / "absent", summary)
    assert gone.startswith("No faces shown: FAKE set's images are not on disk here") and "\n" not in gone
