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
# # Training run
#
# One training run of ResEmoteNet (or of a baseline network): the data it saw, how training went, and
# what it measured on the test split. Everything below is computed by the `resemote` package and read back
# from the run directory it wrote (`params.json`, `history.csv`, `metrics.json`); this notebook only calls
# it. Execute it with papermill, for instance
# `papermill notebooks/train.ipynb out.ipynb -p dataset rafdb -p config C3`.
# The defaults are the protocol's (`-1`: 80 epochs, batch 16, learning rate 1e-3 for `paper`), the data
# is `data/<dataset>`, and the run is written to `runs/<id>`, the directory `make book` reads for exactly
# these settings, so the book shows it.

# %% tags=["parameters"]
dataset = "fer2013"         # fer2013 | rafdb | affectnet | expw (synthetic data is read as fer2013)
root = ""                   # the dataset folder; empty: data/<dataset>
config = "C1"               # C1-C6 (Table IV) or a baseline network (resemote.zoo.model_names())
protocol = "paper"          # paper | released (resemote/protocols.py)
epochs = -1                 # -1: the protocol's (80)
batch_size = -1             # -1: the protocol's (16)
lr = -1.0                   # -1: the protocol's (1e-3)
seed = 0
device = "auto"             # auto | cpu | cuda | mps
image_size = 64
out = ""                    # the run directory; empty: runs/<id>, where `make book` finds these settings
train_subset = 0            # the leak experiment only: a stratified subset of about this many training images (0: all)
leak_test_fraction = 0.0    # the leak experiment only (NOT a reproduction): this fraction of the test images is
leak_copies = "as-is"       # added to training, as-is or as released-style copies (resemote/leakage.py)

# %%
from resemote import plan, report, stats
from resemote.results import load_run
from resemote.training import train

run = plan.by_hand(dataset, root, config, protocol, epochs, batch_size, lr, seed, device, image_size,
                   train_subset, leak_test_fraction, leak_copies)
out = out or f"runs/{run.id}"
print(f"run {run.id}: {run.budget()}, seed {run.seed}, written to {out}")
if run.synthetic:
    print(f"DATA: {report.SYNTHETIC_TAG} - results below are not a measurement of any real dataset")
if run.leak_test_fraction:
    print("LEAK EXPERIMENT: test images were added to training on purpose; this run reproduces nothing")

# %% [markdown]
# ## The data
# Class counts per split, from the dataset's own label files (`resemote.stats`).

# %%
# NBVAL_CHECK_OUTPUT
summary = stats.dataset_stats(run.dataset, run.root)
summary["splits"]

# %% [markdown]
# ## Training
# The test split is evaluated once, after training, with the weights of the best validation epoch.

# %%
metrics = train(run.dataset, run.root, out, config=run.config, protocol=run.protocol, epochs=run.epochs,
                batch_size=run.batch_size, lr=run.lr, seed=run.seed, device=run.device,
                image_size=run.image_size, progress=False, **run.experiment())
result = load_run(out)

# %% [markdown]
# ## Results
# Read back from the run directory's `metrics.json`. The clean test images are those with no exact, near or
# mirror copy in the training or validation split (the dataset's duplicate audit) and, in the leak
# experiment, not leaked; every test image's prediction is in `test_predictions.csv`.

# %%
report.metrics_table(result)

# %%
fig = report.plot_history(result, title=f"{run.id}" + (f" [{report.SYNTHETIC_TAG}]" if run.synthetic else ""))

# %%
fig = report.plot_confusion(result, title=f"{run.id}" + (f" [{report.SYNTHETIC_TAG}]" if run.synthetic else ""))

# %%
report.per_class_table(result)

# %% [markdown]
# The parameters the run recorded (`params.json`):

# %%
{k: v for k, v in result.params.items() if k not in ("protocol_settings", "root")}
