# The two commands of the README: `make demo` and `make test`. Each creates
# .venv on a fresh machine, installs torch from the pinned constraints first
# (so nothing pulls a CUDA build), then the package with its test extras.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
DATA ?= $(or $(SK_RECSYS_DATA),$(wildcard ../shared/data))

.PHONY: demo test lint docs install clean

$(STAMP): pyproject.toml $(CONSTRAINTS) examples/plugin_package/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) torch
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test]"
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) --no-build-isolation -e examples/plugin_package
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sk-recsys models
	$(BIN)/sk-recsys evaluate --dataset synthetic
	@if [ -n "$(DATA)" ] && [ -f "$(DATA)/ml-100k/u.data" ]; then \
		SK_RECSYS_DATA="$(abspath $(DATA))" $(BIN)/sk-recsys evaluate --dataset movielens-100k \
			--models popularity item_knn user_knn ease mf neumf; \
	else \
		echo "MovieLens-100K not found (set SK_RECSYS_DATA); skipped that leaderboard."; \
	fi

test: $(STAMP)
	SK_RECSYS_DATA="$(if $(DATA),$(abspath $(DATA)),)" $(BIN)/python -m pytest -n 2 --durations=20 --doctest-modules sk_recsys tests examples/plugin_package

lint: $(STAMP)
	$(BIN)/ruff check sk_recsys tests benchmarks examples
	$(BIN)/ruff format --check sk_recsys tests benchmarks examples

# The documentation: API reference, user guide and the example gallery, which
# runs on the synthetic data only; every Sphinx warning is an error.
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -E -b html docs docs/_build/html

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
	rm -rf docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
