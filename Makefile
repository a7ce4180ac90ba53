# The two commands: `make run` and `make test`. Both install what they need from uv.lock
# (exact versions with hashes) into .venv/; `make lock` is the one way the lock moves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.spark-installed
UV := .tools/bin/uv
DATA_DIR ?= data
# This machine's python3, never an interpreter uv would download.
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test test-slow lint lock lock-check bench browser-deps promtool-deps alertmanager-deps java-deps clean

# uv itself, pinned with hashes, in a venv of its own (uv sync keeps .venv exactly the lock).
$(UV): scripts/uv-requirements.txt
	test -x .tools/bin/python || $(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
	  -r scripts/uv-requirements.txt
	touch $(UV)

# --locked: refuses to install when pyproject.toml and uv.lock disagree (run `make lock`).
$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --locked --extra dev --python $(PYTHON)
	touch $(STAMP)

# PySpark (a few hundred MB, the `spark` extra) for tests/test_lake_spark.py only; after $(STAMP), whose sync drops it.
$(SPARK_STAMP): $(STAMP)
	$(UV) sync --locked --extra dev --extra spark --python $(PYTHON)
	touch $(SPARK_STAMP)

# Re-resolve every dependency to the newest release pyproject.toml allows; commit uv.lock.
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

# Fails when pyproject.toml changed and uv.lock was not re-resolved.
lock-check: $(UV)
	$(UV) lock --check --python $(PYTHON)

# API on :8000 and dashboard on :8501; an empty data dir gets the demo dataset first.
# make run API_PORT=8100 DASHBOARD_PORT=8601 when 8000 or 8501 is taken
API_PORT ?= 8000
DASHBOARD_PORT ?= 8501

run: $(STAMP)
	$(BIN)/widget-monitor up --data-dir $(DATA_DIR) --host 127.0.0.1 --api-port $(API_PORT) --dashboard-port $(DASHBOARD_PORT)

# Browser tests drive Debian's Chromium through Playwright; install it when missing.
browser-deps:
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (browser tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# promtool lints GET /metrics (tests/ingest_api/test_metrics.py); Debian ships it in `prometheus`.
promtool-deps:
	@command -v promtool >/dev/null || { \
	  echo "installing prometheus (promtool)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

# The Alertmanager channel's test (tests/analytics/notify/test_alertmanager.py) runs Debian's Alertmanager.
alertmanager-deps:
	@test -x /usr/bin/prometheus-alertmanager || { \
	  echo "installing prometheus-alertmanager (alertmanager channel test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager; }

# PySpark's JVM (tests/test_lake_spark.py): the machine's OpenJDK 17; Debian's when there is no java.
java-deps:
	@command -v java >/dev/null || { \
	  echo "installing openjdk-17-jre-headless (spark lake test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite starts dozens of servers and dashboards, each a new interpreter: with PYTHONDONTWRITEBYTECODE set (as
# on these machines) every one compiled FastAPI, pydantic, DuckDB's Python side... again (a start
# took 12 s beside a test run, 4 s with a cache). Their bytecode goes to .cache/pycache instead.
test: lock-check $(STAMP) $(SPARK_STAMP) browser-deps promtool-deps alertmanager-deps java-deps lint
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache $(BIN)/pytest -m "not slow"

# The long rounds (fuzzing, kill -9, a full disk, Spark, several servers at once): ~4 minutes
# more. CI (.ci/run) runs them after `make test`.
test-slow: lock-check $(STAMP) $(SPARK_STAMP) browser-deps promtool-deps alertmanager-deps java-deps
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache $(BIN)/pytest -m slow

bench: $(STAMP)
	$(BIN)/python bench/ingest_bench.py

clean:
	rm -rf $(VENV) .tools .cache .pytest_cache .ruff_cache .mypy_cache
