# The two commands of the README:
#   make book   create the environment (Python, npm, Debian parts) and build the book into _build/html
#   make test   the same set-up, then ruff and every test: unit, parity, gradient checks, properties, experiments,
#               grading, the notebooks (nbval), the book build with warnings as errors, and the built
#               HTML in headless Chromium; then the suite again under simulated machines
#               (tools/test_profiles.py: other BLAS kernels, instruction sets and thread counts)
# Everything else is a step of those two. Python 3.11 is required (python3.11, else python3).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := tools/web/node_modules/.installed
export TQDM_DISABLE ?=
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: book test test-profiles env web chromium notebooks exercises lab clean help

help:
	@echo "make book   build the book into _build/html (installs what it needs)"
	@echo "make test   run every test (installs what it needs, builds the book)"
	@echo "make lab    open the chapters and exercises in JupyterLab"

# Python environment, pinned by requirements-lock.txt (the whole resolved set).
$(STAMP): pyproject.toml requirements-lock.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet -c requirements-lock.txt -e ".[book,test]"
	touch $@

env: $(STAMP)

# Front-end assets the offline book serves itself (MathJax 3, the Jupyter widget manager).
$(NODE_STAMP): tools/web/package.json tools/web/package-lock.json
	npm ci --prefix tools/web --no-audit --no-fund --loglevel=error
	touch $@

web: $(NODE_STAMP)

# Debian's Chromium for the browser tests (never `playwright install`).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@chromium --version

book: env web
	@start=$$(date +%s); \
	$(VENV)/bin/jupyter-book build . -W -n --keep-going; \
	echo "book built in $$(( $$(date +%s) - start )) s: open _build/html/index.html"

# MyST notebooks -> .ipynb for nbval (chapters and solution notebooks).
notebooks: env
	rm -rf _build/nbval && mkdir -p _build/nbval/book _build/nbval/solutions
	$(PY) tools/md_to_ipynb.py book _build/nbval/book
	$(PY) tools/md_to_ipynb.py solutions _build/nbval/solutions

exercises: env
	$(PY) -m course_lib.grading assign

test: env web chromium
	@start=$$(date +%s); \
	$(VENV)/bin/ruff check course_lib tests tools; \
	$(PY) -m course_lib.grading assign --check; \
	$(MAKE) --no-print-directory book; \
	$(MAKE) --no-print-directory notebooks; \
	TQDM_DISABLE=1 $(PY) -m pytest -n 2 --dist loadfile -p no:cacheprovider \
	  tests _build/nbval --nbval-lax --nbval-current-env --nbval-cell-timeout=300; \
	TQDM_DISABLE=1 $(PY) tools/test_profiles.py; \
	echo "tests finished in $$(( $$(date +%s) - start )) s"

# The suite under the simulated machines alone (make test runs them too).
test-profiles: env
	TQDM_DISABLE=1 $(PY) tools/test_profiles.py

# JupyterLab for learners; jupytext lets it open the MyST chapters as notebooks.
lab: env
	$(PY) -m pip install --quiet -c requirements-lock.txt -e ".[lab]"
	$(VENV)/bin/jupyter lab

clean:
	rm -rf _build .pytest_cache .hypothesis
