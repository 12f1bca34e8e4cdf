import os
import sys
from pathlib import Path

import pytest

# Under pytest-xdist (`make test`: one worker per core) each worker and everything it starts (papermill
# kernels, Snakemake jobs) computes on one thread: two workers of two OpenMP threads each on two cores spin
# against each other and run several times slower than one. Set before any test imports torch.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"

# every test gets its own decode cache, so no test sees another's files
@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RESEMOTE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A small synthetic FER2013-layout dataset shared by the tests that only read it."""
    from resemote.data.synthetic import write_synthetic
    root = tmp_path_factory.mktemp("synth")
    write_synthetic(root, n_train=64, n_val=24, n_test=24, seed=0)
    return root


def run_cli(*args: str, cwd=None, env=None):
    """Run `python -m resemote ARGS` in a subprocess: (returncode, stdout, stderr)."""
    import subprocess
    e = dict(os.environ, **(env or {}))
    p = subprocess.run([sys.executable, "-m", "resemote", *args], capture_output=True, text=True, cwd=cwd, env=e)
    return p.returncode, p.stdout, p.stderr


def quick_model(config: str):
    """A ResEmoteNet with small random weights, built without the slow default initialisation (80M
    parameters for C1), for tests where the emotion does not matter."""
    import torch
    from resemote.models.resemotenet import ResEmoteNet
    with torch.device("meta"):
        model = ResEmoteNet(config)
    model = model.to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.fill_(1)
            elif name.endswith(("running_mean", "num_batches_tracked")):
                t.zero_()
            else:
                t.normal_(0, 0.05, generator=g)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained C6 (the smallest configuration, 46M parameters) saved with `save_weights`."""
    from resemote.checkpoint import save_weights, sidecar
    model = quick_model("C6")
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    return save_weights(model, path, sidecar("C6", dataset="fer2013", protocol="paper", seed=0))


# --- a copy of the repository with a tiny plan, built once by the engine (tests/test_book.py, test_engine.py) ----
TINY_PLAN = {
    "profiles": {
        "paper": {"protocol": "paper", "epochs": 80, "batch_size": 16, "seeds": [0], "device": "auto"},
        "reduced": {"protocol": "paper", "epochs": 1, "batch_size": 16, "seeds": [0], "device": "cpu"},
        "demo": {"protocol": "paper", "epochs": 1, "batch_size": 16, "lr": 0.01, "seeds": [0], "device": "cpu",
                 "synthetic": {"n_train": 48, "n_val": 24, "n_test": 24, "seed": 0}},
    },
    "experiments": {
        "table3": {"datasets": ["fer2013", "rafdb", "affectnet", "expw"], "configs": ["C1", "C2", "C5"]},
        "table4": {"datasets": ["rafdb"], "configs": ["C1", "C2"]},
    },
}
REPO_PARTS = ("resemote", "workflow", "notebooks", "book", "_config.yml", "_toc.yml", "runs.yml", "benchmarks")


class TinyRepo:
    """A copy of the repository (imported instead of the checkout through PYTHONPATH) whose commands run
    there, so tests can change its code and data without touching the checkout."""

    def __init__(self, root: Path, cache: Path):
        import shutil
        self.root = root
        src = Path(__file__).resolve().parents[1]
        for part in REPO_PARTS:
            s = src / part
            if s.is_dir():
                shutil.copytree(s, root / part, ignore=shutil.ignore_patterns("__pycache__", "_build"))
            else:
                shutil.copy(s, root / part)
        (root / "data").mkdir()
        self.env = {**os.environ, "PYTHONPATH": str(root), "RESEMOTE_CACHE": str(cache)}

    def run(self, *args: str, check: bool = True, timeout: int = 900):
        import subprocess
        p = subprocess.run(list(args), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        return p

    def resemote(self, *args: str, check: bool = True):
        return self.run(sys.executable, "-m", "resemote", *args, check=check)

    def book(self, *args: str, check: bool = True):
        return self.resemote("book", "--plan", "plan.yml", "--no-estimate", *args, check=check)


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory) -> TinyRepo:
    """The tiny plan built once: the synthetic C5 run made by the engine, and what a user may leave behind:
    - the synthetic C1 run made by hand with the README's papermill command (`out` empty): adopted;
    - the synthetic C2 run made by hand with other settings (2 epochs, the plan says 1): shown as failed;
    - a damaged RAF-DB under data/rafdb (an image, no label file): its runs and its dataset page crash, the others
      finish (--keep-going) and the book builds, showing them as failed."""
    import yaml
    repo = TinyRepo(tmp_path_factory.mktemp("repo"), tmp_path_factory.mktemp("repo-cache"))
    (repo.root / "plan.yml").write_text(yaml.safe_dump(TINY_PLAN))
    synth = "runs/_data/synthetic-48-24-24-s0"
    # the stand-in made by the engine's own rule, as `make book` makes it (Snakemake records its inputs' checksums)
    repo.run(sys.executable, "-m", "snakemake", f"{synth}/fer2013.csv", "--cores", "1", "--config", "plan=plan.yml",
             "profile=reduced", "gpus=0")
    repo.run(sys.executable, "-m", "papermill", "notebooks/train.ipynb", str(repo.root / "by-hand.ipynb"),
             "-p", "root", synth, "-p", "config", "C1", "-p", "epochs", "1", "-p", "lr", "0.01", "-p", "device", "cpu")
    from resemote.training import RunSpec
    c2 = RunSpec.from_scalars("fer2013", str(repo.root / synth), "C2", epochs=1, lr=0.01, device="cpu")
    c1 = RunSpec.from_scalars("fer2013", str(repo.root / synth), "C1", epochs=1, lr=0.01, device="cpu")
    repo.by_hand = {c1.id, c2.id}  # runs Snakemake did not make: no recorded checksums
    repo.resemote("train", "--dataset", "fer2013", "--root", synth, "--config", "C2", "--epochs", "2", "--lr", "0.01",
                  "--device", "cpu", "--out", f"runs/{c2.id}")
    aligned = repo.root / "data" / "rafdb" / "basic" / "Image" / "aligned"   # images, but no label file
    aligned.mkdir(parents=True)
    from PIL import Image
    Image.new("RGB", (100, 100), (128, 128, 128)).save(aligned / "train_00001_aligned.jpg")
    repo.first_build = repo.book(check=False)
    return repo
