"""Publishing the built book: the build stamp, and `make publish` (ghp-import to the gh-pages branch).

The book job (`resemote.book.engine_jobs.job_book`) takes the stamp of the checkout before it builds (the commit, and
whether tracked or untracked-but-not-ignored files differ from it) and writes it as `_build/html/build.json`.
`python -m resemote.book.publish_site` (`make publish`) pushes `_build/html` with ghp-import only when that stamp names a
clean checkout of the commit checked out now: a book built from uncommitted changes, or from another commit,
is refused with one line, since nobody could rebuild it from the repository.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from resemote.book import ROOT
from resemote.errors import ResEmoteError
from resemote.io import write_json

STAMP = "build.json"


def _git(root: Path, *args: str) -> str | None:
    try:
        p = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout if p.returncode == 0 else None


def build_stamp(root: str | Path = ROOT) -> dict:
    """{commit, dirty, changed, date}: `commit` None outside a git checkout; `changed` the first few paths that
    make it dirty (`git status --porcelain`: modified, staged, untracked and not ignored)."""
    root = Path(root)
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain") if commit else None
    changed = [line[3:] for line in (status or "").splitlines() if line.strip()]
    return {"commit": commit.strip() if commit else None, "dirty": bool(changed), "changed": changed[:10],
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write_stamp(html: str | Path, stamp: dict) -> Path:
    path = Path(html) / STAMP
    write_json(path, stamp)
    return path


def check_publishable(html: str | Path, root: str | Path = ROOT) -> dict:
    """The stamp of the book in `html` when it may be published from the checkout at `root`, else one
    ResEmoteError line saying why."""
    html, root = Path(html), Path(root)
    if not (html / "index.html").is_file():
        raise ResEmoteError(f"{html}: no built book (expected {html}/index.html): run `make book` first")
    if not (html / STAMP).is_file():
        raise ResEmoteError(f"{html}/{STAMP}: no build stamp (a book built before stamps existed): run `make book`")
    try:
        stamp = json.loads((html / STAMP).read_text())
    except (OSError, ValueError) as e:
        raise ResEmoteError(f"{html}/{STAMP}: unreadable build stamp ({e})") from None
    if not stamp.get("commit"):
        raise ResEmoteError(f"{html}: built outside a git checkout; publish a book built from a commit")
    if stamp.get("dirty"):
        shown = ", ".join(stamp.get("changed") or [])
        raise ResEmoteError(f"{html}: built from a dirty checkout of {stamp['commit'][:12]} ({shown}); "
                            f"commit or stash the changes, then `make book` and `make publish` again")
    head = build_stamp(root)["commit"]
    if head != stamp["commit"]:
        raise ResEmoteError(f"{html}: built from {stamp['commit'][:12]}, but {head[:12] if head else 'no commit'} "
                            f"is checked out now; run `make book` again before publishing")
    return stamp


def publish(html: str | Path = "_build/html", root: str | Path = ROOT, remote: str = "origin",
            branch: str = "gh-pages", push: bool = True) -> dict:
    """Commit `html` to `branch` with ghp-import (a .nojekyll file added, so Sphinx's _static is served) and
    push it to `remote`; refuses what `check_publishable` refuses."""
    stamp = check_publishable(html, root)
    exe = shutil.which("ghp-import") or str(Path(sys.executable).with_name("ghp-import"))
    if not Path(exe).is_file():
        raise ResEmoteError("ghp-import is not installed: pip install ghp-import (the dev extras have it)")
    cmd = [exe, "--no-jekyll", "--force", "--remote", remote, "--branch", branch,
           "--message", f"book built from {stamp['commit']}", *(["--push"] if push else []), str(html)]
    p = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if p.returncode != 0:
        last = (p.stderr.strip() or p.stdout.strip() or f"exit {p.returncode}").splitlines()[-1]
        raise ResEmoteError(f"ghp-import failed: {last}")
    return stamp


def main(argv: list[str] | None = None) -> int:
    a = argparse.ArgumentParser(prog="python -m resemote.book.publish_site", description=__doc__.splitlines()[0])
    a.add_argument("html", nargs="?", default="_build/html")
    a.add_argument("--remote", default="origin")
    a.add_argument("--branch", default="gh-pages")
    a.add_argument("--no-push", action="store_true", help="commit to the branch, do not push")
    args = a.parse_args(argv)
    try:
        stamp = publish(args.html, Path.cwd(), args.remote, args.branch, push=not args.no_push)
    except ResEmoteError as e:
        print(f"resemote: error: {e}", file=sys.stderr)
        return 2
    where = f"{args.remote}/{args.branch}" if not args.no_push else f"the local branch {args.branch}"
    print(f"published {args.html} (built from {stamp['commit'][:12]}) to {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
