# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
WHEELS := pachyderm/wheels
# The stage image's interpreter (its base's python3) and platform, for the wheels it installs.
IMAGE_PYTHON := 3.11
IMAGE_PLATFORM := manylinux_2_28_$(shell uname -m)
# grpcio (pachyderm-sdk's) ships manylinux_2_17 wheels only; the image's glibc runs both.
SDK_PLATFORMS := --platform $(IMAGE_PLATFORM) --platform manylinux_2_17_$(shell uname -m)

.PHONY: run test wheels bench bench-peers clean

# The engine with the extras that running, plotting and testing the workflow need, and the stage
# scripts' pinned packages: the same versions the stage image installs; then pachyderm-sdk for
# batching stage code, --no-deps (pachyderm/requirements-sdk.txt says why).
$(BIN)/.installed: pyproject.toml scripts/requirements.txt pachyderm/requirements-sdk.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[workflow,report,docker,test]' -r scripts/requirements.txt
	$(BIN)/python -m pip install -q --no-deps -r pachyderm/requirements-sdk.txt
	touch $@

# The stage image's packages as wheels in its build context, so `docker build` needs no network.
$(WHEELS)/.downloaded: scripts/requirements.txt pachyderm/requirements-sdk.txt | $(BIN)/.installed
	rm -rf $(WHEELS)
	$(BIN)/python -m pip download -q -d $(WHEELS) -r scripts/requirements.txt --only-binary=:all: \
	  --python-version $(IMAGE_PYTHON) --implementation cp --abi cp$(subst .,,$(IMAGE_PYTHON)) \
	  --platform $(IMAGE_PLATFORM)
	$(BIN)/python -m pip download -q -d $(WHEELS) --no-deps -r pachyderm/requirements-sdk.txt \
	  --only-binary=:all: --python-version $(IMAGE_PYTHON) --implementation cp \
	  --abi cp$(subst .,,$(IMAGE_PYTHON)) $(SDK_PLATFORMS)
	touch $@

wheels: $(WHEELS)/.downloaded

run: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES)

# The linter first: a finding fails the run as a failing test would.
test: $(BIN)/.installed $(WHEELS)/.downloaded
	$(BIN)/ruff check src tests scripts benchmarks pipelines.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

bench: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/pfs_bench.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/pps_bench.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/scale_bench.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/workflow_bench.py

# The peer table of issue 14 (benchmarks/peers/run.sh): pachlite (a clone of HEAD) beside a plain
# Python floor, DVC 3.67 and Snakemake 9.27, which it installs into $(PEERS_ROOT)/venv. ~30 min.
PEERS_ROOT ?= $(CURDIR)/.peers
bench-peers: $(BIN)/.installed
	PEERS_ROOT=$(PEERS_ROOT) PACHLITE_VENV=$(abspath $(VENV)) PYTHON=$(PYTHON) bash benchmarks/peers/run.sh

clean:
	rm -rf .pachlite .snakemake results
