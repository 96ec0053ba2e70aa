# SafeUnit's front door. `make run` serves the demo; `make test` runs the whole suite.
# Both set up everything they need first (virtualenv, front-end assets, translations).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench setup setup-dev browser lint format messages makemessages clean-data

run: setup
	$(PY) scripts/stack.py run

test: setup-dev browser
	$(PY) scripts/stack.py test $(ARGS)

# Benchmarks (DESIGN §9): prints `<name>: <value> <unit>` lines; `make bench ARGS=ingest` runs one.
bench: setup
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(PY) scripts/stack.py exec -- $(PY) bench/run.py $(ARGS)

setup: $(VENV)/.base node_modules/.stamp messages

setup-dev: setup $(VENV)/.dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.base: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.base
	$(PY) -m pip install --quiet ".[dev]"
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Compiled catalogues are build output (git-ignored); msgfmt comes from Debian's gettext.
messages: $(VENV)/.base
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext >/dev/null)
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

# Headless Chromium for the browser tests comes from Debian's package, installed when missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

# Refresh the .po catalogues after changing translatable strings.
makemessages: $(VENV)/.base
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=node_modules --ignore=.data --no-obsolete

clean-data:
	rm -rf .data
