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

# API on :8000 and dashboard on :8501; an empty data dir gets the demo dataset first.
run: $(STAMP)
	$(BIN)/widget-monitor up --data-dir $(DATA_DIR) --host 127.0.0.1 --api-port 8000 --dashboard-port 8501

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
