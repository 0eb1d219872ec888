# tdnn: the two commands are `make book` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly

EXERCISES := $(sort $(wildcard notebooks/exercises/*.ipynb))

.PHONY: help setup data book book-only test test-unit test-notebooks lab sync outputs student bench lock clean

help:
	@echo "make book            build the Jupyter Book site into _build/html (from stored outputs)"
	@echo "make test            book build, unit tests, pairing/hygiene checks, nbval over every notebook"
	@echo "make test-unit       only the unit tests and checks (tests/), no notebook execution"
	@echo "make test-notebooks  only nbval: re-execute every notebook and compare its stored outputs"
	@echo "make book-only       rebuild the book without the setup step (needs .venv)"
	@echo "make lab             JupyterLab at the repository root, opened on notebooks/ (pairing on)"
	@echo "make sync            pair each .ipynb with its .py twin; refuses if both sides were edited"
	@echo "                     (NB=notebooks/01_....ipynb for one; FROM=py or FROM=ipynb to choose)"
	@echo "make outputs         sync, re-execute notebooks in place (NB=... for one), sync again"
	@echo "make student         otter assign every exercise: dist/student/ (hand out), dist/autograder/"
	@echo "make bench           benchmarks (not part of make test): notebook times, throughput vs the"
	@echo "                     matmul peak, time to 88 %, cached frozen layers, start-up ->"
	@echo "                     benchmarks/results.json, RESULTS.md (BEFORE=dir: time that checkout too)"
	@echo "make lock            regenerate requirements.lock from pyproject.toml"

# The virtual environment, from the pinned lock; reinstalled when the lock or pyproject changes.
# The installer is uv (pinned, from PyPI, into the venv): the same pinned packages as pip would
# install, byte-compiled as pip does, in about 16 s instead of 65 s here (TensorFlow alone unpacks
# 1.9 GB). Where uv cannot be installed or fails, pip does it.
UV_PIN := uv==0.13.9
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing requirements.lock into $(VENV) with $(UV_PIN) (pip if that fails)"
	@if $(BIN)/python -m pip install --quiet "$(UV_PIN)" && \
	   $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock && \
	   $(BIN)/uv pip install --quiet --no-deps --python $(BIN)/python -e . ; then :; \
	else \
	  echo "uv failed: installing requirements.lock with pip"; \
	  $(BIN)/python -m pip install --quiet --upgrade pip && \
	  $(BIN)/python -m pip install --quiet -r requirements.lock && \
	  $(BIN)/python -m pip install --quiet --no-deps -e . ; \
	fi
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP) data

# Provision Fashion-MNIST: the Debian package when possible, else let Keras download it once.
data: $(STAMP)
	@if [ -z "$$TDNN_DATA_DIR" ] && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] \
	    && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) || true; \
	fi
	$(BIN)/python -m tdnn.data

# The book is built from the stored outputs: it needs the environment, not the data set.
book: $(STAMP)
	$(MAKE) --no-print-directory book-only

# The exercise pages are the student versions of the teacher notebooks (questions only: no
# solutions, explanations or hidden tests), written by `otter assign` (offline) into the git-ignored
# folder exercises/, which toc.yml includes with a glob (src/tdnn/_book.py).
SITE_EXERCISES := exercises

book-only:
	rm -rf _build/html _build/.doctrees
	$(BIN)/python -m tdnn._book $(SITE_EXERCISES) $(EXERCISES)
	$(BIN)/jupyter-book build . --config book.yml --toc toc.yml -W -n --keep-going -q
	@echo "The book is in _build/html/index.html"

# The README's test command. The book is built first (from stored outputs, in seconds) so that
# tests/test_book_site.py can check it in a headless browser; then the unit tests and nbval (which
# re-executes every notebook) run side by side, each keeping about one core busy: on two cores the
# wait is about the longer of the two instead of their sum. Each one's output is printed whole when
# it ends (--output-sync); either failing fails the target.
test: setup
	$(MAKE) --no-print-directory book-only
	$(MAKE) --no-print-directory -j2 --output-sync=target _unit-tests _nbval

.PHONY: _unit-tests _nbval
_unit-tests:
	$(BIN)/python -m pytest tests

_nbval:
	$(BIN)/python -m pytest $(NBVAL) notebooks

test-unit: setup
	$(MAKE) --no-print-directory _unit-tests

test-notebooks: setup
	$(MAKE) --no-print-directory _nbval

# Lab serves the repository root: jupytext's contents manager looks for jupytext.toml only inside
# the folder Lab serves, and without it saving a notebook no longer updates its .py twin
# (tests/test_lab_pairing.py). The file browser opens on notebooks/.
# Jupyter refuses to run as root without --allow-root (containers, CI machines): pass it only then.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --ContentsManager.preferred_dir=notebooks $(ROOT_FLAG)

# Pair notebooks with their .py twins by content, never by "newer file wins" (src/tdnn/_sync.py,
# README "Working on a notebook"): the side edited since the last sync wins; if both sides were
# edited, nothing is changed and the command fails. FROM=py or FROM=ipynb forces the direction.
SYNC = $(BIN)/python -m tdnn._sync $(if $(FROM),--from $(FROM))

sync: $(STAMP)
	$(SYNC) $(NB)

# Re-execute notebooks in place (all, or NB=notebooks/01_....ipynb): sync first (so that an edit
# of the .py is what runs), execute, then record the pair as synced (execution changes only outputs).
outputs: setup
	$(SYNC) $(or $(NB),$(NOTEBOOKS))
	for nb in $(or $(NB),$(NOTEBOOKS)); do \
	  echo "executing $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False "$$nb" || exit 1; \
	  $(BIN)/python -m tdnn._sync "$$nb" >/dev/null || exit 1; \
	done

# Graded assignments (otter-grader): each teacher notebook in notebooks/exercises/ becomes a student
# notebook (solutions and hidden tests stripped, outputs cleared) and an autograder zip for `otter run`.
student: $(STAMP)
	rm -rf dist/student dist/autograder dist/.otter
	mkdir -p dist/student dist/autograder
	for nb in $(EXERCISES); do \
	  name=$$(basename "$$nb" .ipynb); \
	  $(BIN)/otter assign "$$nb" "dist/.otter/$$name" || exit 1; \
	  cp "dist/.otter/$$name/student/$$name.ipynb" dist/student/; \
	  cp "dist/.otter/$$name/autograder/"*.zip "dist/autograder/$$name-autograder.zip"; \
	done
	rm -rf dist/.otter
	@echo "Student notebooks in dist/student/, autograders in dist/autograder/ (grade: otter run -a ZIP SUBMISSION.ipynb)"

# Benchmarks (issue 12): every figure a ratio taken in one run; see benchmarks/RESULTS.md.
# BEFORE=/path/to/other/checkout times that checkout's notebooks too, interleaved with these
# (e.g. git worktree add /tmp/before main); BENCH_ARGS="--exercises" or "--parts notebooks ...".
bench: setup
	$(BIN)/python benchmarks/run.py $(if $(BEFORE),--before $(BEFORE)) $(BENCH_ARGS)

lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet ".[dev]"
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^tdnn' > requirements.lock.new
	{ echo "# Generated by 'make lock' from pyproject.toml (Python 3.11, Linux x86_64). Do not edit."; \
	  cat requirements.lock.new; } > requirements.lock
	rm -rf .lockenv requirements.lock.new

clean:
	rm -rf _build dist .pytest_cache $(SITE_EXERCISES)
