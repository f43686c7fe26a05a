# vru-risk: the two commands every new user runs are `make demo` and `make test`.
# Both create .venv when missing and install exactly what requirements/lock.txt pins (with hashes).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
UV_PLATFORM := --python-version 3.11 --python-platform x86_64-manylinux_2_28
DEMO_DIR ?= $(CURDIR)/.vru/demo
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: help venv test lint typecheck layers pytest postgres chromium java screenshots demo lock bench clean

help:
	@echo "make demo   run the whole pipeline on a synthetic county (what exists today)"
	@echo "make test   ruff, mypy, import-linter and pytest (creates .venv first)"
	@echo "make screenshots  refresh docs/screenshots/ from the browser tests"
	@echo "make lock   re-resolve requirements/lock.txt from pyproject.toml (deliberate upgrades)"
	@echo "make bench  run the benchmark scripts under benchmarks/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): requirements/uv.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/uv.txt
	@touch $(UV)

# Bytecode is compiled at install (--compile-bytecode, and compileall for the editable
# project's own sources, which live outside site-packages): without it the first `vru` of a
# fresh install compiles every module it imports, and `vru --help` takes seconds instead of one.
$(STAMP): requirements/lock.txt pyproject.toml $(UV)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements/lock.txt
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q vru_risk
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

# PostgreSQL for the application-database tests: the machine's local cluster (trust auth).
# The tests make a fresh database per run and drop it; they skip (fail when CI=true) without it.
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
PG_UP := (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null

postgres:
	@if ! $(PG_UP) && command -v pg_ctlcluster >/dev/null 2>&1; then \
	  echo "starting the local PostgreSQL cluster"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	fi

# The browser tests drive Debian's Chromium (Playwright for Python, never `playwright install`);
# the printed fairness report is checked page by page with poppler-utils' pdftoppm.
chromium:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's$$missing for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The Spark engine's tests (docs/scale.md) need Java 17 or newer: Debian's headless JDK, installed
# with apt-get only when no `java` is on the PATH (an older one is reported, never replaced).
java:
	@if ! command -v java >/dev/null 2>&1; then \
	  echo "installing Debian's headless JDK for the Spark engine's tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless; \
	fi
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	if [ -n "$$v" ] && [ "$$v" -lt 17 ]; then \
	  echo "java $$v is on the PATH; Spark 4 needs Java 17 or newer (set JAVA_HOME to one)" >&2; exit 2; fi

# pytest-xdist: one worker per core, each test file on one worker (--dist loadfile: a module's
# fixtures are made once), handed out in the order tests/conftest.py gives them (the files that
# use the county and the shared trained version first: --no-loadscope-reorder); those are made
# once per run whatever the number of workers (tests/once.py). The Spark test files
# (test_*spark*.py) are one unit, on one worker: one JVM, warmed up once. On one core, no
# workers: pytest runs in-process. PYTEST_WORKERS=N overrides (0 or 1: in-process).
PYTEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 1)
PYTEST_XDIST = $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)

pytest: $(STAMP) postgres chromium java
	if [ -z "$${VRU_TEST_POSTGRES_URL:-}" ] && $(PG_UP); then \
	  export VRU_TEST_POSTGRES_URL="$(PG_TEST_URL)"; fi; \
	$(BIN)/pytest -q --durations=15 $(PYTEST_XDIST)

test: lint typecheck layers pytest

# Refresh docs/screenshots/ from the browser tests (they write VRU_HOME/screenshots/ each run)
# and the printed fairness report's summary and gate pages.
screenshots: $(STAMP) chromium
	VRU_E2E_SCREENSHOTS_OUT="$(CURDIR)/docs/screenshots" $(BIN)/pytest -q tests/e2e \
		tests/fairness_reports/test_report_print.py

demo: $(STAMP)
	$(BIN)/vru demo --dir "$(DEMO_DIR)"

bench: $(STAMP)
	$(BIN)/python benchmarks/generate.py
	$(BIN)/python benchmarks/validate.py
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/oracle_gap.py
	$(BIN)/python benchmarks/scoring.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/flag_load.py
	$(BIN)/python benchmarks/allocation.py
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/feedback_alarms.py

lock: $(UV)
	$(UV) pip compile pyproject.toml --extra dev --extra spark --extra evaluation --generate-hashes $(UV_PLATFORM) --upgrade -o requirements/lock.txt
	$(UV) pip compile requirements/uv.in --generate-hashes $(UV_PLATFORM) -o requirements/uv.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
