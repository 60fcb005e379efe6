# The two commands: `make serve` and `make test`. Each creates .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Extra pytest arguments, e.g. make test PYTEST_ARGS='-m "not ceph"'
PYTEST_ARGS ?=

.PHONY: serve test bench clean ui-vendor ui-screenshots

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

clean:
	rm -rf $(VENV)

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
