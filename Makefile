# Two set-up commands: `make demo` (the main job) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
R_DEBS := r-base-core r-cran-reticulate r-cran-testthat r-cran-jsonlite r-cran-ggplot2

.PHONY: install demo test test-python test-r r-deps bench bench-peers bench-peers-all bench-peers-sequence readme clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: install
	$(VENV)/bin/tfdeeprec demo --out out/demo

r-deps:
	@if ! Rscript -e 'library(reticulate); library(testthat); library(jsonlite); library(ggplot2)' >/dev/null 2>&1; then \
		echo "installing R from Debian: $(R_DEBS)"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(R_DEBS); \
	fi

test: install r-deps test-python test-r

# Two workers (the CI machine's cores); a test file stays on one worker, so the
# conformance suite's module fixtures (every model trained once) are built once.
TEST_WORKERS ?= 2

test-python: install
	$(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadfile --durations=15

test-r: install r-deps
	RETICULATE_PYTHON=$(abspath $(PY)) Rscript -e 'testthat::test_local("r_bridge", stop_on_failure = TRUE)'

# Each writes bench/results/NAME.json and its README table; ml-100k comes from
# ../shared/data/fetch_ml100k.sh. About 45 minutes on 2 cores in all.
BENCHES := negative_sampling full_ranking_eval sparse_adam neumf_speed ml100k_models \
	two_tower_ml100k retrieval retrieval_export serving_load sequence_planted

bench: install
	for b in $(BENCHES); do $(PY) bench/$$b.py || exit 1; done

# Against the peers: tfdeeprec train beside RecBole 1.2.1, implicit 0.7.3 and Surprise
# 1.1.5 (each in its own venv, bench/peers/setup.sh) on the same ml-100k split files.
# About 50 minutes (the CTR rows about 38, xDeepFM 17 of them), plus the peers' first
# installs (a few minutes); bench-peers-all runs
# every row of bench/peers_ml100k.py (2 to 3 hours at 1 thread).
bench-peers: install
	$(PY) bench/peers_ml100k.py

bench-peers-all: install
	$(PY) bench/peers_ml100k.py --all

# GRU4Rec, SASRec and BERT4Rec on both sides, leave-one-out by time; RecBole gets up to
# 30 minutes of training per model. About 2 hours at 1 thread.
bench-peers-sequence: install
	$(PY) bench/peers_ml100k.py --only "GRU4Rec,SASRec,BERT4Rec,Pop (next item),ItemKNN (next item),NeuMF (next item)" --write

# Streaming Criteo: tfdeeprec train --data criteo:FILE beside RecBole 1.2.1's DeepFM on
# generated files of 1M and 10M rows (kept in ~/.cache/tfdeeprec/criteo_bench with
# RecBole's copies, about 6 GB), 2 threads. About 20 minutes; not part of `bench`.
.PHONY: bench-streaming
bench-streaming: install
	$(PY) bench/criteo_streaming.py

# The README's model table, regenerated from the registry (a test keeps them equal).
readme: install
	$(PY) -c 'from tfdeeprec.tables import update_readme; update_readme("README.md")'

clean:
	rm -rf $(VENV) out .pytest_cache
