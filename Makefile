# `make test` and `make book` set themselves up on a fresh machine: a .venv with the package installed
# editable (dev extras), made on first use and reused afterwards.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test book setup clean publish

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP)

# one pytest worker per core, each single-threaded (tests/conftest.py); the tests that share the tiny built
# repository run on one worker (xdist_group "tiny_repo")
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

# PROFILE: the real-data budget of runs.yml for datasets under data/ (auto: paper with a GPU, reduced without)
PROFILE ?= auto

book: $(STAMP)
	$(BIN)/python -m resemote book --profile $(PROFILE)

# push the book built here (_build/html) to the gh-pages branch with ghp-import; refuses a book built from a
# dirty checkout or from another commit than the one checked out now (resemote/book/publish_site.py)
publish: $(STAMP)
	$(BIN)/python -m resemote.book.publish_site _build/html

clean:
	rm -rf _build
