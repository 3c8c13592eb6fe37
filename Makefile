# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench bench-reminders catalogs catalogs-extract clean vendor-js cluster \
	cluster-stop

# The translations (bot/locales/*/LC_MESSAGES/messages.po), compiled to .mo when installing.
PO := $(wildcard bot/locales/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

%.mo: %.po | $(VENV)/.runtime
	$(BIN)/pybabel compile -D messages -i $< -o $@

catalogs: $(MO)

# After changing a patient-facing sentence: the template, then each language's .po to translate.
catalogs-extract: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 --no-location \
		--sort-output --project=medical-ai-scheduler \
		--copyright-holder=Medical-AI-Scheduler -o bot/locales/messages.pot .
	$(BIN)/pybabel update -D messages -i bot/locales/messages.pot -d bot/locales --width 100

run: $(VENV)/.runtime $(MO)
	$(BIN)/python app.py

# The checks that keep the layout (docs/architecture.md), then the tests.
# On every core (pytest-xdist): each worker has its own PostgreSQL database (tests/conftest.py).
test: lint $(MO)
	$(BIN)/python -m pytest -n auto

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The benchmarks of BENCHMARKS.md (minutes; `make test` runs only their --smoke modes, in
# tests/test_bench.py); booking, the API, SMS on PostgreSQL, the cluster (nginx too) and reminders
# use databases of their own on the local PostgreSQL server; reminders take several minutes.
bench: $(VENV)/.dev
	$(BIN)/python -m bench.bench_slots
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python -m bench.bench_booking
	$(BIN)/python bench/bench_sms.py
	$(BIN)/python bench/bench_sms.py --database-url $(BENCH_POSTGRES)/bench_sms
	$(BIN)/python bench/bench_ehr_webhook.py
	$(BIN)/python bench/bench_cluster.py
	$(BIN)/python bench/bench_llm.py
	$(BIN)/python bench/bench_flood.py
	$(BIN)/python bench/bench_signin.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_analytics.py
	$(BIN)/python bench/bench_optimise.py
	$(BIN)/python -m bench.bench_fhir_slots --database-url $(BENCH_POSTGRES)/bench_fhir

bench-reminders: $(VENV)/.dev
	$(BIN)/python bench/bench_reminders.py

BENCH_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432

# A clinic network on this machine (deploy/cluster.py): three web nodes, two job workers and
# nginx on 127.0.0.1:$(CLUSTER_PORT), on the PostgreSQL database scheduler_cluster; logs under
# $(CLUSTER_DIR)/logs. CLUSTER_FRESH=1 starts the database over.
CLUSTER_PORT ?= 8700
CLUSTER_DIR ?= $(or $(TMPDIR),/tmp)/medical-ai-scheduler-cluster

cluster: $(VENV)/.runtime $(MO)
	$(BIN)/python deploy/cluster.py start --dir $(CLUSTER_DIR) --port $(CLUSTER_PORT) $(if $(CLUSTER_FRESH),--fresh)

cluster-stop:
	$(BIN)/python deploy/cluster.py stop --dir $(CLUSTER_DIR)

# The portal's browser libraries (package.json, pinned; package-lock.json), copied into the tree
# with their licences: the vendored files are committed, so `make run` and CI need no Node.
VENDOR := adapters/static/vendor

vendor-js:
	npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	cp node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js-LICENSE.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
