# Two commands: `make run` serves the portal with demo data; `make test` sets up and runs every test.
VENV    := .venv
PY      := $(VENV)/bin/python
PYTHON  ?= python3
ASSETS  := static/vendor/.stamp

.PHONY: run test lint format messages setup setup-test system-deps-run system-deps-test clean

run: setup
	$(VENV)/bin/portal run

# Prerequisites are made left to right: system packages first, since npm may be among them.
setup: system-deps-run $(VENV)/.stamp-run $(ASSETS)

setup-test: system-deps-test $(VENV)/.stamp-test $(ASSETS)

system-deps-run:
	@bash scripts/system-deps.sh run

system-deps-test:
	@bash scripts/system-deps.sh test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-run: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-run
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

# Front-end libraries, then content-hashed copies of every static file (portal digest):
# compiled again whenever a tracked static file changes.
$(ASSETS): package.json package-lock.json $(shell git ls-files static) | $(VENV)/.stamp-run
	npm ci --no-audit --no-fund --loglevel=error
	bash scripts/vendor-assets.sh
	@touch $@

test: setup-test lint
	$(VENV)/bin/pytest -q -p no:cacheprovider
	$(VENV)/bin/pytest -q -p no:cacheprovider -m db --db=postgresql

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.stamp-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Extract every _() string for translators (portal/translations/messages.pot).
messages: $(VENV)/.stamp-run
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o portal/translations/messages.pot .

clean:
	rm -rf $(VENV) node_modules static/vendor test-artifacts
