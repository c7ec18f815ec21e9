# clearsim: the two fresh-machine commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    ?= out/demo

.PHONY: setup demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,ray]'
	touch $(STAMP)

## setup: create .venv and install clearsim with its dev tools
setup: $(STAMP)

## demo: set up, run the default policy comparison and write a report
demo: $(STAMP)
	$(BIN)/clearsim compare scenarios/balanced.yaml --out $(OUT) --force

## test: set up, then ruff, mypy and the whole pytest suite
test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

## bench: print the solver, simulator and sweep benchmarks (figures, not pass/fail)
bench: $(STAMP)
	$(BIN)/python bench/solver.py
	$(BIN)/python bench/des.py
	$(BIN)/python bench/sweep.py

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
