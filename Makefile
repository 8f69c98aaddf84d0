# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

.PHONY: run test test-e2e venv-run venv-dev migrate demo serve worker clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

venv-run: $(VENV)/.run-deps
venv-dev: $(VENV)/.dev-deps

migrate: venv-run
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) zarts demo

## run: install, migrate, load demo data (first run only), serve on http://$(HOST):$(PORT) with jobs in-process
run: demo
	@echo "zarts is starting on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT)

## test: install dev deps and run the whole suite (SQLite; MariaDB + Redis with TEST_DATABASE_URL/TEST_REDIS_URL)
test: venv-dev
	$(PY) -m pytest -m "not e2e"

## test-e2e: real-browser tests in Debian's Chromium (apt-get install -y chromium); screenshots to docs/screenshots
test-e2e: venv-dev
	E2E_REQUIRED=1 $(PY) -m pytest -m e2e

## serve: the production web server for wsgi:app (gunicorn + gevent; HOST, PORT, WEB_WORKERS, WEB_CONNECTIONS, WEB_KEEPALIVE: see serve.py)
serve: venv-run
	$(PY) serve.py

## worker: WORKERS (default 2) RQ worker processes, each restarted if it dies; run on any number of hosts
worker: venv-run
	$(PY) worker.py --processes $(WORKERS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
