"""Checkpoints: safetensors round trip, the released formats, the fc4 permutation, refusing bad files."""
import json
import os
import pickle

import pytest
import torch

from resemote.checkpoint import import_official, load_model, read_released, save_weights, sidecar
from resemote.data.classes import CLASSES
from resemote.errors import ResEmoteError
from resemote.models.resemotenet import ResEmoteNet

from conftest import run_cli

# the released network's output order, by name (a fact about the authors' released code), and those names in ours
RELEASED_ORDER = ["happy", "surprise", "sad", "anger", "disgust", "fear", "neutral"]
NAME = {"happy": "Happy", "surprise": "Surprise", "sad": "Sad", "anger": "Angry", "disgust": "Disgust",
        "fear": "Fear", "neutral": "Neutral"}


@pytest.fixture(scope="module")
def released_state():
    torch.manual_seed(3)
    return {k: v.clone() for k, v in ResEmoteNet("C1").state_dict().items()}


@pytest.mark.parametrize("wrapped", [True, False])
def test_import_official_permutes_fc4(tmp_path, released_state, wrapped):
    src = tmp_path / "released.pth"
    torch.save({"model_state_dict": released_state} if wrapped else released_state, src)
    dst = import_official(src, tmp_path / "ours.safetensors")
    ours, meta = load_model(dst)
    assert meta["classes"] == list(CLASSES) and meta["config"] == "C1"

    released = ResEmoteNet("C1")
    released.load_state_dict(released_state)  # a model whose outputs are in the released order
    x = torch.randn(5, 3, 64, 64)
    with torch.no_grad():
        r, o = released.eval()(x), ours(x)
    for j, name in enumerate(RELEASED_ORDER):
        torch.testing.assert_close(o[:, CLASSES.index(NAME[name])], r[:, j])
    assert (o.argmax(1) == torch.tensor([CLASSES.index(NAME[RELEASED_ORDER[k]]) for k in r.argmax(1)])).all()


def test_evaluating_a_released_pt_directly_matches_import(tmp_path, released_state):
    torch.save(released_state, tmp_path / "r.pt")
    a, _ = load_model(tmp_path / "r.pt")
    b, _ = load_model(import_official(tmp_path / "r.pt", tmp_path / "o.safetensors"))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))


def test_wrong_tensors_are_refused(tmp_path, released_state):
    bad = dict(released_state)
    bad["fc4.weight"] = torch.zeros(8, 256)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(ResEmoteError, match=r"fc4.weight has shape \(8, 256\), expected \(7, 256\)"):
        import_official(tmp_path / "bad.pth", tmp_path / "o")
    del bad["fc4.weight"]
    torch.save(bad, tmp_path / "bad2.pth")
    with pytest.raises(ResEmoteError, match="missing fc4.weight"):
        import_official(tmp_path / "bad2.pth", tmp_path / "o")


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {EVIL_MARK}",))


EVIL_MARK = "/tmp/resemote-evil-was-run"


def test_pickled_code_is_never_run(tmp_path):
    if os.path.exists(EVIL_MARK):
        os.remove(EVIL_MARK)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model_state_dict": Evil()}, f)
    with pytest.raises(ResEmoteError, match="not a loadable weights-only PyTorch checkpoint"):
        read_released(path)
    torch.save({"fc4.weight": Evil()}, tmp_path / "evil2.pth")
    with pytest.raises(ResEmoteError, match="weights-only"):
        read_released(tmp_path / "evil2.pth")
    assert not os.path.exists(EVIL_MARK)


def test_safetensors_round_trip_and_sidecar(tmp_path):
    torch.manual_seed(0)
    m = ResEmoteNet("C5")
    path = save_weights(m, tmp_path / "w.safetensors", sidecar("C5", note="x"))
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["config"] == "C5" and meta["input"]["size"] == [64, 64] and meta["input"]["mean"][0] == 0.485
    m2, _ = load_model(path)
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k])


def test_cli_bad_checkpoints(tmp_path, synth_root):
    (tmp_path / "junk.pth").write_bytes(b"this is not a checkpoint")
    code, out, err = run_cli("import-official", str(tmp_path / "junk.pth"), "--out", str(tmp_path / "o"))
    assert code == 2 and "not a loadable weights-only PyTorch checkpoint" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    (tmp_path / "junk.json").write_text(json.dumps(sidecar("C1")))
    code, out, err = run_cli("evaluate", "--checkpoint", str(tmp_path / "junk.safetensors"), "--dataset",
                             "fer2013", "--root", str(synth_root), "--device", "cpu")
    assert code == 2 and "not a readable safetensors file" in err and "Traceback" not in err
    code, out, err = run_cli("evaluate", "--checkpoint", str(tmp_path / "none.safetensors"), "--dataset",
                             "fer2013", "--root", str(synth_root))
    assert code == 2 and "does not exist" in err


def test_import_official_out_stem_is_accepted_by_evaluate(tmp_path, released_state, synth_root):
    """`import-official R.pth --out w/x` writes w/x.safetensors + w/x.json; `evaluate --checkpoint w/x` reads them."""
    torch.save({"model_state_dict": released_state}, tmp_path / "R.pth")
    code, out, err = run_cli("import-official", "R.pth", "--out", "w/x", cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "w/x.safetensors").is_file() and (tmp_path / "w/x.json").is_file()
    code, out, err = run_cli("evaluate", "--checkpoint", "w/x", "--dataset", "fer2013", "--root", str(synth_root),
                             "--split", "test", "--json", "--device", "cpu", cwd=tmp_path)
    assert code == 0, err
    m = json.loads(out)
    assert m["checkpoint"] == "w/x" and m["config"] == "C1" and m["n"] == 24
    assert sum(map(sum, m["confusion_matrix"])) == 24
    # the very weights import wrote: the same accuracy as the released file evaluated in this process
    from resemote.data import get_dataset
    from resemote.data.cache import decode
    from resemote.evaluation import evaluate
    from resemote.device_images import DeviceImages
    d = decode(get_dataset("fer2013", synth_root, "test"), 64, progress=False)
    ref = evaluate(load_model(tmp_path / "R.pth")[0], DeviceImages(d.images, d.labels, "cpu"))
    assert m["accuracy"] == ref["accuracy"] and m["confusion_matrix"] == ref["confusion_matrix"]


def test_checkpoint_paths_resolve_like_they_were_written(tmp_path, released_state):
    m = ResEmoteNet("C1")
    m.load_state_dict(released_state)
    assert save_weights(m, tmp_path / "a.v2", sidecar("C1")) == tmp_path / "a.v2.safetensors"  # a stem, kept whole
    assert (tmp_path / "a.v2.json").is_file()
    for given in ("a.v2", "a.v2.safetensors", "a.v2.json"):
        _, meta = load_model(tmp_path / given)
        assert meta["config"] == "C1"
    with pytest.raises(ResEmoteError, match=r"checkpoint \S+/b does not exist \(nor \S+/b\.safetensors\)"):
        load_model(tmp_path / "b")
