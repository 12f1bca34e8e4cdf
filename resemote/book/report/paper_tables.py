"""The paper's tables as published, others' numbers, the training set-ups side by side, and the network's
layer table: facts from `resemote.paper` and from the model code, no run results."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from resemote import paper
from resemote.book.report.entries import CLASSES, DATASETS, TITLES


def paper_table1() -> pd.DataFrame:
    return pd.DataFrame({TITLES[d]: {"channels": c, "image size": s, "total samples": f"{n:,}", "classes": k}
                         for d, (c, s, n, k) in paper.TABLE_I.items()})


def paper_table2() -> pd.DataFrame:
    cols = {}
    for d, counts in paper.TABLE_II.items():
        cols[(TITLES[d], "train")] = [a for a, _ in counts] + [sum(a for a, _ in counts)]
        cols[(TITLES[d], "test")] = [b for _, b in counts] + [sum(b for _, b in counts)]
    return pd.DataFrame(cols, index=list(CLASSES) + ["Total"])


def paper_table3() -> pd.DataFrame:
    rows = {m: ["-" if v is None else f"{v:.2f}" for v in accs] for m, (_, accs) in paper.TABLE_III.items()}
    return pd.DataFrame(rows, index=[TITLES[d] for d in DATASETS]).T


def fer2013_permutation(summary: dict | None = None, label: str = "") -> pd.DataFrame:
    """The paper's FER2013 test column beside the commonly cited PrivateTest counts (and a copy's own)."""
    published = [b for _, b in paper.TABLE_II["fer2013"]]
    df = pd.DataFrame({"paper's Table II (test)": published,
                       "PrivateTest, as commonly cited": list(paper.FER2013_PRIVATETEST_CITED)}, index=list(CLASSES))
    if summary and "test" in summary["stats"]["splits"]:
        df[f"PrivateTest, computed: {label or summary['release']}"] = [
            summary["stats"]["splits"]["test"].get(c, 0) for c in CLASSES]
    df["paper = cited?"] = ["yes" if a == b else "no" for a, b in zip(published, paper.FER2013_PRIVATETEST_CITED)]
    return df


def is_permutation(a: Iterable[int], b: Iterable[int]) -> bool:
    return sorted(a) == sorted(b)


def others_table(dataset: str | None = None, resemotenet: bool | None = None) -> pd.DataFrame:
    """Others' measurements (cited), optionally of one dataset or only the re-runs of ResEmoteNet."""
    rows = [o for o in paper.OTHERS if (dataset is None or o[0] == dataset)
            and (resemotenet is None or o[1].startswith("ResEmoteNet") == resemotenet)]
    return pd.DataFrame([{"dataset": TITLES[d], "method / setting": w, "accuracy": r, "source": s}
                         for d, w, r, s, _ in rows])


def setup_table(protocol: str = "paper") -> pd.DataFrame:
    """The paper's stated recipe, the released script's, and this companion's `protocol`, side by side;
    rows where they differ are marked."""
    from resemote.training.protocols import PROTOCOLS
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
    for key in paper.SETUP_PAPER:
        vals = [paper.SETUP_PAPER[key], paper.SETUP_RELEASED_SCRIPT.get(key), ours.get(key)]
        shown = ["not stated" if v is None and i == 0 else ("-" if v is None else str(v)) for i, v in enumerate(vals)]
        stated = {str(v) for v in vals if v is not None}
        rows.append({"setting": key.replace("_", " "), "paper": shown[0], "released script": shown[1],
                     f"this companion ({protocol})": shown[2], "differs": "◆" if len(stated) > 1 else ""})
    return pd.DataFrame(rows)


# --- the network ------------------------------------------------------------------------------------------
def layer_table(config: str = "C1", image_size: int = 64) -> pd.DataFrame:
    """ResEmoteNet stage by stage: output shape, parameters and forward FLOPs of one image, measured with
    forward hooks on the real model (`resemote.models.count_flops` per stage)."""
    from resemote.models.resemotenet import ResEmoteNet
    from resemote.models import conv_linear_macs

    model = ResEmoteNet(config).eval()
    stages: list[tuple[str, list, str]] = []  # (name, modules, how the output is taken)
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

    shapes: dict[int, tuple] = {}
    hooks = [mods[-1].register_forward_hook(lambda m, _i, o: shapes.__setitem__(id(m), tuple(o.shape[1:])))
             for _, mods, _ in stages]
    macs = conv_linear_macs(model, image_size)  # the forward pass that also fills `shapes`
    for h in hooks:
        h.remove()
    name_of = {id(m): n for n, m in model.named_modules()}
    rows = []
    for name, mods, how in stages:
        shp = shapes[id(mods[-1])]
        if how == "pool":      # the model max-pools (2 x 2, floor) after BN + ReLU
            shp = (shp[0], shp[1] // 2, shp[2] // 2)
        elif how == "flat":
            shp = (int(np.prod(shp)),)
        rows.append({"stage": name, "output shape": " x ".join(map(str, shp)),
                     "parameters": sum(p.numel() for m in mods for p in m.parameters()),
                     "MFLOPs": round(2 * sum(macs.get(name_of[id(sm)], 0) for m in mods for sm in m.modules())
                                     / 1e6, 2)})
    df = pd.DataFrame(rows)
    total = {"stage": "total", "output shape": "", "parameters": int(df["parameters"].sum()),
             "MFLOPs": round(float(df["MFLOPs"].sum()), 2)}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


def config_table(image_size: int = 64) -> pd.DataFrame:
    """C1-C6 as this companion reads Table IV: kept components, parameters and GFLOPs per image."""
    from resemote.models.resemotenet import CONFIGS
    rows = []
    for name, c in CONFIGS.items():
        lt = layer_table(name, image_size)
        rows.append({"config": name, "conv widths": ", ".join(map(str, c.convs)), "SE": "256" if c.se else "-",
                     "residual blocks (input width)": ", ".join(map(str, c.blocks)),
                     "removed (paper)": paper.TABLE_IV[name][2], "parameters": int(lt["parameters"].iloc[-1]),
                     "GFLOPs": round(float(lt["MFLOPs"].iloc[-1]) / 1e3, 3)})
    return pd.DataFrame(rows)


def models_table(names: Iterable[str] | None = None, image_size: int = 64) -> pd.DataFrame:
    """Every network of the registry (or `names`): family, description, parameters, GFLOPs per image."""
    from resemote.models import MODELS, count_flops, count_parameters, create_model
    rows = []
    for n in names or MODELS:
        m = create_model(n)
        rows.append({"model": n, "title": MODELS[n].title, "family": MODELS[n].family,
                     "description": MODELS[n].description, "parameters": count_parameters(m),
                     "GFLOPs": round(count_flops(m, image_size) / 1e9, 3)})
    return pd.DataFrame(rows)
