# oiocli developer entry points. Only Python 3.11+ (with pip reaching PyPI) is needed.
#
#   make demo       tour of the `oio` CLI on a throw-away embedded namespace
#   make test       lint, then the test suite (without `slow` tests) on 2 workers
#   make test-all   lint, then every test, slow ones included
#   make test-cluster  the real-cluster checks and conformance scenarios against a real
#                   OpenIO SDS namespace (OIO_TEST_PROXY=host:port, or one it starts)
#   make test-interop  OpenIO's own client (7.3.0) against `oio namespace serve`: see tests/interop
#   make test-tier  the cloud tier: tests/cloud and the conformance suite on a SeaweedFS bucket
#   make lint       ruff check + ruff format --check + mypy (the type checker)
#   make bench      benchmarks against this machine's limits (BENCH_ARGS='--quick' for ~1 min)
#   make man        regenerate man/oio.1 and the shell completions from the command tree
#   make test-deps  Debian packages some tests use (zsh, fish, man-db; they skip without)
#   make clean      build artefacts and caches (keeps .venv); `make distclean` removes .venv too

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Interpreter used only to create the virtualenv when it is missing.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
VPY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
BENCH_ARGS ?=
# OpenIO's client (openio CLI + Python API) for test-interop: the virtualenv that
# ../shared/peers/openio/openio-sds.sh setup builds, or one made here from a source
# checkout given by OIO_SDS_SRC (github.com/open-io/oio-sds, tag 7.3.0).
OIO_SDS_SRC ?=
OIO_SDS_VENV ?= $(if $(OIO_SDS_SRC),$(CURDIR)/.venv-openio,/tmp/oio-sds-peer/venv)
# Loosened pins under which OpenIO 7.3.0's client runs on Python 3.11.
OIO_SDS_DEPS := 'cliff<4' 'urllib3<1.27' 'eventlet<0.34' six pyeclib simplejson 'werkzeug<3' \
	pyyaml 'setuptools<70'

# A real OpenIO SDS 7.3.0 namespace for `make test-cluster`: the one at OIO_TEST_PROXY
# (host:port of its proxy; OIO_TEST_NS names it, default OPENIO), or else one this
# script builds (setup, idempotent) and starts (start wipes it), stopped afterwards.
OIO_SDS_SCRIPT ?= ../shared/peers/openio/openio-sds.sh
CLUSTER_TESTS := tests/cluster tests/conformance -k cluster

# Re-install when the packaging metadata changes (the stamps live inside the venv).
PKG_FILES := setup.cfg setup.py pyproject.toml

.PHONY: help demo test test-all test-cluster test-interop test-tier lint bench bench-repeat man \
	test-deps clean distclean \
	venv venv-test

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

# Created only when absent: an existing .venv is never recreated.
$(VPY):
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 not found" >&2; exit 1; }
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 needed")'
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PKG_FILES) | $(VPY)
	$(VPY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(PKG_FILES) | $(VPY)
	$(VPY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash demo/tour.sh

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(VENV)/.installed-test
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# pyproject.toml's addopts deselect `slow`; an empty -m given later selects everything.
test-all: $(VENV)/.installed-test
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) -m '' $(PYTEST_ARGS)

# The summary at the end says how many scenarios ran on the cluster, how many were not
# applicable (by the capability they lack) and how fast deleted chunks left the rawx.
test-cluster: $(VENV)/.installed-test
	@if [ -n "$$OIO_TEST_PROXY" ]; then \
		echo "### OpenIO namespace at $$OIO_TEST_PROXY"; \
		$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(CLUSTER_TESTS) $(PYTEST_ARGS); \
	else \
		script="$(OIO_SDS_SCRIPT)"; \
		if [ ! -x "$$script" ]; then \
			echo "test-cluster: no $$script: set OIO_TEST_PROXY=host:port of an OpenIO" \
				"namespace, or OIO_SDS_SCRIPT to a script that starts one (README)" >&2; \
			exit 2; \
		fi; \
		"$$script" setup && "$$script" start || exit 1; \
		trap '"$$script" stop' EXIT; \
		eval "$$("$$script" env)"; \
		OIO_TEST_PROXY="$$OIO_PROXYD_URL" OIO_TEST_NS="$$OIO_NS" \
			$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(CLUSTER_TESTS) $(PYTEST_ARGS); \
	fi

# tests/cloud runs in `test` too; the conformance suite on the tier only here.
test-tier: $(VENV)/.installed-test
	OIO_TEST_TIER=1 $(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) tests/cloud \
		tests/conformance -k 'tier or cloud'

# The interop suite is not part of `test` (its `interop` marker is deselected there).
test-interop: $(VENV)/.installed-test
	@if [ -n "$(OIO_SDS_SRC)" ]; then $(MAKE) --no-print-directory openio-venv; fi
	@test -x "$(OIO_SDS_VENV)/bin/openio" || { echo "OpenIO's client not found in \
	$(OIO_SDS_VENV): run ../shared/peers/openio/openio-sds.sh setup, or give OIO_SDS_SRC \
	(a checkout of github.com/open-io/oio-sds at tag 7.3.0) or OIO_SDS_VENV" >&2; exit 1; }
	OIO_SDS_VENV="$(OIO_SDS_VENV)" $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -m interop \
		tests/interop $(PYTEST_ARGS)

# OpenIO's client installed from OIO_SDS_SRC into $(OIO_SDS_VENV) (once per source tree).
.PHONY: openio-venv
openio-venv:
	@test -d "$(OIO_SDS_SRC)/oio" || { echo "OIO_SDS_SRC=$(OIO_SDS_SRC): not an oio-sds tree" >&2; exit 1; }
	@if [ ! -x "$(OIO_SDS_VENV)/bin/openio" ]; then \
		$(PYTHON) -m venv "$(OIO_SDS_VENV)" && \
		"$(OIO_SDS_VENV)/bin/pip" install --quiet --upgrade pip && \
		"$(OIO_SDS_VENV)/bin/pip" install --quiet $(OIO_SDS_DEPS) pbr wheel && \
		PBR_VERSION=7.3.0 "$(OIO_SDS_VENV)/bin/pip" install --quiet --no-deps \
			--no-build-isolation "$(OIO_SDS_SRC)"; \
	fi

bench: $(VENV)/.installed
	$(VPY) -m benchmarks $(BENCH_ARGS)

# Two runs in a row, then whether they agree on every ratio (within 15%; exit 1 if not).
bench-repeat: $(VENV)/.installed
	$(VPY) -m benchmarks $(BENCH_ARGS)
	$(VPY) -m benchmarks $(BENCH_ARGS)
	$(VPY) -m benchmarks.compare $$(ls -t benchmarks/results/*.json | head -2 | tac)

# The completion tests run in zsh and fish and the man page test in man-db's man; they
# skip (saying why) when one is missing. A fresh CI machine runs this before `make test`.
TEST_DEBS := zsh fish man-db
test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi

# Generated from the command tree, committed, and installed with the package (setup.cfg
# data_files); tests fail when they are out of date.
man: $(VENV)/.installed
	$(VPY) -m oiocli.commands.manpage man/oio.1
	$(VENV)/bin/oio complete --shell bash > completions/oio.bash
	$(VENV)/bin/oio complete --shell zsh > completions/_oio
	$(VENV)/bin/oio complete --shell fish > completions/oio.fish

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
