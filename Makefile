# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-faults lint bench venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/minqing run

lint: $(STAMP)
	$(BIN)/ruff check minqing services gateway tests bench

test: $(STAMP) lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

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
	rm -rf $(VENV) var
