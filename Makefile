# Executable documentation of the development workflow.
# `make run`: install into .venv, migrate SQLite, load demo content, serve web + scheduler.
# `make test`: install into .venv and run the whole test suite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint check bench bench-smoke bench-pollers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/broadsheet serve --demo

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

check: test lint

# The whole benchmark (nginx and wrk on 127.0.0.1, about 10 minutes): one table of figures.
bench: $(STAMP)
	$(BIN)/python -m bench.run

# The benchmark's scripts on a tiny corpus with 1-second wrk runs (< 2 minutes); fails only
# if a script breaks, never on speed. The full benchmark: $(BIN)/python -m bench.run
# Then 100 feed readers for 5 s while articles are published; fails on any error or
# unparsable feed.
bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run --smoke
	$(BIN)/python -m bench.pollers --smoke

# 1,000 feed readers poll the web role (production settings) for 60 s while articles are
# published (about 2 minutes); fails on any error or unparsable feed.
bench-pollers: $(STAMP)
	$(BIN)/python -m bench.pollers

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
