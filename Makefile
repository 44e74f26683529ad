# The two commands: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	TOCSIN_STATE_DIR=$${TOCSIN_STATE_DIR:-./state} $(BIN)/tocsin run --config config.example.toml

lint: $(STAMP_TEST)
	$(BIN)/ruff check daemon tests benchmarks

# mypy maps files to modules by folder, so it reads the package through a link named as it installs: tocsin.
typecheck: $(STAMP_TEST)
	mkdir -p $(VENV)/typecheck && ln -sfn ../../daemon $(VENV)/typecheck/tocsin
	cd $(VENV)/typecheck && MYPYPATH=. ../bin/mypy --config-file ../../pyproject.toml -p tocsin

unit: $(STAMP_TEST)
	$(BIN)/python -m pytest

test: lint typecheck unit

bench: $(STAMP_TEST)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) state .pytest_cache .mypy_cache .ruff_cache
