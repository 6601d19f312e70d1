# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,report]'
	touch $@

run: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES)

test: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

bench: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/pfs_bench.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/pps_bench.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/workflow_bench.py

clean:
	rm -rf .pachlite .snakemake results
