# One-command setup: every target creates the virtual environment (.venv) and installs the
# locked dependencies first. Needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV := UV_PYTHON_DOWNLOADS=never $(BIN)/python -m uv
export DO_NOT_TRACK := 1

.PHONY: setup demo test test-all lint bench bench-quick lock clean

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (PYTHON=$(PYTHON))")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(UV) pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.lock
	$(UV) pip install --python $(BIN)/python --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install everything

demo: setup ## the main job: local Umami, embedded warehouse, one sync, top courses
	$(BIN)/course-analytics demo

test: setup ## the whole test suite (ruff, sqlfluff, dbt build, pytest); slow reliability trials excluded
	$(BIN)/ruff check .
	$(BIN)/pytest $(if $(PG),--pg $(PG))

test-all: setup ## everything, including the slow reliability trials
	$(BIN)/ruff check .
	$(BIN)/pytest -m "" $(if $(PG),--pg $(PG))

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup ## full benchmark (long; see docs/benchmarks.md)
	$(BIN)/python bench/run.py --json bench-results.json

bench-quick: setup ## benchmark in under 3 minutes
	$(BIN)/python bench/run.py --quick --json bench-results.json

lock: ## re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --extra spark -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) .course-analytics .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
