"""The training loop: metrics, resume after SIGKILL, refusing reuse, divergence, a final batch of one."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from resemote.training import rundir
from resemote.errors import ResEmoteError
from resemote.device_images import batch_slices
from resemote.training import RunSpec, class_weights, train

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
    metrics = train(RunSpec("fer2013", root=synth_root, epochs=2, batch_size=9, lr=0.01, device="cpu"), out, progress=False)
    return out, metrics


def test_metrics_have_every_field(finished_run, synth_root):
    out, m = finished_run
    assert set(rundir.METRIC_FIELDS) <= set(m)
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
    run = rundir.load_run(out)
    assert [h["epoch"] for h in run.history] == [1, 2]
    assert set(run.history[0]) == set(rundir.HISTORY_FIELDS)
    assert (out / "model.safetensors").is_file() and (out / "model.json").is_file()
    assert not (out / "state.pt").exists()  # resume state is dropped once the run is finished


def test_reusing_out_with_other_settings_is_refused(finished_run, synth_root):
    out, m = finished_run
    with pytest.raises(ResEmoteError, match=r"holds a run with other settings \(epochs 2, now 3\)"):
        train(RunSpec("fer2013", root=synth_root, epochs=3, batch_size=9, lr=0.01, device="cpu"), out, progress=False)
    # the same settings return the finished result without training again
    assert train(RunSpec("fer2013", root=synth_root, epochs=2, batch_size=9, lr=0.01, device="cpu"), out, progress=False) == m


def test_divergence_stops_and_keeps_the_last_good_state(tmp_path, synth_root, monkeypatch):
    import resemote.training.loop as T
    calls = {"n": 0}
    real = T.F.cross_entropy

    def poisoned(*a, **k):
        calls["n"] += 1
        loss = real(*a, **k)
        return loss * float("nan") if calls["n"] > 4 else loss  # epoch 1 has 4 batches of 16

    monkeypatch.setattr(T.F, "cross_entropy", poisoned)
    out = tmp_path / "r"
    with pytest.raises(ResEmoteError, match=r"training diverged in epoch 2 .*last good state \(epoch 1\)"):
        train(RunSpec("fer2013", root=synth_root, epochs=3, batch_size=16, device="cpu"), out, progress=False)
    assert [h["epoch"] for h in rundir.load_run(out).history] == [1]
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

    a, b = rundir.load_run(whole), rundir.load_run(cut)
    assert {k: v for k, v in a.metrics.items() if k not in TIMING} == \
           {k: v for k, v in b.metrics.items() if k not in TIMING}
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]
    assert strip(a.history) == strip(b.history)
    assert (whole / "model.safetensors").read_bytes() == (cut / "model.safetensors").read_bytes()


def test_the_commit_is_read_when_a_run_starts_and_each_resume_adds_its_own(tmp_path, synth_root, monkeypatch):
    """A long run must name the code it started with, not whatever the checkout holds when it ends."""
    import resemote.training.loop as T
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
        train(RunSpec("fer2013", root=synth_root, epochs=2, batch_size=16, lr=0.01, device="cpu"), out, progress=False)
    monkeypatch.setattr(T.F, "cross_entropy", real)
    monkeypatch.setattr(T, "git_commit", lambda: "bbbbbbbbbbbb")  # the checkout moved on
    m = train(RunSpec("fer2013", root=synth_root, epochs=2, batch_size=16, lr=0.01, device="cpu"), out, progress=False)
    assert m["git_commit"] == "aaaaaaaaaaaa" and m["git_commits"] == ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]
    # the weights name the segment that saved them (whichever epoch validated best)
    assert json.loads((out / "model.json").read_text())["provenance"]["git_commit"] in m["git_commits"]


# --- resume state on an interval, written off the training thread ----------------------------------------------
# a small network at 32 x 32 (several times cheaper than C1 on the CPU); 64 training images at batch 30:
# batches of 30, 30 and 4, so the odd last batch is in every epoch
SMALL = dict(config="cnn", image_size=32, epochs=3, batch_size=30, lr=0.01, seed=1, device="cpu")


def _small_cmd(root, out, *extra):
    return [sys.executable, "-m", "resemote", "train", "--dataset", "fer2013", "--root", str(root), "--out", str(out),
            "--model", "cnn", "--image-size", "32", "--epochs", "3", "--batch-size", "30", "--lr", "0.01",
            "--seed", "1", "--device", "cpu", *extra]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, synth_root):
    out = tmp_path_factory.mktemp("small") / "r"
    train(RunSpec("fer2013", root=synth_root, **SMALL), out, progress=False)
    return out


def _same_run(a_dir, b_dir):
    a, b = rundir.load_run(a_dir), rundir.load_run(b_dir)
    drop = TIMING | {"compile_mode"}
    assert {k: v for k, v in a.metrics.items() if k not in drop} == {k: v for k, v in b.metrics.items() if k not in drop}
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)
    assert (a_dir / "model.safetensors").read_bytes() == (b_dir / "model.safetensors").read_bytes()


def _history_rows(out) -> int:
    try:
        return len((out / "history.csv").read_text().splitlines()) - 1
    except OSError:
        return 0


def test_a_kill_while_the_state_lags_the_history_resumes_exactly(tmp_path, synth_root, small_run):
    """Only epoch 1's state exists (a long --state-interval) when the run is killed after epoch 2's history
    row: the resumed run cuts the history back, runs epoch 2 again and ends where the uninterrupted run ends."""
    cut = tmp_path / "cut"
    p = subprocess.Popen(_small_cmd(synth_root, cut, "--state-interval", "3600"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not (_history_rows(cut) >= 2 and (cut / "state.pt").is_file()):
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not (cut / "metrics.json").exists(), "killed too late to test resuming"
    assert _history_rows(cut) == 2
    assert torch.load(cut / "state.pt", weights_only=True)["progress"]["epoch"] == 1

    done = subprocess.run(_small_cmd(synth_root, cut, "--state-interval", "3600"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"resuming {cut} after epoch 1" in done.stdout
    _same_run(small_run, cut)
    assert not any((cut / n).exists() for n in ("state.pt", "state-best.safetensors", "state-best.json"))


def _scripted_validation(monkeypatch, accuracies: list):
    """Validation accuracies as scripted (an exception in the list is raised there): what a GPU's different
    rounding can do to the epochs run again after a resume."""
    import resemote.training.loop as T
    from resemote.evaluation import evaluate as real

    def fake(model, data, **kw):
        m = real(model, data, **kw)
        if kw.get("ci") is False:  # per-epoch validation; the test split is evaluated with the interval
            a = accuracies.pop(0)
            if isinstance(a, BaseException):
                raise a
            m["accuracy"] = a
        return m
    monkeypatch.setattr(T, "evaluate", fake)


def test_resume_puts_back_the_weights_its_state_selected(tmp_path, synth_root, monkeypatch, capsys):
    out = tmp_path / "r"
    # epoch 1 selected and its state written; epoch 2 better (weights written, no state); stopped in epoch 3
    _scripted_validation(monkeypatch, [0.1, 0.2, KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        train(RunSpec("fer2013", root=synth_root, **SMALL), out, state_interval=1e9)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]
    assert [ln.endswith("| state saved") for ln in lines] == [True, False]  # the first epoch's, then none
    assert torch.load(out / "state.pt", weights_only=True)["progress"]["best_epoch"] == 1
    assert json.loads((out / "model.json").read_text())["epoch"] == 2
    assert json.loads((out / "state-best.json").read_text())["epoch"] == 1
    epoch1 = (out / "state-best.safetensors").read_bytes()
    assert [h["epoch"] for h in rundir.load_run(out).history] == [1, 2]

    # run again, epoch 2 now validates worse (as on a GPU it may): epoch 1's weights stay selected
    _scripted_validation(monkeypatch, [0.05, 0.05])
    m = train(RunSpec("fer2013", root=synth_root, **SMALL), out, state_interval=1e9, progress=False)
    assert m["best_epoch"] == 1 and m["val_accuracy"] == 0.1
    assert json.loads((out / "model.json").read_text())["epoch"] == 1
    assert (out / "model.safetensors").read_bytes() == epoch1
    assert [h["val_acc"] for h in rundir.load_run(out).history] == [0.1, 0.05, 0.05]
    assert not (out / "state-best.json").exists() and not (out / "state.pt").exists()


def test_a_failed_write_is_raised_not_lost(tmp_path, synth_root, monkeypatch, capsys):
    import resemote.training.runwriter as W

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(W, "save_weights", full_disk)
    with pytest.raises(ResEmoteError, match=r"writing the run directory .* failed: .*No space left on device"):
        train(RunSpec("fer2013", root=synth_root, **{**SMALL, "epochs": 1}), tmp_path / "r", progress=False, compile_mode="reduce-overhead")
    # and --compile-mode on the CPU is a note, not an error
    assert "--compile-mode reduce-overhead ignored" in capsys.readouterr().err


def test_state_interval_and_compile_mode_are_checked(synth_root, tmp_path, capsys):
    from resemote.cli import main
    base = ["train", "--dataset", "fer2013", "--root", str(synth_root), "--out", str(tmp_path / "r")]
    assert main(base + ["--state-interval", "-1"]) == 2
    assert "expected --state-interval >= 0" in capsys.readouterr().err
    assert main(base + ["--compile-mode", "fastest"]) == 2
    assert "unknown compile mode 'fastest'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_compiled_step_takes_full_batches_and_changes_nothing_on_the_cpu(tmp_path, synth_root, small_run,
                                                                              monkeypatch):
    """With a stand-in compiler (none runs on the CPU): full batches go through it, the odd last batch of an
    epoch runs eagerly, each graph step is marked, and the run is bit-for-bit the plain one."""
    import resemote.accel as A
    seen, marks = [], []

    def fake_compile(fn, device, enabled=True, mode=None):
        if not enabled:
            return fn, False

        def compiled(x, y):
            seen.append(len(y))
            return fn(x, y)
        return compiled, True

    monkeypatch.setattr(A, "maybe_compile", fake_compile)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: marks.append(1))
    m = train(RunSpec("fer2013", root=synth_root, **SMALL), tmp_path / "r", progress=False, compile_mode="reduce-overhead")
    assert seen == [30, 30] * 3 and len(marks) == 6  # 30, 30 and an eager 4 per epoch
    assert m["compile_mode"] == "reduce-overhead"
    _same_run(small_run, tmp_path / "r")


def test_host_snapshot_is_a_copy_and_the_writer_keeps_order_and_errors():
    from resemote.training.runwriter import BackgroundWriter, host_snapshot
    t = torch.arange(4.0)
    snap, ready = host_snapshot({"a": [t, {"b": 1}], "c": None}, "cpu")
    t += 1
    ready()
    assert snap["a"][0].tolist() == [0, 1, 2, 3] and snap["a"][1] == {"b": 1} and snap["c"] is None

    w, done = BackgroundWriter(), []
    for i in range(3):
        w.submit(lambda i=i: (time.sleep(0.05 * (3 - i)), done.append(i)))
    w.wait()
    assert done == [0, 1, 2]

    def fail():
        raise OSError("disk gone")
    w.submit(fail)
    with pytest.raises(OSError, match="disk gone"):
        w.submit(lambda: done.append(3))  # raised by the next submit, in the caller's thread
    w.close()
    assert done == [0, 1, 2]


def test_restoring_weights_that_are_already_in_place_leaves_no_temporary_file(tmp_path):
    # Resuming when model.* already are the state's choice (same inode as state-best.*): rename() of a
    # link onto the same file does nothing, which once left a 321 MB-named `.model.safetensors.tmpPID`.
    from resemote.training import runwriter
    for ext in (".safetensors", ".json"):
        (tmp_path / f"model{ext}").write_text('{"epoch": 1}')
    runwriter._keep_selected(tmp_path)
    runwriter.restore_selected(tmp_path, best_epoch=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors",
                                                           "state-best.json", "state-best.safetensors"]


def test_device_name_counts_cpu_threads_in_words():
    """'cpu (<model>, 1 thread)' / '(…, 2 threads)': the hardware stamp every record and caption prints."""
    from resemote.env import cpu_model, device_name
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert device_name("cpu") == f"cpu ({cpu_model()}, 1 thread)"
        torch.set_num_threads(2)
        assert device_name("cpu") == f"cpu ({cpu_model()}, 2 threads)"
    finally:
        torch.set_num_threads(n)
