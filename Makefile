# vidvec: `make demo` and `make test` each set everything up from nothing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export VIDVEC_HOME ?= $(CURDIR)/.vidvec
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PATH := $(CURDIR)/$(BIN):$(PATH)
# A French football debrief, Cristiano Ronaldo's goals in Japanese, Apple's iPad
# Pro in Portuguese, a Galaxy Note unboxing in Korean.
DEMO_VIDEOS := ZKZM40f8d2Q 4BZb9VAmTmo _rC8MFgeMhI HQjtBOdG_fQ
# Queries the demo's recall audit draws (Qdrant Edge answers each in about a millisecond).
AUDIT_SAMPLE ?= 400
# The collection behind videos__next, from `vidvec collections --json`.
export NEXT_OF := import json, sys; print(next(s["name"] for s in json.load(sys.stdin) if "videos__next" in s["aliases"]))

.PHONY: venv airflow-setup demo test test-fast lint docs docs-build package-check bench bench-scale clean bq-emulator chromium promtool redis

# The BigQuery emulator (local-bigquery) needs Python >= 3.13: its own venv.
BQ_VENV := .venv-bq
PY313 ?= $(firstword $(foreach p,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13),\
	$(shell $(p) -V >/dev/null 2>&1 && echo $(p))))

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

airflow-setup: venv
	mkdir -p $(AIRFLOW_HOME) $(VIDVEC_HOME)
	airflow db migrate > $(AIRFLOW_HOME)-migrate.log 2>&1 || (cat $(AIRFLOW_HOME)-migrate.log; exit 1)
	airflow pools set vidvec_store 1 "tasks that open the embedded store (Qdrant Edge) / DuckDB file" > /dev/null

demo: airflow-setup
	vidvec catalog load include/data/videos.csv.gz
	airflow dags test vidvec_full_rebuild 2>&1 | tee $(VIDVEC_HOME)/rebuild.log | grep -E "rows/s|texts/s|finished in|Marking run|ERROR" || true
	grep -q "state=success" $(VIDVEC_HOME)/rebuild.log || (tail -50 $(VIDVEC_HOME)/rebuild.log; exit 1)
	airflow dags test vidvec_recall_audit -c '{"target": "videos__next", "sample": $(AUDIT_SAMPLE)}' 2>&1 \
	  | tee $(VIDVEC_HOME)/audit.log | grep -E "audit report:|recall audit .* failed|Marking run|ERROR" || true
	grep -q "state=success" $(VIDVEC_HOME)/audit.log || (tail -50 $(VIDVEC_HOME)/audit.log; exit 1)
	NEXT=$$(vidvec collections --json | python -c "$$NEXT_OF"); \
	  airflow dags test vidvec_promote -c "{\"collection\": \"$$NEXT\"}" 2>&1 \
	  | tee $(VIDVEC_HOME)/promote.log | grep -E "refused|Marking run|ERROR" || true
	grep -q "state=success" $(VIDVEC_HOME)/promote.log || (tail -50 $(VIDVEC_HOME)/promote.log; exit 1)
	vidvec collections
	vidvec audit videos --sample $(AUDIT_SAMPLE)
	@echo; echo "Service levels as Prometheus reads them (vidvec metrics; README \"Service levels\"):"
	vidvec metrics | grep -E '^vidvec_(recall\{.*slice="overall"|coverage_ratio|unindexed_ratio|audit_age_seconds)'
	@for v in $(DEMO_VIDEOS); do echo; vidvec similar $$v --k 6; done
	@echo; vidvec similar ZKZM40f8d2Q --k 3 --language fr

# Tests that need it are skipped (with the reason) when no python3.13 exists.
bq-emulator: $(BQ_VENV)/.installed
$(BQ_VENV)/.installed: requirements-bq-emulator.txt
	@if [ -z "$(PY313)" ]; then echo "bq-emulator: no python3.13 found; BigQuery tests will be skipped"; \
	else set -e; test -d $(BQ_VENV) || $(PY313) -m venv $(BQ_VENV); \
	$(BQ_VENV)/bin/pip install -q -r requirements-bq-emulator.txt; \
	mkdir -p $(BQ_VENV)/home; \
	HOME=$(CURDIR)/$(BQ_VENV)/home $(BQ_VENV)/bin/python -c "from duckdb_extensions import import_extension; \
	[import_extension(n) for n in ('icu', 'ducklake', 'spatial')]"; \
	touch $@; fi

# The browser test (tests/ui/test_in_the_browser.py) drives Debian's chromium with Playwright;
# nothing downloads a browser. As root (CI) it is installed here; the test must then run, not skip.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) > /dev/null; fi
	@test -x $(CHROMIUM) || echo "chromium: none at $(CHROMIUM); the browser test will be skipped"

# The Celery test (tests/dags/test_celery.py) starts Debian's redis-server as its broker; as root (CI) it is
# installed here; the test starts and stops its own on a free loopback port.
REDIS ?= /usr/bin/redis-server
redis:
	@if [ ! -x $(REDIS) ] && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) > /dev/null; fi
	@test -x $(REDIS) || echo "redis: none at $(REDIS); the Celery test will be skipped"

# promtool (Debian's prometheus package) checks and unit-tests ops/prometheus/vidvec.rules.yml
# (tests/test_alert_rules.py). As root (CI) it is installed here; those tests must then run, not skip.
PROMTOOL ?= /usr/bin/promtool
promtool:
	@if [ ! -x $(PROMTOOL) ] && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) \
	  > /dev/null; fi
	@test -x $(PROMTOOL) || echo "promtool: none at $(PROMTOOL); the alert rule tests will be skipped"

test: venv bq-emulator chromium promtool redis docs-build
	VIDVEC_TEST_REQUIRE_BROWSER=$$(test -x $(CHROMIUM) && echo 1) \
	  VIDVEC_TEST_REQUIRE_PROMTOOL=$$(test -x $(PROMTOOL) && echo 1) pytest

# The edit-test loop: everything not marked slow (no encoder or Airflow end to end).
test-fast: venv
	pytest -m "not slow"

# ruff and mypy over the library and the Airflow glue (settings in pyproject.toml).
lint: venv
	ruff check .
	mypy

# The documentation site (mkdocs.yml): built strictly in `make test`, served by `make docs`.
export NO_MKDOCS_2_WARNING := 1
docs-build: venv
	mkdocs build --strict --quiet

docs: venv
	mkdocs serve

# `pip install .` into a fresh venv gives a working `vidvec` (about 2 minutes; not part of test).
PKG_VENV := $(CURDIR)/.venv-pkg
package-check:
	rm -rf $(PKG_VENV) && $(PYTHON) -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/pip install -q .
	$(PKG_VENV)/bin/vidvec --help > /dev/null
	VIDVEC_HOME=$(PKG_VENV)/home $(PKG_VENV)/bin/vidvec collections
	rm -rf $(PKG_VENV)

bench: venv
	mkdir -p $(VIDVEC_HOME)
	python -m bench --markdown $(VIDVEC_HOME)/bench.md --json $(VIDVEC_HOME)/bench.json

# 100k, 300k and 1M videos through every job (about 40 minutes here; data under VIDVEC_SCALE_DIR,
# default /tmp/vidvec-scale, about 15 GB at 1M, deleted after each size). Not part of test or bench.
bench-scale: venv
	mkdir -p $(VIDVEC_HOME)
	python -m bench.scale --markdown $(VIDVEC_HOME)/bench-scale.md --json $(VIDVEC_HOME)/bench-scale.json

clean:
	rm -rf .vidvec .airflow .airflow-migrate.log .venv-bq .venv-pkg .site
