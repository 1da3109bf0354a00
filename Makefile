# Every workflow is a target here. `make generate` and `make test` set everything up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
SPEC_URL ?= https://api.parallel.ai/account/service/openapi.json
FORMAT ?= text
SPEC_REPORT ?=
SPEC_OUTPUTS ?=
# These reach recipes through the environment ("$$SPEC_URL"), never pasted into a recipe
# line, and make never expands them: a `"`, `$(...)` or backtick in a value given on the
# command line or in the environment (a workflow's input) stays text and runs nothing.
override SPEC_URL := $(value SPEC_URL)
override FORMAT := $(value FORMAT)
override SPEC_REPORT := $(value SPEC_REPORT)
override SPEC_OUTPUTS := $(value SPEC_OUTPUTS)
export SPEC_URL FORMAT SPEC_REPORT SPEC_OUTPUTS
LINTED := overrides codegen tests
# node_modules/ at the versions in package-lock.json (npm ci): Prism for the contract tests,
# openapi-typescript for `make generate`, tsc for `make typecheck-ts`. CI installs Node.
NODE_STAMP := node_modules/.prism-installed

.PHONY: help venv generate check-generated spec lint format typecheck typecheck-ts unit test bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV_STAMP): requirements-dev.txt requirements-zipapp.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

venv: $(VENV_STAMP)  ## create .venv with the pinned tools (done on first use by every target)

generate: $(VENV_STAMP) $(NODE_STAMP)  ## regenerate generated/ (Python, TypeScript) from openapi.json (no network)
	$(PY) -m codegen.generate

check-generated: $(VENV_STAMP) $(NODE_STAMP)  ## fail with a diff if generated/ is not what `make generate` produces
	$(PY) -m codegen.generate --check

spec: $(VENV_STAMP)  ## fetch SPEC_URL, validate, normalise, replace openapi.json atomically
	$(PY) -m codegen.spec fetch "$$SPEC_URL" openapi.json

# Drift workflows (codegen/workflow.py; exit statuses: overrides/parallel_account_drift/exit_status.py).
.PHONY: spec-check spec-update lint-workflows

# Only the report reaches stdout (`make spec-check FORMAT=json > drift.json` is one JSON
# document): the recipe is not echoed, and setting up .venv on first use writes to stderr.
spec-check:  ## report drift of SPEC_URL from openapi.json (FORMAT=text|markdown|json); writes nothing
	@$(MAKE) --no-print-directory -s $(VENV_STAMP) >&2
	@$(PY) -m codegen.workflow check "$$SPEC_URL" --format "$$FORMAT"

# Passed through the environment so any shell command survives quoting.
spec-update: export SPEC_UPDATE_TEST_CMD ?= $(MAKE) --no-print-directory test
spec-update: $(VENV_STAMP)  ## adopt SPEC_URL: openapi.json, generated/, CHANGELOG.md, version, tests; all or nothing
	$(PY) -m codegen.workflow update "$$SPEC_URL" --report "$$SPEC_REPORT" --outputs "$$SPEC_OUTPUTS"

lint-workflows: $(VENV_STAMP)  ## check .github/workflows/*.yml against the GitHub workflow schema (offline)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

lint: $(VENV_STAMP)  ## ruff lint and format check
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

format: $(VENV_STAMP)  ## apply ruff's formatting and fixes
	$(VENV)/bin/ruff check --fix $(LINTED)
	$(VENV)/bin/ruff format $(LINTED)

typecheck: $(VENV_STAMP)  ## mypy --strict
	$(VENV)/bin/mypy $(LINTED)

typecheck-ts: $(NODE_STAMP)  ## tsc --noEmit: generated/typescript/ and examples/node/ (JSDoc types)
	node_modules/.bin/tsc --noEmit -p examples/node/tsconfig.json

# pytest-xdist: one worker per core; a module's tests stay on one worker (module fixtures,
# such as scratch repositories, are built once). PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= auto
PYTEST_ARGS := -q -n $(PYTEST_WORKERS) --dist loadscope
# The rehearsal runs `make spec-update`, its union with the full gate (`make test`) inside:
# `make rehearsal`, not `make unit`, so the gate is the whole suite but the rehearsal.
NOT_IN_UNIT := not rehearsal

# Bytecode for the packages first, as pip leaves an installed wheel: the suite starts
# hundreds of CLI and adapter processes, and under PYTHONDONTWRITEBYTECODE each would
# compile every module it imports from source. (tests/superset.py does the same there.)
BYTECODE := $(PY) -m compileall -q overrides generated

unit: $(VENV_STAMP)  ## pytest on openapi.json (all but the rehearsal)
	$(BYTECODE) >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS) -m "$(NOT_IN_UNIT)"

# The suite again on tests/data/account-openapi-superset.json (every schema construct,
# more operations), generated into a temporary copy of the repository: all but the tests
# about openapi.json's own bytes (pinned_spec) and those that read no spec but a frozen
# one (spec_independent: they would run the same again). tests/superset.py says how.
unit-superset: $(VENV_STAMP)  ## pytest on the frozen superset spec, in a temporary generated copy
	$(PY) -m tests.superset $(PYTEST_ARGS) -m "$(NOT_IN_UNIT) and not pinned_spec and not spec_independent"

# The two runs side by side: much of the suite waits (on servers, timeouts, child
# processes), so two xdist runs of one worker per core fill the cores that one leaves idle
# (on 2 cores: about 5 minutes together, 6.3 one after the other). Each run's output is
# printed whole when it ends (--output-sync).
test: check-generated lint lint-workflows typecheck typecheck-ts  ## everything CI runs but the rehearsal
	$(MAKE) --no-print-directory -j2 --output-sync=target unit unit-superset

.PHONY: unit-superset rehearsal
rehearsal: $(VENV_STAMP)  ## upstream changes through `make spec-update`; their union through the full gate (CI runs it)
	$(PY) -m pytest $(PYTEST_ARGS) -m rehearsal tests/test_rehearsal.py

# One file for teams without Python tooling: the CLI (mock-server, conformance, spec) for python3 >= 3.11.
# Built in a venv of its own holding only the pinned runtime dependencies
# (requirements-zipapp.txt): no development tools, no generator.
ZIPAPP := dist/parallel-account-mock.pyz
ZIPAPP_VENV := .venv-zipapp
ZIPAPP_STAMP := $(ZIPAPP_VENV)/.installed
.PHONY: zipapp

$(ZIPAPP_STAMP): requirements-zipapp.txt
	rm -rf $(ZIPAPP_VENV)
	$(PYTHON) -m venv $(ZIPAPP_VENV)
	$(ZIPAPP_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-zipapp.txt
	touch $@

zipapp: $(ZIPAPP_STAMP)  ## build dist/parallel-account-mock.pyz (reproducible; runs with any python3 >= 3.11)
	$(ZIPAPP_VENV)/bin/python -m codegen.zipapp --output $(ZIPAPP)

# Release files (codegen/dist.py): built from a clean copy of the files git knows, every
# timestamp SOURCE_DATE_EPOCH (the last commit's time unless set), so two runs give the
# same bytes. Only dist/*.tar.gz and dist/*.whl are replaced; build/ is removed.
.PHONY: dist
dist: $(VENV_STAMP) zipapp  ## build the sdist, wheel and zipapp into dist/, reproducibly (same bytes every run)
	rm -rf build
	$(PY) -m codegen.dist --out dist

bench: $(VENV_STAMP)  ## benchmarks, as ratios against bare httpx in the same run
	$(PY) -m tests.bench

# Contract mock: Stoplight Prism, at the exact version in package-lock.json.
PRISM_STAMP := $(NODE_STAMP)
.PHONY: prism

$(PRISM_STAMP): package.json package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "make: Node.js 18+ and npm \
	are needed for node_modules/ (openapi-typescript for make generate, tsc, Prism); install \
	them (e.g. apt-get install nodejs npm) and run make again" >&2; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

prism: $(PRISM_STAMP)  ## install the pinned Node tools (Prism, openapi-typescript, tsc) into node_modules/

# Only where Node, npm and the lock file exist;
# elsewhere the Prism tests skip, and fail when CI is set.
ifneq ($(and $(shell command -v node),$(shell command -v npm),$(wildcard package-lock.json)),)
unit unit-superset rehearsal: $(PRISM_STAMP)
endif
