# Two commands matter: `make run` and `make test`. Everything else is what they call.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The stamps change with pyproject.toml, so `make install` is idempotent and re-runs
# only when dependencies change. `install` is what the server needs (`make run`);
# `install-dev` adds the test and lint tools (`make test` and the other targets).
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-dev install-browser index run test test-fast eval eval-safety soak bench lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: the local CPU build, never the multi-GB CUDA one.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	rm -f $(VENV)/.installed-*
	touch $@

install-dev: $(DEV_STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.dev-installed-*
	touch $@

# Browser tests: Debian's Chromium (never a downloaded browser), Playwright for Python
# (in the dev extras) and axe-core from the npm registry.
BROWSER_STAMP := $(VENV)/.browser-ready
install-browser: $(BROWSER_STAMP)

$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json | $(DEV_STAMP)
	test -x /usr/bin/chromium || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	cd tests/browser && npm ci --no-audit --no-fund --silent
	touch $@

index: install
	$(BIN)/bot build

run: install
	$(BIN)/bot serve --host 127.0.0.1 --port 8000

# One pytest-xdist worker per CPU; a test file stays on one worker (its module fixtures,
# e.g. the eval suites' real-model indexes, are built once).
PYTEST_WORKERS ?= logical
# The tests' temporary files on tmpfs where it has room (4 GB; pytest keeps its last three
# runs' folders, ~0.4 GB each): their SQLite commits and index publishes fsync, which costs
# milliseconds each on a virtual disk and nothing in memory.
TEST_TMPDIR := $(shell [ "$$(df -k --output=avail /dev/shm 2>/dev/null | tail -1)" -gt 4000000 ] 2>/dev/null && echo /dev/shm)
test: install-dev install-browser
	$(BIN)/ruff check bot tests bench
	$(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR)) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test-fast: install-dev
	$(BIN)/python -m pytest -m "not integration"

# The labelled set against the real model; prints the table (also in test-artifacts/eval.txt).
eval: install-dev
	$(BIN)/python -m pytest tests/test_eval_set.py -q
	cat test-artifacts/eval.txt

# Safety prompts: the published sets in ../shared/eval-external (when present beside the
# checkout) and our own blind safety set, over the shipped corpus with the real model.
SAFETY_EXTERNAL ?= ../shared/eval-external
eval-safety: install
	$(BIN)/bot eval-safety --index $(CURDIR)/var/safety-index \
		$(wildcard $(SAFETY_EXTERNAL)/safety.jsonl $(SAFETY_EXTERNAL)/false_alarms.jsonl) \
		$(wildcard tests/fixtures/eval/blind-safety*/questions.jsonl)

# The benchmark (bench/README.md): synthetic 1k and 10k pages, one table, and
# bench/results/latest.json. BENCH_ARGS=--quick for a smoke run; --large adds 100k pages.
bench: install-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The long load test (5 minutes at a steady rate); `make test` runs a 20-second version.
soak: install-dev
	SOAK_SECONDS=300 $(BIN)/python -m pytest tests/test_soak.py -q -s

lint: install-dev
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

format: install-dev
	$(BIN)/ruff format bot tests
	$(BIN)/ruff check --fix bot tests

clean:
	rm -rf $(VENV) index/builds index/CURRENT
