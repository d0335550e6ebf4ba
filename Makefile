# The two commands: `make run` serves the demo, `make test` runs the whole suite.
# Both set up everything they need first (virtual environment, system libraries).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-sqlite test-postgres system-deps system-deps-test lint format clean bench bench-load mutate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@ $(VENV)/.installed-app

# axe-core, the accessibility engine the browser tests run in each page, from the npm
# registry at the version package-lock.json pins (node_modules/ is not committed).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps:
	@bash .ci/system-deps.sh app

system-deps-test:
	@bash .ci/system-deps.sh test

# Links in e-mails name the address the demo is served at (EXTERNAL_URL; see the README).
run: export EXTERNAL_URL ?= http://$(HOST):$(PORT)
# `make run DEMO=0` starts with your own data instead: no demo, and on an empty database
# `flask setup` prints the one-time link that creates the first administrator.
run: system-deps $(VENV)/.installed-app
	$(FLASK) db upgrade
ifeq ($(DEMO),0)
	$(FLASK) setup
	@echo "MLS Tracker is starting on http://$(HOST):$(PORT) (no demo data)"
	@echo
else
	$(FLASK) demo load --if-empty
	@# The demo's reviews of last month, issued once, so that sponsors have scorecards to read.
	$(FLASK) scorecards issue --period last --all --missing-only
	@echo
	@echo "MLS Tracker is starting on http://$(HOST):$(PORT)"
	@echo "Sign in as lead@example.com, provider@example.com, sponsor@example.com,"
	@echo "viewer@example.com, provider2@example.com or admin@example.com — password: demo-password"
	@echo
endif
	@# The job worker (imports, scorecards) runs beside the web server and stops with it.
	$(FLASK) jobs worker --workers 2 & worker=$$!; \
		trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
		$(FLASK) run --host $(HOST) --port $(PORT)

# With PostgreSQL, the two suites run side by side (one process each, the machines have two
# cores); each one's output is printed when both have ended. The outage test
# (tests/test_outage.py) starts a PostgreSQL server of its own: it runs once, in the SQLite suite,
# as do the browser tests and the tests marked `once` (their subject is not the database; every
# test that uses no database of the run is marked so by tests/conftest.py), but for a few slow
# ones that the PostgreSQL suite runs instead (ONCE_BESIDE_POSTGRES) so that both end together.
test: system-deps-test $(VENV)/.installed-test node_modules/.installed lint
	@if [ -z "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-sqlite test-postgres; exit $$?; fi; \
	logs=$$(mktemp -d); export ONCE_BESIDE_POSTGRES=1; \
	echo "== SQLite and PostgreSQL suites in parallel (outputs follow when both end) =="; \
	$(MAKE) --no-print-directory test-sqlite >$$logs/sqlite.log 2>&1 & s=$$!; \
	$(MAKE) --no-print-directory test-postgres >$$logs/postgres.log 2>&1 & p=$$!; \
	wait $$s; rs=$$?; wait $$p; rp=$$?; \
	cat $$logs/sqlite.log $$logs/postgres.log; rm -rf $$logs; \
	echo "SQLite suite exit $$rs, PostgreSQL suite exit $$rp"; \
	[ $$rs -eq 0 ] && [ $$rp -eq 0 ]

test-sqlite: $(VENV)/.installed-test node_modules/.installed
	@echo "== test suite on SQLite =="
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-test
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== test suite on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		$(BIN)/python -m pytest -m "not browser and not outage and not once" $(PYTEST_ARGS); \
	else \
		echo "PostgreSQL run skipped: TEST_DATABASE_URL is not set (.ci/run sets it)."; \
	fi

# Speed (QUALITY.md): pages under gunicorn on the demo and the large portfolio against the
# signed-in floor, the first view after an edit, queries per page (warm and cold), the survey
# import, the scorecards; ends with one table of every bar, MET / MISSED / not measured. Not
# part of `make test`. BENCH_DATABASE_URL=postgresql://…/mls_bench runs it on PostgreSQL;
# BENCH_ARGS passes options: --quick (fewer requests, labelled), --only pages|import|scorecards
# (see benchmarks/README.md).
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# Load (issue 16): a fresh PostgreSQL database with the demo, gunicorn with 4 workers, 3,000
# mixed reads and concurrent writes on the same records from 8 threads, then every accepted
# write looked for; exit 1 on any 500 or lost write. Not part of `make test`. A few minutes.
# BENCH_LOAD_ARGS passes options (--quick, --requests N, --threads N, --workers N, --redis,
# --database-url …; see benchmarks/README.md).
bench-load: $(VENV)/.installed-test
	$(BIN)/python benchmarks/load_bench.py $(BENCH_LOAD_ARGS)

# Mutation testing (not part of `make test`): mutmut plants small bugs one at a time in the
# figure modules and access.py (the scope is in scripts/mutation_score.py, the tests it runs
# in pyproject's [tool.mutmut]) and prints the share the tests catch, then the survivors.
# About 15 minutes on 2 cores; mutmut's own output goes to mutants/run.log.
mutate: $(VENV)/.installed-test
	rm -rf mutants
	mkdir -p mutants
	set -f; env -u TEST_DATABASE_URL $(BIN)/mutmut run $$($(BIN)/python scripts/mutation_score.py --patterns) \
		>mutants/run.log 2>&1 || { tail -40 mutants/run.log; exit 1; }
	$(BIN)/python scripts/mutation_score.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info node_modules
