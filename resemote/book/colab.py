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
"""
from __future__ import annotations

from dataclasses import dataclass

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

    def markdown(self) -> str:
        lo, hi = (_duration(h) for h in self.hours)
        work = f"{self.total_pflops:,.1f} PFLOP" if self.total_pflops >= 1 else f"{self.total_pflops * 1e3:,.2g} TFLOP"
        return (f"**Estimate, not a measurement:** this run ({self.config}, {self.epochs} "
                f"epoch{'s' if self.epochs != 1 else ''} of {self.n_train:,} training images, {self.n_val:,} "
                f"validated every epoch, {self.n_test:,} tested once, {self.image_size} x {self.image_size}) "
                f"needs about {work} "
                f"({self.gflops_per_image:.2f} GFLOP forward per image, x3 for a training step), which on a Colab "
                f"T4 (peak {T4_FP32_TFLOPS} TFLOPS FP32, assumed to sustain {UTILISATION[0]:.0%}-{UTILISATION[1]:.0%} "
                f"of it) is **{lo} to {hi}** of GPU time, plus the set-up (installing the package, decoding the "
                f"dataset once). How it is computed: `resemote.book.colab`; measure the real rate on the T4 with "
                f"`resemote bench --device cuda`.")

    def _repr_markdown_(self) -> str:
        return self.markdown()


def _duration(hours: float) -> str:
    if hours * 60 < 1:
        return f"{hours * 3600:.2g} s"
    return f"{hours * 60:.0f} min" if hours < 2 else f"{hours:.1f} h"


def t4_estimate(config: str, splits: dict[str, dict[str, int]], epochs: int, image_size: int = 64) -> T4Estimate:
    """The estimate for `epochs` of `config` on a dataset whose per-split class counts are `splits` (as
    `resemote.analysis.stats.dataset_stats` gives them); no validation split: VAL_FRACTION of train is carved out."""
    from resemote.models import model_summary
    n = {s: sum(c.values()) for s, c in splits.items()}
    n_train, n_test = n.get("train", 0), n.get("test", 0)
    n_val = n.get("val")
    if n_val is None:
        n_val = round(n_train * VAL_FRACTION)
        n_train -= n_val
    fwd = model_summary(config, image_size)["gflops"] * 1e9
    total = epochs * (3 * fwd * n_train + fwd * n_val) + fwd * n_test
    hours = tuple(total / (T4_FP32_TFLOPS * 1e12 * u) / 3600 for u in reversed(UTILISATION))
    return T4Estimate(config, image_size, epochs, n_train, n_val, n_test, fwd / 1e9, total / 1e15, hours)
