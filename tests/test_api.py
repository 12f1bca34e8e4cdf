"""The top-level API: the names a researcher reaches for first, and an import that stays cheap."""
from __future__ import annotations

import subprocess
import sys

import pytest

import resemote


def test_public_names_resolve_to_the_package_objects():
    from resemote.checkpoint import load_model
    from resemote.data import dataset_class, get_dataset
    from resemote.evaluation import evaluate
    from resemote.models.resemotenet import CONFIGS, ResEmoteNet
    from resemote.training import train
    assert resemote.ResEmoteNet is ResEmoteNet and resemote.CONFIGS is CONFIGS
    assert resemote.get_dataset is get_dataset and resemote.dataset_class is dataset_class
    assert resemote.train is train and resemote.evaluate is evaluate and resemote.load_model is load_model
    assert resemote.ResEmoteNet(config="C4").config.convs == (256,)
    assert set(resemote.__all__) <= set(dir(resemote))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        resemote.nope


def test_import_is_cheap():
    """`import resemote` loads neither torch nor the book's machinery; using a name loads only its part."""
    code = ("import sys, resemote; a = set(sys.modules); resemote.ResEmoteNet; b = set(sys.modules); "
            "print(int('torch' in a), int('torch' in b), "
            "sorted(m for m in b if m.split('.')[0] in ('pandas', 'matplotlib', 'papermill', 'snakemake') "
            "or m in ('resemote.book.report', 'resemote.book.plan', 'resemote.book.engine')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "1", "[]"]
