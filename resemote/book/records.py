"""Run results for the book: the run index and the recorded runs (the one module that knows them).

A run directory's own files are `resemote.training.rundir`'s.

The run index (`runs/index.json`; its paths relative to its folder) is the contract between the engine and the book: the engine
(`resemote.book.run_index`, for the engine) writes one entry (`IndexEntry`) per planned run and per recorded run
that fills a cell of the plan, the book (`resemote.book.report`) reads them. An entry's `status` is `current`
(finished, with the plan's parameters), `failed` (with its error line) or `not run`; only a current entry is ever
read as a result.

Recorded runs live in `results/` (committed): the small text files of a finished run made elsewhere
(`results/runs/<id>/`) or of a dataset's computed tables and audit (`results/datasets/<id>/`), each with a
`record.json` naming commit, device, date and data fingerprint. `publish_run` / `publish_dataset` make them;
a long run carried across stops is recorded *in progress* before it ends (`publish_progress`: its history so
far, no test score), under the id its finished record will replace;
a dataset counted from its label file alone (no image present) is recorded as `results/datasets/<name>/
label-counts.json` instead, never as a `record.json`, so nothing takes it for a decoded, audited copy;
`pack_runs` packs run directories made elsewhere (a GPU call) into one archive of their small files, and
`publish_archive` validates every run in it and records those that pass.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from resemote.book import ROOT
from resemote.data.classes import TITLES
from resemote.errors import ResEmoteError
from resemote.io import write_json
from resemote.leakage import KEYS as LEAK_KEYS, LeakExperiment, leak_block
from resemote.training.rundir import METRIC_FIELDS, Run, load_run
from resemote.training.spec import CELL, RunSpec

SYNTHETIC_TAG = "synthetic - pipeline demonstration"
CURRENT, FAILED, NOT_RUN = "current", "failed", "not run"
SUPERSEDED = "superseded"  # a recorded run kept as history: another budget or a newer record fills its cell
# a long run's progress, recorded before it ends (its params and history so far; no test score): shown as a
# growing training curve, never read as a result
IN_PROGRESS = "in progress"
LIVE, RECORDED = "live", "recorded"
RECORD_FILES = ("params.json", "metrics.json", "history.csv")
# what else a finished run may hold that its record carries: its weights on other datasets' test splits
# (the engine's cross jobs) and its PrivateTest scored against FER+'s labels (`resemote ferplus-score`)
RECORD_EXTRAS = ("cross/*.json", "ferplus-labels.json")
OPTIONAL_RECORD_FILES = ("test_predictions.csv",)  # runs made before it was written lack it
PAGE_LIMIT = 400_000  # bytes: an executed notebook page larger than this is not recorded
LABEL_COUNTS = "label-counts.json"  # a dataset counted from its label file alone, beside (never as) a record.json
IMAGE_SIDE = ("decoded", "audit", "clean_test", "fingerprint")  # what a label-file count must not carry


def cell(params: dict) -> dict:
    """The result-deciding settings of a run (planned or made; `RunSpec.cell`), the protocol's defaults
    filled in: a plan's `lr: None` means the protocol's, which is what a finished run's params.json records."""
    return RunSpec.from_params(params).cell()


def mismatch(planned: dict, actual: dict) -> str | None:
    """How a run's recorded parameters differ from the plan's ('epochs 1, plan 80'), or None."""
    want, got = cell(planned), cell(actual)
    for k in (*CELL, *LEAK_KEYS):
        if want.get(k) != got.get(k):
            return f"{k} {got.get(k)!r}, plan {want.get(k)!r}"
    return None


def status_of(run_dir: Path, planned: dict, log: Path | None = None) -> tuple[str, str | None]:
    """(status, error) of a planned run from what its directory and its job's log hold."""
    if (run_dir / "metrics.json").is_file():
        why = mismatch(planned, json.loads((run_dir / "params.json").read_text()))
        return (FAILED, f"its results were made with other parameters ({why})") if why else (CURRENT, None)
    if log is not None and log.is_file():
        return FAILED, error_line(log.read_text(errors="replace"))
    return NOT_RUN, None


def error_line(text: str) -> str:
    """The line of a failed job's log that says what went wrong (the last error-looking line)."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    marks = ("resemote: error:", "Error:", "Error ", "error:", "Killed", "Traceback")
    for line in reversed(lines):
        if any(m in line for m in marks) and not line.startswith("Traceback"):
            return line[:300]
    return (lines[-1][:300] if lines else "the job failed without output")


# --- the run index ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexEntry:
    """One entry of the run index (`runs/index.json`): a planned run (`kind` live) or a recorded run placed
    in a cell of the plan or kept as history (`kind` recorded), as the engine writes it and the book reads it."""

    id: str = ""
    kind: str = LIVE                   # live (planned here) or recorded (results/runs/)
    status: str = NOT_RUN              # current, failed, not run, in progress or superseded
    error: str | None = None           # a failed run's error line
    path: str = ""                     # its run directory, relative to the index's folder
    profile: str = ""                  # the plan's profile it fills a cell of, or 'history'
    dataset: str = ""
    config: str = ""
    seed: int | None = None
    synthetic: dict | None = None      # the synthetic stand-in's generator (sizes, seed), or None
    experiments: list[str] = field(default_factory=list)    # the book's experiments it is a run of
    stands_in_for: list[str] = field(default_factory=list)  # the datasets whose cells it fills
    params: dict = field(default_factory=dict)              # its result-deciding settings (`cell`)
    budget: str = ""                   # its training budget in words ('9 epochs, batch 16')
    command: str = ""                  # the command that makes it
    page: bool = False                 # it has an executed notebook page to stage
    cross: dict[str, str] = field(default_factory=dict)     # its results on other test sets: name -> file
    gradcam: str | None = None         # its Grad-CAM figure (live, current)
    record: dict | None = None         # a recorded run's record.json
    note: str | None = None            # why a record is history
    spec: dict | None = None           # a planned run's RunSpec (`json.loads(spec.to_json())`); None if recorded

    def to_json(self) -> dict:
        """The entry as `runs/index.json` holds it: every field, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, d: dict) -> "IndexEntry":
        """An entry read from `runs/index.json`; keys it does not know (an older index's) are left out."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Entry:
    """One entry of the run index and, when it is current, its results."""

    info: IndexEntry
    run: Run | None     # only for a current entry

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def status(self) -> str:
        return self.info.status

    @property
    def finished(self) -> bool:
        return self.status == CURRENT and self.run is not None and self.run.finished

    @property
    def recorded(self) -> bool:
        return self.info.kind == RECORDED

    @property
    def in_progress(self) -> bool:
        """A long run's progress, recorded before it ended: its training history so far and no test score."""
        return self.status == IN_PROGRESS and self.run is not None and not self.run.finished

    @property
    def superseded(self) -> bool:
        """A recorded run kept as history (its numbers shown in the run list, never in a cell)."""
        return self.status == SUPERSEDED and self.run is not None and self.run.finished

    @property
    def synthetic(self) -> bool:
        return bool(self.info.synthetic) or (self.run is not None and self.run.synthetic)

    @property
    def metrics(self) -> dict:
        return self.run.metrics if self.finished else {}

    @property
    def params(self) -> dict:
        return self.run.params if self.run else self.info.params

    @property
    def leaked(self) -> bool:
        """Test images were leaked into its training on purpose (the leak experiment): never a reproduction."""
        return bool(leak_block(self.params).get("leak_test_fraction"))

    @property
    def subset_size(self) -> int | None:
        """The stratified training subset it trained on (the leak experiment), or None: the whole split."""
        return leak_block(self.params).get("train_subset")

    def experiment_label(self) -> str:
        """Its leak experiment's settings in a source line's few words ('7,000-image subset leak 10%'), or ''."""
        x = LeakExperiment.from_params(self.params)
        return x.short_label() if x else ""


def write_index(path: Path, entries: list[IndexEntry], **meta) -> None:
    write_json(path, {**meta, "runs": [e.to_json() for e in entries]})


def load_entries(runs_dir: str | Path) -> list[Entry]:
    """The index under `runs_dir`; a current entry comes with its run (live or recorded), others without."""
    runs_dir = Path(runs_dir)
    index = runs_dir / "index.json"
    if not index.is_file():
        return []
    out = []
    for d in json.loads(index.read_text())["runs"]:
        info = IndexEntry.from_json(d)
        run = None
        if info.status in (CURRENT, SUPERSEDED, IN_PROGRESS):
            run = load_run(runs_dir / info.path)
        out.append(Entry(info, run))
    return out


def load_index_meta(runs_dir: str | Path) -> dict:
    f = Path(runs_dir) / "index.json"
    return {k: v for k, v in json.loads(f.read_text()).items() if k != "runs"} if f.is_file() else {}


# --- recorded runs and datasets (results/) --------------------------------------------------------------------
def device_kind(device: str) -> str:
    """'cpu', 'cuda' or 'mps' from a run's device string ('cuda (NVIDIA H200)' -> 'cuda')."""
    return device.split(" ", 1)[0].split(":", 1)[0]


def record_id(metrics: dict) -> str:
    """`<dataset>-<config>-s<seed>-<epochs>ep[-b<batch>][-<protocol>]-<device>-<commit>[-sub<n>][-leak<F>-<copies>]`;
    the batch size only where it is not the protocol's (the sensitivity study), the protocol only where it is
    not `paper`, the leak experiment's settings only where set, so earlier ids stay as they were."""
    from resemote.training.protocols import PROTOCOLS
    bs = metrics.get("batch_size")
    proto = PROTOCOLS.get(metrics.get("protocol"))
    batch = f"-b{bs}" if bs is not None and proto is not None and bs != proto.batch_size else ""
    x = leak_block(metrics)
    extra = (f"-sub{x['train_subset']}" if "train_subset" in x else "") + (
        f"-leak{x['leak_test_fraction']:g}-{x['leak_copies']}" if "leak_test_fraction" in x else "")
    recipe = f"-{metrics['protocol']}" if metrics.get("protocol", "paper") != "paper" else ""
    return (f"{metrics['dataset']}-{metrics['config']}-s{metrics['seed']}-{metrics['epochs']}ep{batch}{recipe}-"
            f"{device_kind(metrics['device'])}-{str(metrics['git_commit'])[:7]}{extra}")


def _check_commit(commit: str, what: str) -> None:
    if not commit or commit == "unknown" or commit.endswith("-dirty"):
        raise ResEmoteError(f"{what} was made from commit {commit!r}; a record must name a clean commit "
                            f"(commit the code, then run it again)")


def release_of(dataset: str, root: str | Path) -> str:
    """The release of the dataset at `root` as pages name it; where that is not here (a run made on another
    machine), the release of this repository's data/<dataset>; '' when neither is there."""
    from resemote.data import dataset_class
    cls = dataset_class(dataset)
    for where in (root, ROOT / "data" / dataset):
        try:
            return cls(where, cls.splits[-1]).release
        except ResEmoteError:
            continue
    return ""


def check_run(run_dir: str | Path) -> Run:
    """The run at `run_dir` if it may be recorded: finished, complete, on real data, at a clean commit;
    otherwise a one-line ResEmoteError saying why not."""
    run_dir = Path(run_dir)
    if not (run_dir / "params.json").is_file():
        raise ResEmoteError(f"{run_dir}: expected a run directory (params.json, metrics.json, history.csv)")
    run = load_run(run_dir)
    if not run.finished:
        raise ResEmoteError(f"{run_dir}: the run has not finished (no metrics.json; {len(run.history)} of "
                            f"{run.params.get('epochs')} epochs in history.csv); finish it first, or record "
                            f"its progress with --in-progress")
    m = run.metrics
    missing = [k for k in METRIC_FIELDS if k not in m]
    if missing:
        raise ResEmoteError(f"{run_dir}/metrics.json: expected the field {missing[0]!r}")
    if run.synthetic:
        raise ResEmoteError(f"{run_dir}: a run on synthetic data is not recorded (every build remakes it)")
    if len(run.history) != m.get("epochs_run", m["epochs"]):
        raise ResEmoteError(f"{run_dir}/history.csv: expected {m.get('epochs_run', m['epochs'])} epochs, "
                            f"found {len(run.history)}")
    _check_commit(str(m["git_commit"]), str(run_dir))
    return run


def publish_run(run_dir: str | Path, records: str | Path, release: str = "") -> Path:
    """Validate a finished real-data run (`check_run`) and copy its record into `records`/runs/<id>/ (with its
    executed notebook page, `run_dir`/page.ipynb or runs/_pages/<run>.ipynb, when that is small)."""
    run_dir = Path(run_dir)
    run = check_run(run_dir)
    m = run.metrics
    rid = record_id(m)
    dest = Path(records) / "runs" / rid
    before = json.loads((dest / "record.json").read_text()) if (dest / "record.json").is_file() else {}
    trail = before.get("progress", []) if before.get("status") == IN_PROGRESS else []  # a long run's stops
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    local = _local_paths(run_dir, run.params.get("root", ""), m["dataset"])
    for f in RECORD_FILES + tuple(f for f in OPTIONAL_RECORD_FILES if (run_dir / f).is_file()):
        (dest / f).write_text(_without(local, (run_dir / f).read_text()))
    for page in (run_dir / "page.ipynb", run_dir.parent / "_pages" / f"{run_dir.name}.ipynb"):
        if page.is_file() and page.stat().st_size <= PAGE_LIMIT:
            (dest / "page.ipynb").write_text(_without(local, page.read_text()))
            break
    extras = sorted(f.relative_to(run_dir) for pattern in RECORD_EXTRAS for f in run_dir.glob(pattern) if f.is_file())
    for f in extras:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        (dest / f).write_text(_without(local, (run_dir / f).read_text()))
    write_json(dest / "record.json", {
        "id": rid, "kind": "run", "dataset": m["dataset"], "title": TITLES.get(m["dataset"], m["dataset"]),
        "release": release or release_of(m["dataset"], run.params.get("root", "")), "config": m["config"],
        "seed": m["seed"], "epochs": m["epochs"],
        "commit": m["git_commit"], "device": m["device"], "finished_at": m["finished_at"],
        "data_fingerprint": m["data_fingerprint"], "source": run_dir.name,
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **({"extras": [str(f) for f in extras]} if extras else {}),
        **leak_block(m), "test_predictions": (dest / "test_predictions.csv").is_file(),
        **({"progress": trail} if trail else {}),
    })
    return dest


def run_commits(run_dir: Path) -> list[str]:
    """The commits an unfinished run has trained at so far (its resume state's, first one first); [] when it
    has written no resume state yet. Memory-mapped: C1's state is 642 MB and only a list of strings is read."""
    import torch
    from resemote.training.runwriter import STATE
    if not (run_dir / STATE).is_file():
        return []
    state = torch.load(run_dir / STATE, map_location="cpu", weights_only=True, mmap=True)
    return [str(c) for c in state.get("progress", {}).get("commits", [])]


def publish_progress(run_dir: str | Path, records: str | Path, device: str | None = None,
                     release: str = "") -> Path:
    """Record the progress of an unfinished real-data run (a long run carried across stops) in
    `records`/runs/<id>/: its params.json and history.csv so far and a record.json with status *in progress*,
    the epochs done, the commit it trains at and the machine (`device`: where it trains, by default this
    machine's device for the run's setting), and every earlier publication of its progress (a trail of stops).
    Nothing of the test split: the run has not been tested. The id is the one its finished record will have, so
    `publish_run` replaces this record once the run ends; a finished record is never replaced by progress."""
    from resemote.env import device_name, resolve_device
    run_dir = Path(run_dir)
    if not (run_dir / "params.json").is_file():
        raise ResEmoteError(f"{run_dir}: expected a run directory (params.json, history.csv, state.pt)")
    run = load_run(run_dir)
    if run.finished:
        raise ResEmoteError(f"{run_dir}: the run has finished; record it without --in-progress")
    if run.synthetic:
        raise ResEmoteError(f"{run_dir}: a run on synthetic data is not recorded (every build remakes it)")
    if not run.history:
        raise ResEmoteError(f"{run_dir}: no epoch has finished yet (history.csv is empty); nothing to record")
    commits = run_commits(run_dir)
    if not commits:
        raise ResEmoteError(f"{run_dir}: expected its resume state (state.pt), which names the commit it trains "
                            f"at; found none")
    for c in commits:
        _check_commit(c, str(run_dir))
    p = run.params
    device = device or device_name(resolve_device(p.get("device", "auto")))
    rid = record_id({**p, "device": device, "git_commit": commits[0]})
    dest = Path(records) / "runs" / rid
    before = json.loads((dest / "record.json").read_text()) if (dest / "record.json").is_file() else {}
    if before and before.get("status") != IN_PROGRESS:
        raise ResEmoteError(f"{dest}: the finished record of this run is already there; progress does not "
                            f"replace it")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    done = len(run.history)
    trail = before.get("progress", []) + [{"published_at": now, "epochs_done": done, "device": device,
                                           "commit": commits[-1]}]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    local = _local_paths(run_dir, p.get("root", ""), p["dataset"])
    for f in ("params.json", "history.csv"):
        (dest / f).write_text(_without(local, (run_dir / f).read_text()))
    write_json(dest / "record.json", {
        "id": rid, "kind": "run", "status": IN_PROGRESS, "dataset": p["dataset"],
        "title": TITLES.get(p["dataset"], p["dataset"]),
        "release": release or release_of(p["dataset"], p.get("root", "")), "config": p["config"],
        "seed": p["seed"], "epochs": p["epochs"], "epochs_done": done, "commit": commits[0],
        **({"commits": commits} if len(commits) > 1 else {}), "device": device,
        "data_fingerprint": p["data_fingerprint"], "source": run_dir.name, "published_at": now,
        "progress": trail, **leak_block(p),
    })
    return dest


def _local_paths(run_dir: Path, root: str, dataset: str) -> list[tuple[str, str]]:
    """(absolute path on this machine, what a record says instead): the dataset root becomes data/<name>,
    the run directory runs/<name> (its folder runs), the repository's own folder and the one that made the
    run '', the Python environment (named by a library's warning on the executed page) <python>. Longest
    first."""
    repo = str(ROOT)
    run = run_dir.resolve()
    pairs = [(str(Path(root).resolve()) if root else "", f"data/{dataset}"),
             (str(run), f"runs/{run.name}"), (str(run_dir.absolute()), f"runs/{run.name}"),
             (repo + "/", ""), (sys.prefix, "<python>"), (sys.base_prefix, "<python>"), (str(run.parent), "runs")]
    if run.parent.name == "runs":  # the checkout that ran it (papermill names its notebooks)
        pairs.append((str(run.parents[1]) + "/", ""))
    return sorted({(a, b) for a, b in pairs if a and a != "/"}, key=lambda p: -len(p[0]))


def _without(local: list[tuple[str, str]], text: str) -> str:
    """`text` with the build machine's paths replaced: a published record names no local folder."""
    for a, b in local:
        text = text.replace(a, b)
    return text


def publish_dataset(summary: str | Path, records: str | Path) -> Path:
    """Copy a dataset's computed tables and audit counts (the datasets job's JSON) into
    `records`/datasets/<name>/: counts and file names only, never an image."""
    summary = Path(summary)
    if not summary.is_file():
        raise ResEmoteError(f"expected a dataset summary (runs/_datasets/<name>.json), found nothing at {summary}")
    s = json.loads(summary.read_text())
    if s.get("labels_only"):
        return _publish_label_counts(summary, s, records)
    for k in ("name", "stats", "fingerprint", "commit"):
        if k not in s:
            raise ResEmoteError(f"{summary}: expected the field {k!r} (written by notebooks/datasets.ipynb)")
    if s.get("synthetic"):
        raise ResEmoteError(f"{summary}: a synthetic dataset is not recorded (every build remakes it)")
    _check_commit(str(s["commit"]), str(summary))
    dest = Path(records) / "datasets" / s["name"]
    dest.mkdir(parents=True, exist_ok=True)
    write_json(dest / "summary.json", s)
    write_json(dest / "record.json", {
        "id": s["name"], "kind": "dataset", "dataset": s["name"], "title": TITLES.get(s["name"], s["name"]),
        "release": s.get("release", ""), "commit": s["commit"], "device": s.get("device", ""),
        "data_fingerprint": s["fingerprint"], "made_at": s.get("made_at", ""),
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    return dest


def record_agreement(record: dict, records: str | Path) -> Path:
    """Write an `agreement_record` into `records` (results/datasets/ferplus/label-agreement.json): counts
    only, made from a clean commit."""
    from resemote.analysis.ferplus_agreement import AGREEMENT_RECORD
    _check_commit(str(record.get("commit")), "the label-agreement count")
    path = Path(records) / AGREEMENT_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    return path


def _publish_label_counts(summary: Path, s: dict, records: str | Path) -> Path:
    """Record a dataset counted from its label file alone (`resemote stats --labels-only --summary`): its
    counts and label files' sha256, in `records`/datasets/<name>/label-counts.json."""
    from resemote.data.base import LABELS_ONLY
    for k in ("name", "dataset", "stats", "label_files", "commit"):
        if k not in s:
            raise ResEmoteError(f"{summary}: expected the field {k!r} (written by resemote stats --labels-only "
                                f"--summary)")
    if not s["stats"].get("labels_only") or not s["label_files"]:
        raise ResEmoteError(f"{summary}: expected counts from the label file alone, with the label file's sha256")
    side = [k for k in IMAGE_SIDE if k in s]
    if side:
        raise ResEmoteError(f"{summary}: expected nothing from the image side in counts from the label file "
                            f"alone, found {side[0]!r}")
    if s.get("synthetic"):
        raise ResEmoteError(f"{summary}: a synthetic dataset is not recorded (every build remakes it)")
    _check_commit(str(s["commit"]), str(summary))
    dest = Path(records) / "datasets" / s["name"]
    dest.mkdir(parents=True, exist_ok=True)
    write_json(dest / LABEL_COUNTS, {
        "id": s["name"], "kind": "label-counts", "dataset": s["dataset"],
        "title": TITLES.get(s["dataset"], s["dataset"]), "release": s.get("release", ""),
        "counted_from": LABELS_ONLY, "label_files": s["label_files"], "stats": s["stats"],
        "commit": s["commit"], "made_at": s.get("made_at", ""),
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    return dest


def load_label_counts(records: str | Path) -> list[dict]:
    """Every dataset counted from its label file alone under `records` (datasets/<name>/label-counts.json),
    each with the `path` it was read from; `load_records` never lists these."""
    folder = Path(records) / "datasets"
    files = sorted(folder.glob(f"*/{LABEL_COUNTS}")) if folder.is_dir() else []
    return [{**json.loads(f.read_text()), "path": f} for f in files]


def load_records(records: str | Path, kind: str = "runs") -> list[dict]:
    """Every record of `kind` (runs or datasets) under `records`, each {record, path} (and its summary)."""
    folder = Path(records) / kind
    out = []
    for f in sorted(folder.glob("*/record.json")) if folder.is_dir() else []:
        rec = {"record": json.loads(f.read_text()), "path": f.parent}
        if kind == "datasets":
            rec["summary"] = json.loads((f.parent / "summary.json").read_text())
        out.append(rec)
    return out


# --- runs made elsewhere, in one archive (a GPU call) -----------------------------------------------------------
ARCHIVE_FILES = (*RECORD_FILES, "page.ipynb", "train.log")  # what `pack_runs` keeps of a run: no weights, no state
ARCHIVE_LIMIT = 2_000_000  # bytes per file: a larger one is left out (and said so)


def pack_runs(run_dirs: list[Path], archive: str | Path) -> list[str]:
    """One gzipped tar of every run's small files as `runs/<name>/<file>` (`ARCHIVE_FILES`): finished or not,
    never weights or resume state. Returns the members written."""
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    members = []
    tmp = archive.with_name(archive.name + ".partial")
    with tarfile.open(tmp, "w:gz") as tar:
        for d in sorted(Path(p) for p in run_dirs):
            for f in ARCHIVE_FILES:
                path = d / f
                if path.is_file() and path.stat().st_size <= ARCHIVE_LIMIT:
                    tar.add(path, arcname=f"runs/{d.name}/{f}", recursive=False)
                    members.append(f"runs/{d.name}/{f}")
    tmp.replace(archive)
    return members


def _commit_known(commit: str, repo: Path) -> bool | None:
    """Whether `repo` (a git checkout) has `commit`; None where `repo` is no checkout (nothing to ask)."""
    try:
        if subprocess.run(["git", "-C", str(repo), "rev-parse", "--git-dir"], capture_output=True,
                          timeout=20).returncode != 0:
            return None
        return subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"],
                              capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return None


def publish_archive(archive: str | Path, records: str | Path,
                    repo: Path = ROOT) -> tuple[list[Path], list[str]]:
    """Record every run of an archive made by `pack_runs` (a GPU call's `runs.tar.gz`) that passes
    `check_run` and was made on the data recorded in `records`/datasets/<name>/ (the same fingerprint: the
    full release, not a subset or another copy) at a commit this repository has. Every run is checked before
    anything is written. Returns (the record folders written, one line per run refused)."""
    archive = Path(archive)
    try:
        tar = tarfile.open(archive)
    except (OSError, tarfile.TarError):
        raise ResEmoteError(f"{archive}: expected a tar archive of run directories (runs.tar.gz of "
                            f"benchmarks/gpu-check.sh)") from None
    datasets = {r["record"]["dataset"]: r["record"] for r in load_records(records, "datasets")}
    with tar, tempfile.TemporaryDirectory(prefix="resemote-publish-") as tmp:
        try:
            tar.extractall(tmp, filter="data")  # no absolute paths, no links out, no devices
        except (OSError, tarfile.TarError) as e:
            raise ResEmoteError(f"{archive}: a member could not be unpacked safely ({e})") from None
        runs = sorted(p.parent for p in Path(tmp).glob("**/params.json"))
        if not runs:
            raise ResEmoteError(f"{archive}: expected run directories (runs/<name>/params.json), found none")
        good, refused = [], []
        for d in runs:
            name = str(d.relative_to(tmp))
            try:
                run = check_run(d)
                m = run.metrics
                rec = datasets.get(m["dataset"])
                if rec is None:
                    raise ResEmoteError(f"no recorded {TITLES.get(m['dataset'], m['dataset'])} in {records}/datasets/ "
                                        f"to check its data against (resemote publish runs/_datasets/"
                                        f"{m['dataset']}.json first)")
                if m["data_fingerprint"] != rec["data_fingerprint"]:
                    raise ResEmoteError(f"made on data with fingerprint {m['data_fingerprint']}, not the recorded "
                                        f"{rec.get('release') or rec['dataset']} ({rec['data_fingerprint']}): a "
                                        f"subset or another copy is not recorded")
                if _commit_known(str(m["git_commit"]), repo) is False:
                    raise ResEmoteError(f"made at commit {m['git_commit']}, which this repository does not have "
                                        f"(fetch it, or run at a commit of this history)")
                rid = record_id(m)
                if any(record_id(g.metrics) == rid for _, g, _ in good):
                    raise ResEmoteError(f"another run of the archive makes the same record {rid}")
                good.append((d, run, rec))
            except ResEmoteError as e:
                refused.append(f"{archive.name}:{name}: {str(e).replace(str(d) + ': ', '').replace(str(d), name)}")
        written = [publish_run(d, records, release=rec.get("release", "")) for d, _, rec in good]
    return written, refused
