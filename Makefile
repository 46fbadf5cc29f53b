# browsertrain: `make run` sets everything up and serves the app on its sample data; `make test` sets up and tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# Every install is pinned by a constraints file per extra (constraints/*.txt: a `pip freeze` of a real resolve, made by
# `make lock`), so a fresh machine installs exactly what CI tested, and a later install (the benchmarks' torch) cannot
# move a package an earlier one needs (setuptools >= 81 removed the pkg_resources that the export extra imports).
CONSTRAINTS := constraints
# The benchmarks' CPU-only torch build (a local version, `+cpu`) comes from PyTorch's own index.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: setup postgresql run test test-fast test-js test-py lint format chromium export-extra bench bench-gpu bench-queue lock screenshots clean

setup: $(VENV)/.installed node_modules/.installed chromium

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)/test.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS)/test.txt pip setuptools wheel
	$(PY) -m pip install --quiet -c $(CONSTRAINTS)/test.txt -e '.[test]'
	touch $@

# Keras, SavedModel and TFLite exports need TensorFlow (the `export` extra, about 2.9 GB): a step of its own, so that
# `make run` stays light; `make test` installs it because the export tests run those formats.
export-extra: $(VENV)/.export-installed

$(VENV)/.export-installed: $(VENV)/.installed pyproject.toml $(CONSTRAINTS)/export.txt
	$(PY) -m pip install --quiet -c $(CONSTRAINTS)/export.txt -e '.[test,export]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium drives the browser tests and `browsertrain train`; Playwright's own browser download is not used.
chromium:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$BROWSERTRAIN_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "Install Chromium (Debian: sudo apt-get install chromium) or set BROWSERTRAIN_CHROMIUM"; exit 1; fi

# The `postgres` test tier starts a throwaway PostgreSQL cluster (tests/support/postgres.py) from Debian's server
# programs. Without them the tier is skipped, except under CI (the variable CI set), where it fails.
postgresql:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
	else echo "PostgreSQL is missing (Debian: sudo apt-get install postgresql): the postgres test tier will be skipped"; fi

run: setup
	$(VENV)/bin/browsertrain serve --host $(HOST) --port $(PORT)

test: setup postgresql test-js test-py

test-js: node_modules/.installed
	node --test tests/js/

test-py: $(VENV)/.installed $(VENV)/.export-installed
	$(PY) -m pytest --durations=15

# The quick loop while working on the server: every Python test but the `browser` and `slow` tiers (no Chromium
# needed; most API tests run the app in-process). The node tests (`make test-js`) and `make test` stay separate.
test-fast: $(VENV)/.installed $(VENV)/.export-installed
	$(PY) -m pytest -m "not browser and not slow"

# ruff (lint and format, configured in pyproject.toml), eslint (eslint.config.js) and tsc, which checks the JSDoc types
# of the page modules marked `// @ts-check` (jsconfig.json lists them); CI runs this before the tests.
lint: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint .
	npx --no-install tsc -p jsconfig.json

# Rewrites what `make lint` would refuse and can fix by itself.
format: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	npx --no-install eslint --fix .

# Benchmarks, not tests: PyTorch (CPU) and matplotlib are installed for them alone; tables and plots go to bench/results/.
# Installed under the export extra's pins too (bench.txt holds them), so that `make bench` cannot break exports.
$(VENV)/.bench-installed: $(VENV)/.installed bench/requirements.txt $(CONSTRAINTS)/bench.txt
	$(PY) -m pip install --quiet -c $(CONSTRAINTS)/bench.txt $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
		-r bench/requirements.txt
	touch $@

bench: setup $(VENV)/.bench-installed
	$(PY) -m bench

# The throughput benchmark on an NVIDIA GPU (bench/gpu.sh; results/gpu.*): the same installs as `make bench`. For PyTorch
# on CUDA, the bench's torch must be a CUDA build: see bench/README.md, "On a GPU".
bench-gpu: setup $(VENV)/.bench-installed
	bench/gpu.sh

# The job queue under 200 simulated workers, SQLite against PostgreSQL (bench/queue.py; results/queue.*). Needs
# PostgreSQL's server programs (Debian's postgresql; a throwaway cluster is made and removed), not the bench's torch.
bench-queue: setup
	$(PY) -m bench.queue

# Maintainers: re-resolve every extra in fresh virtual environments and rewrite constraints/*.txt (needs network).
lock:
	PYTHON=$(PYTHON) $(CONSTRAINTS)/lock.sh

# The README's screenshots (docs/screenshots/): its own server and Chromium, a short run of the sample, three pages.
screenshots: setup
	$(PY) -m tools.screenshots

clean:
	rm -rf $(VENV) node_modules data
