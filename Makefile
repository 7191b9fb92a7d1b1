# PilotLab developer entry points. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 2
TEST_WORKERS ?= auto

.PHONY: run test test-postgres validate bench lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Two stamps: serving needs only the package's own dependencies; tests, lint and benchmarks add the dev extra.
$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-core

run: $(VENV)/.installed-core  ## install what serving needs, migrate, seed the demo pilots, serve on http://127.0.0.1:$(PORT)
	PILOTLAB_DEMO=1 $(BIN)/pilotlab db upgrade
	PILOTLAB_DEMO=1 $(BIN)/pilotlab demo
	PILOTLAB_DEMO=1 exec $(BIN)/gunicorn -c gunicorn.conf.py --workers $(WORKERS) --bind 127.0.0.1:$(PORT) wsgi:app

test: $(VENV)/.installed  ## the full suite on SQLite (browser tests need /usr/bin/chromium), one worker per core
	$(BIN)/pytest -n $(TEST_WORKERS)

test-postgres: $(VENV)/.installed  ## the same suite against PostgreSQL (each worker in its own database)
	PILOTLAB_TEST_DATABASE_URL=$${PILOTLAB_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest -n $(TEST_WORKERS)

validate: $(VENV)/.installed  ## large simulations: the sequential designs, the QA analyses, then the stress matrix (hours on 2 cores)
	$(BIN)/python bench/validate_sequential.py
	$(BIN)/python bench/validate_qa.py
	$(BIN)/python bench/validate_stress.py

bench: $(VENV)/.installed  ## speed and memory figures (long: the org-scale runs last build databases of millions of audits)
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_import_memory.py
	$(BIN)/python bench/bench_results.py
	$(BIN)/python bench/bench_plan.py
	$(BIN)/python bench/bench_pages.py
	$(BIN)/python bench/bench_serving.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_ingest.py --rows 200000 --moderators 2000
	$(BIN)/python bench/bench_ingest.py --rows 200000 --moderators 50000
	$(BIN)/python bench/bench_ingest.py --rows 200000 --moderators 2000 --bodies
	$(BIN)/python bench/bench_scaling.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
