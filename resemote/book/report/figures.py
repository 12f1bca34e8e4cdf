"""Figures built from results (run histories, confusion matrices) and, where the dataset is on disk, from
its images (sample grids, duplicate pairs). Titles name datasets by name, release and fingerprint, never by
a path on the machine that built the book."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from resemote.book.records import Entry
from resemote.training.rundir import Run
from resemote.book.report.entries import CLASSES, SYNTHETIC_TAG, TITLES


def _plt():
    import matplotlib.pyplot as plt  # the kernel's inline backend in notebooks and chapters; Agg headless
    return plt


def run_title(run: Run, entry: Entry | None = None) -> str:
    tag = f" [{SYNTHETIC_TAG}]" if run.synthetic else (" [recorded]" if entry is not None and entry.recorded else "")
    return f"{entry.id if entry is not None else run.path.name}{tag}"


def plot_history(run: Run, ax=None, title: str | None = None):
    """Training and validation loss and accuracy per epoch (from history.csv)."""
    plt = _plt()
    h = pd.DataFrame(run.history)
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    else:
        fig = ax[0].figure
    if not h.empty:
        ax[0].plot(h["epoch"], h["train_loss"], "o-", label="train")
        ax[0].plot(h["epoch"], h["val_loss"], "s-", label="validation")
        ax[1].plot(h["epoch"], h["train_acc"] * 100, "o-", label="train")
        ax[1].plot(h["epoch"], h["val_acc"] * 100, "s-", label="validation")
    ax[0].set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax[1].set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for a in ax:
        a.legend()
        a.grid(alpha=0.3)
    fig.suptitle(title or run_title(run), fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion(run: Run, ax=None, normalize: bool = True, title: str | None = None):
    """The test confusion matrix (rows true, columns predicted), row-normalised like the paper's Fig. 4."""
    plt = _plt()
    import seaborn as sns
    cm = np.asarray(run.metrics["confusion_matrix"], dtype=float)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4))
    classes = run.metrics["classes"]
    sns.heatmap(cm, annot=True, fmt=".2f" if normalize else ".0f", cmap="Blues", cbar=False, ax=ax,
                xticklabels=classes, yticklabels=classes, vmin=0, vmax=1 if normalize else None,
                annot_kws={"size": 7})
    ax.set(xlabel="predicted", ylabel="true")
    ax.tick_params(axis="y", labelrotation=0)  # seaborn may stand long class names on end, into each other
    ax.tick_params(axis="x", labelrotation=90)
    ax.set_title(title or run_title(run), fontsize=8)
    return ax.figure


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "\n".join(textwrap.fill(line, width, break_on_hyphens=False, break_long_words=False)
                     for line in text.splitlines())


def panel_title(e: Entry, width: int = 56) -> str:
    """A small-multiple panel's title: the data and budget, the run id and what kind of run it is, wrapped to
    `width` characters a line so that neighbouring panels' titles never run into each other."""
    if e.synthetic:
        stands = ", ".join(TITLES[d] for d in e.info.stands_in_for)
        return _wrap(f"{e.id}\n[{SYNTHETIC_TAG}; stand-in for {stands}]", width)
    m = e.metrics
    kind = f"recorded, {m['device'].split(' (')[0]}, commit {str(m['git_commit'])[:7]}" if e.recorded else "this build"
    budget = e.info.budget
    return _wrap(f"{TITLES.get(m['dataset'], m['dataset'])}{', ' + budget if budget else ''}\n{e.id}\n[{kind}]", width)


def confusion_grid(entries: list[Entry], per_row: int = 3, synthetic: bool | None = None):
    """One confusion matrix per finished run (live, recorded, synthetic: each labelled), like Fig. 4;
    `synthetic=False`: the real-data runs only (None where there is none)."""
    plt = _plt()
    done = [e for e in entries if e.finished and (synthetic is None or e.synthetic == synthetic)]
    if not done:
        return None
    rows = -(-len(done) // per_row)
    cols = min(per_row, len(done))
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 5.0 * rows), squeeze=False)
    for ax in axes.ravel()[len(done):]:
        ax.axis("off")
    for e, ax in zip(done, axes.ravel()):
        plot_confusion(e.run, ax, title=panel_title(e))
    fig.tight_layout(h_pad=2.0, w_pad=2.5)
    return fig


# The article column of a book page at 1280 px, in pixels, and the resolution figures are drawn at inline: a figure
# no wider than this is shown at its own size, so its fonts read at the size they are set in.
ARTICLE_PX, INLINE_DPI = 676, 100


def history_grid(entries: list[Entry], per_row: int = 1):
    """The real-data runs' training curves (history.csv), one run per row: cross-entropy on the left, accuracy
    on the right, training and validation, each row titled with its data, budget, run and kind. The figure is
    as wide as the page's article column, so it is never scaled down; `per_row` runs share a row only where
    their panels would still be readable, which at that width is one (two panels). Synthetic runs are never
    drawn here (their own pages show theirs); None where no real run has finished."""
    plt = _plt()
    done = [e for e in entries if e.finished and not e.synthetic and e.run.history]
    if not done:
        return None
    width = ARTICLE_PX / INLINE_DPI
    per_row = max(1, min(per_row, int(width // 3.3) // 2))  # a panel under ~3.3 in cannot hold 9 pt labels
    cols = 2 * per_row
    rows = -(-len(done) // per_row)
    fig, axes = plt.subplots(rows, cols, figsize=(width, 2.9 * rows), squeeze=False)
    for k in range(rows * per_row):
        left, right = axes[k // per_row][2 * (k % per_row)], axes[k // per_row][2 * (k % per_row) + 1]
        if k >= len(done):
            left.axis("off")
            right.axis("off")
            continue
        e = done[k]
        h = pd.DataFrame(e.run.history)
        left.plot(h["epoch"], h["train_loss"], "o-", ms=3, label="train")
        left.plot(h["epoch"], h["val_loss"], "s-", ms=3, label="validation")
        right.plot(h["epoch"], h["train_acc"] * 100, "o-", ms=3, label="train")
        right.plot(h["epoch"], h["val_acc"] * 100, "s-", ms=3, label="validation")
        best = e.metrics.get("best_epoch")
        if best:
            right.axvline(best, color="grey", lw=0.8, ls=":", label=f"selected epoch ({best})")
        # one title per run, over both its panels (left-aligned on the left one, so it may run over the right)
        left.set_title(panel_title(e, width=int(88 / per_row)), fontsize=9, loc="left")
        left.set_ylabel("cross-entropy", fontsize=9)
        right.set_ylabel("accuracy (%)", fontsize=9)
        for a in (left, right):
            a.set_xlabel("epoch", fontsize=9)
            a.grid(alpha=0.3)
            a.tick_params(labelsize=9)
            a.xaxis.get_major_locator().set_params(integer=True)
        right.legend(fontsize=8)
    fig.tight_layout(h_pad=1.0, w_pad=1.5)
    return fig


def images_here(name: str, root: str | Path, summary: dict, recorded: bool = True) -> str | None:
    """None where the faces of a dataset summary can be drawn from the data at `root`: a live summary was computed
    from it; a recorded one only where the copy here has the recorded data fingerprint. Otherwise the one line
    that says why no face is shown (a record holds counts and file names only, never an image)."""
    if not recorded:
        return None
    from resemote.errors import ResEmoteError
    title = summary.get("title") or TITLES.get(name, name)
    if not Path(root).is_dir():
        return (f"No faces shown: {title}'s images are not on disk here, and a record holds counts and file names "
                f"only; with the dataset under data/{name}, this page draws its sample faces and the audit's pairs.")
    from resemote.data.splits import data_fingerprint
    try:
        fp = data_fingerprint(name, root)
    except ResEmoteError as e:
        return f"No faces shown: the copy of {title} on disk here could not be read ({e})."
    if fp != summary.get("fingerprint"):
        return (f"No faces shown: the copy of {title} on disk here (data {fp}) is not the recorded one "
                f"(data {summary.get('fingerprint')}).")
    return None


def sample_grid(name: str, root: str | Path, label: str, per_class: int = 4, seed: int = 0, split: str = "train"):
    """A grid of faces per class (columns), like the paper's Fig. 3, drawn from the data on disk; `label`
    names the data (title, release, fingerprint) - the figure never shows where it lies on disk."""
    plt = _plt()
    from resemote.data import dataset_class, get_dataset
    splits = dataset_class(name).splits
    split = split if split in splits else splits[0]  # a test-only set (JAFFE) shows its test split
    ds = get_dataset(name, root, split)
    rng = np.random.default_rng(seed)
    labels = ds.labels
    fig, axes = plt.subplots(per_class, len(CLASSES), figsize=(1.3 * len(CLASSES), 1.3 * per_class + 0.5),
                             squeeze=False)
    for c, cls in enumerate(CLASSES):
        idx = np.flatnonzero(labels == c)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for r in range(per_class):
            ax = axes[r][c]
            ax.axis("off")
            if r < len(pick):
                img, _ = ds[int(pick[r])]
                ax.imshow(np.asarray(img.convert("L")), cmap="gray", vmin=0, vmax=255)
            if r == 0:
                ax.set_title(cls, fontsize=8)
    fig.suptitle(f"{label}, {split} split" + (f" [{SYNTHETIC_TAG}]" if ds.synthetic else ""), fontsize=8)
    fig.tight_layout()
    return fig


def pairs_figure(name: str, root: str | Path, pairs: list[dict], label: str, limit: int = 8):
    """Duplicate pairs found by the audit, each image beside its duplicate, with split, file name and the
    class each carries (images read from the dataset on disk; a published record holds file names only)."""
    plt = _plt()
    from resemote.data import dataset_class
    if not pairs:
        return None
    cls = dataset_class(name)
    by_split = {s: cls(root, s) for s in cls.splits}
    index = {s: {smp.ref: smp for smp in ds.samples} for s, ds in by_split.items()}
    pairs = pairs[:limit]
    fig, axes = plt.subplots(2, len(pairs), figsize=(1.6 * len(pairs), 4.6), squeeze=False)
    for j, p in enumerate(pairs):
        for i, side in enumerate(("a", "b")):
            ax = axes[i][j]
            ax.axis("off")
            split, ref = p[side]["split"], p[side]["path"]
            smp = index.get(split, {}).get(ref)
            if smp is None:
                continue
            ax.imshow(np.asarray(by_split[split].read(smp).convert("L")), cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"{split}: {CLASSES[smp.label]}\n{Path(ref.split(':')[0]).name}"
                         + (f"\n{p['kind']}" if i == 0 else ""), fontsize=6)
    fig.suptitle(f"{label}: duplicate pairs across and within splits (top: an image, bottom: its duplicate)",
                 fontsize=8)
    fig.tight_layout()
    return fig


def sensitivity_figure(points: pd.DataFrame, title: str):
    """Test accuracy against batch size (one line per data kind) and validation accuracy against epochs."""
    plt = _plt()
    from matplotlib.ticker import NullLocator
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.3))
    for (kind, group) in points[points["axis"] == "batch_size"].groupby("data"):
        g = group.sort_values("value")
        ax[0].errorbar(g["value"], g["accuracy"], yerr=g["sd"].fillna(0), marker="o", capsize=3, label=kind)
    for (kind, group) in points[points["axis"] == "epochs"].groupby("data"):
        g = group.sort_values("value")
        ax[1].plot(g["value"], g["accuracy"], "o-", label=kind)
    ax[0].set(xscale="log", xlabel="batch size", ylabel="test accuracy (%)", title="batch size")
    ax[0].set_xticks([16, 32, 64, 128], labels=["16", "32", "64", "128"])
    ax[0].xaxis.set_minor_locator(NullLocator())  # a log axis labels minor ticks too (3x10^1 ...) over the majors
    ax[1].set(xlabel="epochs", ylabel="best validation accuracy (%)", title="epochs (from one run's history)")
    for a in ax:
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def matrix_figure(matrix: pd.DataFrame, title: str):
    """A heatmap of a train-dataset x test-dataset accuracy matrix (NaN: not run)."""
    plt = _plt()
    import seaborn as sns
    fig, ax = plt.subplots(figsize=(1.4 * matrix.shape[1] + 2, 0.7 * matrix.shape[0] + 1.6))
    sns.heatmap(matrix.astype(float), annot=True, fmt=".1f", cmap="Blues", cbar=False, ax=ax, vmin=0, vmax=100,
                mask=matrix.isna())
    ax.set(xlabel="tested on", ylabel="trained on")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
