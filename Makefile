# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   create .venv, install s2label, run the pipeline on the bundled default scene
#   make test   create .venv if needed, install the test dependencies, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.s2label-installed
OUT    ?= outputs/sample

.PHONY: demo test test-fast env chromium bench docs clean

$(STAMP): setup.cfg pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e ".[dev]"
	$(BIN)/python -m s2label.clustering.warmup
	touch $(STAMP)

env: $(STAMP)

demo: env
	$(BIN)/s2label run --sample --out $(OUT)

# The browser tests (tests/widget, marker `browser`) drive JupyterLab in Debian's headless chromium;
# install it when missing (apt-get, through sudo unless root). Without apt-get they skip themselves.
chromium:
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: env chromium
	$(BIN)/python -m pytest

# for development (about 3 min): everything but the whole-scene runs, the browser, the notebooks, Dask clusters
# and the tests of the default encoder trained on a real crop
test-fast: env
	$(BIN)/python -m pytest -m "not slow and not browser and not notebook and not dask and not learned"

bench: env
	$(BIN)/python benchmarks/pipeline.py

# the documentation site, into docs/_build/html (open index.html); every warning is an error. The notebooks are
# executed into docs/notebooks/ on a small part of the scene when they changed (S2LABEL_DOCS_EXECUTE=always|never)
docs: env
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) outputs .pytest_cache
