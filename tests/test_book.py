"""The book built by the engine from the tiny plan (tests/conftest.py::tiny_repo): every chapter is there
with its tables and figures, run pages exist, no cell failed, failed runs show as failed and never as
results, and no page names a path of the machine that built it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("tiny_repo")  # one worker builds the tiny repository once

CHAPTERS = ["index", "introduction", "method", "datasets", "setup", "results", "ablation", "audit", "compute",
            "run-pages", "data-pages", "demo", "demo-run-pages", "references"]


@pytest.fixture(scope="module")
def html(tiny_repo) -> Path:
    return tiny_repo.root / "_build" / "html"


def page(html: Path, name: str) -> str:
    return (html / "book" / f"{name}.html").read_text()


def text(html: Path, name: str) -> str:
    t = re.sub(r"<(script|style).*?</\1>", "", page(html, name), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t))


def article(html: Path, name: str) -> str:
    """The page's own text, without the navigation (whose sidebar lists every page's title)."""
    t = page(html, name)
    t = t[t.index('<article class="bd-article"'):t.index("</article>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style).*?</\1>", "", t, flags=re.S)))


def test_every_chapter_is_built_without_errors(html: Path):
    for name in CHAPTERS:
        t = page(html, name)
        for bad in ("Traceback", "output_error", "ipythontb", "Error in"):
            assert bad not in t, f"{name}.html shows {bad!r}"
    # synthetic runs and datasets have their pages in the appendix; the run part has no real one here
    runs = sorted(p.stem for p in (html / "book" / "demo-runs").glob("*.html"))
    assert [r.split("-s0-")[0] for r in runs] == ["synthetic-C5"]      # the engine's run (C1 was made by hand)
    assert [p.stem for p in (html / "book" / "demo-data").glob("*.html")] == ["synthetic-48-24-24-s0"]
    assert [p.stem for p in (html / "book" / "runs").glob("*.html")] == ["none"]
    for f in [*(html / "book" / "demo-runs").glob("*.html"), *(html / "book" / "demo-data").glob("*.html")]:
        assert "<img" in f.read_text(), f"{f.name} shows no figure"   # curves, confusion, sample faces


def test_tables_and_figures(html: Path):
    results = article(html, "results")
    assert page(html, "results").count("<table") >= 4
    # synthetic results only in the appendix, whose captions name the runs by short labels linking their pages
    assert "synthetic - pipeline demonstration" not in results and "not run" in results
    assert "Missing:" in results and 'href="demo.html"' in page(html, "results")
    demo = article(html, "demo")
    assert "synthetic - pipeline demonstration" in demo and re.search(r"Sources?: synthetic C\d", demo)
    assert re.search(r'href="demo-runs/synthetic-C5-s0-\w+\.html"', page(html, "demo"))
    # a figure of a run (its confusion matrix), not the header's launch-button logos (which chapters no longer
    # carry: resemote.book.launch_buttons keeps them for run and dataset pages)
    assert 'src="../_images/' in page(html, "demo")
    # the tiny plan runs the ablation only on the damaged RAF-DB: no curves, and the page says so
    assert "training curves of the ablation" in text(html, "ablation")
    method = text(html, "method")
    assert "80,238,599" in method and "2048 x 1 x 1" in method                # generated layer table
    assert "Roy" in text(html, "references")
    index = article(html, "index")
    # page one: the findings first, then the claims grouped (the tiny plan trains no real run: nothing checked)
    assert index.index("What we found") < index.index("claims, checked")  # (the apostrophe is typeset curly)
    assert "Every claim of the paper, one row each" in index and "not checked yet" in index
    assert "synthetic - pipeline demonstration" not in index


def test_failed_and_mismatched_runs_show_as_failed_never_as_results(tiny_repo, html: Path):
    index = json.loads((tiny_repo.root / "runs" / "index.json").read_text())["runs"]
    status = {(e["dataset"], e["config"], bool(e["synthetic"])): e for e in index}
    c2 = status["fer2013", "C2", True]                                      # the hand-made 2-epoch run
    assert c2["status"] == "failed" and "other parameters (epochs 2, plan 1)" in c2["error"]
    for c in ("C1", "C2"):                                                  # damaged RAF-DB: crashed
        e = status["rafdb", c, False]
        assert e["status"] == "failed" and "list_patition_label.txt" in e["error"], e
    assert status["fer2013", "C1", True]["status"] == "current"            # made by hand, adopted
    runs, demo = article(html, "run-pages"), article(html, "demo")     # real runs; the synthetic ones
    assert runs.count("failed: ") >= 2 and "other parameters (epochs 2, plan 1)" in demo
    assert "synthetic-" not in runs and "list_patition_label.txt" not in demo
    from resemote.book import report
    entries = report.load_entries(tiny_repo.root / "runs")
    assert not report.select(entries, config="C2")                         # never read as a result
    assert {e.info.config for e in report.select(entries, experiment="table3")} == {"C1", "C5"}
    t4 = report.ablation_table(entries).set_index("config")
    assert t4.loc["C2", "ours acc. (%), RAF-DB, reduced budget"] == report.NOT_RUN
    assert c2["id"] not in text(html, "results").split("Per-class results")[0]   # no result cell cites it


def test_no_page_names_a_path_of_the_build_machine(tiny_repo, html: Path):
    for f in html.rglob("*.html"):
        t = f.read_text()
        assert str(tiny_repo.root) not in t and "/tmp/" not in t, f"{f.name} names a local path"
