# The two commands: `make run` (the daemon) and `make test` (the tests). Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run check test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed  ## run the daemon on ./sources.yaml, state in ./state
	$(BIN)/monitor run

check: $(BIN)/.installed  ## check every source once, deliver, exit
	$(BIN)/monitor check

test: $(BIN)/.installed  ## run the test suite
	$(BIN)/pytest

lint: $(BIN)/.installed  ## ruff and mypy --strict
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy --strict monitor

bench: $(BIN)/.installed  ## benchmarks (figures go in docs/benchmarks.md)
	$(BIN)/python bench/pipeline_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
