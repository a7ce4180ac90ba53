# The two commands: `make run` and `make test`. Both create .venv/ when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= data

.PHONY: run test lint bench browser-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/widget-monitor serve --data-dir $(DATA_DIR) --host 127.0.0.1 --port 8000

# Browser tests drive Debian's Chromium through Playwright; install it when missing.
browser-deps:
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (browser tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) browser-deps lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
