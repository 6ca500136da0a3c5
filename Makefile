# Học bạ số — the two Quick-start commands and their bootstrap.
#   make demo [WORKSPACE=DIR]   run the whole plan on the bundled sample school
#   make test                   lint, type-check and run the test suite
# Both bootstrap what they need (Debian tools, .venv, the project) idempotently.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKSPACE ?= ./workspace
APT_PACKAGES := libxml2-utils xmlsec1 poppler-utils qpdf softhsm2 opensc zbar-tools chromium
# Two pytest workers, one test file each at a time: the tests use free ports and their own
# workspaces, so they run side by side (the suite also passes while a demo runs).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: demo test check bootstrap apt venv bench clean-workspace

demo: bootstrap
	$(BIN)/hbs demo --workspace $(WORKSPACE)

test: bootstrap check
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

check: bootstrap
	$(BIN)/ruff check hocbaso hbs tasks flows validation tests bench data
	$(BIN)/ruff format --check hocbaso hbs tasks flows validation tests bench data
	$(BIN)/mypy

bench: bootstrap
	$(BIN)/python bench/run_all.py

bootstrap: apt venv

# Debian tools the run and the tests use (xmllint, xmlsec1, pdfsig/pdftotext/pdfdetach,
# qpdf, SoftHSM2, pkcs11-tool, zbarimg). Installs only what is missing.
apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Cài đặt gói hệ thống:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.bootstrap-done

$(VENV)/.bootstrap-done: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

clean-workspace:
	-$(BIN)/hbs server stop --workspace $(WORKSPACE)
	rm -rf $(WORKSPACE)
