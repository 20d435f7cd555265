# The README's commands. `make test` sets everything up from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Debian packages the tests use: clang and lld build the WASM rule examples,
# sieve-connect is the real ManageSieve client the tests drive.
DEBIAN_TOOLS := clang:clang wasm-ld:lld sieve-connect:sieve-connect

.PHONY: install system-deps run test bench lint docs clean

install: $(STAMP)

system-deps:
	@missing=""; for pair in $(DEBIAN_TOOLS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		rm -rf $(VENV); apt-get update -q && apt-get install -y -q python3-venv && \
		$(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/stalwart-kernel --data ./var

test: install system-deps
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
