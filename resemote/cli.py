"""The `resemote` command: argument parsing only; the work is done by the package's modules."""
from __future__ import annotations

import argparse
import sys

from .errors import ResEmoteError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="resemote", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    # (filled in below)
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except ResEmoteError as e:
        if args.debug:
            raise
        print(f"resemote: error: {e}", file=sys.stderr)
        return 2
