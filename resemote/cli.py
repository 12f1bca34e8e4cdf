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
