"""What a training run would cost on a Google Colab T4: an estimate from the network's FLOPs, never a measurement.

How it is computed (and shown with the number):
- forward FLOPs of one image: `resemote.models.model_summary` (2 x the multiply-accumulates of every conv and
  linear layer, counted in one forward pass at the run's input size);
- a training step costs about 3 x the forward pass (forward, then gradients for activations and weights);
  validation every epoch and the test once cost one forward pass per image;
- the T4's peak FP32 rate, 8.1 TFLOPS (NVIDIA's T4 datasheet), of which a small CNN on 64 x 64 inputs at batch
  16 is assumed to sustain between 20% and 50%: an assumption, not measured here. Data loading, Python
  overhead and the one-off set-up (installing the package, decoding the dataset once) are not included.
`resemote bench --device cuda` on the T4 itself measures the real rate (benchmarks/README.md).

The training images counted are the ones the run trains on: the leak experiment's stratified subset plus the test
images it leaks, not the whole split (`RunSpec.training_images`). A run page executed before that was
counted right has its estimate recomputed from the run's own `params.json` when the book is staged
(`restate_page`), and says so.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from resemote.data.splits import held_counts as _held
from resemote.leakage import trained_on, training_counts

T4_FP32_TFLOPS = 8.1           # NVIDIA Tesla T4 datasheet, peak single precision
UTILISATION = (0.2, 0.5)       # assumed share of that peak sustained (low, high); not measured
VAL_FRACTION = 0.1             # where a dataset has no validation split, training carves this share out


@dataclass(frozen=True)
class T4Estimate:
    config: str
    image_size: int
    epochs: int
    n_train: int
    n_val: int
    n_test: int
    gflops_per_image: float    # forward
    total_pflops: float
    hours: tuple[float, float]  # at the high and the low utilisation
    subset: int | None = None   # the leak experiment: the stratified training subset it trains on ...
    leaked: int = 0             # ... and the test images it adds to it (both counted in n_train)
    note: str = ""              # why the estimate was recomputed (`restate_page`)

    def markdown(self) -> str:
        lo, hi = (_duration(h) for h in self.hours)
        work = (f"{self.total_pflops:,.1f} PFLOP" if self.total_pflops >= 1 else
                f"{_sig(self.total_pflops * 1e3)} TFLOP")
        parts = ([f"a stratified subset of {self.subset:,} images of the training split"] if self.subset else []) + (
            [f"{self.leaked:,} test images leaked into it"] if self.leaked else [])
        what = f" Its training images are {' plus '.join(parts)}." if parts else ""
        return (f"**Estimate, not a measurement:** this run ({self.config}, {self.epochs} "
                f"epoch{'s' if self.epochs != 1 else ''} of {self.n_train:,} training images, {self.n_val:,} "
                f"validated every epoch, {self.n_test:,} tested once, {self.image_size} x {self.image_size}) "
                f"needs about {work} "
                f"({self.gflops_per_image:.2f} GFLOP forward per image, x3 for a training step), which on a Colab "
                f"T4 (peak {T4_FP32_TFLOPS} TFLOPS FP32, assumed to sustain {UTILISATION[0]:.0%}-{UTILISATION[1]:.0%} "
                f"of it) is **{lo} to {hi}** of GPU time, plus the set-up (installing the package, decoding the "
                f"dataset once). How it is computed: `resemote.book.colab`; measure the real rate on the T4 with "
                f"`resemote bench --device cuda`.{what}" + (f" {self.note}" if self.note else ""))

    def _repr_markdown_(self) -> str:
        return self.markdown()


def _sig(x: float) -> str:
    """Two significant figures, never in scientific notation: 546.6 -> '550', 3.14 -> '3.1', 0.0123 -> '0.012'."""
    if x == 0:
        return "0"
    digits = 1 - math.floor(math.log10(abs(x)))
    return f"{round(x, digits):,.{max(digits, 0)}f}"


def _duration(hours: float) -> str:
    if hours * 60 < 1:
        return f"{hours * 3600:.2g} s"
    return f"{hours * 60:.0f} min" if hours < 2 else f"{hours:.1f} h"


def _estimate(config: str, image_size: int, epochs: int, n_train: int, n_val: int, n_test: int, **extra) -> T4Estimate:
    from resemote.models import model_summary
    fwd = model_summary(config, image_size)["gflops"] * 1e9
    total = epochs * (3 * fwd * n_train + fwd * n_val) + fwd * n_test
    hours = tuple(total / (T4_FP32_TFLOPS * 1e12 * u) / 3600 for u in reversed(UTILISATION))
    return T4Estimate(config, image_size, epochs, n_train, n_val, n_test, fwd / 1e9, total / 1e15, hours, **extra)




def t4_estimate(config: str, splits: dict[str, dict[str, int]], epochs: int, image_size: int = 64,
                **experiment) -> T4Estimate:
    """The estimate for `epochs` of `config` on a dataset whose per-split class counts are `splits` (as
    `resemote.analysis.stats.dataset_stats` gives them); no validation split: VAL_FRACTION of train is carved out.
    `experiment`: the leak experiment's settings (`RunSpec.experiment()`), which decide what the run trains on
    (`resemote.leakage.training_counts`)."""
    # per class, cut by the very function the loaders and resemote.leakage cut with (each class's share rounded),
    # so that the counts are the run's own, not a rounding of the totals
    train = {c: int(k) for c, k in splits.get("train", {}).items()}
    test = {c: int(k) for c, k in splits.get("test", {}).items()}
    if "val" in splits:
        n_val = sum(splits["val"].values())
    else:
        carved = _held(train, VAL_FRACTION)
        n_val, train = sum(carved.values()), {c: k - carved[c] for c, k in train.items()}
    n_train, n_test = sum(train.values()), sum(test.values())
    subset, leaked = training_counts(train, test, experiment)
    return _estimate(config, image_size, epochs, (subset or n_train) + leaked, n_val, n_test, subset=subset,
                     leaked=leaked)


def estimate_from_params(params: dict) -> T4Estimate | None:
    """The estimate from a finished run's own `params.json`: the split sizes it trained, validated and tested on
    (`split_sizes`, with `leaked_into_train` counted in train); None for a run that did not record them."""
    n = params.get("split_sizes")
    if not n or not all(k in n for k in ("train", "val", "test")):
        return None
    subset, leaked = trained_on(params)
    return _estimate(params["config"], int(params.get("image_size", 64)), int(params["epochs"]), int(n["train"]),
                     int(n["val"]), int(n["test"]), subset=subset, leaked=leaked)


RESTATED = ("Recomputed when this book was built, from the split sizes in the run's params.json: the page as "
            "executed counted {was:,} training images, not the {now:,} the run trained on.")


def restate_page(nb: dict, params: dict) -> dict | None:
    """An executed run page (notebook JSON) whose Colab estimate counted other training images than the run's
    `params.json` says it trained on (a leak run executed before `t4_estimate` knew its subset), with that output
    replaced by `estimate_from_params` and a note saying so; None where nothing needs restating."""
    est = estimate_from_params(params)
    if est is None:
        return None
    out = None
    for i, c in enumerate(nb.get("cells", [])):
        src = "".join(c.get("source", ""))
        if c.get("cell_type") != "code" or "t4_estimate(" not in src:
            continue
        for j, o in enumerate(c.get("outputs", [])):
            plain = "".join((o.get("data") or {}).get("text/plain", ""))
            was = plain.partition("n_train=")[2].partition(",")[0]
            if not was.isdigit() or int(was) == est.n_train:
                continue
            fixed = replace(est, note=RESTATED.format(was=int(was), now=est.n_train))
            out = out or copy.deepcopy(nb)
            out["cells"][i]["outputs"][j]["data"] = {"text/markdown": [fixed.markdown()], "text/plain": [repr(fixed)]}
    return out


def restate_page_file(page: str | Path, run_dir: str | Path) -> bool:
    """`restate_page` on a page file, rewritten in place (a staged copy, never a record) when it changed."""
    page, params = Path(page), Path(run_dir) / "params.json"
    if not page.is_file() or not params.is_file():
        return False
    fixed = restate_page(json.loads(page.read_text()), json.loads(params.read_text()))
    if fixed is not None:
        page.write_text(json.dumps(fixed, indent=1, ensure_ascii=False) + "\n")
    return fixed is not None
