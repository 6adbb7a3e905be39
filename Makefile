# GenAI Interview Lab. The two commands that matter: `make lab` and `make test`.
# Every target sets up .venv first (once; again when pyproject.toml changes).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
# JupyterLab settings of the course's own Lab (the venv's, never the user's home)
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
PIP    := $(BIN)/python -m pip
JOBS   ?= 2
# keras-hub (05_text's TensorFlow library path) asks for tensorflow-text, which asks for the full `tensorflow`
# wheel (570 MB) beside tensorflow-cpu: the same modules twice. The course uses only keras-hub's models, which
# need no tensorflow-text, so it goes in without dependencies; the ones it does need are in pyproject.toml.
KERAS_HUB := keras-hub==0.32.0
CHAPTER ?=
NB     ?=
# what `make lint` and tests/test_lint.py check: the code, the chapter sources and the built solution
# notebooks (ruff reads .ipynb natively: each is one framework's view of a chapter)
LINT_PATHS := conftest.py genlab tests tools authoring solutions
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test test-fast lint release grade bench clean help

help:
	@echo "make lab      set up (first time) and open JupyterLab on chapters/"
	@echo "make test     set up (first time) and run every test"
	@echo "make setup    only set up .venv and the 'genlab' Jupyter kernel"
	@echo "make test-fast  the tests without the slow ones and without executing notebooks"
	@echo "make lint     ruff on the code, the chapter sources and the solution notebooks"
	@echo "make release [CHAPTER=02_vae]  rebuild solutions/ from authoring/ and chapters/ from solutions/"
	@echo "make grade NB=chapters/02_vae/vae_pytorch.ipynb   grade one notebook"
	@echo "make bench [CHAPTER=02_vae] [REPEAT=3]   time notebooks in QUICK and full mode (fastest of REPEAT runs) -> reports/"

setup: $(STAMP) $(LAB_SETTINGS)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	@command -v bwrap >/dev/null || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing bubblewrap (the grader's sandbox)"; apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "WARNING: bubblewrap (bwrap) is missing: the grader refuses to run student code without it (sudo apt-get install bubblewrap)"; fi; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -e .
	$(PIP) install --quiet --disable-pip-version-check --no-deps $(KERAS_HUB)
	$(BIN)/python -m ipykernel install --sys-prefix --name genlab --display-name "Python 3 (genlab)" >/dev/null
	touch $(STAMP)

# No "get notified about official Jupyter news?" pop-up in `make lab` and no update checks: the course
# runs offline and a learner's first screen is the chapter (JupyterLab 4's notification settings).
$(LAB_SETTINGS): Makefile
	mkdir -p $(dir $@)
	printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

# Jupyter refuses to run as root without --allow-root (containers, CI machines).
lab: setup
	$(BIN)/jupyter lab --notebook-dir=chapters $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -p no:cacheprovider

# `tests` only and nbval off: pyproject's testpaths include solutions/, whose notebooks nbval would run.
test-fast: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -m "not slow" -p no:cacheprovider -p no:nbval tests

lint: setup
	$(BIN)/ruff check --no-cache $(LINT_PATHS)

release: setup
	$(BIN)/genlab release $(CHAPTER)

grade: setup
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/notebook.ipynb"; exit 2; }
	$(BIN)/genlab grade "$(NB)"

bench: setup
	$(BIN)/genlab bench $(CHAPTER) --repeat $(or $(REPEAT),1)

clean:
	rm -rf $(VENV) .pytest_cache reports/bench.*
