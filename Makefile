# Two commands: `make demo` and `make test`. Both create .venv and install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: demo test lint typecheck unit tools bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# System tools the tests drive for real: wixl/msiinfo (MSI fixtures), openssl (independent decoder),
# Azurite (Azure Storage emulator) from npm.
tools:
	@command -v wixl >/dev/null && command -v msiinfo >/dev/null && command -v openssl >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wixl msitools openssl >/dev/null; }
	@test -x node_modules/.bin/azurite-blob || npm ci --no-audit --no-fund --loglevel=error

demo: $(STAMP)
	$(BIN)/rollout render --stack sandbox

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

unit: $(STAMP) tools
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

test: $(STAMP) tools lint typecheck unit

bench: $(STAMP) tools
	$(BIN)/python -m benchmarks.intunewin

clean:
	rm -rf $(VENV) node_modules .mypy_cache .pytest_cache .ruff_cache
