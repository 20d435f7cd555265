# The README's commands. `make test` sets everything up from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		rm -rf $(VENV); apt-get update -q && apt-get install -y -q python3-venv && \
		$(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/stalwart-kernel --data ./var

test: install
	$(BIN)/ruff check kernel plugins tests
	$(BIN)/python -m pytest -q

bench: install
	for f in tests/bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

lint: install
	$(BIN)/ruff check kernel plugins tests
	$(BIN)/ruff format --check kernel plugins tests

docs: install
	$(BIN)/python -m kernel.docgen

clean:
	rm -rf $(VENV) build dist .pytest_cache
