"""A Sphinx extension (named in _config.yml) that points the book's launch buttons at notebooks that exist
in the repository.

Jupyter Book 1 (sphinx-book-theme) gives every notebook page a launch button for the page's own source file.
Run pages are executed copies of `notebooks/train.ipynb` staged as `book/runs/<id>.ipynb`, and dataset pages
copies of `notebooks/datasets.ipynb` (`book/data/<name>.ipynb`): files that exist only in the build folder.
So their buttons are rebuilt to open the notebook they were executed from, and the chapters (MyST notebooks
that only read results, which mean nothing without a build's runs) lose theirs. The notebooks open at the
commit the book was built from ($RESEMOTE_BOOK_COMMIT, set by the book job for a clean checkout), else at the
configured `repository.branch`.
"""
from __future__ import annotations

import os
from typing import Any

# staged page folder -> the repository notebook it was executed from
# (real runs and datasets, and the appendix's synthetic ones: resemote.book.engine_jobs.stage_book)
SOURCES = {"book/runs/": "notebooks/train.ipynb", "book/data/": "notebooks/datasets.ipynb",
           "book/demo-runs/": "notebooks/train.ipynb", "book/demo-data/": "notebooks/datasets.ipynb"}
GROUP = "launch-buttons"


def source_notebook(pagename: str) -> str | None:
    """The repository notebook a page was executed from, or None for a chapter."""
    return next((nb for prefix, nb in SOURCES.items() if pagename.startswith(prefix)), None)


def launch_urls(theme: dict, notebook: str, ref: str, org: str, repo: str) -> dict[str, str]:
    """{button text: URL} for the launch providers configured in `theme` (html_theme_options)."""
    buttons = theme.get("launch_buttons") or {}
    path = "/".join(p for p in ((theme.get("path_to_docs") or "").strip("/"), notebook) if p)
    urls = {}
    if buttons.get("colab_url"):
        urls["Colab"] = f"{buttons['colab_url'].rstrip('/')}/github/{org}/{repo}/blob/{ref}/{path}"
    if buttons.get("binderhub_url"):
        ui = {"classic": "tree", "jupyterlab": "lab/tree"}.get(buttons.get("notebook_interface", "classic"), "tree")
        urls["Binder"] = f"{buttons['binderhub_url'].rstrip('/')}/v2/gh/{org}/{repo}/{ref}?urlpath={ui}/{path}"
    return urls


def _repo(theme: dict) -> tuple[str, str] | None:
    url = (theme.get("repository_url") or "").rstrip("/")
    if "github.com/" not in url:
        return None
    parts = url.split("github.com/", 1)[1].split("/")
    return (parts[0], parts[1].removesuffix(".git")) if len(parts) >= 2 else None


def fix_launch_buttons(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    buttons = context.get("header_buttons") or []
    group = next((b for b in buttons if b.get("label") == GROUP), None)
    if group is None:
        return
    notebook, theme, repo = source_notebook(pagename), app.config.html_theme_options, _repo(app.config.html_theme_options)
    if notebook is None or repo is None:
        buttons.remove(group)
        return
    ref = os.environ.get("RESEMOTE_BOOK_COMMIT") or theme.get("repository_branch") or "main"
    urls = launch_urls(theme, notebook, ref, *repo)
    kept = []
    for b in group["buttons"]:
        if b.get("type") == "link" and b.get("text") in urls:
            kept.append({**b, "url": urls[b["text"]]})
    if kept:
        group["buttons"] = kept
    else:
        buttons.remove(group)


def setup(app) -> dict:
    # after sphinx-book-theme's own add_launch_buttons (priority 501)
    app.connect("html-page-context", fix_launch_buttons, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
