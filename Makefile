# The two commands: `make serve` and `make test`. Each creates .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Extra pytest arguments, e.g. make test PYTEST_ARGS='-m "not ceph"'
PYTEST_ARGS ?=

.PHONY: serve test bench clean vitalsigns ui-vendor ui-screenshots

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "VitalGraph needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.serve-installed

serve: $(VENV)/.serve-installed
	$(BIN)/vitalgraph serve --host 127.0.0.1 --port 8001 --data-dir ./data

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.test-installed
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/transfer.py

# VitalSigns (the optional extra vitalgraph[vitalsigns]) needs Python 3.12+: a separate environment
# for the test that round-trips VitalSigns objects through the older client (tests/compat).
PYTHON312 ?= $(or $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null),$(lastword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python)))
VS_VENV := .venv-vitalsigns

$(VS_VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON312)" || { echo "VitalSigns needs Python 3.12+ and none was found (set PYTHON312=/path/to/python3.12)"; exit 3; }
	$(PYTHON312) -m venv $(VS_VENV)
	$(VS_VENV)/bin/pip install -q --upgrade pip
	$(VS_VENV)/bin/pip install -q -e '.[vitalsigns]'
	touch $@

vitalsigns: $(VS_VENV)/.installed

clean:
	rm -rf $(VENV) $(VS_VENV)

# Rebuilds the web app's vendored browser libraries from the pins in vitalgraph/api/ui/package-lock.json.
# Needs Node.js and npm; nothing else does (the built files are committed).
UI := vitalgraph/api/ui
ui-vendor:
	cd $(UI) && npm ci --ignore-scripts --no-audit --no-fund
	cp $(UI)/node_modules/tus-js-client/dist/tus.min.js $(UI)/static/vendor/tus.min.js
	cp $(UI)/node_modules/tus-js-client/LICENSE $(UI)/static/vendor/tus-js-client.LICENSE
	rm -rf $(UI)/node_modules

# Runs the browser tests and keeps their screenshots in docs/ui/ (for docs/ui.md). Needs Chromium.
ui-screenshots: $(VENV)/.test-installed
	VITALGRAPH_UI_SCREENSHOTS=docs/ui $(BIN)/python -m pytest -q tests/ui
