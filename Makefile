# The two set-up commands: `make run` and `make test`. Both create .venv and install
# everything they need on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench tools browser databases clean kube run-real

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## run: the service on its embedded default (SQLite + kubesim + bundled charts)
run: $(STAMP)
	$(BIN)/catalyst serve

## run-real: the service on SQLite against a real control plane (realkube) it starts; state
## in var/real. Ctrl-C stops both.
REAL := var/real
run-real: $(STAMP) kube
	CATALYST_DATA_DIR=$(REAL) CATALYST_KUBECONFIG=$(CURDIR)/$(REAL)/realkube.kubeconfig \
	  $(BIN)/realkube run --kubeconfig $(REAL)/realkube.kubeconfig --data-dir $(REAL)/realkube \
	  --rules src/catalyst/embedded/kubesim-rules.yaml -- $(BIN)/catalyst serve

## tools: outside programs the tests drive (kubectl)
tools:
	@command -v kubectl >/dev/null 2>&1 || { \
	  echo "kubectl not found: installing Debian's kubernetes-client"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client; }

## browser: Debian's Chromium, which the dashboard's browser tests drive (no browser download)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium not found: installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## databases: Debian's PostgreSQL and MariaDB server packages, which the suite starts
## throwaway servers from (skipped for a CATALYST_TEST_*_URL that is set)
databases:
	@./scripts/install-test-databases

## kube: the real control plane realkube runs (kube-apiserver, controller-manager, scheduler,
## etcd, kwok, kubectl), built from tools/kube into a cache outside the clone
kube:
	@./scripts/build-kube

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## test: everything — lint, types, and the whole pytest suite
test: $(STAMP) tools browser databases kube lint typecheck
	$(BIN)/pytest

bench: $(STAMP) kube
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
