"""`make publish` (resemote/book/publish_site.py): the build stamp, and ghp-import into a throwaway repository's gh-pages
branch, refused for a book built from a dirty checkout or another commit."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from resemote.errors import ResEmoteError
from resemote.book.publish_site import STAMP, build_stamp, check_publishable, main, write_stamp


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A clone of a bare 'origin', one commit, `_build/` ignored as in the project."""
    for var, value in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.org"), ("GIT_COMMITTER_NAME", "t"),
                       ("GIT_COMMITTER_EMAIL", "t@example.org")):
        monkeypatch.setenv(var, value)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    (work / ".gitignore").write_text("_build/\n")
    (work / "README.md").write_text("a book\n")
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "first")
    return work


def build(repo: Path) -> Path:
    """What the book job leaves: _build/html with the stamp taken before building."""
    stamp = build_stamp(repo)
    html = repo / "_build" / "html"
    html.mkdir(parents=True, exist_ok=True)
    (html / "index.html").write_text("<html>the book</html>")
    write_stamp(html, stamp)
    return html


def test_clean_build_is_pushed_to_gh_pages(repo, monkeypatch, capsys):
    html = build(repo)
    monkeypatch.chdir(repo)
    assert main([]) == 0
    head = git(repo, "rev-parse", "HEAD")
    assert f"built from {head[:12]}" in capsys.readouterr().out
    origin = repo.parent / "origin.git"
    files = set(git(origin, "ls-tree", "--name-only", "gh-pages").split())
    assert files == {"index.html", ".nojekyll", STAMP}
    assert git(origin, "log", "-1", "--format=%s", "gh-pages") == f"book built from {head}"


def test_dirty_or_stale_or_unstamped_book_is_refused(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    (repo / "README.md").write_text("an edit not committed\n")
    html = build(repo)
    assert main([]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dirty checkout" in err and "README.md" in err
    git(repo, "commit", "--quiet", "-am", "second")
    build(repo)                                                         # clean, then the checkout moves on
    (repo / "README.md").write_text("a third version\n")
    git(repo, "commit", "--quiet", "-am", "third")
    with pytest.raises(ResEmoteError, match="is checked out now; run `make book` again"):
        check_publishable(html, repo)
    (repo / "notes.txt").write_text("untracked, not ignored")           # counts as dirty too
    build(repo)
    with pytest.raises(ResEmoteError, match="dirty checkout.*notes.txt"):
        check_publishable(html, repo)
    (html / STAMP).unlink()
    with pytest.raises(ResEmoteError, match="no build stamp"):
        check_publishable(html, repo)
    with pytest.raises(ResEmoteError, match="no built book"):
        check_publishable(repo / "nothing", repo)
    origin = repo.parent / "origin.git"
    assert "gh-pages" not in git(origin, "branch", "--list")             # nothing was ever pushed


def test_stamp_outside_git(tmp_path):
    s = build_stamp(tmp_path)
    assert s["commit"] is None and s["dirty"] is False
