# The two commands: `make serve` and `make test`. Each creates .venv on first use and needs only
# Python 3.11+ and PyPI. System components (a browser, ...) are installed by .ci/run, not here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Extra pytest arguments, e.g. make test PYTEST_ARGS='-m "not ceph"'
PYTEST_ARGS ?=
# uv (from PyPI) installs into the venv 2-3x as fast as pip here (docs/performance.md,
# First start). USE_UV=0, or a failed uv install, falls back to pip alone.
USE_UV ?= 1
# pytest-xdist workers for `make test` (docs/performance.md, The test suite); a file stays on one
# worker (--dist loadfile), so its module-scoped servers and its order hold. TEST_WORKERS=0: serial.
TEST_WORKERS ?= 3
PYTEST_FLAGS ?= -q -rs --durations=20
# Left to their own CI stages (.ci/run): tests that assert latency bounds (tests/load), on a machine to
# themselves; the replica suites (several servers); the suites on the other real servers (Virtuoso,
# Ceph radosgw: Debian packages; the JuiceFS gateway: a minute of CPU); VitalSigns in its Python 3.12
# environment. The browser tests (tests/ui) run here and skip, naming the package, where Debian's
# Chromium is absent. `make test TEST_SELECTION=` runs everything.
TEST_SELECTION ?= -m "not measurement and not replicas and not vitalsigns and not virtuoso and not ceph and not juicefs"
PORT ?= 8001

.PHONY: serve test bench clean vitalsigns ui-vendor ui-screenshots

# Install $(1) into the venv: with uv when present, with pip if uv is absent or fails. Both compile the
# bytecode at install (uv only when asked): where PYTHONDONTWRITEBYTECODE is set, as on the CI machine,
# every process would otherwise compile each module it imports from source (a clean clone's `make test`
# took 672 s against 488 s with bytecode); the package's own modules are compiled the same way.
define install
	@if [ -x $(BIN)/uv ] && $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python $(1); then :; \
	else echo "installing with pip"; $(BIN)/pip install -q $(1); fi
	$(BIN)/python -m compileall -q -j 0 vitalgraph
endef

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "VitalGraph needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	@if [ "$(USE_UV)" = 1 ]; then $(BIN)/pip install -q uv || echo "uv not installable: using pip"; fi

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(call install,-e .)
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(call install,-e '.[test]')
	touch $@ $(VENV)/.serve-installed

serve: $(VENV)/.serve-installed
	$(BIN)/vitalgraph serve --host 127.0.0.1 --port $(PORT) --data-dir ./data

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_FLAGS) -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(TEST_SELECTION) $(PYTEST_ARGS)

# Every comparison of issue #18 in one run, one table (benchmarks/all.py); e.g. make bench BENCH_ARGS=--quick
BENCH_ARGS ?=
bench: $(VENV)/.test-installed
	$(call install,-e '.[bench]')
	$(BIN)/python benchmarks/all.py $(BENCH_ARGS)

# VitalSigns (the optional extra vitalgraph[vitalsigns]) needs Python 3.12+: a separate environment
# for the test that round-trips VitalSigns objects through the older client (tests/compat).
PYTHON312 ?= $(or $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null),$(lastword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python)))
VS_VENV := .venv-vitalsigns

$(VS_VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON312)" || { echo "VitalSigns needs Python 3.12+ and none was found (set PYTHON312=/path/to/python3.12)"; exit 3; }
	$(PYTHON312) -m venv $(VS_VENV)
	@if [ -x $(BIN)/uv ] && $(BIN)/uv pip install -q --compile-bytecode --python $(VS_VENV)/bin/python -e '.[vitalsigns]'; then :; \
	else $(VS_VENV)/bin/pip install -q --upgrade pip && $(VS_VENV)/bin/pip install -q -e '.[vitalsigns]'; fi
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
