# twin: two commands set everything up.
#   make run   create .venv, install (with JupyterLab and nbconvert), build the sample city model
#   make test  create .venv, install test tools and system packages, run every check
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSTEM_STAMP := /var/tmp/twin-system-packages.done

.PHONY: run test lint typecheck pytest bench bench-dask sample system-packages clean strip-notebooks

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebook]'
	$(BIN)/python -m pip install --quiet --no-deps gdal-utils
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (twin)" >/dev/null
	touch $@

run: $(STAMP)
	$(BIN)/twin run pipelines/kaiserslautern.toml

# The shipped sample: Kaiserslautern's inner city from an OpenStreetMap extract (data/raw/README.md).
OSM ?= ../shared/data/kaiserslautern-osm.osm.gz
sample: $(STAMP)
	$(BIN)/twin sample --from-osm $(OSM) --out data/raw

# QGIS (PyQGIS) and GDAL 3.6 from Debian, for the tests that open the output in real clients.
system-packages:
	@if [ -f $(SYSTEM_STAMP) ] || { command -v qgis >/dev/null && /usr/bin/python3 -c 'import qgis.core, osgeo' 2>/dev/null && command -v ogr2ogr >/dev/null; }; then \
	  echo "system packages present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    qgis python3-qgis gdal-bin python3-gdal >/dev/null && touch $(SYSTEM_STAMP); \
	else \
	  echo "warning: cannot install qgis/gdal-bin (not root or no apt-get); tests that need them are skipped"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check twin tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: $(STAMP) system-packages lint typecheck pytest

# Notebooks are stored without outputs (a test checks it); run this before committing one.
strip-notebooks: $(STAMP)
	$(BIN)/nbstripout --drop-empty-cells notebooks/*.ipynb

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-dask: $(STAMP)
	$(BIN)/python benchmarks/dask_bench.py

clean:
	rm -rf $(VENV) data/processed .pytest_cache .mypy_cache .ruff_cache
