# The two commands of the README. Each sets up .venv on a fresh machine first (python3 >= 3.11 and PyPI only).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: test experiment setup docs docs-serve lab

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

# The standard experiment matrix on this machine: results in results/<experiment>/, charts in results/charts/.
experiment: setup
	$(BIN)/python experiments/standard.py

# The documentation in docs/_build/html/ (open index.html): API pages from the code, the notebooks executed
# against results/. Warnings are errors: a broken reference or a failing notebook cell fails the build.
SPHINXOPTS ?= -W --keep-going -q
docs: setup
	$(BIN)/sphinx-build $(SPHINXOPTS) -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html (or: make docs-serve)"

docs-serve: docs
	$(BIN)/python -m http.server --directory docs/_build/html --bind 127.0.0.1 8000

# The notebooks in JupyterLab (they read results/; nothing is measured).
lab: setup
	$(BIN)/jupyter lab notebooks/

setup: $(VENV)/.installed

# Reinstall only when the project's metadata changes; the install is editable, so code changes need none.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --progress-bar off -e '.[dev]'
	touch $@
