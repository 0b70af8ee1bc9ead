# WorkSafe Fujian — two commands: `make run` (platform with demo data) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export WORKSAFE_DEV ?= True
export DEBUG ?= False

.PHONY: run test test-browser test-pg lint messages bench faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Run the platform on SQLite under var/ with the demo dataset at http://$(HOST):$(PORT);
## simulated gateways feed the live monitoring board in-process (no broker needed)
run: install
	$(BIN)/worksafe migrate --no-input
	$(BIN)/worksafe collectstatic --no-input -v0
	$(BIN)/worksafe demo
	$(BIN)/worksafe serve --host $(HOST) --port $(PORT) --simulate

## Lint, migration check, translation check and the test suite (SQLite unless DATABASE_URL is set)
test: install
	$(BIN)/ruff check .
	$(BIN)/worksafe makemigrations --check --dry-run
	$(BIN)/python -m worksafe.core.i18n_check
	$(BIN)/python -m pytest -m "not browser"

## Browser tests: Playwright driving the system Chromium (/usr/bin/chromium)
test-browser: install
	$(BIN)/python -m pytest -m browser

## Compile the zh_Hans catalogue after editing locale/zh_Hans/LC_MESSAGES/django.po
messages: install
	cd worksafe && ../$(BIN)/worksafe compilemessages -l zh_Hans

## Every fault-injection scenario: the tests start their own PostgreSQL and Mosquitto (several minutes)
faults: install
	$(BIN)/python -m pytest worksafe/monitoring/tests/faults -m "faults or not faults"

## Benchmarks on PostgreSQL (docs/performance.md): the enterprise list, then telemetry ingest
bench: install
	$(BIN)/python bench/enterprise_list.py
	$(BIN)/python bench/telemetry.py

## Telemetry ingest only: MQTT → evaluated → durable → alarm state, with its own Mosquitto (~3 min)
.PHONY: bench-telemetry
bench-telemetry: install
	$(BIN)/python bench/telemetry.py

clean:
	rm -rf $(VENV) var build *.egg-info
