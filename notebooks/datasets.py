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
# # The datasets, computed
#
# Tables I and II of the paper recomputed from every dataset found under `data/` (and from the synthetic
# stand-ins), beside the paper's figures; a grid of faces per class like the paper's Fig. 3; and the
# leakage audit (exact and near duplicates within and across splits). Counts come from the datasets' own
# label files via `resemote.stats`; the audit from `resemote.data.audit`.

# %% tags=["parameters"]
data_dir = "data"             # where data/<fer2013|rafdb|affectnet|expw> live
synthetic_roots = ""          # comma-separated synthetic dataset folders; if empty, one small synthetic set
out = ""                      # where to write the summaries as JSON (if empty, none)
per_class = 4                 # faces per class in the sample grids

# %%
from resemote import report
from resemote.plan import prepare_paths

if not synthetic_roots:
    synthetic_roots, _, _ = prepare_paths("", "-", "100,40,60")
roots = report.dataset_roots(data_dir, synthetic_roots)
print("real datasets present:", ", ".join(k for k in roots if report.SYNTHETIC_TAG not in k) or "none")

# %% [markdown]
# ## The paper's Tables I and II (as published)

# %%
# NBVAL_CHECK_OUTPUT
report.paper_table1()

# %%
# NBVAL_CHECK_OUTPUT
report.paper_table2()

# %% [markdown]
# The paper's FER2013 test column is a permutation of the PrivateTest class counts as commonly cited:
# the same seven numbers, in other rows (its Disgust 416 and Surprise 55 cannot both be right).

# %%
# NBVAL_CHECK_OUTPUT
perm = report.fer2013_permutation()
print("same multiset of counts:", report.is_permutation(perm.iloc[:, 0], perm.iloc[:, 1]))
print("rows that differ:", ", ".join(perm.index[perm["paper = cited?"] == "no"]))

# %% [markdown]
# ## Computed from the data on disk

# %%
stats = {label: report.dataset_summary(name, root) for label, (name, root) in roots.items()}
report.computed_table1(stats)

# %%
report.computed_table2(stats)

# %%
fer = next((s for s in stats.values() if s["name"] == "fer2013" and not s["synthetic"]), None)
report.fer2013_permutation(fer)

# %% [markdown]
# ## Sample faces per class (cf. the paper's Fig. 3)

# %%
for label, (name, root) in roots.items():
    fig = report.sample_grid(name, root, per_class=per_class)

# %% [markdown]
# ## Leakage audit
# Pairs of identical or near-identical images within and across splits (`resemote.data.audit`).

# %%
audits = {label: report.leakage_summary(name, root) for label, (name, root) in roots.items()}
report.audit_table(audits)

# %%
if out:
    report.write_dataset_summaries(out, stats, audits)
