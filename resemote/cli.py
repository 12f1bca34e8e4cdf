"""The `resemote` command: argument parsing only; the work is done by the package's modules.

Every failure the user can fix (a missing file, a malformed row, an unknown name, a bad checkpoint) is a
`ResEmoteError` and ends as one line on stderr with exit status 2; `--debug` shows the traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from .errors import ResEmoteError


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2))


# --- commands (each imports its module lazily so `resemote --help` stays fast) ---------------------------

def cmd_synth(a: argparse.Namespace) -> None:
    from .data.synthetic import write_synthetic
    path = write_synthetic(a.out, a.n_train, a.n_val, a.n_test, a.seed)
    print(f"wrote {path} ({a.n_train} train / {a.n_val} val / {a.n_test} test synthetic faces, seed {a.seed})")


def cmd_stats(a: argparse.Namespace) -> None:
    from .stats import dataset_stats, format_stats
    s = dataset_stats(a.dataset, a.root, strict=a.strict)
    _print_json(s) if a.json else print(format_stats(s))


def cmd_audit(a: argparse.Namespace) -> None:
    from .data.audit import audit_dataset, format_audit
    r = audit_dataset(a.dataset, a.root, strict=a.strict)
    _print_json(r) if a.json else print(format_audit(r))


def cmd_train(a: argparse.Namespace) -> None:
    from .training import train
    m = train(a.dataset, a.root, a.out, config=a.config, protocol=a.protocol, epochs=a.epochs,
              batch_size=a.batch_size, lr=a.lr, seed=a.seed, device=a.device, image_size=a.image_size,
              val_fraction=a.val_fraction, released_test_flips=a.released_test_flips, strict=a.strict)
    lo, hi = m["test_accuracy_ci95"]
    tag = " [synthetic data]" if m.get("synthetic") else ""
    print(f"{m['dataset']} {m['config']} seed {m['seed']}{tag}: test accuracy {m['test_accuracy']:.4f} "
          f"(95% CI {lo:.3f}-{hi:.3f}), best epoch {m['best_epoch']}; results in {a.out}/metrics.json")


def cmd_evaluate(a: argparse.Namespace) -> None:
    from .checkpoint import load_model
    from .data import get_dataset
    from .data.cache import decode
    from .evaluation import device_name, evaluate
    from .pipeline import DeviceImages
    from .training import resolve_device
    dev = resolve_device(a.device)
    model, meta = load_model(a.checkpoint, dev)
    size = meta["input"]["size"][0]
    ds = get_dataset(a.dataset, a.root, a.split, strict=a.strict)
    d = decode(ds, size)
    m = evaluate(model, DeviceImages(d.images, d.labels, dev),
                 flip_seed=a.released_test_flips if a.released_test_flips is not None else None)
    m = {"checkpoint": str(a.checkpoint), "dataset": a.dataset, "split": a.split, "config": meta["config"],
         "n": len(d), "data_fingerprint": d.fingerprint, "device": device_name(dev), "skipped": len(d.skipped),
         "synthetic": ds.synthetic, **m}
    if a.json:
        _print_json(m)
    else:
        lo, hi = m["accuracy_ci95"]
        print(f"{a.dataset}/{a.split} ({m['n']} images): accuracy {m['accuracy']:.4f} (95% CI {lo:.3f}-{hi:.3f}), "
              f"balanced {m['balanced_accuracy']:.4f}, macro F1 {m['macro_f1']:.4f}, loss {m['loss']:.4f}")


def cmd_import_official(a: argparse.Namespace) -> None:
    from .checkpoint import import_official
    path = import_official(a.src, a.out)
    print(f"wrote {path} and {path.with_suffix('.json').name} (fc4 permuted to Angry..Surprise order)")


def cmd_book(a: argparse.Namespace) -> None:
    from .plan import main as plan_main
    plan_main(a.plan, a.runs, a.data, a.out, build=not a.no_build, run=not a.no_run, dry_run=a.dry_run)


def cmd_bench(a: argparse.Namespace) -> None:
    from .bench import bench, format_bench
    r = bench(a.device, a.images, a.epochs, config=a.config, batch_size=a.batch_size, workers=a.workers,
              compile=a.compile, compile_mode=a.compile_mode, inference_batch=a.inference_batch, repeats=a.repeats, seed=a.seed,
              skip_baseline=a.no_baseline, threads=a.threads, progress=not a.json)
    _print_json(r) if a.json else print(format_bench(r))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="resemote", description="ResEmoteNet, reproduced honestly.")
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("synth", help="write a synthetic dataset in FER2013's fer2013.csv layout")
    s.add_argument("--out", required=True)
    s.add_argument("--n-train", type=int, default=700)
    s.add_argument("--n-val", type=int, default=175)
    s.add_argument("--n-test", type=int, default=350)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_synth)

    for name, func, text in (("stats", cmd_stats, "Tables I and II of a dataset, computed from its files"),
                             ("audit", cmd_audit, "exact and near duplicates within and across splits")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--dataset", required=True)
        s.add_argument("--root", required=True)
        s.add_argument("--json", action="store_true")
        s.add_argument("--strict", action="store_true", help="stop at the first damaged image or row")
        s.set_defaults(func=func)

    s = sub.add_parser("train", help="train a configuration on a dataset (resumes an unfinished --out)")
    s.add_argument("--dataset", required=True)
    s.add_argument("--root", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--config", default="C1", help="C1 (ResEmoteNet) or an ablation C2-C6")
    s.add_argument("--protocol", default="paper", help="paper (default) or released")
    s.add_argument("--epochs", type=int, help="default: the protocol's (80)")
    s.add_argument("--batch-size", type=int, help="default: the protocol's (16)")
    s.add_argument("--lr", type=float, help="default: the protocol's (1e-3)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    s.add_argument("--image-size", type=int, default=64)
    s.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of train held out for validation where the dataset has no val split")
    s.add_argument("--released-test-flips", action="store_true",
                   help="flip test images at random as the released code does (off: deterministic)")
    s.add_argument("--strict", action="store_true", help="stop at the first damaged image or row")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="evaluate a checkpoint on one split")
    s.add_argument("--checkpoint", required=True, help="ours (.safetensors + .json) or released (.pt/.pth)")
    s.add_argument("--dataset", required=True)
    s.add_argument("--root", required=True)
    s.add_argument("--split", default="test")
    s.add_argument("--device", default="auto")
    s.add_argument("--json", action="store_true")
    s.add_argument("--strict", action="store_true")
    s.add_argument("--released-test-flips", type=int, metavar="SEED",
                   help="flip test images at random (seeded), as the released code does")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("import-official", help="convert a released ResEmoteNet checkpoint to ours")
    s.add_argument("src")
    s.add_argument("--out", required=True, help="destination (.safetensors; a .json sidecar is written beside)")
    s.set_defaults(func=cmd_import_official)

    s = sub.add_parser("book", help="run the plan (runs.yml) where results are not current, then build the book")
    s.add_argument("--plan", help="run plan (default: runs.yml)")
    s.add_argument("--runs", help="run directories (default: runs/)")
    s.add_argument("--data", help="datasets folder (default: data/)")
    s.add_argument("--out", help="build folder (default: _build/; the HTML lands in _build/html)")
    s.add_argument("--dry-run", action="store_true", help="print the resolved runs and their commands only")
    s.add_argument("--no-run", action="store_true", help="build from the results already there")
    s.add_argument("--no-build", action="store_true", help="execute the runs, do not build")
    s.set_defaults(func=cmd_book)

    s = sub.add_parser("bench", help="time the training and inference paths against a released-code-style pipeline")
    s.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    s.add_argument("--images", type=int, default=256, help="synthetic 48 x 48 faces, written as JPEG files")
    s.add_argument("--epochs", type=int, default=1, help="timed epochs per path (the median is reported)")
    s.add_argument("--config", default="C1")
    s.add_argument("--batch-size", type=int, default=16)
    s.add_argument("--workers", type=int, default=0, help="DataLoader workers of the baseline")
    s.add_argument("--compile", action="store_true", help="torch.compile the fast step (CUDA with Triton only)")
    s.add_argument("--compile-mode", help="torch.compile mode, e.g. reduce-overhead (CUDA graphs)")
    s.add_argument("--inference-batch", type=int, default=256)
    s.add_argument("--repeats", type=int, default=30, help="timed forward passes per inference figure")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-baseline", action="store_true", help="time the fast path only")
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_bench)

    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ResEmoteError as e:
        if args.debug:
            raise
        print(f"resemote: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("resemote: interrupted", file=sys.stderr)
        return 130
