# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
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

# %% [markdown]
# ## Set-up: running it on a GPU (Google Colab)
# [Open in Colab](https://colab.research.google.com/github/resemote-companion/resemote-companion/blob/main/notebooks/train.ipynb)
# (a run page's launch button opens this notebook at the commit the book was built from). Where the `resemote`
# package is importable (a clone after `make test` or `make book`), the next cell does nothing. Elsewhere, as in
# Colab, it clones the repository at `COMMIT` (the commit this cell printed on the run page, for the same code;
# empty: the default branch) and installs it with pip, a few minutes. It mounts nothing and downloads no data:
# put the dataset, as distributed, under `data/<dataset>/` of the clone (in Colab, upload it or copy it from
# your Drive yourself; `data/README.md` says what each loader expects). The run is written to `runs/<id>/` of
# the clone; `resemote publish runs/<id>` there, then a pull request with the new `results/` record, is how a
# finished run reaches the book (the README's *Real data and recorded results*).

# %%
import importlib.util
import os
import subprocess
import sys

REPOSITORY = "https://github.com/resemote-companion/resemote-companion"
COMMIT = ""  # the commit to install where the package is missing; empty: the default branch

if importlib.util.find_spec("resemote") is None:
    clone = os.path.abspath("resemote-companion")
    if not os.path.isdir(clone):
        subprocess.run(["git", "clone", "--quiet", REPOSITORY, clone], check=True)
    if COMMIT:
        subprocess.run(["git", "-C", clone, "checkout", "--quiet", COMMIT], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", clone], check=True)
    sys.path.insert(0, clone)  # an editable install is seen by new processes only; this kernel needs the path
    os.chdir(clone)            # data/<dataset>/ and runs/ are the clone's
    print(f"installed resemote from {REPOSITORY} into {clone}")
from resemote.env import git_commit  # noqa: E402

commit = git_commit()
if commit == "unknown":
    print("resemote here is not a git checkout: its commit is unknown")
else:
    print(f'resemote at commit {commit}: to run this code elsewhere, set COMMIT = "{commit.removesuffix("-dirty")}"'
          + (" (plus the uncommitted changes this checkout had)" if commit.endswith("-dirty") else ""))

# %% tags=["parameters"]
dataset = "fer2013"         # fer2013 | rafdb | affectnet | expw (synthetic data is read as fer2013)
root = ""                   # the dataset folder; empty: data/<dataset>
config = "C1"               # C1-C6 (Table IV) or a baseline network (resemote.models.model_names())
protocol = "paper"          # paper | released | fit (the leak experiment; resemote/training/protocols.py)
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
spec = ""                   # a whole run specification as JSON (resemote.training.RunSpec.to_json: what
                            # `make book` passes); when given, the parameters above are not read

# %%
from resemote.book import report
from resemote.analysis import stats
from resemote.training import RunSpec, train
from resemote.training.rundir import load_run

# the one place where the typed parameters become a run: -1 the protocol's value, an empty root data/<dataset>
run = RunSpec.from_json(spec) if spec else RunSpec.from_scalars(
    dataset, root, config, protocol, epochs, batch_size, lr, seed, device, image_size, train_subset,
    leak_test_fraction, leak_copies)
if not os.path.isdir(run.root):
    raise FileNotFoundError(f"no dataset at {run.root}: put {run.dataset} there as distributed (data/README.md)")
out = out or f"runs/{run.id}"
print(f"run {run.id}: {run.budget()}, seed {run.seed}, written to {out}")
if run.synthetic:
    print(f"DATA: {report.SYNTHETIC_TAG} - results below are not a measurement of any real dataset")
if run.leak and run.leak.leaks:
    print("LEAK EXPERIMENT: test images were added to training on purpose; this run reproduces nothing")

# %% [markdown]
# ## The data
# Class counts per split, from the dataset's own label files (`resemote.analysis.stats`).

# %%
# NBVAL_CHECK_OUTPUT
summary = stats.dataset_stats(run.dataset, run.root)
summary["splits"]

# %% [markdown]
# ## What it costs on a Colab T4
# Estimated from the network's FLOPs and the T4's peak rate, never measured here (`resemote.book.colab` says how).

# %%
from resemote.book import colab

colab.t4_estimate(run.config, summary["splits"], run.epochs, run.image_size, **run.experiment())  # what it trains on

# %% [markdown]
# ## Training
# The test split is evaluated once, after training, with the weights of the best validation epoch (the leak
# experiment's `fit` recipe keeps its last epoch instead).

# %%
metrics = train(run, out, progress=False)
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
