# set-up, demo and tests; see README.md
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test test-faults bench lint clean

setup: $(BIN)/tipline
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (needed by 'tipline up' and the tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

$(BIN)/tipline: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

demo: setup
	$(BIN)/tipline demo

test: setup
	$(BIN)/pytest

test-faults: setup
	$(BIN)/pytest tests/faults --fault-repeats 5

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .tipline .pytest_cache .ruff_cache
