# BMB - every target sets itself up on a fresh machine (virtual environment, install).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo-out

.PHONY: demo test lint typecheck imports unit bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml hatch_build.py src/bmb/sources/flows/cutter.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## set up, synthesize a small region, build a lake from it and query it
	bash scripts/demo.sh $(DEMO)

test: $(STAMP) lint typecheck imports unit  ## set up and run every check and test

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check src tests benchmarks hatch_build.py
	$(BIN)/ruff format --check src tests benchmarks hatch_build.py

typecheck: $(STAMP)  ## mypy --strict on src/
	$(BIN)/mypy

imports: $(STAMP)  ## the package layers of DESIGN.md (import-linter)
	$(BIN)/lint-imports

unit: $(STAMP)  ## the test suite, the whole Spark suite included (BMB_TEST_SPARK=ci for the subset)
	BMB_TEST_SPARK=$${BMB_TEST_SPARK:-all} $(BIN)/pytest -n 2 -q

bench: $(STAMP)  ## the benchmarks (long: whole region)
	$(BIN)/python -m benchmarks

clean:  ## remove the environment and outputs
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
