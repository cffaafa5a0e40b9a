# Developer and CI entry points. Everything runs through uv; on a machine without uv the first
# target that needs it installs a pinned uv into .tools/ with the machine's python3.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables
.DELETE_ON_ERROR:

PYTHON ?= python3
# Python 3.8 for `make test-py38`, handed to uv as an absolute path (uv does not look into pyenv).
# First that runs as a 3.8: the override `make PY38=/path/to/python3.8` (or PYTHON38=), else
# `python3.8` on PATH (a pyenv shim can be on PATH and still refuse to run when 3.8 is not a
# selected pyenv version), else `pyenv which python3.8` with PYENV_VERSION set to pyenv's newest 3.8,
# else the newest $PYENV_ROOT/versions/3.8*/bin/python3.8. Resolved once, on first use.
PY38 ?=
PYTHON38 ?= $(PY38)
PY38_FIND := for p in $(if $(PYTHON38),'$(PYTHON38)',python3.8 \
	"$$(PYENV_VERSION="$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.8(\.|$$)' | sort -V | tail -n 1)" pyenv which python3.8 2>/dev/null)" \
	"$$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.8*/bin/python3.8 2>/dev/null | sort -V | tail -n 1)"); do \
	[ -n "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 8); print(sys.executable)' 2>/dev/null && break; done
PYTHON38_EXE = $(eval PYTHON38_EXE := $(shell $(PY38_FIND)))$(PYTHON38_EXE)
UV_VERSION := 0.13.9

# Never let uv download a Python build: use the interpreters on the machine.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system

# Use a working `uv` on PATH if there is one (`uv --version` also weeds out a pyenv shim for a
# Python that has no uv), else the one bootstrapped into .tools/.
UV_ON_PATH := $(shell command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1 && command -v uv)
ifeq ($(UV_ON_PATH),)
UV := $(CURDIR)/.tools/bin/uv
else
UV := $(UV_ON_PATH)
endif

# Locally `--frozen` installs exactly what uv.lock says without re-resolving. In CI (CI=true)
# `--locked` additionally fails if uv.lock is out of date with pyproject.toml.
CI ?=
LOCK_FLAG := $(if $(filter true 1,$(CI)),--locked,--frozen)
# `--all-packages` installs every workspace member (adapters/*) too: one environment, one test run.
SYNC := sync $(LOCK_FLAG) --all-packages
RUN := run --frozen --no-sync

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

# A venv when the machine can make one; otherwise (Debian without python3-venv) pip --target,
# which needs only pip itself.
$(CURDIR)/.tools/bin/uv:
	if $(PYTHON) -m venv .tools >/dev/null 2>&1; then \
		.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); \
	else \
		rm -rf .tools; \
		echo "note: '$(PYTHON) -m venv' is unavailable; installing uv with pip --target" >&2; \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .tools/lib uv==$(UV_VERSION); \
		mkdir -p .tools/bin && ln -sf ../lib/bin/uv .tools/bin/uv; \
	fi

.PHONY: uv
uv: $(UV) ## install uv into .tools/ unless it is on PATH

.PHONY: demo
demo: $(UV) ## run the README's demo
	$(UV) run --frozen paycancel demo

.PHONY: test
test: $(UV) ## lint, format check, mypy, import contracts, tests (default Python)
	$(UV) $(SYNC)
	$(UV) $(RUN) ruff check .
	$(UV) $(RUN) ruff format --check .
	$(UV) $(RUN) mypy
	$(UV) $(RUN) lint-imports
	$(UV) $(RUN) pytest

.PHONY: test-py38
test-py38: export UV_PROJECT_ENVIRONMENT := .venv-py38
test-py38: $(UV) ## tests under Python 3.8 (in .venv-py38)
	@test -n "$(PYTHON38_EXE)" || { echo "error: no working Python 3.8$(if $(PYTHON38), at '$(PYTHON38)',) (tried PY38=, PATH, pyenv); set PY38=/path/to/python3.8" >&2; exit 1; }
	$(UV) $(SYNC) --python '$(PYTHON38_EXE)'
	$(UV) $(RUN) --python '$(PYTHON38_EXE)' pytest

.PHONY: docs-gen
docs-gen: $(UV) ## regenerate the generated docs
	$(UV) run python -m paycancel._docgen

.PHONY: bench
bench: $(UV) ## run the benchmarks (core, wire, antom); results go in benchmarks/RESULTS.md
	$(UV) run --frozen python benchmarks/core.py
	$(UV) run --frozen python benchmarks/wire.py
	$(UV) run --frozen python benchmarks/antom.py

.PHONY: fmt
fmt: $(UV) ## format and apply safe lint fixes
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

.PHONY: lock
lock: $(UV) ## re-resolve uv.lock after changing dependencies
	$(UV) lock

.PHONY: clean
clean: ## remove environments, caches and build artifacts
	rm -rf .venv .venv-py38 .tools build dist site \
		.mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache .coverage htmlcov
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -not -path './.git/*' -exec rm -rf {} +
