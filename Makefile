# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench bench-reminders clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python app.py

test: $(VENV)/.dev
	$(BIN)/python -m pytest

# The benchmarks of BENCHMARKS.md (minutes, not part of `make test`); booking and reminders use
# databases of their own on the local PostgreSQL server, and reminders take several minutes.
bench: $(VENV)/.dev
	$(BIN)/python -m bench.bench_slots
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python -m bench.bench_booking
	$(BIN)/python bench/bench_sms.py
	$(BIN)/python bench/bench_llm.py
	$(BIN)/python bench/bench_flood.py

bench-reminders: $(VENV)/.dev
	$(BIN)/python bench/bench_reminders.py

clean:
	rm -rf $(VENV) .pytest_cache
