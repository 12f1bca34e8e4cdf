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
# # The network, measured
#
# Layer tables of ResEmoteNet generated from `resemote/models/resemotenet.py` (forward hooks: output shape, parameters,
# FLOPs = 2 x multiply-accumulates of convolutions and linear layers), and the C1-C6 configurations as this
# companion reads the paper's Table IV. The method chapter of the book shows the same tables.

# %% tags=["parameters"]
config = "C1"
image_size = 64

# %%
from resemote.book import report

# %%
# NBVAL_CHECK_OUTPUT
report.layer_table(config, image_size)

# %%
# NBVAL_CHECK_OUTPUT
report.config_table(image_size)
