"""A long run recorded *in progress* (`resemote publish --in-progress`): its training curve so far, how far it
is ("epoch N of 80"), and how its first epochs compare with the shorter record of the same run (same data,
network, recipe and seed, fewer epochs). Never a test score: an in-progress record has none, and the test
split is not touched before its last epoch.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from resemote.book.records import Entry, cell
from resemote.book.report.entries import SHORT_TITLES, device_label, run_label


def in_progress(entries: list[Entry]) -> list[Entry]:
    """The real-data runs recorded in progress (never synthetic: those are remade by every build)."""
    return [e for e in entries if e.in_progress and not e.synthetic]


def _same_run(a: dict, b: dict) -> bool:
    """The same cell of the plan but for its epochs (`records.cell`), on the same data."""
    def key(p: dict) -> dict:
        return {**{k: v for k, v in cell(p).items() if k != "epochs"}, "data": p.get("data_fingerprint")}
    return key(a) == key(b)


def shorter_record(e: Entry, entries: list[Entry]) -> Entry | None:
    """The finished real-data record of the same run at the largest budget below `e`'s (e.g. 9 of 80 epochs),
    whose curve the in-progress one should retrace over their common epochs; None if there is none."""
    same = [x for x in entries if x.finished and not x.synthetic and x.id != e.id and _same_run(x.params, e.params)
            and x.params["epochs"] < e.params["epochs"]]
    return max(same, key=lambda x: (x.params["epochs"], x.id), default=None)


@dataclass
class Agreement:
    """How closely two histories of one run agree over their common epochs (points of accuracy, loss units)."""

    epochs: int
    val_acc: float      # largest |difference| of validation accuracy, points
    train_acc: float    # largest |difference| of training accuracy, points
    val_loss: float     # largest |difference| of validation cross-entropy

    def sentence(self, other: str) -> str:
        return (f"over their {self.epochs} common epochs it retraces {other} within {self.val_acc:.2f} points of "
                f"validation accuracy, {self.train_acc:.2f} points of training accuracy and {self.val_loss:.3f} of "
                f"validation cross-entropy (largest differences per epoch)")


def agreement(a: list[dict], b: list[dict]) -> Agreement | None:
    """The largest per-epoch differences of two histories over the epochs both have; None if they share none."""
    x = pd.DataFrame(a).set_index("epoch")
    y = pd.DataFrame(b).set_index("epoch")
    common = x.index.intersection(y.index)
    if not len(common):
        return None
    d = (x.loc[common] - y.loc[common]).abs().max()
    return Agreement(len(common), float(d["val_acc"] * 100), float(d["train_acc"] * 100), float(d["val_loss"]))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def progress_markdown(entries: list[Entry]) -> str:
    """One paragraph per run in progress: where it is, its best validation epoch so far, where and at which
    commit it trains, its stops, and how its first epochs compare with the shorter record of the same run."""
    out = []
    for e in in_progress(entries):
        rec, h = e.info.record, e.run.history
        best = max(h, key=lambda r: (r["val_acc"], -r["epoch"]))
        secs = pd.Series([r["seconds"] for r in h])
        stops = rec.get("progress", [])
        timing = (f"Its epoch took {_minutes(secs.iloc[0])}" if len(secs) == 1 else
                  f"An epoch took {_minutes(secs.median())} (median; {_minutes(secs.min())} to {_minutes(secs.max())} "
                  f"as the machine and its load varied)")
        s = (f"**{run_label(e).replace(' (recorded)', '')}, in progress: epoch {len(h)} of {e.params['epochs']}.** "
             f"It trains {SHORT_TITLES.get(e.params['dataset'], e.params['dataset'])}'s official training split with "
             f"the paper's recipe (batch {e.params['batch_size']}, seed {e.params['seed']}) on "
             f"{rec.get('device') or device_label(rec)} at commit `{str(rec['commit'])[:7]}`; recorded `{rec['id']}`, "
             f"last published {rec.get('published_at', '')[:16].replace('T', ' ')} UTC"
             + (f", after {len(stops)} publications of its progress" if len(stops) > 1 else "") + ". "
             f"{timing}, {secs.sum() / 3600:.1f} h of training so far. Best validation accuracy so far: "
             f"{best['val_acc'] * 100:.2f}% (epoch {best['epoch']}); last epoch {h[-1]['val_acc'] * 100:.2f}% at "
             f"learning rate {h[-1]['lr']:g}. No test accuracy exists yet: the test split is scored once, after epoch "
             f"{e.params['epochs']}, and only then does this run enter the tables and the verdict.")
        ref = shorter_record(e, entries)
        agree = agreement(h, ref.run.history) if ref else None
        if agree:
            theirs = str(ref.metrics.get("git_commit", ""))[:7]
            s += (f" Against the {ref.params['epochs']}-epoch record of the same run (`{ref.id}`), "
                  + agree.sentence("it")
                  + (f"; that record was made at commit `{theirs}` on {ref.metrics.get('device', '')}, so the two "
                     "need not match bit for bit: the code changed between the two commits, and the CPU may differ"
                     if theirs and theirs != str(rec["commit"])[:7] else "") + ".")
        out.append(s)
    return "\n\n".join(out)


def progress_figure(e: Entry, entries: list[Entry]):
    """The in-progress run's loss and accuracy per epoch on an axis that runs to its last epoch, with the
    shorter record of the same run dashed beneath it."""
    from resemote.book.report.figures import _plt
    plt = _plt()
    h = pd.DataFrame(e.run.history)
    ref = shorter_record(e, entries)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4))
    for frame, style, who in ((h, "o-", "this run"),  # markers: a first epoch alone is a point, not a line
                              (pd.DataFrame(ref.run.history) if ref else None, "--", f"{ref.params['epochs']}-epoch record" if ref else "")):
        if frame is None or frame.empty:
            continue
        ax[0].plot(frame["epoch"], frame["train_loss"], style, color="C0", label=f"train, {who}")
        ax[0].plot(frame["epoch"], frame["val_loss"], style, color="C1", label=f"validation, {who}")
        ax[1].plot(frame["epoch"], frame["train_acc"] * 100, style, color="C0", label=f"train, {who}")
        ax[1].plot(frame["epoch"], frame["val_acc"] * 100, style, color="C1", label=f"validation, {who}")
    total = int(e.params["epochs"])
    for a, what in zip(ax, ("cross-entropy", "accuracy (%)")):
        a.set(xlabel="epoch", ylabel=what, xlim=(0.5, total + 0.5))
        a.axvline(len(h), color="grey", lw=0.8, alpha=0.6)
        a.grid(alpha=0.3)
    ax[0].set_title("loss")
    ax[1].set_title("accuracy")
    ax[1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{e.id}: epoch {len(h)} of {total} (in progress; no test score yet)", fontsize=9)
    fig.tight_layout()
    return fig


def progress_sentence(entries: list[Entry]) -> str:
    """Page one's line on the runs in progress ('' when none): which claim each will test and how far it is."""
    going = in_progress(entries)
    if not going:
        return ""
    parts = [f"{SHORT_TITLES.get(e.params['dataset'], e.params['dataset'])} {e.params['config']} at the paper's "
             f"{e.params['epochs']} epochs is at epoch {len(e.run.history)} of {e.params['epochs']}" for e in going]
    return ("Training now, across working sessions: " + "; ".join(parts) + ". No test score is computed before "
            "its last epoch; {doc}`Results <results>` shows its curve so far.")
