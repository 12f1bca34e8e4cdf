# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A dataset, computed
#
# One dataset as found on disk: the paper's Tables I and II recomputed from its label files and from the
# images that actually decode, beside the paper's figures; a grid of faces per class like the paper's
# Fig. 3; and the leakage audit (exact and near duplicates within and across splits), with examples.
# Everything is computed by `resemote.analysis.stats.dataset_summary`, which also writes the summary the book's
# chapters read (`out`). Execute it with papermill, e.g.
# `papermill notebooks/datasets.ipynb out.ipynb -p dataset rafdb`. With `record` (a folder of `results/datasets/`)
# it shows a dataset counted elsewhere from its record instead (counts and file names only), and its faces only
# where the dataset is also on disk here.

# %% tags=["parameters"]
dataset = "fer2013"           # the loader: fer2013 | rafdb | affectnet | expw | ckplus | ferplus | jaffe (synthetic: fer2013)
root = ""                     # the dataset folder; empty: data/<dataset>
name = ""                     # how pages name this copy (a synthetic stand-in's folder name); empty: dataset
out = ""                      # where to write the summary (JSON) the book reads; empty: runs/_datasets/<name>.json
per_class = 4                 # faces per class in the sample grid
record = ""                   # a recorded dataset (results/datasets/<name>): show its record, compute nothing

# %%
import json
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm.auto in a kernel without ipywidgets
from resemote.book import report  # noqa: E402
from resemote.analysis import stats  # noqa: E402
from resemote.io import write_json  # noqa: E402

root = root or f"data/{dataset}"
name = name or dataset
if record:  # counted elsewhere: the record's summary, as it was published
    summary = json.loads((Path(record) / "summary.json").read_text())
    made = json.loads((Path(record) / "record.json").read_text())
    print(f"Recorded: counted at commit {str(made['commit'])[:10]} on {made.get('device') or 'an unnamed machine'}, "
          f"{str(made.get('made_at', ''))[:10]} ({record}); nothing on this page was computed by this build.")
else:
    summary = stats.dataset_summary(dataset, root, label=name)
label = (f"synthetic faces {name}" if summary["synthetic"] else summary["release"]) + f", data {summary['fingerprint']}"
print(label)
if summary["synthetic"]:
    print(f"DATA: {report.SYNTHETIC_TAG} - not a real dataset")
datasets = [{"name": name, "kind": "recorded" if record else "live", "synthetic": bool(summary["synthetic"]),
             "summary": summary}]
images = report.images_here(dataset, root, summary, recorded=bool(record))  # None: faces can be drawn from disk
if images:
    print(images)

# %% [markdown]
# ## Tables I and II
# Label-file counts are what the label files list (and whose image file exists); decoded counts are the
# images training can use. A column of decoded counts appears only where the two differ.

# %%
report.computed_table1(datasets)

# %%
for note in report.dataset_notes(summary):  # faces with no canonical class, files left out, split grouping
    print(note)

# %%
# NBVAL_CHECK_OUTPUT
report.computed_table2(datasets)

# %% [markdown]
# ## Sample faces per class (cf. the paper's Fig. 3)

# %%
fig = None if images else report.sample_grid(dataset, root, label, per_class=per_class)

# %% [markdown]
# ## Leakage audit
# Pairs of identical or near-identical images within and across splits (`resemote.data.audit`). A pair
# across train and test means a test image was, in effect, seen in training; a pair whose two images carry
# different classes is a labelling conflict.

# %%
# NBVAL_CHECK_OUTPUT
report.audit_table(datasets)

# %% [markdown]
# The first pairs the audit found (across splits first) by file name, then as thumbnails where the images are here.

# %%
report.pairs_table(summary["audit"]["pairs_shown"])

# %%
fig = None if images else report.pairs_figure(dataset, root, summary["audit"]["pairs_shown"], label)

# %%
fig = None if images else report.pairs_figure(dataset, root, summary["audit"]["conflicts_shown"],
                                              label + ", pairs with two labels")

# %%
if not record:
    write_json(out or Path("runs") / "_datasets" / f"{name}.json", summary)
