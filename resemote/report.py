"""Tables and figures the book shows, built from run results (never from typed-in numbers).

Three kinds of numbers appear, always labelled:
- the paper's claims (`PAPER_*`, cited as Roy et al. 2024), shown as published;
- others' re-measurements (`OTHERS`, cited from results-context.md);
- this companion's results, read from run directories (`resemote.results`), each naming its run.
Synthetic runs are labelled "synthetic - pipeline demonstration" and never fill a real dataset's cell.
A result that is missing shows as "not run" with the papermill command that produces it.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .data.classes import CLASSES
from .results import Run, load_run

SYNTHETIC_TAG = "synthetic - pipeline demonstration"
DATASETS = ("fer2013", "rafdb", "affectnet", "expw")
TITLES = {"fer2013": "FER2013", "rafdb": "RAF-DB", "affectnet": "AffectNet-7", "expw": "ExpW",
          "synthetic": "Synthetic"}
NOT_RUN = "not run"

# --- the paper's claims (Roy et al. 2024), as published ----------------------------------------------
PAPER_TABLE_I = {  # channels, image size, total samples, classes
    "fer2013": (1, "48 x 48", 35887, 7), "rafdb": (3, "100 x 100", 15339, 7),
    "affectnet": (3, "224 x 224", 287401, 7), "expw": (3, "224 x 224", 91793, 7),
}
PAPER_TABLE_II = {  # class -> (train, test), canonical class order
    "fer2013": [(3995, 491), (436, 416), (4097, 626), (7215, 594), (4965, 528), (4830, 879), (3171, 55)],
    "rafdb": [(705, 162), (717, 160), (281, 74), (4772, 1185), (2524, 680), (1982, 478), (1290, 329)],
    "affectnet": [(24882, 500), (3803, 500), (6378, 500), (134415, 500), (74874, 500), (25459, 500),
                  (14090, 500)],
    "expw": [(2569, 364), (2796, 396), (761, 108), (21375, 3024), (24418, 3454), (7391, 1046), (4943, 699)],
}
# FER2013 PrivateTest class counts as commonly cited (datasets.md); the paper's test column permutes them
FER2013_PRIVATETEST_CITED = (491, 55, 528, 879, 626, 594, 416)
PAPER_TABLE_III = {  # method -> accuracy (%) per dataset; None = not reported
    "Seg. VGG-19": ("vignesh2023segvgg", (75.97, None, None, None)),
    "EmoNeXt": ("elboudouri2023emonext", (76.12, None, None, None)),
    "En. ResMaskingNet": ("pham2021rmn", (76.82, None, None, None)),
    "SEResNet": ("huang2023seresnet", (None, 83.37, 56.54, None)),
    "Arm": ("shi2021arm", (None, 90.42, 62.5, None)),
    "APViT": ("xue2022apvit", (None, 91.98, 66.91, 73.48)),
    "ARBEx": ("wasi2023arbex", (None, 92.47, None, None)),
    "S2D": ("chen2023s2d", (None, 92.57, 67.62, None)),
    "C MT EmoAffectNet": ("kollias2024distribution", (None, None, 69.4, None)),
    "AGLRLS": ("gao2024aglrls", (None, None, None, 73.0)),
    "SchiNet": ("bishay2019schinet", (None, None, None, 73.10)),
    "ResEmoteNet (paper's claim)": ("roy2024resemotenet", (79.79, 94.76, 72.93, 75.67)),
}
PAPER_TABLE_IV = {  # config -> (accuracy %, "loss %") on RAF-DB
    "C1": (94.76, 3.73), "C2": (94.18, 16.83), "C3": (83.51, 7.19),
    "C4": (88.27, 5.32), "C5": (75.39, 10.2), "C6": (82.77, 8.8),
}
PAPER_COMPUTE = {  # dataset -> (training hours, inference ms per image), MacBook M2 Pro / Kaggle P100
    "fer2013": (3.0, 1.4), "rafdb": (2.0, 3.2), "affectnet": (6.0, 3.6), "expw": (4.5, 1.9),
}
# others' held-out accuracies and re-runs of ResEmoteNet (results-context.md): dataset, what, result, source
OTHERS = [
    ("fer2013", "VGG variant, single network", "73.28%", "Khaireddin & Chen 2021 (arXiv 2105.03588)"),
    ("fer2013", "Residual Masking Network", "74.14%; 76.82% as a 7-model ensemble", "Pham et al., ICPR 2020"),
    ("fer2013", "LHC-Net", "74.42%", "Pecoraro et al., Information 2022"),
    ("rafdb", "POSTER++", "92.21%", "Mao et al. 2023 (arXiv 2301.12149)"),
    ("rafdb", "DDAMFN++", "92.34%", "Zhang et al., Electronics 2023"),
    ("affectnet", "HSEmotion EfficientNet-B2", "66.3-66.5%", "Savchenko 2022 (EmotiEffLib)"),
    ("affectnet", "POSTER++ / S2D", "67.49% / 67.62%", "Mao et al. 2023; Chen et al. 2023"),
    ("expw", "-", "no widely used split, so no comparable number", "datasets.md"),
    ("fer2013", "ResEmoteNet retrained, standard split", "about 58-66%", "released repo issues #7 #16 #23 #34 #39 #40 #46"),
    ("rafdb", "ResEmoteNet retrained", "about 78-80%", "released repo issues #25 #30"),
    ("fer2013", "ResEmoteNet released checkpoint", "65.9-71.6%", "released repo issues #13 #46"),
    ("rafdb", "ResEmoteNet released checkpoint", "about 36%", "released repo issue #50"),
    ("fer2013", "ResEmoteNet retrained on the authors' shared (leaky) copy", "about 90-92%",
     "released repo issues #32 #40 #49"),
]


# --- where things are ----------------------------------------------------------------------------------
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def runs_dir() -> Path:
    return Path(os.environ.get("RESEMOTE_RUNS", repo_root() / "runs"))


def data_dir() -> Path:
    return Path(os.environ.get("RESEMOTE_DATA", repo_root() / "data"))


# --- the planned runs and their results ----------------------------------------------------------------
@dataclass
class Entry:
    """One planned run (from the plan's index.json) and its results, if it finished."""

    info: dict          # id, experiments, stands_in_for, profile, budget, command, path, ...
    run: Run | None

    @property
    def id(self) -> str:
        return self.info["id"]

    @property
    def finished(self) -> bool:
        return self.run is not None and self.run.finished

    @property
    def synthetic(self) -> bool:
        return bool(self.info.get("synthetic")) or (self.run is not None and self.run.synthetic)

    @property
    def metrics(self) -> dict:
        return self.run.metrics if self.finished else {}


def load_entries(root: str | Path | None = None) -> list[Entry]:
    """The planned runs under `root` (default: `runs_dir()`), from index.json written by the plan."""
    root = Path(root) if root else runs_dir()
    index = root / "index.json"
    if not index.is_file():
        return []
    out = []
    for info in json.loads(index.read_text())["runs"]:
        path = root / info["id"]
        run = load_run(path) if (path / "params.json").is_file() else None
        out.append(Entry(info, run))
    return out


def select(entries: Iterable[Entry], *, experiment: str | None = None, dataset: str | None = None,
           config: str | None = None, synthetic: bool | None = None, finished: bool = True) -> list[Entry]:
    """Entries of one experiment standing for `dataset` (real or synthetic stand-in) in `config`."""
    sel = []
    for e in entries:
        if experiment and experiment not in e.info.get("experiments", []):
            continue
        if dataset and dataset not in e.info.get("stands_in_for", []):
            continue
        if config and e.info.get("config") != config:
            continue
        if synthetic is not None and e.synthetic != synthetic:
            continue
        if finished and not e.finished:
            continue
        sel.append(e)
    return sel


def mean_sd(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """'m' for one value, 'm +- sd (n=k)' for several (sample standard deviation)."""
    v = [x * scale for x in values]
    if not v:
        return NOT_RUN
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f} (n={len(v)})"


def short_commit(m: dict) -> str:
    c = str(m.get("git_commit") or "unknown")
    return c[:10]


def cite_runs(entries: Iterable[Entry]) -> str:
    """Caption text naming runs and commits: 'runs a (commit x), b (commit y)'."""
    parts = [f"{e.id} (commit {short_commit(e.metrics)})" for e in entries if e.finished]
    return "runs " + ", ".join(parts) if parts else "no finished runs"


def budget(e: Entry) -> str:
    """The training budget a run got: epochs, batch, lr, and for synthetic data its size."""
    p = e.run.params if e.run else e.info.get("params", {})
    s = e.info.get("synthetic")
    size = f", {s['n_train']}/{s['n_val']}/{s['n_test']} synthetic images" if s else ""
    lr = p.get("lr")
    return f"{p.get('epochs')} epochs, batch {p.get('batch_size')}, lr {lr if lr is not None else 'protocol'}{size}"


def provenance_table(entries: Iterable[Entry]) -> pd.DataFrame:
    """One row per planned run: what it is, where it ran, and where its numbers come from."""
    rows = []
    for e in entries:
        m = e.metrics
        p = e.run.params if e.run else {}
        rows.append({
            "run": e.id,
            "data": f"{TITLES['synthetic']} ({SYNTHETIC_TAG})" if e.synthetic else TITLES.get(p.get("dataset"), p.get("dataset")),
            "stands in for": ", ".join(TITLES.get(d, d) for d in e.info.get("stands_in_for", [])),
            "config": e.info.get("config"), "seed": e.info.get("seed"),
            "profile": e.info.get("profile"), "budget": budget(e),
            "status": "finished" if e.finished else (f"failed: {e.info['error']}" if e.info.get("error") else NOT_RUN),
            "test acc. (%)": f"{m['test_accuracy'] * 100:.2f}" if m else "",
            "commit": short_commit(m) if m else "", "device": m.get("device", ""),
            "data fingerprint": m.get("data_fingerprint", ""),
            "finished at": m.get("finished_at", ""),
        })
    return pd.DataFrame(rows)


# --- Tables I and II ------------------------------------------------------------------------------------
def paper_table1() -> pd.DataFrame:
    return pd.DataFrame({TITLES[d]: {"channels": c, "image size": s, "total samples": f"{n:,}", "classes": k}
                         for d, (c, s, n, k) in PAPER_TABLE_I.items()})


def paper_table2() -> pd.DataFrame:
    cols = {}
    for d, counts in PAPER_TABLE_II.items():
        cols[(TITLES[d], "train")] = [a for a, _ in counts] + [sum(a for a, _ in counts)]
        cols[(TITLES[d], "test")] = [b for _, b in counts] + [sum(b for _, b in counts)]
    return pd.DataFrame(cols, index=list(CLASSES) + ["Total"])


def computed_table1(stats: dict) -> pd.DataFrame:
    """Table I rows from `dataset_stats` outputs {name: stats}, beside the paper's values."""
    rows = {}
    for name, s in stats.items():
        h, w = s.get("image_size", [None, None])
        paper = PAPER_TABLE_I.get(s.get("name", "")) if not s.get("synthetic") else None
        rows[name] = {
            "channels": s.get("channels"), "image size": f"{h} x {w}",
            "total samples": f"{s.get('total', 0):,}", "classes": len(s.get("classes", CLASSES)),
            "paper: channels / size / total": (f"{paper[0]} / {paper[1]} / {paper[2]:,}" if paper
                                               else "- (not in the paper)"),
        }
    return pd.DataFrame(rows)


def computed_table2(stats: dict) -> pd.DataFrame:
    """Class counts per split computed from the data, with the paper's train/test counts beside them;
    cells where the data and the paper disagree are marked with '≠'."""
    cols = {}
    for name, s in stats.items():
        paper = None if s.get("synthetic") else PAPER_TABLE_II.get(s.get("name", ""))
        for split, counts in s["splits"].items():
            vals = [counts.get(c, 0) for c in CLASSES]
            cols[(name, split)] = vals + [sum(vals)]
        if paper:
            for k, split in ((0, "train"), (1, "test")):
                pv = [p[k] for p in paper] + [sum(p[k] for p in paper)]
                ours = cols.get((name, split))
                cols[(name, f"paper {split}")] = [
                    f"{v}" if ours is None or ours[i] == v else f"{v} ≠" for i, v in enumerate(pv)]
    return pd.DataFrame(cols, index=list(CLASSES) + ["Total"])


def fer2013_permutation(stats: dict | None = None) -> pd.DataFrame:
    """The paper's FER2013 test column beside the commonly cited PrivateTest counts (and the data's)."""
    paper = [b for _, b in PAPER_TABLE_II["fer2013"]]
    df = pd.DataFrame({"paper's Table II (test)": paper,
                       "PrivateTest, as commonly cited": list(FER2013_PRIVATETEST_CITED)}, index=list(CLASSES))
    if stats and "test" in stats.get("splits", {}):
        df["PrivateTest, computed from data/fer2013"] = [stats["splits"]["test"].get(c, 0) for c in CLASSES]
    df["paper = cited?"] = ["yes" if a == b else "no" for a, b in zip(paper, FER2013_PRIVATETEST_CITED)]
    return df


def is_permutation(a: Iterable[int], b: Iterable[int]) -> bool:
    return sorted(a) == sorted(b)


def dataset_summary(name: str, root: str | Path) -> dict:
    """`resemote.stats.dataset_stats` when it exists, else class counts per split from the loaders."""
    try:
        from .stats import dataset_stats
        s = dict(dataset_stats(name, str(root)))
    except ImportError:
        from .data import dataset_class
        cls = dataset_class(name)
        splits = {sp: cls(root, sp).class_counts() for sp in cls.splits}
        s = {"dataset": name, "classes": list(CLASSES), "channels": cls.channels,
             "image_size": list(cls.image_size), "total": sum(sum(v.values()) for v in splits.values()),
             "splits": splits, "skipped": []}
    s["name"] = name
    marker = Path(root) / "SYNTHETIC.json"
    s["synthetic"] = json.loads(marker.read_text()) if marker.is_file() else None
    return s


def leakage_summary(name: str, root: str | Path) -> dict | None:
    """`resemote.data.audit.audit_dataset` output, or None while the audit module has not landed."""
    try:
        from .data.audit import audit_dataset
    except ImportError:
        return None
    try:
        return audit_dataset(name, str(root), progress=False)
    except TypeError:  # an audit without the progress switch
        return audit_dataset(name, str(root))


def audit_table(audits: dict) -> pd.DataFrame:
    """One row per dataset: duplicate pairs found within and across splits (audit summaries)."""
    rows = {}
    for name, a in audits.items():
        rows[name] = ({k: v for k, v in a.get("summary", {}).items()} if a else
                      {"status": "audit module not available"})
    return pd.DataFrame(rows).T.fillna(0) if rows else pd.DataFrame()


# --- the model --------------------------------------------------------------------------------------------
def layer_table(config: str = "C1", image_size: int = 64) -> pd.DataFrame:
    """Stage by stage: output shape, parameters and forward FLOPs (2 x multiply-accumulates of the conv
    and linear layers) for one image, measured with forward hooks on the real model."""
    import torch
    from torch import nn
    from .model import ResEmoteNet

    model = ResEmoteNet(config).eval()
    stages: list[tuple[str, list[nn.Module], str]] = []  # (name, modules, how the output is taken)
    for i, _ in model.stem:
        stages.append((f"conv{i} + BN + ReLU + max-pool", [getattr(model, f"conv{i}"), getattr(model, f"bn{i}")],
                       "pool"))
    if model.se is not None:
        stages.append(("SE block (r = 16)", [model.se], "out"))
    for name in model.blocks:
        stages.append((f"{name} (residual, stride 2)", [getattr(model, name)], "out"))
    stages.append(("adaptive avg. pool + flatten", [model.pool], "flat"))
    for k in (1, 2, 3, 4):
        stages.append((f"fc{k}", [getattr(model, f"fc{k}")], "out"))

    macs: dict[int, int] = {}
    shapes: dict[int, tuple] = {}

    def count(mod: nn.Module, _inp, out) -> None:
        if isinstance(mod, nn.Conv2d):
            macs[id(mod)] = out.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            macs[id(mod)] = out.numel() * mod.in_features

    def shape(mod: nn.Module, _inp, out) -> None:
        shapes[id(mod)] = tuple(out.shape[1:])

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    hooks += [mods[-1].register_forward_hook(shape) for _, mods, _ in stages]
    with torch.no_grad():
        model(torch.zeros(1, 3, image_size, image_size))
    for h in hooks:
        h.remove()

    rows = []
    for name, mods, how in stages:
        shp = shapes[id(mods[-1])]
        if how == "pool":      # the model max-pools (2 x 2, floor) after BN + ReLU
            shp = (shp[0], shp[1] // 2, shp[2] // 2)
        elif how == "flat":
            shp = (int(np.prod(shp)),)
        params = sum(p.numel() for m in mods for p in m.parameters())
        flops = 2 * sum(macs.get(id(sm), 0) for m in mods for sm in m.modules())
        rows.append({"stage": name, "output shape": " x ".join(map(str, shp)), "parameters": params,
                     "MFLOPs": round(flops / 1e6, 2)})
    df = pd.DataFrame(rows)
    total = {"stage": "total", "output shape": "", "parameters": int(df["parameters"].sum()),
             "MFLOPs": round(float(df["MFLOPs"].sum()), 2)}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


def config_table(image_size: int = 64) -> pd.DataFrame:
    """C1-C6 as this companion reads Table IV: kept components, parameters and GFLOPs per image."""
    from .model import CONFIGS
    rows = []
    for name, c in CONFIGS.items():
        lt = layer_table(name, image_size)
        rows.append({"config": name, "conv widths": ", ".join(map(str, c.convs)), "SE": "256" if c.se else "-",
                     "residual blocks (input width)": ", ".join(map(str, c.blocks)),
                     "removed (paper)": c.removed, "parameters": int(lt["parameters"].iloc[-1]),
                     "GFLOPs": round(float(lt["MFLOPs"].iloc[-1]) / 1e3, 3)})
    return pd.DataFrame(rows)


# --- the experimental set-up ---------------------------------------------------------------------------
def setup_table(protocol: str = "paper") -> pd.DataFrame:
    """The paper's stated recipe, the released script's, and this companion's `protocol`, side by side;
    rows where they differ are marked."""
    from .protocols import PAPER_SETUP, PROTOCOLS, RELEASED_SCRIPT_SETUP
    p = PROTOCOLS[protocol]
    ours = {
        "optimizer": "SGD", "lr": p.lr, "momentum": p.momentum, "weight_decay": p.weight_decay,
        "batch_size": p.batch_size, "epochs": p.epochs,
        "loss": "cross-entropy, class-weighted" if p.class_weights else "cross-entropy (unweighted)",
        "lr_schedule": (f"x{p.plateau_factor} on plateau ({p.plateau_patience} epochs, val. accuracy)"
                        if p.plateau_factor else "none"),
        "early_stop": f"{p.early_stop} epochs without val gain" if p.early_stop else None,
        "augmentation": "random horizontal flip (training only)" if p.flip else "none",
        "input": "64x64 grayscale x3, ImageNet mean/std",
        "model_selection": "best validation accuracy",
        "evaluation": "test split once, after training, no test-time flips",
    }
    rows = []
    for key in PAPER_SETUP:
        vals = [PAPER_SETUP[key], RELEASED_SCRIPT_SETUP.get(key), ours.get(key)]
        shown = ["not stated" if v is None and i == 0 else ("-" if v is None else str(v)) for i, v in enumerate(vals)]
        stated = {str(v) for v in vals if v is not None}
        rows.append({"setting": key.replace("_", " "), "paper": shown[0], "released script": shown[1],
                     f"this companion ({protocol})": shown[2], "differs": "◆" if len(stated) > 1 else ""})
    return pd.DataFrame(rows)


# --- results ----------------------------------------------------------------------------------------------
def paper_table3() -> pd.DataFrame:
    rows = {m: ["-" if v is None else f"{v:.2f}" for v in accs] for m, (_, accs) in PAPER_TABLE_III.items()}
    return pd.DataFrame(rows, index=[TITLES[d] for d in DATASETS]).T


def results_table(entries: list[Entry], experiment: str = "table3", config: str = "C1",
                  missing: str = "command below") -> pd.DataFrame:
    """Test accuracy (%) per dataset: the paper's claim, this companion on the real data (mean ± sd over
    seeds, or 'not run' and the command), and - on its own row - the synthetic stand-in."""
    paper = PAPER_TABLE_III["ResEmoteNet (paper's claim)"][1]
    rows: dict[str, dict[str, str]] = {"ResEmoteNet, paper's claim (Roy et al. 2024)":
                                       {TITLES[d]: f"{a:.2f}" for d, a in zip(DATASETS, paper)}}
    real, synth = {}, {}
    for d in DATASETS:
        r = select(entries, experiment=experiment, dataset=d, config=config, synthetic=False)
        real[TITLES[d]] = (mean_sd([e.metrics["test_accuracy"] for e in r], 100) + " — " + cite_runs(r)
                           if r else f"{NOT_RUN} ({missing})")
        s = select(entries, experiment=experiment, dataset=d, config=config, synthetic=True)
        synth[TITLES[d]] = (mean_sd([e.metrics["test_accuracy"] for e in s], 100) + " — " + cite_runs(s)
                            if s else "-")
    rows["ResEmoteNet, this companion (real data)"] = real
    rows[f"ResEmoteNet, stand-in ({SYNTHETIC_TAG})"] = synth
    return pd.DataFrame(rows).T


def others_table(dataset: str | None = None) -> pd.DataFrame:
    rows = [o for o in OTHERS if dataset is None or o[0] == dataset]
    return pd.DataFrame([{"dataset": TITLES[d], "method / setting": w, "accuracy": r, "source": s}
                         for d, w, r, s in rows])


def ablation_table(entries: list[Entry], dataset: str = "rafdb") -> pd.DataFrame:
    """Table IV: the paper's accuracy and 'loss' per configuration beside ours (accuracy %, test
    cross-entropy), each reproduced cell naming its runs and budget."""
    from .model import CONFIGS
    rows = []
    for c, (acc, loss) in PAPER_TABLE_IV.items():
        row = {"config": c, "removed": CONFIGS[c].removed, "paper acc. (%)": f"{acc:.2f}",
               "paper loss (%)": f"{loss:.2f}"}
        for synthetic, label in ((False, TITLES[dataset]), (True, SYNTHETIC_TAG)):
            r = select(entries, experiment="table4", dataset=dataset, config=c, synthetic=synthetic)
            if r:
                row[f"ours acc. (%), {label}"] = mean_sd([e.metrics["test_accuracy"] for e in r], 100)
                row[f"ours test CE, {label}"] = mean_sd([e.metrics["test_loss"] for e in r], 1, 3)
                # the caption names the runs and commits; the cell says only what budget they had, briefly
                p, syn = r[0].run.params if r[0].run else r[0].info.get("params", {}), r[0].info.get("synthetic")
                row[f"budget, {label}"] = f"{p.get('epochs')} ep." + (f", {syn['n_train']} img." if syn else "")
            else:
                row[f"ours acc. (%), {label}"] = NOT_RUN if synthetic else f"{NOT_RUN} (command below)"
        rows.append(row)
    return pd.DataFrame(rows).fillna("-")


def per_class_table(run: Run) -> pd.DataFrame:
    pc = run.metrics["per_class"]
    return pd.DataFrame([{"class": c, "precision": round(pc[c]["precision"], 3), "recall": round(pc[c]["recall"], 3),
                          "f1": round(pc[c]["f1"], 3), "support": int(pc[c]["support"])} for c in run.metrics["classes"]])


def metrics_table(run: Run) -> pd.DataFrame:
    """The headline numbers a run wrote, as read from its metrics.json."""
    m = run.metrics
    lo, hi = m["test_accuracy_ci95"]
    rows = [("data", f"{TITLES['synthetic']} ({SYNTHETIC_TAG})" if run.synthetic else TITLES.get(m["dataset"], m["dataset"])),
            ("config / protocol / seed", f"{m['config']} / {m['protocol']} / {m['seed']}"),
            ("epochs run / best (val.) epoch", f"{m['epochs']} / {m['best_epoch']}"),
            ("test accuracy (%)", f"{m['test_accuracy'] * 100:.2f} (95% CI {lo * 100:.2f}-{hi * 100:.2f})"),
            ("balanced accuracy (%)", f"{m['balanced_accuracy'] * 100:.2f}"),
            ("macro F1", f"{m['macro_f1']:.3f}"), ("test cross-entropy", f"{m['test_loss']:.4f}"),
            ("training time (s)", f"{m['train_seconds']:.1f}"),
            ("inference (ms / image)", f"{m['inference_ms_per_image']:.2f}"),
            ("device", m["device"]), ("torch", m["torch_version"]), ("commit", str(m["git_commit"])),
            ("data fingerprint", m["data_fingerprint"]), ("finished at", m["finished_at"])]
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


# --- compute ----------------------------------------------------------------------------------------------
def compute_table(entries: list[Entry]) -> pd.DataFrame:
    """Training time and inference latency: the paper's per dataset, and every finished run's."""
    rows = [{"source": "paper's claim (M2 Pro / P100)", "data": TITLES[d], "config": "C1",
             "training": f"{h:g} h", "inference (ms / image)": f"{ms:g}", "device": "MacBook M2 Pro / Kaggle P100",
             "budget": "80 epochs, batch 16"}
            for d, (h, ms) in PAPER_COMPUTE.items()]
    for e in entries:
        if not e.finished:
            continue
        m = e.metrics
        rows.append({"source": f"run {e.id} (commit {short_commit(m)})",
                     "data": f"{TITLES['synthetic']} ({SYNTHETIC_TAG})" if e.synthetic else TITLES.get(m["dataset"]),
                     "config": m["config"], "training": f"{m['train_seconds'] / 60:.1f} min",
                     "inference (ms / image)": f"{m['inference_ms_per_image']:.2f}", "device": m["device"],
                     "budget": budget(e)})
    return pd.DataFrame(rows)


def load_benchmarks(folder: str | Path | None = None) -> list[tuple[str, dict]]:
    folder = Path(folder) if folder else repo_root() / "benchmarks"
    out = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append((p.name, json.loads(p.read_text())))
        except (OSError, ValueError):
            continue
    return out


def benchmarks_table(benchmarks: list[tuple[str, dict]]) -> pd.DataFrame:
    """One row per recorded benchmark file (benchmarks/*.json), as `resemote bench --json` wrote it."""
    def get(d: dict, *keys):
        for k in keys:
            d = d.get(k, {}) if isinstance(d, dict) else {}
        return d if d != {} else None

    rows = []
    for name, b in benchmarks:
        inf = b.get("inference") or {}
        rows.append({"file": f"benchmarks/{name}", "device": b.get("device"), "torch": b.get("torch_version"),
                     "train images/s (fast)": get(b, "fast", "images_per_s"),
                     "train images/s (baseline)": get(b, "baseline", "images_per_s"),
                     "speed-up": b.get("speedup"),
                     "inference": ", ".join(f"{k} {v:.3g}" if isinstance(v, (int, float)) else f"{k} {v}"
                                            for k, v in inf.items() if not isinstance(v, (dict, list)))})
    return pd.DataFrame(rows)


# --- the papermill command for a missing run ----------------------------------------------------------
def papermill_commands(dataset: str, config: str = "C1") -> list[str]:
    """The papermill commands (one per planned seed) that produce the paper-profile runs of `dataset`/`config`."""
    try:
        from .plan import paper_commands
        cmds = paper_commands(dataset, config)
    except Exception:  # runs.yml missing or unreadable
        cmds = []
    return cmds or [f"papermill notebooks/train.ipynb runs/{dataset}-{config}.ipynb -p dataset {dataset} "
                    f"-p root data/{dataset} -p config {config} -p protocol paper -p epochs 80 -p batch_size 16 "
                    f"-p out runs/{dataset}-{config}"]


def missing_table(entries: list[Entry], experiment: str, datasets: Iterable[str], configs: Iterable[str]) -> pd.DataFrame:
    """The real-data runs an experiment still lacks, each with the papermill command that makes it
    (or: put the dataset under data/ and run `make book`)."""
    rows = []
    for d in datasets:
        for c in configs:
            if not select(entries, experiment=experiment, dataset=d, config=c, synthetic=False):
                rows += [{"dataset": TITLES[d], "config": c, "status": NOT_RUN, "command": cmd}
                         for cmd in papermill_commands(d, c)]
    return pd.DataFrame(rows)


# --- display helpers --------------------------------------------------------------------------------------
def table(df: pd.DataFrame, caption: str, index: bool = False):
    """A captioned HTML table (pandas Styler with a stable id, so rebuilds give identical HTML)."""
    uid = hashlib.sha1(caption.encode()).hexdigest()[:8]
    st = df.style.set_caption(caption).set_uuid(uid).format(precision=2, thousands=",")
    if not index:
        st = st.hide(axis="index")
    return st


def caption(text: str, entries: Iterable[Entry] | None = None) -> str:
    """Caption text that names the runs behind a table or figure and their commits."""
    entries = list(entries or [])
    return f"{text} Source: {cite_runs(entries)}." if entries else text


# --- figures ------------------------------------------------------------------------------------------------
def plot_history(run: Run, ax=None):
    """Training and validation loss and accuracy per epoch (from history.csv)."""
    import matplotlib.pyplot as plt
    h = pd.DataFrame(run.history)
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    else:
        fig = ax[0].figure
    if not h.empty:
        ax[0].plot(h["epoch"], h["train_loss"], "o-", label="train")
        ax[0].plot(h["epoch"], h["val_loss"], "s-", label="validation")
        ax[1].plot(h["epoch"], h["train_acc"] * 100, "o-", label="train")
        ax[1].plot(h["epoch"], h["val_acc"] * 100, "s-", label="validation")
    ax[0].set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax[1].set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for a in ax:
        a.legend()
        a.grid(alpha=0.3)
    tag = f" [{SYNTHETIC_TAG}]" if run.synthetic else ""
    fig.suptitle(f"{run.path.name}{tag}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion(run: Run, ax=None, normalize: bool = True, title: str | None = None):
    """The test confusion matrix (rows true, columns predicted), row-normalised like the paper's Fig. 4."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    cm = np.asarray(run.metrics["confusion_matrix"], dtype=float)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4))
    classes = run.metrics["classes"]
    sns.heatmap(cm, annot=True, fmt=".2f" if normalize else ".0f", cmap="Blues", cbar=False, ax=ax,
                xticklabels=classes, yticklabels=classes, vmin=0, vmax=1 if normalize else None,
                annot_kws={"size": 7})
    ax.set(xlabel="predicted", ylabel="true")
    tag = f"\n[{SYNTHETIC_TAG}]" if run.synthetic else ""
    ax.set_title(title or f"{run.path.name}{tag}", fontsize=8)
    return ax.figure


def confusion_grid(entries: list[Entry]):
    """One confusion matrix per finished run, side by side (the book's Fig. 4 counterpart)."""
    import matplotlib.pyplot as plt
    done = [e for e in entries if e.finished]
    if not done:
        return None
    fig, axes = plt.subplots(1, len(done), figsize=(4.6 * len(done), 4.2), squeeze=False)
    for e, ax in zip(done, axes[0]):
        stands = ", ".join(TITLES[d] for d in e.info.get("stands_in_for", []))
        tag = f"\n[{SYNTHETIC_TAG}; stand-in for {stands}]" if e.synthetic else ""
        plot_confusion(e.run, ax, title=f"{e.id}{tag}")
    fig.tight_layout()
    return fig


def sample_grid(name: str, root: str | Path, per_class: int = 4, seed: int = 0, split: str = "train"):
    """A grid of faces per class (columns), like the paper's Fig. 3, drawn from the data on disk."""
    import matplotlib.pyplot as plt
    from .data import get_dataset
    ds = get_dataset(name, root, split)
    rng = np.random.default_rng(seed)
    labels = ds.labels
    fig, axes = plt.subplots(per_class, len(CLASSES), figsize=(1.3 * len(CLASSES), 1.3 * per_class + 0.4),
                             squeeze=False)
    for c, cls in enumerate(CLASSES):
        idx = np.flatnonzero(labels == c)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for r in range(per_class):
            ax = axes[r][c]
            ax.axis("off")
            if r < len(pick):
                img, _ = ds[int(pick[r])]
                ax.imshow(np.asarray(img.convert("L")), cmap="gray", vmin=0, vmax=255)
            if r == 0:
                ax.set_title(cls, fontsize=8)
    synth = (Path(root) / "SYNTHETIC.json").is_file()
    fig.suptitle(f"{TITLES.get(name, name)} {split} ({root})" + (f" [{SYNTHETIC_TAG}]" if synth else ""), fontsize=8)
    fig.tight_layout()
    return fig


def finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def dataset_roots(data_dir: str | Path, synthetic_roots: str = "") -> dict[str, tuple[str, Path]]:
    """{label: (loader name, root)} for every dataset present under `data_dir`, then the synthetic sets
    (comma-separated roots; their labels carry the synthetic tag)."""
    from .plan import dataset_present
    data_dir = Path(data_dir)
    out: dict[str, tuple[str, Path]] = {TITLES[d]: (d, data_dir / d) for d in DATASETS
                                        if dataset_present(data_dir, d)}
    for r in [s for s in synthetic_roots.split(",") if s]:
        out[f"Synthetic {Path(r).name} ({SYNTHETIC_TAG})"] = ("fer2013", Path(r))
    return out


def write_dataset_summaries(path: str | Path, stats: dict, audits: dict) -> None:
    """What the datasets notebook computed, for the book's chapters to read (no recomputation there)."""
    from .io import write_json
    write_json(path, {"stats": stats, "audits": audits})


def load_dataset_summaries(runs: str | Path | None = None) -> dict:
    f = Path(runs or runs_dir()) / "_pages" / "datasets.json"
    return json.loads(f.read_text()) if f.is_file() else {"stats": {}, "audits": {}}
