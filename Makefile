# digitlab: `make run` starts the drawing app, `make test` runs every check.
# Both work on a fresh clone: they create .venv, install, fetch MNIST, then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
MNIST := data/mnist.npz
HOST ?= 127.0.0.1
PORT ?= 8866

.PHONY: install data run test lint browser cluster-tools cluster cluster-stop bench serve notebooks clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

data: $(MNIST)

$(MNIST): | $(INSTALLED)
	$(PY) -m digitlab data fetch

run: install data
	$(PY) -m digitlab app --host $(HOST) --port $(PORT)

browser:
	bash scripts/ensure-chromium.sh

# Debian postgresql and nginx: the store and replica tests start their own servers on loopback.
cluster-tools:
	bash scripts/ensure-cluster-tools.sh

# 2 serve replicas behind nginx (HTTP :8000, cameras :8001) on one PostgreSQL store.
cluster: install data cluster-tools
	$(PY) -m digitlab cluster start

cluster-stop:
	$(PY) -m digitlab cluster stop

lint: install
	$(PY) -m ruff check digitlab serve tests bench

test: install data browser cluster-tools lint
	$(PY) -m pytest

# Tesseract 5 (apt) and RapidOCR (its own venv, bench/.venv-peers), which bench/read.py reads against.
.PHONY: bench-peers
bench-peers:
	bash scripts/ensure-bench-peers.sh

bench: install data bench-peers
	$(PY) bench/predict.py
	$(PY) bench/read.py
	$(PY) bench/train.py --arch fast
	$(PY) bench/retrain.py
	$(PY) bench/app.py
	$(PY) bench/serve.py

serve: install data
	$(PY) -m digitlab serve

notebooks: install data
	$(PY) -m jupyter lab notebooks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
