# The few commands people type. `make setup` is idempotent.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench-febrl bench

$(BIN)/c360: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/c360

setup: $(BIN)/c360

# A generated company, unified: ./c360-demo (replaced on each run).
demo: setup
	$(BIN)/c360 demo

# Two workers: the suite is processor-bound, and every test has its own files and databases.
test: setup
	$(BIN)/python -m pytest -n 2

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Accuracy, time and memory against Splink on Febrl 3/4 (installs the `bench` extra).
bench-febrl: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/compare.py --cases febrl3,febrl4

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/compare.py --cases febrl3,febrl4,people-100k,people-1m
