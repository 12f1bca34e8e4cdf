"""The training loop: metrics, resume after SIGKILL, refusing reuse, divergence, a final batch of one."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from resemote import results
from resemote.errors import ResEmoteError
from resemote.pipeline import batch_slices
from resemote.results import METRIC_FIELDS
from resemote.training import class_weights, train

# wall-clock figures, and the commit (other work may land in a shared checkout between the two runs)
TIMING = {"train_seconds", "inference_ms_per_image", "finished_at", "git_commit"}


def test_batch_slices_never_leave_a_batch_of_one():
    assert [s.stop - s.start for s in batch_slices(33, 16)] == [16, 17]
    assert [s.stop - s.start for s in batch_slices(34, 16)] == [16, 16, 2]
    assert [s.stop - s.start for s in batch_slices(16, 16)] == [16]


def test_class_weights_are_inverse_frequency():
    labels = np.array([0] * 6 + [1] * 2 + [3] * 4)
    w = class_weights(labels)
    # n / (k * n_c): 12 / (7 * 6), 12 / (7 * 2), absent classes 0, 12 / (7 * 4)
    torch.testing.assert_close(w, torch.tensor([12 / 42, 12 / 14, 0, 12 / 28, 0, 0, 0]))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, synth_root):
    out = tmp_path_factory.mktemp("run") / "r"
    # 64 training images at batch 9: 7 batches of 9 and a final batch of one, merged into the one before
    metrics = train("fer2013", synth_root, out, epochs=2, batch_size=9, lr=0.01, device="cpu", progress=False)
    return out, metrics


def test_metrics_have_every_field(finished_run, synth_root):
    out, m = finished_run
    assert set(METRIC_FIELDS) <= set(m)
    assert json.loads((out / "metrics.json").read_text()) == m
    for k in ("test_accuracy", "balanced_accuracy", "macro_f1", "majority_class_rate"):
        assert 0 <= m[k] <= 1
    lo, hi = m["test_accuracy_ci95"]
    assert 0 <= lo <= m["test_accuracy"] <= hi <= 1
    cm = np.array(m["confusion_matrix"])
    assert cm.shape == (7, 7) and cm.sum() == 24
    assert np.isclose(np.trace(cm) / cm.sum(), m["test_accuracy"])
    from resemote.data import get_dataset
    test_counts = get_dataset("fer2013", synth_root, "test").class_counts()
    assert {c: v["support"] for c, v in m["per_class"].items()} == test_counts
    assert m["classes"][0] == "Angry" and m["synthetic"]["seed"] == 0
    assert m["device"].startswith("cpu (") and m["torch_version"] == torch.__version__
    assert m["inference_ms_per_image"] > 0 and m["best_epoch"] in (1, 2)
    assert len(m["git_commit"]) >= 7


def test_history_and_weights(finished_run):
    out, _ = finished_run
    run = results.load_run(out)
    assert [h["epoch"] for h in run.history] == [1, 2]
    assert set(run.history[0]) == set(results.HISTORY_FIELDS)
    assert (out / "model.safetensors").is_file() and (out / "model.json").is_file()
    assert not (out / "state.pt").exists()  # resume state is dropped once the run is finished


def test_reusing_out_with_other_settings_is_refused(finished_run, synth_root):
    out, m = finished_run
    with pytest.raises(ResEmoteError, match=r"holds a run with other settings \(epochs 2, now 3\)"):
        train("fer2013", synth_root, out, epochs=3, batch_size=9, lr=0.01, device="cpu", progress=False)
    # the same settings return the finished result without training again
    assert train("fer2013", synth_root, out, epochs=2, batch_size=9, lr=0.01, device="cpu", progress=False) == m


def test_divergence_stops_and_keeps_the_last_good_state(tmp_path, synth_root, monkeypatch):
    import resemote.training as T
    calls = {"n": 0}
    real = T.F.cross_entropy

    def poisoned(*a, **k):
        calls["n"] += 1
        loss = real(*a, **k)
        return loss * float("nan") if calls["n"] > 4 else loss  # epoch 1 has 4 batches of 16

    monkeypatch.setattr(T.F, "cross_entropy", poisoned)
    out = tmp_path / "r"
    with pytest.raises(ResEmoteError, match=r"training diverged in epoch 2 .*last good state \(epoch 1\)"):
        train("fer2013", synth_root, out, epochs=3, batch_size=16, device="cpu", progress=False)
    assert [h["epoch"] for h in results.load_run(out).history] == [1]
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["progress"]["epoch"] == 1


def _train_cmd(root, out):
    return [sys.executable, "-m", "resemote", "train", "--dataset", "fer2013", "--root", str(root), "--out",
            str(out), "--epochs", "3", "--batch-size", "16", "--lr", "0.01", "--device", "cpu", "--seed", "1"]


def test_sigkill_and_resume_match_an_uninterrupted_run(tmp_path, synth_root):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run(_train_cmd(synth_root, whole), check=True, capture_output=True)

    p = subprocess.Popen(_train_cmd(synth_root, cut), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not (cut / "history.csv").is_file():
        time.sleep(0.05)
    time.sleep(0.5)  # well into epoch 2
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not (cut / "metrics.json").exists(), "killed too late to test resuming"
    done = subprocess.run(_train_cmd(synth_root, cut), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stdout

    a, b = results.load_run(whole), results.load_run(cut)
    assert {k: v for k, v in a.metrics.items() if k not in TIMING} == \
           {k: v for k, v in b.metrics.items() if k not in TIMING}
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]
    assert strip(a.history) == strip(b.history)
    assert (whole / "model.safetensors").read_bytes() == (cut / "model.safetensors").read_bytes()


def test_the_commit_is_read_when_a_run_starts_and_each_resume_adds_its_own(tmp_path, synth_root, monkeypatch):
    """A long run must name the code it started with, not whatever the checkout holds when it ends."""
    import resemote.training as T
    real = T.F.cross_entropy
    calls = {"n": 0}

    def stop_in_epoch_2(*a, **k):
        calls["n"] += 1
        if calls["n"] > 5:  # epoch 1: 4 training batches of 16, then one validation pass
            raise KeyboardInterrupt
        return real(*a, **k)

    out = tmp_path / "r"
    monkeypatch.setattr(T, "git_commit", lambda: "aaaaaaaaaaaa")
    monkeypatch.setattr(T.F, "cross_entropy", stop_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train("fer2013", synth_root, out, epochs=2, batch_size=16, lr=0.01, device="cpu", progress=False)
    monkeypatch.setattr(T.F, "cross_entropy", real)
    monkeypatch.setattr(T, "git_commit", lambda: "bbbbbbbbbbbb")  # the checkout moved on
    m = train("fer2013", synth_root, out, epochs=2, batch_size=16, lr=0.01, device="cpu", progress=False)
    assert m["git_commit"] == "aaaaaaaaaaaa" and m["git_commits"] == ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]
    # the weights name the segment that saved them (whichever epoch validated best)
    assert json.loads((out / "model.json").read_text())["provenance"]["git_commit"] in m["git_commits"]
