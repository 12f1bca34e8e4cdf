"""A run's specification: the one value that says what a training run is.

Everything that defines a run travels as a `RunSpec`: the plan (runs.yml, `resemote.book.plan`) resolves into
specs, the training notebook takes one as a JSON parameter (`to_json` / `from_json`; people who type
parameters by hand get friendly scalars, mapped onto a spec in one place, `from_scalars`), `train(spec, out)`
trains it, params.json is its serialisation with what the run found in its data (`params`), a run directory
is read back into one (`from_params`), and the run's id is derived from it (`id`).

One default per setting: `epochs`, `batch_size` and `lr` left as None take the protocol's, filled in when the
spec is made, so a spec always holds the values the run trains with.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from resemote.errors import ResEmoteError
from resemote.leakage import KEYS as LEAK_KEYS, LeakExperiment
from resemote.training.protocols import PROTOCOLS

# the settings that decide which result a run is (the plan's cells, the id's digest)
CELL = ("dataset", "config", "protocol", "epochs", "batch_size", "lr", "seed", "image_size")
# ... and with them, how the data is split and tested (and the leak experiment's block, where set): a run
# directory holding other values is refused
DEFINING = (*CELL, "val_fraction", "val_seed", "released_test_flips", *LEAK_KEYS)
SYNTHETIC_KEYS = ("n_train", "n_val", "n_test", "seed")  # a synthetic stand-in's generator, in the id


@dataclass(frozen=True)
class RunSpec:
    """What a training run is: the network `config` trained on `dataset` (read from `root`) under the
    recipe `protocol`, with these settings; `leak`: the leak experiment's block (never in a reproduction);
    `synthetic`: the generator of a synthetic stand-in dataset (its sizes and seed), part of the id."""

    dataset: str
    config: str = "C1"
    protocol: str = "paper"
    epochs: int | None = None         # None: the protocol's
    batch_size: int | None = None     # None: the protocol's
    lr: float | None = None           # None: the protocol's
    seed: int = 0
    image_size: int = 64
    val_fraction: float = 0.1         # of train, held out where the dataset has no validation split
    val_seed: int = 0
    released_test_flips: bool = False
    leak: LeakExperiment | None = None
    # where it runs and from which folder: not what the run is (a run may move between machines)
    root: str = ""                    # the dataset folder; "": data/<dataset>, filled in
    device: str = "auto"
    synthetic: dict | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ResEmoteError(f"unknown protocol {self.protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        proto = PROTOCOLS[self.protocol]
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen: fill the defaults once
        set_("epochs", int(self.epochs or proto.epochs))
        set_("batch_size", int(self.batch_size or proto.batch_size))
        set_("lr", float(self.lr or proto.lr))
        set_("seed", int(self.seed))
        set_("image_size", int(self.image_size))
        set_("root", str(self.root or f"data/{self.dataset}"))
        if self.epochs < 1 or self.batch_size < 2:
            raise ResEmoteError(f"expected --epochs >= 1 and --batch-size >= 2, got {self.epochs} and {self.batch_size}")
        if self.leak is not None and not self.leak.as_params():
            set_("leak", None)
        if self.synthetic:
            set_("synthetic", {k: self.synthetic[k] for k in SYNTHETIC_KEYS})

    # -- what the run is -------------------------------------------------------------------------------------
    def experiment(self) -> dict:
        """The leak experiment's settings, where set ({} for every other run)."""
        return self.leak.as_params() if self.leak else {}

    @property
    def leaks(self) -> bool:
        """Test images are added to its training (the leak experiment): never a reproduction."""
        return bool(self.leak and self.leak.leaks)

    @property
    def subset_size(self) -> int | None:
        """The stratified training subset it trains on (the leak experiment), or None: the whole split."""
        return self.leak.train_subset if self.leak else None

    def experiment_label(self, short: bool = False) -> str:
        """The leak experiment's settings in words, '' for any other run: ', stratified training subset of 7,000
        images, 10% of the test images leaked into training (as they are)', or `short`: '7,000-image subset,
        leak 10%'."""
        if not self.leak:
            return ""
        return self.leak.short_label() if short else self.leak.label()

    def training_images(self, split_sizes: dict[str, int]) -> int:
        """The images it trains on each epoch, given its dataset's split sizes: the training split, or the leak
        experiment's subset of it plus the test images it leaks."""
        train, test = split_sizes.get("train", 0), split_sizes.get("test", 0)
        return self.leak.training_images(train, test) if self.leak else train

    def cli_args(self) -> list[str]:
        """The `resemote train` options that make it (its root, --out and the speed options are the caller's)."""
        args = ["--dataset", self.dataset, "--model", self.config, "--protocol", self.protocol, "--epochs",
                str(self.epochs), "--batch-size", str(self.batch_size), "--seed", str(self.seed), "--image-size",
                str(self.image_size)]
        args += [] if self.lr == PROTOCOLS[self.protocol].lr else ["--lr", repr(self.lr)]
        return args + (self.leak.cli_args() if self.leak else [])

    def cell(self) -> dict:
        """The settings that decide which result the run is: the plan's cell it fills."""
        return {**{k: getattr(self, k) for k in CELL}, **self.experiment()}

    def defining(self) -> dict:
        """The settings a reused run directory must match."""
        return {**{k: getattr(self, k) for k in DEFINING if k not in LEAK_KEYS}, **self.experiment()}

    @property
    def id(self) -> str:
        """`<dataset or 'synthetic'>-<config>-s<seed>-<digest of the cell and the synthetic generator>`: the same
        settings always map to the same run directory `runs/<id>`, whoever made it."""
        key = {**self.cell(), "synthetic": self.synthetic}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:6]
        return f"{'synthetic' if self.synthetic else self.dataset}-{self.config}-s{self.seed}-{digest}"

    def with_(self, **changes) -> "RunSpec":
        """A copy with `changes` (e.g. another budget): its defaults filled again, its id its own."""
        return replace(self, **changes)

    def budget(self) -> str:
        """'80 epochs, batch 16': the budget in words, with the learning rate and recipe where they are not
        the protocol's and the paper's, a synthetic stand-in's size and the leak experiment's settings."""
        s = self.synthetic
        size = f", {s['n_train']} synthetic training images" if s else ""
        lr = "" if self.lr == PROTOCOLS[self.protocol].lr else f", lr {self.lr:g}"
        recipe = "" if self.protocol == "paper" else f", {self.protocol} recipe"
        return f"{self.epochs} epochs, batch {self.batch_size}{lr}{recipe}{size}{self.experiment_label()}"

    # -- params.json --------------------------------------------------------------------------------------
    def params(self, found: dict) -> dict:
        """params.json: the spec (its root resolved) and what the run found in its data (`found`: fingerprint,
        validation source, synthetic generator, split sizes, the protocol's settings), in one flat dict."""
        own = {"dataset": self.dataset, "root": str(Path(self.root).resolve()),
               "config": self.config, "protocol": self.protocol, "epochs": self.epochs, "batch_size": self.batch_size,
               "lr": self.lr, "seed": self.seed, "device": self.device, "image_size": self.image_size,
               "val_fraction": self.val_fraction, "val_seed": self.val_seed,
               "released_test_flips": self.released_test_flips}
        return {**own, **found, **self.experiment()}

    @classmethod
    def from_params(cls, params: dict) -> "RunSpec":
        """The spec of a params.json (or of any mapping holding a run's settings: a record, a plan's cell);
        settings it lacks take their defaults, keys that are not settings are ignored."""
        names = {f.name for f in fields(cls)} - {"leak", "synthetic"}
        kw = {k: params[k] for k in names if params.get(k) is not None}
        s = params.get("synthetic")
        return cls(**kw, leak=LeakExperiment.from_params(params),
                   synthetic=s if isinstance(s, dict) and all(k in s for k in SYNTHETIC_KEYS) else None)

    # -- the notebook's parameters ------------------------------------------------------------------------
    def to_json(self) -> str:
        d = asdict(self)
        d["leak"] = self.experiment() or None
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        d = json.loads(text)
        leak = LeakExperiment(**d.pop("leak")) if d.get("leak") else None
        d.pop("leak", None)
        return cls(**d, leak=leak)

    def scalars(self, out: str | None = None) -> dict:
        """The notebook's friendly parameters that make this spec in run directory `out` (`from_scalars` reads
        them back): -1 where the protocol's value is meant, so that a typed command says what differs from
        the recipe."""
        proto = PROTOCOLS[self.protocol]
        p = {k: getattr(self, k) for k in CELL}
        p.update(lr=-1.0 if self.lr == proto.lr else self.lr, device=self.device, root=self.root)
        return {**p, **({"out": out} if out is not None else {}), **self.experiment()}

    @classmethod
    def from_scalars(cls, dataset: str, root: str = "", config: str = "C1", protocol: str = "paper",
                     epochs: int = -1, batch_size: int = -1, lr: float = -1.0, seed: int = 0, device: str = "auto",
                     image_size: int = 64, train_subset: int = 0, leak_test_fraction: float = 0.0,
                     leak_copies: str = "as-is") -> "RunSpec":
        """The spec that typed notebook parameters mean: -1 (or 0) the protocol's value, an empty root
        `data/<dataset>`, a root holding synthetic data its generator (so the id is the one the plan gives the
        same settings)."""
        from resemote.data.base import SYNTHETIC_MARKER  # here: reading a root's marker is the data layer's
        root = root or f"data/{dataset}"
        marker = Path(root) / SYNTHETIC_MARKER
        return cls(dataset=dataset, config=config, protocol=protocol, epochs=epochs if epochs > 0 else None,
                   batch_size=batch_size if batch_size > 0 else None,
                   lr=lr if lr is not None and lr > 0 else None, seed=seed, image_size=image_size, root=root,
                   device=device, synthetic=json.loads(marker.read_text()) if marker.is_file() else None,
                   leak=LeakExperiment(train_subset or None, leak_test_fraction, leak_copies))
