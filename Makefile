# chaosplane — every command a developer or CI needs. `make help` lists them.
# Images are built locally (debootstrap + docker import + offline pip); nothing is pulled.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The install stamp is keyed on pyproject.toml's content and the compiled checker core's sources
# (harness/checker/native, built by pip install -e): edit either and `make venv` reinstalls.
PYPROJECT_HASH := $(shell cat pyproject.toml setup.py harness/checker/native/Cargo.* \
  harness/checker/native/src/*.rs 2>/dev/null | sha256sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(PYPROJECT_HASH)
PYTEST_ARGS ?=
# rustup puts cargo in ~/.cargo/bin, which a non-login shell (CI) may not have on PATH: the
# compiled checker core builds when cargo is found, else the Python search decides.
export PATH := $(PATH):$(HOME)/.cargo/bin

.PHONY: help venv images browser test test-unit run smoke lint format bench proto clean distclean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv (python3.11) and install chaosplane[harness,dev,raftos] (idempotent)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[harness,dev,raftos]'
	@# raftos 0.2.6 pins packages that do not build on 3.11: install it alone, without them.
	$(BIN)/python -m pip install -q --no-deps raftos==0.2.6
	@rm -f $(VENV)/.installed-* && touch $@

images: venv ## build the base/app/link-proxy images (installs debootstrap and zstd if missing)
	@missing=""; \
	  command -v debootstrap >/dev/null || missing="$$missing debootstrap"; \
	  command -v zstd >/dev/null || missing="$$missing zstd"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; apt-get update -qq && apt-get install -y -qq $$missing; \
	  fi
	$(BIN)/chaosplane build

test: venv images browser ## unit, plugin and Docker integration tests (exit 5 "no tests" counts as a pass)
	@rc=0; $(BIN)/pytest tests $(PYTEST_ARGS) || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

browser: ## headless Chromium for the report's browser test (Debian's chromium, if missing)
	@command -v chromium >/dev/null || { echo "installing chromium"; \
	  apt-get update -qq && apt-get install -y -qq chromium; }

test-unit: venv ## unit tests only (no Docker)
	@rc=0; $(BIN)/pytest tests/unit $(PYTEST_ARGS) || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

run: venv images ## the main job: the default scenario suite (scenarios/suite), reports and an index
	$(BIN)/chaosplane run scenarios/suite

smoke: venv images ## bring a cluster up, write and read a key through an apiserver, tear down
	$(BIN)/python -m harness.cluster.smoke

lint: venv ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy harness controlplane linkproxy tests benchmarks

format: venv ## ruff format + autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv images ## benchmarks (JSON lines on stdout)
	@for script in benchmarks/*.py; do echo "# $$script" >&2; $(BIN)/python $$script; done

proto: venv ## regenerate controlplane/apiserver/protobuf/{k8s,gnostic}/*_pb2.py from their .proto files
	controlplane/apiserver/protobuf/regenerate.sh

clean: ## reap Docker leftovers of dead runs; remove tool caches (live runs are left alone)
	@if [ -x $(BIN)/chaosplane ]; then $(BIN)/chaosplane clean; fi
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## also the image cache (.cache/images), the images and .venv
	-docker images -q --filter label=chaosplane.image | sort -u | xargs -r docker rmi -f
	rm -rf .cache $(VENV)
