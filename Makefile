# set-up, demo and tests; see README.md
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test test-faults bench bench-cluster lint lock clean

setup: $(BIN)/tipline $(VENV)/clients/.installed
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (needed by 'tipline up' and the tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The real CyberTipline clients the tests file through /ispws with (skipped where they cannot run).
$(VENV)/clients/.installed: tests/clients/requirements-python.txt tests/clients/package-lock.json | $(BIN)/tipline
	@tests/clients/install.sh $(VENV)/clients
	@touch $@

# The locked versions (requirements/*.txt, with hashes), then the project itself.
$(BIN)/tipline: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

# Re-resolve the locked versions after a change of pyproject.toml's dependencies.
lock: $(BIN)/tipline
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --quiet -o requirements/app.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o requirements/dev.txt

demo: setup
	$(BIN)/tipline demo

test: setup
	$(BIN)/pytest

test-faults: setup
	$(BIN)/pytest tests/faults --fault-repeats 5

bench: setup
	$(BIN)/python -m bench

# One node against a local 3-master Redis Cluster, in one run (docs/scaling.md).
bench-cluster: setup
	$(BIN)/python -m bench --phases pipeline,raw,cluster,cluster-replicas,wait --out bench/results/cluster

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .tipline .pytest_cache .ruff_cache
