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
# One training run of ResEmoteNet: the data it saw, how training went, and what it measured on the test
# split. Everything below is computed by the `resemote` package and read back from the run directory it
# wrote (`params.json`, `history.csv`, `metrics.json`); this notebook only calls it. Execute it with
# papermill, for instance
# `papermill notebooks/train.ipynb out.ipynb -p dataset rafdb -p root data/rafdb -p config C3`.
# The defaults train one epoch on 100 synthetic faces, so the notebook runs anywhere in seconds.

# %% tags=["parameters"]
dataset = "fer2013"         # fer2013 | rafdb | affectnet | expw (synthetic data is read as fer2013)
root = ""                   # dataset folder; if empty, small synthetic faces (pipeline demonstration)
config = "C1"               # C1-C6 (Table IV)
protocol = "paper"          # paper | released (resemote/protocols.py)
epochs = 1
batch_size = 16
lr = 0.01                   # -1: the learning rate of the protocol (1e-3)
seed = 0
device = "auto"
image_size = 64
out = ""                    # run directory; if empty, a temporary folder
synthetic_size = "100,40,60"  # train,val,test sizes when root is empty

# %%
from resemote import report
from resemote.plan import prepare_paths
from resemote.results import load_run
from resemote.training import train

root, out, synthetic = prepare_paths(root, out, synthetic_size, seed)
if synthetic:
    print(f"DATA: {report.SYNTHETIC_TAG} - results below are not a measurement of any real dataset")

# %% [markdown]
# ## The data
# Class counts per split, from the dataset's own label files (`resemote.stats`).

# %%
# NBVAL_CHECK_OUTPUT
summary = report.dataset_summary(dataset, root)
report.computed_table2({report.TITLES["synthetic"] if synthetic else report.TITLES[dataset]: summary})

# %% [markdown]
# ## Training
# The test split is evaluated once, after training, with the weights of the best validation epoch.

# %%
metrics = train(dataset, root, out, config=config, protocol=protocol, epochs=epochs, batch_size=batch_size,
                lr=None if lr is None or lr < 0 else lr, seed=seed, device=device, image_size=image_size,
                progress=False)
run = load_run(out)

# %% [markdown]
# ## Results
# Read back from the run directory's `metrics.json`.

# %%
report.metrics_table(run)

# %%
fig = report.plot_history(run)

# %%
fig = report.plot_confusion(run)

# %%
report.per_class_table(run)

# %% [markdown]
# The parameters the run recorded (`params.json`):

# %%
{k: v for k, v in run.params.items() if k not in ("protocol_settings",)}
