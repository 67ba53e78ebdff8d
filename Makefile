# lmforge — the targets a newcomer expects. Everything installs into .venv/.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
TORCH = torch==2.13.0

.PHONY: install demo test test-fast lint bench clean

# torch goes in FIRST and pinned: an unpinned torch pulls several GB of CUDA wheels.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/lmforge train --recipe sentiment-en-demo --out runs/demo --overwrite
	$(BIN)/lmforge evaluate runs/demo --data src/lmforge/recipes/data/rotten_tomatoes_test.csv
	printf '%s\n' "A gripping, beautifully acted film that stays with you." \
	  "A tedious mess with no idea what it wants to be." | $(BIN)/lmforge predict runs/demo --data -

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/python -m ruff check src tests bench

bench: install
	$(BIN)/python bench/train_throughput.py

clean:
	rm -rf runs .pytest_cache
