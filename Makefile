# crosscheck: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE_PEOPLE ?= 20000
SAMPLE_SEED ?= 7
SAMPLE_AS_OF ?= 2026-11-01
DELIVERIES := sample_data/deliveries
DELIVERY := $(DELIVERIES)/$(SAMPLE_AS_OF)
# The demo's workbench accounts (demo only: choose real passwords with `crosscheck users add`).
DEMO_PASSWORD ?= demo-workbench-2026

# No telemetry, nothing downloaded at run time.
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup sample demo test check browser deploy-tools serve clean bench bench-workbench

setup: $(BIN)/crosscheck

$(BIN)/crosscheck: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "crosscheck needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,spark]'
	@touch $@

sample: setup
	rm -rf $(DELIVERY)
	$(BIN)/crosscheck sample --out $(DELIVERY) --people $(SAMPLE_PEOPLE) --seed $(SAMPLE_SEED) --as-of $(SAMPLE_AS_OF)

demo: sample
	$(BIN)/python -m flows.nightly --deliveries $(DELIVERIES) --out reports/demo
	@$(BIN)/crosscheck users list | grep -q '^demo-supervisor ' || echo '$(DEMO_PASSWORD)' | $(BIN)/crosscheck users add demo-supervisor --role supervisor --unmask --password-stdin
	@$(BIN)/crosscheck users list | grep -q '^demo-reviewer ' || echo '$(DEMO_PASSWORD)' | $(BIN)/crosscheck users add demo-reviewer --role reviewer --password-stdin
	@echo "Workbench: $(BIN)/crosscheck workbench   then open http://127.0.0.1:8765/ as demo-supervisor (or demo-reviewer), password $(DEMO_PASSWORD)"

# The browser test needs Debian's chromium, the xlsx-to-PDF test LibreOffice (and poppler-utils);
# without them those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) ; } || \
	  echo "chromium not installed: the browser test will be skipped"
	@command -v libreoffice >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc poppler-utils >/dev/null) ; } || \
	  echo "libreoffice not installed: the findings.xlsx-to-PDF test will be skipped"

# The deployment test runs `systemd-analyze verify` on deploy/'s units (Debian's systemd package);
# without it that test is skipped and says why.
deploy-tools:
	@command -v systemd-analyze >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null) ; } || \
	  echo "systemd-analyze not installed: the deployment test will be skipped"

# Two test processes (CI has two cores); a test file stays in one process, its fixtures built once.
TEST_WORKERS ?= 2

test: setup browser deploy-tools
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The quick loop while developing: every test but the end-to-end ones (tests/conftest.py END_TO_END).
check: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not e2e"

clean:
	rm -rf $(VENV) reports $(DELIVERIES) .prefect .pytest_cache

# Schedule the nightly run (cron from crosscheck.toml) and serve it; starts a local Prefect server if PREFECT_API_URL is unset.
# SIGTERM or Ctrl-C stops it all within 10 s. LOG_FILE=path: the service's events there too (or log_file in crosscheck.toml).
serve: setup
	$(BIN)/python -m flows.serve $(if $(LOG_FILE),--log-file $(LOG_FILE))

# City-scale benchmark (1M and 10M residents, generated once under BENCH_DIR): appends to BENCHMARKS.md.
BENCH_DIR ?= /tmp/crosscheck-bench
BENCH_PEOPLE ?= 50000,1000000,10000000
# Spark rows (local mode and a two-worker standalone cluster) for cities up to this size (0: none; about 10 minutes at 1M).
BENCH_SPARK_MAX ?= 0
bench: $(BIN)/python bench-workbench
	BENCH_DIR=$(BENCH_DIR) $(BIN)/python bench/run_bench.py --people $(BENCH_PEOPLE) --spark-max $(BENCH_SPARK_MAX)

# The workbench under load: 20 reviewers on 100,000 clues while a run records; writes its BENCHMARKS.md section.
bench-workbench: $(BIN)/python
	$(BIN)/python bench/workbench_bench.py --write
