# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   create .venv, install s2label, run the pipeline on the bundled default scene
#   make test   create .venv if needed, install the test dependencies, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.s2label-installed
OUT    ?= outputs/sample

.PHONY: demo test env bench clean

$(STAMP): setup.cfg pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e ".[dev]"
	touch $(STAMP)

env: $(STAMP)

demo: env
	$(BIN)/s2label run --sample --out $(OUT)

test: env
	$(BIN)/python -m pytest

bench: env
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
