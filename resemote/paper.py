"""Every published number and fact this companion shows, each with its citation key (book/references.bib).

The one place where numbers are typed in: the paper's claims (Roy et al. 2024, arXiv 2409.10545 v2),
facts about the authors' released code, and others' measurements. Everything else the book shows is read
from run results. Class-indexed lists follow the canonical order `resemote.data.classes.CLASSES`
(Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise); dataset-indexed ones `DATASETS`.
"""
from __future__ import annotations

PAPER = "roy2024resemotenet"        # the paper
CODE = "roy2024code"                # the authors' released repository
DATASETS = ("fer2013", "rafdb", "affectnet", "expw")

# Table I: channels, image size, total samples, classes
TABLE_I: dict[str, tuple[int, str, int, int]] = {
    "fer2013": (1, "48 x 48", 35887, 7), "rafdb": (3, "100 x 100", 15339, 7),
    "affectnet": (3, "224 x 224", 287401, 7), "expw": (3, "224 x 224", 91793, 7),
}

# Table II: (train, test) images per class
TABLE_II: dict[str, list[tuple[int, int]]] = {
    "fer2013": [(3995, 491), (436, 416), (4097, 626), (7215, 594), (4965, 528), (4830, 879), (3171, 55)],
    "rafdb": [(705, 162), (717, 160), (281, 74), (4772, 1185), (2524, 680), (1982, 478), (1290, 329)],
    "affectnet": [(24882, 500), (3803, 500), (6378, 500), (134415, 500), (74874, 500), (25459, 500),
                  (14090, 500)],
    "expw": [(2569, 364), (2796, 396), (761, 108), (21375, 3024), (24418, 3454), (7391, 1046), (4943, 699)],
}
# FER2013 PrivateTest class counts as commonly cited; the paper's test column permutes them
FER2013_PRIVATETEST_CITED = (491, 55, 528, 879, 626, 594, 416)

# Table III: method -> (citation key, accuracy % per dataset in DATASETS order; None = not reported)
TABLE_III: dict[str, tuple[str, tuple[float | None, ...]]] = {
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
    "ResEmoteNet (paper's claim)": (PAPER, (79.79, 94.76, 72.93, 75.67)),
}
RESEMOTENET_ACCURACY: dict[str, float] = dict(zip(DATASETS, TABLE_III["ResEmoteNet (paper's claim)"][1]))
ABSTRACT_AFFECTNET_ACCURACY = 72.39  # the abstract's figure; Table III and the text say 72.93

# Table IV (RAF-DB): config -> (accuracy %, "loss %", the paper's "Removed Component(s)")
TABLE_IV: dict[str, tuple[float, float, str]] = {
    "C1": (94.76, 3.73, "-"), "C2": (94.18, 16.83, "SE (256)"), "C3": (83.51, 7.19, "CNN (64)"),
    "C4": (88.27, 5.32, "CNN (64, 128)"), "C5": (75.39, 10.2, "RB (256)"), "C6": (82.77, 8.8, "RB (256, 512)"),
}

# Compute (Sec. III-B / IV): training hours and inference ms per image, MacBook M2 Pro / Kaggle P100
COMPUTE: dict[str, tuple[float, float]] = {
    "fer2013": (3.0, 1.4), "rafdb": (2.0, 3.2), "affectnet": (6.0, 3.6), "expw": (4.5, 1.9),
}
COMPUTE_DEVICES = "MacBook Pro M2 Pro / Kaggle Tesla P100"

# The sensitivity analysis the paper states without showing it (Sec. III-B)
SENSITIVITY = {"batch_sizes": (16, 32, 64, 128), "best_batch_size": 16,
               "epochs": (40, 80), "best_epochs": 80}

# The training recipe as the paper states it, and as the released script runs it; None = not stated
SETUP_PAPER: dict[str, object] = {
    "optimizer": "SGD", "lr": 1e-3, "momentum": None, "weight_decay": None, "batch_size": 16, "epochs": 80,
    "loss": "cross-entropy, class-weighted", "lr_schedule": "x0.1 on plateau", "early_stop": None,
    "augmentation": "random horizontal flip", "input": None, "model_selection": None,
    "evaluation": None,
}
SETUP_RELEASED_SCRIPT: dict[str, object] = {
    "optimizer": "SGD", "lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4, "batch_size": 16, "epochs": 80,
    "loss": "cross-entropy (unweighted)", "lr_schedule": "none", "early_stop": "15 epochs without val gain",
    "augmentation": "random horizontal flip, also on validation and test",
    "input": "64x64 grayscale x3, ImageNet mean/std", "model_selection": "best validation accuracy",
    "evaluation": "test split evaluated every epoch; random flips at test time",
}

# Others' held-out accuracies, and re-runs of ResEmoteNet reported in the released repository's issues:
# (dataset, method / setting, result, source as shown, citation key or None)
OTHERS: list[tuple[str, str, str, str, str | None]] = [
    ("fer2013", "VGG variant, single network", "73.28%", "Khaireddin & Chen 2021", "khaireddin2021vgg"),
    ("fer2013", "Residual Masking Network", "74.14%; 76.82% as a 7-model ensemble", "Pham et al., ICPR 2020",
     "pham2021rmn"),
    ("fer2013", "LHC-Net", "74.42%", "Pecoraro et al., Information 2022", "pecoraro2022lhc"),
    ("rafdb", "POSTER++", "92.21%", "Mao et al. 2023", "mao2023poster"),
    ("rafdb", "DDAMFN++", "92.34%", "Zhang et al., Electronics 2023", "zhang2023ddamfn"),
    ("affectnet", "HSEmotion EfficientNet-B2", "66.3-66.5%", "Savchenko 2022", "savchenko2022hsemotion"),
    ("affectnet", "POSTER++ / S2D", "67.49% / 67.62%", "Mao et al. 2023; Chen et al. 2023", "mao2023poster"),
    ("expw", "-", "no widely used split, so no comparable number", "-", None),
    ("fer2013", "ResEmoteNet retrained, standard split", "about 58-66%",
     "released repository, issues #7 #16 #23 #34 #39 #40 #46", CODE),
    ("rafdb", "ResEmoteNet retrained", "about 78-80%", "released repository, issues #25 #30", CODE),
    ("fer2013", "ResEmoteNet released checkpoint", "65.9-71.6%", "released repository, issues #13 #46", CODE),
    ("rafdb", "ResEmoteNet released checkpoint", "about 36%", "released repository, issue #50", CODE),
    ("fer2013", "ResEmoteNet retrained on the authors' shared (leaky) copy", "about 90-92%",
     "released repository, issues #32 #40 #49", CODE),
]

# The released repository's README (citation CODE; read at its commit fabbe68; its results section was added on
# 2024-05-31, commit 79fce8f, the FERPlus line updated on 2024-06-06, commit 13042a5) claims accuracies on two
# datasets the paper does not report. Its own confusion matrices (test_matrix/CKPlus_Confusion_Matrix.png,
# test_matrix/FERPlus_Confusion_Matrix.png) show which classes were tested: dataset -> (accuracy %, classes).
RELEASED_README_COMMIT = "fabbe68"
RELEASED_README: dict[str, tuple[float, str]] = {
    "ckplus": (100.0, "7 classes in the repository's CK+ confusion matrix: Happy, Surprise, Sadness, Anger, Disgust, "
                      "Fear and Contempt (no Neutral; contempt kept as a class, so a model with a contempt output, "
                      "trained on CK+); split and image selection not published"),
    "ferplus": (91.64, "8 classes in the repository's FERPlus confusion matrix: the seven and Contempt (the "
                       "standard 8-class FER+ protocol); label mode and split not stated"),
}

