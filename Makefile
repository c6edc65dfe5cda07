# The README names these targets. `make demo` and `make test` work on a fresh clone with
# only Python 3.11 and pip: they create .venv and install the locked dependencies first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The demo: the 7 complete days before today and today's hours so far (UTC), so the UI shows
# recent partitions filled. Pin both for reproducible output, e.g. DEMO_START=2024-01-01
# DEMO_END=2024-01-07. The partitions start with the demo (make demo and make dev agree).
DEMO_END ?= $(shell date -u +%F)
DEMO_START ?= $(shell date -u -d '$(DEMO_END) -7 days' +%F)
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# `make dev PORT=3001` when 3000 is taken.
PORT ?= 3000
# Absolute, so that dbt (which runs inside dbt/) and Python agree, and the path dbt parses
# with is the path it runs with (it is part of dbt's partial-parse hash).
export PIPELINE_DUCKDB_PATH ?= $(CURDIR)/data/warehouse.duckdb
DBT_SOURCES := $(shell find dbt -path dbt/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' \) -print)

.PHONY: install prepare demo test test-fast check-defs lint lint-sql format dev clean lock bench

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	# dagster-dbt 0.29 asks for sqlglot[rs], whose sqlglotrs 0.13 is an empty stub that only
	# warns it is deprecated (sqlglotc does the work); pip installs it whatever the lock says.
	$(BIN)/pip uninstall --quiet --yes sqlglotrs
	touch $@

dbt/target/manifest.json: $(BIN)/.installed $(DBT_SOURCES)
	$(BIN)/pipeline prepare

# The instance settings and the project's .env (DAGSTER_HOME, DAGSTER_DISABLE_TELEMETRY),
# which dg and dagster dev read: every entry point then uses the CLI's instance.
.env: $(BIN)/.installed
	$(BIN)/pipeline instance > /dev/null

install: $(BIN)/.installed dbt/target/manifest.json .env

prepare: install
	$(BIN)/pipeline prepare

demo dev: export PIPELINE_PARTITIONS_START ?= $(DEMO_START)

demo: install
	$(BIN)/pipeline seed --start $(DEMO_START) --end $(DEMO_END)
	$(BIN)/pipeline backfill --start $(DEMO_START) --end $(DEMO_END)

# Everything, as CI runs it: the linters, the definitions load (dg), then the whole suite.
test: lint check-defs
	$(BIN)/pytest -n 2 --dist loadfile

# The edit loop: the unit tier only (no real dbt builds, servers or browsers).
test-fast: install
	$(BIN)/pytest -n 2 -m "not slow"

# The code location loads, as `dg dev` and the image's code server load it.
check-defs: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg check defs

lint: install lint-sql
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/deptry .

# The dbt models against dbt/.sqlfluff (macros are excluded: dbt/.sqlfluffignore says why).
lint-sql: install
	$(BIN)/sqlfluff lint dbt

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

dev: install
	$(BIN)/pipeline instance > /dev/null
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev --port $(PORT)

# The benchmark (docs/benchmarks.md): `make bench ARGS="--quick"`, or any python -m bench flags.
bench: install
	$(BIN)/python -m bench $(ARGS)

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^pipeline-assets' > requirements.lock

clean:
	rm -rf data dbt/target dbt/logs
