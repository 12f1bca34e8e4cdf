"""A run's specification (`resemote.training.RunSpec`): one value from runs.yml to params.json.

The expectations are worked out here from the documented rules (the protocol's defaults, the id's digest over
the cell), not by calling the code twice; and run directories written by earlier code (the committed records,
and a run directory frozen in tests/data/) must read back into specs that say exactly what they were.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from resemote.errors import ResEmoteError
from resemote.leakage import LeakExperiment
from resemote.training import RunSpec
from resemote.training.rundir import load_run

REPO = Path(__file__).resolve().parents[1]
FROZEN = Path(__file__).parent / "data" / "rundir-2026-12"   # written by commit 5847437's train(), unchanged since


def digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:6]


def test_one_default_per_setting_the_protocols():
    s = RunSpec("rafdb", "C2")
    assert (s.epochs, s.batch_size, s.lr, s.root, s.device) == (80, 16, 0.001, "data/rafdb", "auto")
    assert RunSpec("rafdb", "C2", "fit").lr == 0.001 and RunSpec("rafdb", protocol="released").epochs == 80
    assert RunSpec("rafdb", "C2", epochs=3, lr=0.01) == RunSpec.from_scalars("rafdb", "", "C2", epochs=3, lr=0.01)
    assert RunSpec.from_scalars("rafdb", "", "C2", epochs=-1, batch_size=-1, lr=-1.0) == s   # the notebook's -1


def test_the_id_is_the_digest_of_the_cell():
    """The FER2013 run carried across stops keeps the id its run directory was started under."""
    cell = {"dataset": "fer2013", "config": "C1", "protocol": "paper", "epochs": 80, "batch_size": 16, "lr": 0.001,
            "seed": 0, "image_size": 64}
    assert RunSpec("fer2013").id == f"fer2013-C1-s0-{digest({**cell, 'synthetic': None})}" == "fer2013-C1-s0-6c8a46"
    leak = RunSpec("fer2013", epochs=9, leak=LeakExperiment(7000, 0.5))
    key = {**cell, "epochs": 9, "train_subset": 7000, "leak_test_fraction": 0.5, "leak_copies": "as-is",
           "synthetic": None}
    assert leak.id == f"fer2013-C1-s0-{digest(key)}"
    synth = {"n_train": 240, "n_val": 80, "n_test": 160, "seed": 0}
    s = RunSpec("fer2013", epochs=2, lr=0.01, synthetic={**synth, "note": "ignored"})
    assert s.id == f"synthetic-C1-s0-{digest({**cell, 'epochs': 2, 'lr': 0.01, 'synthetic': synth})}"
    # where it runs is not what it is
    assert RunSpec("fer2013", root="/elsewhere", device="cuda").id == RunSpec("fer2013").id


def test_the_leak_block_is_normalised_and_absent_from_every_other_run():
    assert RunSpec("fer2013", leak=LeakExperiment()).leak is None
    assert RunSpec("fer2013", leak=LeakExperiment(0, 0.0, "released")).leak is None   # no copies without a leak
    x = LeakExperiment(None, 0.25)
    assert (x.leak_copies, x.as_params()) == ("as-is", {"leak_test_fraction": 0.25, "leak_copies": "as-is"})
    assert "train_subset" not in RunSpec("fer2013").params({})
    with pytest.raises(ResEmoteError, match="unknown leak copies 'rotated'"):
        LeakExperiment(None, 0.1, "rotated")
    with pytest.raises(ResEmoteError, match="unknown protocol 'papr'"):
        RunSpec("fer2013", protocol="papr")
    with pytest.raises(ResEmoteError, match="expected --epochs >= 1 and --batch-size >= 2"):
        RunSpec("fer2013", batch_size=1)


def test_the_engine_and_a_typed_command_make_the_same_spec():
    s = RunSpec("fer2013", "C1", "fit", 14, seed=2, root="data/fer2013", leak=LeakExperiment(1000, 0.5, "released"))
    assert RunSpec.from_json(s.to_json()) == s
    assert RunSpec.from_scalars(**{k: v for k, v in s.scalars().items()}) == s
    assert s.scalars("runs/x")["out"] == "runs/x" and s.scalars()["lr"] == -1.0   # the protocol's lr, typed as -1
    assert s.cli_args()[-6:] == ["--train-subset", "1000", "--leak-test-fraction", "0.5", "--leak-copies", "released"]
    assert s.training_images({"train": 28709, "test": 3589}) == 1000 + round(0.5 * 3589)


def test_a_run_directory_written_by_earlier_code_reads_back_into_its_spec(tmp_path):
    """params.json is the spec's serialisation plus what the run found in its data: a run directory written
    before the spec existed (a leak run, frozen in tests/data/) is exactly that, and keeps its id."""
    run = load_run(shutil.copytree(FROZEN, tmp_path / "run"))
    spec = run.spec
    assert (spec.dataset, spec.epochs, spec.lr, spec.leak) == ("fer2013", 2, 0.01, LeakExperiment(None, 0.5, "as-is"))
    found = {k: v for k, v in run.params.items() if k not in spec.params({})}
    assert set(found) == {"data_fingerprint", "val_source", "synthetic", "split_sizes", "protocol_settings"}
    assert json.dumps(spec.params(found)) == json.dumps(run.params)       # the same keys, in the same order
    assert spec.id == "synthetic-C1-s0-265c8b" and run.leaked and run.finished


@pytest.mark.parametrize("record", sorted((REPO / "results" / "runs").glob("*/params.json")),
                         ids=lambda p: p.parent.name)
def test_every_committed_record_reads_back_into_its_spec(record):
    """A record keeps its root as `publish` rewrote it (data/<dataset>, no machine's path); all else is the spec's
    serialisation as today's code writes it, in the same order."""
    params = json.loads(record.read_text())
    spec = RunSpec.from_params(params)
    found = {k: v for k, v in params.items() if k not in spec.params({})}
    again = spec.params(found)
    assert list(again) == list(params) and {**again, "root": params["root"]} == params
    assert Path(again["root"]) == Path(params["root"]).resolve() and RunSpec.from_params(again) == spec.with_(
        root=again["root"])
