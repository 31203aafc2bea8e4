# Two commands do all the set-up: `make serve` and `make test`.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= var/store

.PHONY: serve test lint typecheck check bench bench-1m bench-serve bench-reliability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/claimgraph serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

bench: $(STAMP)
	mkdir -p bench/out
	$(BIN)/python -m bench.run --sizes 10000,100000 --out bench/out/bench.md

bench-1m: $(STAMP)
	mkdir -p bench/out
	$(BIN)/python -m bench.run --sizes 1000000 --out bench/out/bench-1m.md
	$(BIN)/python -m bench.run --sizes 1000000 --validation-only --out bench/out/validation-1m.md

bench-serve: $(STAMP)
	$(BIN)/python -m bench.throughput --statements 100000

# Reliability under load (50 clients, 60 s), then kill -9 during writes and during a load.
bench-reliability: $(STAMP)
	$(BIN)/python -m bench.reliability
	$(BIN)/python -m bench.reliability --crash

clean:
	rm -rf $(VENV) var
