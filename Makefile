# The two set-up commands: `make run` and `make test`. Both create .venv and install
# everything they need on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench tools databases clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## run: the service on its embedded default (SQLite + kubesim + bundled charts)
run: $(STAMP)
	$(BIN)/catalyst serve

## tools: outside programs the tests drive (kubectl)
tools:
	@command -v kubectl >/dev/null 2>&1 || { \
	  echo "kubectl not found: installing Debian's kubernetes-client"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client; }

## databases: Debian's PostgreSQL and MariaDB server packages, which the suite starts
## throwaway servers from (skipped for a CATALYST_TEST_*_URL that is set)
databases:
	@./scripts/install-test-databases

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## test: everything — lint, types, and the whole pytest suite
test: $(STAMP) tools databases lint typecheck
	$(BIN)/pytest

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
