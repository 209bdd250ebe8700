# custvalue: `make report` regenerates everything; `make test` runs the tests.
# Targets are real files where work is done, so a second run with nothing changed does nothing.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
KERNEL := $(VENV)/share/jupyter/kernels/custvalue/kernel.json
RAW := data/raw
PROCESSED := data/processed
REPORTS := reports
CONFIG := config/custvalue.yaml
QUARTER ?=
PYTEST_ARGS ?=

NOTEBOOKS := src/custvalue/notebooks
REPORT_INPUTS = $(wildcard $(RAW)/*.csv $(RAW)/*.parquet) $(wildcard $(NOTEBOOKS)/*.ipynb) \
	$(shell find src -name '*.py') $(wildcard $(CONFIG))

.PHONY: help setup data report score test lab benchmark contract-doc config-doc clean distclean

help: ## List the targets
	@echo "custvalue: which customers to let go, and why"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: QUARTER=2026Q2 (default: last complete quarter in data/raw), PYTEST_ARGS=..."

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

$(KERNEL): $(INSTALLED)
	$(BIN)/python -m ipykernel install --sys-prefix --name custvalue --display-name "custvalue" >/dev/null

setup: $(INSTALLED) $(KERNEL) ## Create .venv, install the package and register the `custvalue` Jupyter kernel

data: setup ## Generate the demo world into data/raw (only if data/raw holds no data)
	$(BIN)/custvalue demo --out $(RAW) --if-empty

report: data ## Score the quarter and render reports/<quarter>/index.html (QUARTER=2026Q2 to choose)
	@quarter="$(QUARTER)"; \
	if [ -z "$$quarter" ]; then quarter=$$($(BIN)/custvalue latest-quarter --quiet --raw $(RAW) --processed $(PROCESSED)) || exit 2; fi; \
	$(MAKE) --no-print-directory $(REPORTS)/$$quarter/index.html QUARTER=$$quarter

$(REPORTS)/%/index.html: $(REPORT_INPUTS) $(INSTALLED) $(KERNEL)
	$(BIN)/custvalue report --raw $(RAW) --quarter $* --out $(REPORTS) --processed $(PROCESSED)

score: data ## Score the quarter only: data/processed/<quarter>/scorecard.parquet
	$(BIN)/custvalue score --raw $(RAW) --out $(PROCESSED) $(if $(QUARTER),--quarter $(QUARTER))

test: setup ## Run the test suite (installs what it needs first)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lab: setup ## Open JupyterLab on the notebooks with the project kernel
	$(BIN)/jupyter lab --notebook-dir=$(NOTEBOOKS)

benchmark: setup ## Run the performance benchmarks (slow; prints figures against their baselines)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

contract-doc: setup ## Regenerate docs/data-contract.md from the schemas
	$(BIN)/custvalue contract-doc

config-doc: setup ## Regenerate docs/configuration.md from the settings
	$(BIN)/custvalue config-doc

clean: ## Remove processed data and reports (never data/raw)
	find $(PROCESSED) $(REPORTS) -mindepth 1 -not -name .gitkeep -delete 2>/dev/null || true
	find $(PROCESSED) $(REPORTS) -mindepth 1 -type d -empty -delete 2>/dev/null || true

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
