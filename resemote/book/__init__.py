"""The machinery that runs the plan and builds the book, on top of the library: the plan (`plan`), its
Snakemake adapter (`workflow`) and jobs (`jobs`), `resemote book` (`build`), the run index and recorded runs
(`records`), what the chapters show (`report`), the Sphinx extension (`launch`), Colab estimates (`colab`)
and publishing (`pages`). The library never imports it.

It works on a checkout of the companion repository (runs.yml, workflow/, book/, notebooks/): `checkout()`
finds one.
"""
from __future__ import annotations

from pathlib import Path

from resemote.errors import ResEmoteError

MARKERS = ("runs.yml", "workflow/Snakefile")  # what makes a folder a checkout of the companion repository


def _is_checkout(folder: Path) -> bool:
    return all((folder / m).is_file() for m in MARKERS)


def find_checkout() -> Path | None:
    """The checkout this package sits in (an editable install), else the current folder or the nearest
    folder above it that is one; None where there is none (a wheel used outside a checkout)."""
    here = Path(__file__).resolve().parents[2]
    if _is_checkout(here):
        return here
    cwd = Path.cwd().resolve()
    return next((d for d in (cwd, *cwd.parents) if _is_checkout(d)), None)


def checkout() -> Path:
    """The checkout the book's machinery works on, or a one-line error saying what it needs."""
    found = find_checkout()
    if found is None:
        raise ResEmoteError(f"this command works on a checkout of the companion repository ({', '.join(MARKERS)}, "
                            f"book/, notebooks/); none holds this installed package, nor {Path.cwd()} or a folder "
                            f"above it: clone the repository and run it there")
    return found


# where the book's machinery reads runs.yml, notebooks/ and book/ and writes runs/ and _build/; the current
# folder where there is no checkout, so that importing never fails and `checkout()` says what is missing
ROOT = find_checkout() or Path.cwd()
