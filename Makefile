# Two commands after cloning:
#   make book   build the website into _build/html (creates .venv and fetches data on first run)
#   make test   run the whole test suite at the smoke budget
#
# TORCH: what pip installs for PyTorch first; override it for another build, e.g.
#   make book TORCH="torch torchvision"

PYTHON ?= python3
TORCH  ?= torch==2.14.1 torchvision==0.29.1
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# jupyter-cache keys notebooks on their code only, so each budget keeps its own build and
# cache: the book budget in _build/html, the others in _build/<budget>/_build/html.
BUDGET   ?= $(or $(GANCOURSE_BUDGET),book)
BOOK_OUT := $(if $(filter book,$(BUDGET)),.,_build/$(BUDGET))

.PHONY: book test data browser lint bench adopt clean-book clean help

help:
	@echo "make book   build the website into _build/html"
	@echo "make test   run the test suite (smoke budget)"
	@echo "make bench  run the benchmarks"
	@echo "make adopt REPO=https://github.com/you/gan-course [BRANCH=main]   point the course at your fork"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[book,dev]"
	@touch $@

# Fashion-MNIST: already there, or Debian's package (as root, offline machines), or torchvision's download.
data: $(STAMP)
	@$(PY) -m gancourse data >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; }; \
	  fi; \
	  $(PY) -m gancourse data || $(PY) -m gancourse data --download; }

# Chromium for the browser tests (tests/test_site.py): the system's, or Debian's package (as root).
browser:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; \
	  else echo "chromium is missing: install it (e.g. apt-get install chromium) for the browser tests" >&2; fi; }

book: $(STAMP) data
	GANCOURSE_BUDGET=$(BUDGET) GANCOURSE_SITE=1 $(VENV)/bin/jupyter-book build . \
	  --path-output $(BOOK_OUT) --warningiserror --keep-going

test: $(STAMP) data browser
	GANCOURSE_BUDGET=smoke TORCH="$(TORCH)" $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP) data
	$(PY) benchmarks/bench_train.py

# Point the website's links and the notebooks' Colab install at a fork (tools/adopt.py).
adopt: $(STAMP)
	$(PY) tools/adopt.py "$(REPO)" --branch "$(or $(BRANCH),main)"

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV) .jupyter_cache .pytest_cache
