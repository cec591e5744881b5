# Two commands for a new user: `make run` and `make test` (see README).
# Both install from the hashed lock files; `make lock` refreshes them after a pyproject change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
E2E := tests/e2e
BENCH_NODE := bench/node
# uv writes the lock files (pip installs them): its resolver can also pick the lowest versions
# pyproject allows, which `make floors` installs to prove the floors true.
UV_VERSION := 0.13.9
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
FLOORS := .venv-floors
LOCK_FLAGS := --custom-compile-command "make lock" --universal --python-version 3.11 --generate-hashes --quiet
# The console's browser tests use the system's chromium; Playwright never downloads one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test test-fast lint typecheck bench soak lock floors clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(TEST_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(VENV)/.installed $@

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)

$(E2E)/node_modules/.installed: $(E2E)/package.json $(E2E)/package-lock.json
	cd $(E2E) && npm ci --silent --no-audit --no-fund
	touch $@

$(BENCH_NODE)/node_modules/.installed: $(BENCH_NODE)/package.json $(BENCH_NODE)/package-lock.json
	cd $(BENCH_NODE) && npm ci --silent --no-audit --no-fund
	touch $@

run: $(VENV)/.installed
	$(BIN)/seam-api serve

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Spread over every core, then the tests that share the machine's Redis in a pass of their
# own (the `shared_redis` mark, tests/conftest.py).
PARALLEL := -n auto

test: lint typecheck $(E2E)/node_modules/.installed
	$(BIN)/pytest $(PARALLEL) -m "not shared_redis"
	$(BIN)/pytest -m shared_redis

# Every route and rule on SQLite, in-process: for the edit-test loop (the whole suite is `test`).
test-fast: lint typecheck
	$(BIN)/pytest $(PARALLEL) -m "not full_only and not shared_redis"
	$(BIN)/pytest -m "not full_only and shared_redis"

bench: $(VENV)/.installed-test $(BENCH_NODE)/node_modules/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# Opt-in, 30 minutes: the soak (s) on PostgreSQL + Redis with two instances and churning
# clients; prints each instance's RSS per minute and its slope over the last 20 minutes.
soak: $(VENV)/.installed-test $(BENCH_NODE)/node_modules/.installed
	$(BIN)/python -m bench --only s --soak-seconds 1800 --soak-instances 2

# Refresh both lock files from pyproject.toml (newest versions its ranges allow).
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra test $(LOCK_FLAGS) -o $(TEST_LOCK)

# The lowest version of every direct dependency pyproject allows, in a venv of its own, then
# the smoke test: a floor that is too low fails here.
floors: | $(BIN)/uv
	rm -rf $(FLOORS)
	$(PYTHON) -m venv $(FLOORS)
	$(BIN)/uv pip compile pyproject.toml --extra test --resolution lowest-direct \
		--python $(FLOORS)/bin/python --quiet -o $(FLOORS)/floors.txt
	$(FLOORS)/bin/python -m pip install -q -r $(FLOORS)/floors.txt
	$(FLOORS)/bin/python -m pip install -q --no-deps -e .
	$(FLOORS)/bin/pytest -p no:cacheprovider tests/test_smoke.py

clean:
	rm -rf $(VENV) $(FLOORS) $(E2E)/node_modules $(BENCH_NODE)/node_modules .pytest_cache .mypy_cache .ruff_cache
