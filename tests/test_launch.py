"""Launch buttons and the Colab path: run pages open notebooks/train.ipynb (dataset pages
notebooks/datasets.ipynb) in Colab, chapters have no button, the page states the T4 estimate as an estimate,
and the notebook installs the package from the repository the book names."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from resemote.book import colab, launch_buttons as launch

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].removeprefix("https://github.com/")
COLAB = CONFIG["launch_buttons"]["colab_url"]


def test_source_notebooks_and_urls():
    assert launch.source_notebook("book/runs/synthetic-C1-s0-abc") == "notebooks/train.ipynb"
    assert launch.source_notebook("book/data/rafdb") == "notebooks/datasets.ipynb"
    assert launch.source_notebook("book/results") is None
    assert launch.source_notebook("book/demo-runs/synthetic-C1-s0-abc") == "notebooks/train.ipynb"   # the appendix
    assert launch.source_notebook("book/demo-data/synthetic-48-24-24-s0") == "notebooks/datasets.ipynb"
    assert launch.source_notebook("book/demo-run-pages") is None and launch.source_notebook("book/demo") is None
    theme = {"launch_buttons": CONFIG["launch_buttons"], "path_to_docs": CONFIG["repository"]["path_to_book"]}
    urls = launch.launch_urls(theme, "notebooks/train.ipynb", "0123abc", *REPO.split("/"))
    assert urls["Colab"] == f"{COLAB}/github/{REPO}/blob/0123abc/notebooks/train.ipynb"
    assert urls["Binder"].endswith(f"/v2/gh/{REPO}/0123abc?urlpath=tree/notebooks/train.ipynb")
    assert CONFIG["repository"]["path_to_book"] == "" and "resemote.book.launch_buttons" in CONFIG["sphinx"]["extra_extensions"]


def test_t4_estimate_is_flops_over_an_assumed_rate():
    splits = {"train": {"Angry": 900}, "val": {"Angry": 100}, "test": {"Angry": 200}}
    e = colab.t4_estimate("C1", splits, epochs=10)
    from resemote.models import model_summary
    fwd = model_summary("C1")["gflops"] * 1e9
    total = 10 * (3 * fwd * 900 + fwd * 100) + fwd * 200
    assert e.total_pflops == pytest.approx(total / 1e15)
    assert e.hours == pytest.approx((total / (8.1e12 * 0.5) / 3600, total / (8.1e12 * 0.2) / 3600))
    md = e.markdown()
    assert md.startswith("**Estimate, not a measurement:**") and "T4" in md and "resemote.book.colab" in md
    carved = colab.t4_estimate("C1", {"train": {"Happy": 1000}, "test": {"Happy": 10}}, epochs=1)
    assert (carved.n_train, carved.n_val) == (900, 100)                   # no val split: 10% of train


def test_notebook_installs_from_the_books_repository():
    nb = (ROOT / "notebooks" / "train.py").read_text()
    assert f'REPOSITORY = "{CONFIG["repository"]["url"]}"' in nb
    assert f"{COLAB}/github/{REPO}/blob/main/notebooks/train.ipynb" in nb
    first_code = json.loads((ROOT / "notebooks" / "train.ipynb").read_text())
    first_code = next(c for c in first_code["cells"] if c["cell_type"] == "code")
    src = "".join(first_code["source"])
    assert 'find_spec("resemote") is None' in src and "git\", \"clone" in src and "pip\", \"install" in src
    assert "drive.mount" not in src and "wget" not in src and "urlretrieve" not in src   # mounts, fetches nothing


@pytest.mark.xdist_group("tiny_repo")
def test_tiny_book_run_pages_open_train_ipynb_in_colab(tiny_repo):
    html = tiny_repo.root / "_build" / "html"
    # the tiny plan's runs are synthetic: their pages are in the appendix's folder (book/demo-runs/)
    runs = sorted(p for d in ("runs", "demo-runs") for p in (html / "book" / d).glob("*.html") if p.stem != "none")
    assert runs
    ref = CONFIG["repository"]["branch"]                                   # the tiny repository is no git checkout
    want = f"{COLAB}/github/{REPO}/blob/{ref}/notebooks/train.ipynb"
    for page in runs:
        t = page.read_text()
        links = set(re.findall(r'href="(https://colab[^"]+)"', t))
        assert links == {want}, (page.name, links)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t))
        assert "Estimate, not a measurement:" in text and "Colab T4" in text
        # the install cell's line: the commit to set, or (the tiny repository is no git checkout) that none is known
        assert re.search(r'set COMMIT = (&quot;|")\S+|its commit is unknown', t)
    for page in (p for d in ("data", "demo-data") for p in (html / "book" / d).glob("*.html") if p.stem != "none"):
        assert set(re.findall(r'href="(https://colab[^"]+)"', page.read_text())) == {
            f"{COLAB}/github/{REPO}/blob/{ref}/notebooks/datasets.ipynb"}
    for chapter in ("results", "method"):
        assert "colab.research.google.com" not in (html / "book" / f"{chapter}.html").read_text()
    # page one has no launch button either; its text links train.ipynb in Colab at the run pages' ref
    index = (html / "book" / "index.html").read_text()
    assert "dropdown-launch-buttons" not in index and set(re.findall(r'href="(https://colab[^"]+)"', index)) == {want}
    stamp = json.loads((html / "build.json").read_text())
    assert stamp["commit"] is None and set(stamp) >= {"dirty", "date"}
