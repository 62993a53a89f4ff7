# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-faults lint bench venv clean web screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# the web console: npm ci from the committed lock file, then the build; both skipped when up to date
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build
	touch $@

web: web/dist/index.html

run: $(STAMP) web/dist/index.html
	$(BIN)/minqing run

lint: $(STAMP)
	$(BIN)/ruff check minqing services gateway tests bench

test: $(STAMP) lint web/dist/index.html
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# PNGs of the console's main pages (PC and phone) under docs/screenshots/, from a real platform in Chromium
screenshots: $(STAMP) web/dist/index.html
	MINQING_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser/test_screenshots.py

# kill -9 every process, restart RabbitMQ and PostgreSQL under load; prints the reconciled counts
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q -s tests/faults

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# every benchmark, each beside raw broker / raw database baselines of the same run, then the plot (~15 min)
bench: $(BENCH_STAMP)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/plot.py

clean:
	rm -rf $(VENV) var web/node_modules web/dist
