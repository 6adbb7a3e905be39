# GenAI Interview Lab. The two commands that matter: `make lab` and `make test`.
# Every target sets up .venv first (once; again when pyproject.toml changes).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
PIP    := $(BIN)/python -m pip
JOBS   ?= 2
CHAPTER ?=
NB     ?=
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test test-fast release grade bench clean help

help:
	@echo "make lab      set up (first time) and open JupyterLab on chapters/"
	@echo "make test     set up (first time) and run every test"
	@echo "make setup    only set up .venv and the 'genlab' Jupyter kernel"
	@echo "make release  rebuild solutions/ from authoring/ and chapters/ from solutions/"
	@echo "make grade NB=chapters/02_vae/vae_pytorch.ipynb   grade one notebook"
	@echo "make bench [CHAPTER=02_vae]   time notebooks in QUICK and full mode -> reports/"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	@command -v bwrap >/dev/null || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing bubblewrap (the grader's sandbox)"; apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "WARNING: bubblewrap (bwrap) is missing: the grader refuses to run student code without it (sudo apt-get install bubblewrap)"; fi; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name genlab --display-name "Python 3 (genlab)" >/dev/null
	touch $(STAMP)

# Jupyter refuses to run as root without --allow-root (containers, CI machines).
lab: setup
	$(BIN)/jupyter lab --notebook-dir=chapters $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -p no:cacheprovider

test-fast: setup
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow" -p no:cacheprovider

release: setup
	$(BIN)/genlab release

grade: setup
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/notebook.ipynb"; exit 2; }
	$(BIN)/genlab grade "$(NB)"

bench: setup
	$(BIN)/genlab bench $(CHAPTER)

clean:
	rm -rf $(VENV) .pytest_cache reports/bench.*
