"""Synthetic results stay in the appendix: the chapters that mirror the paper, executed on a FAKE run index that
holds synthetic and real runs, show no synthetic number, tag or run; the appendix shows them, labelled; staging
puts synthetic run pages in the appendix's folder and titles a recorded run's page with its record's id; a
table's sources are short run labels linking to the run pages.

Every number below is a made-up test fixture (marked FAKE); none reaches the book.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from resemote.book import report
from resemote.book.engine_jobs import stage_book
from resemote.book.records import IndexEntry
from resemote.book.engine import ROOT
from resemote.data.classes import CLASSES

MIRROR = ("introduction", "method", "datasets", "setup", "results", "ablation", "gradcam", "audit", "compute")
SYNTH_ACC = 0.4321   # FAKE: a synthetic accuracy no real run has, so "43.21" anywhere means it leaked out


def fake_run(root: Path, rid: str, *, dataset: str, config: str, acc: float, synthetic: bool, experiments: list[str],
             stands_in_for: list[str], profile: str, kind: str = "live", epochs: int = 2, page: bool = True,
             cross: dict | None = None, **extra) -> dict:
    d = root / rid
    d.mkdir(parents=True)
    synth = {"generator": "FAKE", "n_train": 10, "n_val": 5, "n_test": 7, "seed": 0} if synthetic else None
    params = {"dataset": dataset, "config": config, "protocol": "paper", "epochs": epochs, "batch_size": 16,
              "lr": 0.01, "seed": 0, "image_size": 64, "synthetic": synth, **extra}
    (d / "params.json").write_text(json.dumps(params))
    (d / "history.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n"
                                   "1,0.01,2.0,0.2,1.9,0.25,1.0\n2,0.01,1.5,0.4,1.6,0.35,1.0\n")
    metrics = {"dataset": dataset, "config": config, "protocol": "paper", "seed": 0, "epochs": epochs,
               "best_epoch": 2, "classes": list(CLASSES), "test_accuracy": acc,
               "test_accuracy_ci95": [acc - 0.01, acc + 0.01], "balanced_accuracy": acc, "macro_f1": acc,
               "test_loss": 1.234, "per_class": {c: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
                                                 for c in CLASSES},
               "confusion_matrix": [[int(i == j) for j in range(7)] for i in range(7)], "train_seconds": 12.0,
               "inference_ms_per_image": 3.0, "device": "cpu (FAKE CPU)", "git_commit": "fakefakefake1234",
               "torch_version": "FAKE", "data_fingerprint": "FAKEFP", "majority_class_rate": 0.3,
               "finished_at": "2026-01-01T00:00:00+00:00", "synthetic": synth, **extra}
    (d / "metrics.json").write_text(json.dumps(metrics))
    return {"id": rid, "kind": kind, "status": "current", "error": None, "dataset": dataset, "config": config,
            "seed": 0, "profile": profile, "synthetic": synth, "experiments": experiments,
            "stands_in_for": stands_in_for, "params": params, "path": rid, "command": "FAKE",
            "budget": f"{epochs} epochs", "page": page, "cross": cross or {}}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    everything = ["fer2013", "rafdb", "affectnet", "expw", "ferplus"]
    (root / "xs").mkdir(parents=True)
    (root / "xs" / "ckplus.json").write_text(json.dumps({
        "accuracy": 0.3, "accuracy_ci95": [0.25, 0.35], "n": 100, "split": "test", "trained_on": "fer2013",
        "coverage": {"present_classes": ["Angry"]}}))
    index = [
        fake_run(root, "synthetic-C1-s0-FAKE", dataset="fer2013", config="C1", acc=SYNTH_ACC, synthetic=True,
                 experiments=["table3", "table4", "sensitivity"], stands_in_for=everything, profile="demo"),
        fake_run(root, "synthetic-C2-s0-FAKE", dataset="fer2013", config="C2", acc=SYNTH_ACC, synthetic=True,
                 experiments=["table4"], stands_in_for=["rafdb", "fer2013"], profile="demo", epochs=1),
        fake_run(root, "synthetic-resnet18-s0-FAKE", dataset="fer2013", config="resnet18", acc=SYNTH_ACC,
                 synthetic=True, experiments=["baselines"], stands_in_for=everything[:4], profile="demo", epochs=1),
        fake_run(root, "synthetic-C1-s0-leakFAKE", dataset="fer2013", config="C1", acc=SYNTH_ACC, synthetic=True,
                 experiments=["leakage"], stands_in_for=["fer2013"], profile="demo", leak_test_fraction=0.1,
                 leak_copies="as-is"),
        # a recorded real run (its page was made under its local id) and a real run of this build
        fake_run(root, "fer2013-C1-s0-9ep-cpu-FAKE", dataset="fer2013", config="C1", acc=0.6, synthetic=False,
                 experiments=["table3"], stands_in_for=["fer2013"], profile="reduced", kind="recorded", epochs=9,
                 cross={"ckplus": "xs/ckplus.json"}),
        fake_run(root, "rafdb-C1-s0-FAKE", dataset="rafdb", config="C1", acc=0.8, synthetic=False,
                 experiments=["table3", "table4"], stands_in_for=["rafdb"], profile="paper", epochs=80, page=False),
    ]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(1, 1))                     # a FAKE Grad-CAM figure of the synthetic C1 run
    fig.savefig(root / "synthetic-C1-s0-FAKE" / "gradcam.png")
    plt.close(fig)
    index[0]["gradcam"] = "synthetic-C1-s0-FAKE/gradcam.png"
    demo = {"protocol": "paper", "epochs": 2, "lr": 0.01, "synthetic": {"n_train": 10}}
    (root / "index.json").write_text(json.dumps({
        "runs": index, "datasets": [], "profile": "reduced", "profile_reason": "FAKE", "present": [],
        "profiles": {"reduced": {"protocol": "paper", "epochs": 9}, "demo": demo}, "unplaced_records": []}))
    return root


def render_chapter(name: str) -> str:
    """Execute a chapter's code cells in order, as the book does, and return everything they show: printed
    text, displayed and last-expression values (tables as HTML, Markdown as its text) and every figure's text."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.close("all")  # a figure another test left open is not this chapter's (a cell shows every open figure)
    text = (ROOT / "book" / f"{name}.md").read_text()
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S)
    shown: list[str] = []

    def show(obj) -> None:
        if obj is None:
            return
        if hasattr(obj, "to_html"):
            shown.append(obj.to_html())
        elif hasattr(obj, "data"):
            shown.append(str(obj.data))
        elif hasattr(obj, "savefig"):
            shown.append(_figure_text(obj))
        else:
            shown.append(str(obj))

    import IPython.display
    ns: dict = {"display": show}
    real_display, IPython.display.display = IPython.display.display, show  # a cell may import it
    try:
        for src in cells:
            _run_cell(src, name, ns, show, shown)
    finally:
        IPython.display.display = real_display
    return "\n".join(shown)


def _run_cell(src: str, name: str, ns: dict, show, shown: list[str]) -> None:
    """One cell: its statements, then its last expression shown (as Jupyter does), then its open figures."""
    import matplotlib.pyplot as plt
    tree = ast.parse("\n".join(l for l in src.splitlines() if not l.startswith(":tags:")))
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, name, "exec"), ns)
        if last is not None:
            show(eval(compile(ast.Expression(last.value), name, "eval"), ns))
    shown.append(out.getvalue())
    for n in plt.get_fignums():  # the inline backend shows every open figure at the cell's end
        shown.append(_figure_text(plt.figure(n)))
    plt.close("all")


def _figure_text(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")))


@pytest.mark.parametrize("chapter", MIRROR)
def test_the_chapters_that_mirror_the_paper_show_nothing_synthetic(runs, monkeypatch, chapter):
    monkeypatch.setenv("RESEMOTE_RUNS", str(runs))
    out = render_chapter(chapter)
    assert report.SYNTHETIC_TAG not in out
    assert "synthetic-" not in out                      # no synthetic run named, linked or in a figure title
    assert "43.21" not in out and "stand-in (" not in out
    if chapter in ("results", "ablation"):              # the real runs are there, linked by their short labels
        assert "RAF-DB C1 80 ep (this build)" in out
    if chapter == "results":
        assert '<a href="runs/fer2013-C1-s0-9ep-cpu-FAKE.html"' in out and "FER2013 C1 9 ep (recorded)" in out
        assert "fakefake" not in out.split("Per-class")[0]  # no commit in the first tables' captions
    if chapter == "gradcam":                            # no real run with a map: one line, with the appendix
        assert 'href="demo.html"' in out and "make book" in out
    if chapter == "introduction":
        assert "FER2013: ResEmoteNet C1 trained and tested at a reduced budget (9 epochs, CPU, recorded)." in out
        assert "CK+: a test set only, for the models trained on FER2013." in out
        assert "- AffectNet-7, ExpW, FER+ (majority vote, 7 classes) and JAFFE: not available here." in out


def test_the_appendix_shows_the_synthetic_runs_labelled(runs, monkeypatch):
    monkeypatch.setenv("RESEMOTE_RUNS", str(runs))
    out = render_chapter("demo")
    assert out.count(report.SYNTHETIC_TAG) >= 6
    assert "43.21" in out and "synthetic C1 2 ep (synthetic)" in out
    assert '<a href="demo-runs/synthetic-C1-s0-FAKE.html"' in out
    assert "**synthetic-C1-s0-FAKE** (synthetic - pipeline demonstration)" in out      # its Grad-CAM figure
    assert "RAF-DB C1 80 ep" not in out and "fer2013-C1-s0-9ep-cpu-FAKE" not in out   # no real run here
    listing = out                                       # the appendix lists every synthetic run, no real one
    assert "synthetic-resnet18-s0-FAKE" in listing and "rafdb-C1-s0-FAKE" not in listing
    real = render_chapter("run-pages")
    assert "rafdb-C1-s0-FAKE" in real and "synthetic-" not in real


def test_sources_are_short_labels_linking_to_run_pages(runs):
    entries = {e.id: e for e in report.load_entries(runs)}
    rec, live = entries["fer2013-C1-s0-9ep-cpu-FAKE"], entries["rafdb-C1-s0-FAKE"]
    cap = report.caption("A table.", [rec, live, rec])
    assert cap == ('A table. Sources: <a href="runs/fer2013-C1-s0-9ep-cpu-FAKE.html" title="fer2013-C1-s0-9ep-cpu-FAKE">'
                   'FER2013 C1 9 ep (recorded)</a>, RAF-DB C1 80 ep (this build).')   # no page: no link
    assert report.caption("One.", [live]) == "One. Source: RAF-DB C1 80 ep (this build)."
    assert report.run_label(entries["synthetic-C1-s0-leakFAKE"]) == "synthetic C1 2 ep leak 10% (synthetic)"
    assert report.caption("Nothing.", []) == "Nothing."


def _page(path: Path, title: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}\n\nFAKE page."),
                                         nbformat.v4.new_code_cell("1")])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def test_staging_puts_synthetic_pages_in_the_appendix_and_titles_records_by_their_id(runs, tmp_path):
    index = json.loads((runs / "index.json").read_text())
    for e in index["runs"]:
        if e["kind"] == "live":
            _page(runs / "_pages" / f"{e['id']}.ipynb", f"Run {e['id']}: FAKE")
    # the recorded run's page was executed where it was trained, under that machine's local run id
    _page(runs / "fer2013-C1-s0-9ep-cpu-FAKE" / "page.ipynb", "Run fer2013-C1-s0-d7f062: C1 on FER2013, seed 0 "
                                                              "(reduced profile)")
    datasets = [{"name": "synthetic-10-5-7-s0", "kind": "live", "status": "current", "synthetic": True},
                {"name": "jaffe", "kind": "live", "status": "current", "synthetic": False}]
    for d in datasets:
        _page(runs / "_pages" / f"datasets-{d['name']}.ipynb", f"Dataset: {d['name']}")
    w = SimpleNamespace(path=Path, runs_dir=str(runs))
    src = tmp_path / "src"
    stage_book(w, [IndexEntry.from_json(e) for e in index["runs"]], {"datasets": datasets}, src)
    book = src / "book"
    listed = {p.parent.name + "/" + p.name for p in book.glob("*/*.*") if p.parent.name in
              ("runs", "data", "demo-runs", "demo-data")}
    assert listed == {"demo-runs/synthetic-C1-s0-FAKE.ipynb", "demo-runs/synthetic-C2-s0-FAKE.ipynb",
                      "demo-runs/synthetic-resnet18-s0-FAKE.ipynb", "demo-runs/synthetic-C1-s0-leakFAKE.ipynb",
                      "runs/fer2013-C1-s0-9ep-cpu-FAKE.ipynb",      # the live RAF-DB run has no page
                      "demo-data/synthetic-10-5-7-s0.ipynb", "data/jaffe.ipynb"}
    nb = nbformat.read(str(book / "runs" / "fer2013-C1-s0-9ep-cpu-FAKE.ipynb"), as_version=4)
    assert nb.cells[0].source.splitlines()[0] == ("# Run fer2013-C1-s0-9ep-cpu-FAKE (recorded): C1 on FER2013, seed 0 "
                                                  "(reduced profile)")
    assert "d7f062" not in nb.cells[0].source and nb.cells[0].source.endswith("FAKE page.")
    # the table of contents globs each folder under its own part: real runs first, the synthetic ones in the appendix
    import yaml
    toc = yaml.safe_load((src / "_toc.yml").read_text())
    globs = {p["caption"]: [s["glob"] for c in p["chapters"] for s in c.get("sections", [])] for p in toc["parts"]}
    captions = list(globs)
    assert globs["The runs"] == ["book/runs/*", "book/data/*"]
    appendix = next(c for c in captions if c.startswith("Appendix"))
    assert globs[appendix] == ["book/demo-runs/*", "book/demo-data/*"]
    assert captions.index("The runs") < captions.index(appendix)


def test_the_datasets_chapter_shows_raf_db_counted_from_its_label_file(runs, monkeypatch):
    """Page one cites RAF-DB's counts to the datasets chapter: it shows them, from the committed label-file record,
    said as such."""
    monkeypatch.setenv("RESEMOTE_RUNS", str(runs))
    out = render_chapter("datasets")
    rec = json.loads((ROOT / "results" / "datasets" / "rafdb" / "label-counts.json").read_text())
    assert "RAF-DB (label file)" in out and "counted from the label file; images not present" in out
    assert "results/datasets/rafdb/label-counts.json" in out and rec["commit"][:10] in out
    assert f">{sum(rec['stats']['splits']['train'].values())}<" in out.replace(",", "")


def test_the_computed_table_ii_is_one_table_per_dataset(runs, monkeypatch):
    """All recorded datasets side by side made one table of some thirty columns that ran past a 1280 px page:
    each dataset gets its own, no wider than its splits and the paper's two columns."""
    index = json.loads((runs / "index.json").read_text())
    index["datasets"] = [{"name": p.parent.name, "kind": "recorded", "status": "current", "synthetic": False,
                          "path": str(p)} for p in sorted((ROOT / "results" / "datasets").glob("*/summary.json"))]
    (runs / "index.json").write_text(json.dumps(index))
    monkeypatch.setenv("RESEMOTE_RUNS", str(runs))
    out = render_chapter("datasets")
    names = [report.dataset_label(d) for d in report.load_datasets(runs, synthetic=False)]
    assert len(names) >= 2                                              # the committed records: FER2013, FER+, ...
    tables = [t for t in re.findall(r"<table.*?</table>", out, flags=re.S) if "Table II computed from the data" in t]
    assert len(tables) == len(names)
    for t, name in zip(tables, names):
        assert name in t and not any(other in t for other in names if other != name)
        header = re.search(r"<thead>.*?</thead>", t, flags=re.S).group(0)
        assert len(re.findall(r'class="col_heading level1', header)) <= 6


# the COMMIT cell of notebooks/train.py, as a page holds it
COMMIT_CELL = next(c.source for c in nbformat.read(str(ROOT / "notebooks" / "train.ipynb"), as_version=4).cells
                   if c.cell_type == "code" and 'COMMIT = ""' in c.source)


def test_a_recorded_page_names_its_record_and_the_commit_that_made_it(runs, tmp_path):
    """A record's page was executed where it was trained, under a local run id and possibly at a later commit
    than the run's: staged, it names the record's id, folder and commit (record.json), never the local id as
    its own or the executing checkout's commit."""
    rec_dir = runs / "fer2013-C1-s0-9ep-cpu-FAKE"
    record = {"id": "fer2013-C1-s0-9ep-cpu-FAKE", "commit": "0123456789ab", "device": "cpu (FAKE CPU)",
              "finished_at": "2026-01-02T03:04:05+00:00", "source": "fer2013-C1-s0-d7f062"}
    (rec_dir / "record.json").write_text(json.dumps(record))
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Run fer2013-C1-s0-d7f062: C1 on FER2013, seed 0 (reduced profile)\n\nFAKE."),
        nbformat.v4.new_code_cell(COMMIT_CELL, outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text='resemote at commit fedcba987654: to run this code elsewhere, set '
                                          'COMMIT = "fedcba987654"\n')]),
        nbformat.v4.new_code_cell('out = "runs/fer2013-C1-s0-d7f062"', outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="run fer2013-C1-s0-d7f062: 9 epochs, batch 16, seed 0, written to "
                                          "runs/fer2013-C1-s0-d7f062\n")])])
    nbformat.write(nb, str(rec_dir / "page.ipynb"))
    index = json.loads((runs / "index.json").read_text())
    src = tmp_path / "src"
    stage_book(SimpleNamespace(path=Path, runs_dir=str(runs)),
               [IndexEntry.from_json(e) for e in index["runs"] if e["kind"] != "live"],
               {"datasets": []}, src)
    staged = nbformat.read(str(src / "book" / "runs" / "fer2013-C1-s0-9ep-cpu-FAKE.ipynb"), as_version=4)
    head = staged.cells[0].source.splitlines()
    assert head[0] == "# Run fer2013-C1-s0-9ep-cpu-FAKE (recorded): C1 on FER2013, seed 0 (reduced profile)"
    folder = str(rec_dir)  # outside the repository: its path as it is
    assert head[2] == (f"**Record** `fer2013-C1-s0-9ep-cpu-FAKE` (`{folder}/record.json`): made at commit "
                       "`0123456789ab` on cpu (FAKE CPU), finished 2026-01-02; trained as local run "
                       "`fer2013-C1-s0-d7f062` and published under this id.")
    assert staged.cells[1].outputs[0]["text"] == ('run made at commit 0123456789ab (its record): to run this code '
                                                  'elsewhere, set COMMIT = "0123456789ab"\n')
    assert staged.cells[1].source == COMMIT_CELL                       # the code that printed it is untouched
    assert staged.cells[2].source == f'out = "{folder}"'
    assert staged.cells[2].outputs[0]["text"] == ("run fer2013-C1-s0-9ep-cpu-FAKE: 9 epochs, batch 16, seed 0, "
                                                  f"written to {folder}\n")
    # the local id is named once, in the record line, as what it is; the executing checkout's commit nowhere
    text = json.dumps(staged)
    assert text.count("d7f062") == 1 and "fedcba987654" not in text
    assert nbformat.read(str(rec_dir / "page.ipynb"), as_version=4) == nb   # the record itself is untouched


def test_an_empty_folder_gets_a_page_saying_so(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    stage_book(SimpleNamespace(path=Path, runs_dir=str(runs)), [], {"datasets": []}, tmp_path / "src")
    for folder in ("runs", "data", "demo-runs", "demo-data"):
        assert [p.name for p in (tmp_path / "src" / "book" / folder).iterdir()] == ["none.md"]
