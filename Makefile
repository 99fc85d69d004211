# The two commands a user needs: `make demo` and `make test`. Both set up everything first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BENCH := $(VENV)/bin/bench
STAMP := $(VENV)/.installed
FMNIST_DIR := /usr/share/datasets/fashion-mnist

.PHONY: setup data demo test perf clean

setup: $(STAMP) data

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade --quiet pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Fashion-MNIST comes from Debian's dataset-fashion-mnist; elsewhere the loader falls back to
# torchvision's download into the data root.
data:
	@if [ -f $(FMNIST_DIR)/t10k-images-idx3-ubyte.gz ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing dataset-fashion-mnist (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	else \
		echo "note: dataset-fashion-mnist is not installed and cannot be installed here (needs root + apt);"; \
		echo "      the loader will try torchvision's download into \$${BENCH_DATA:-./data}."; \
	fi

demo: setup
	$(BENCH) build-corruptions --dataset fashion-mnist --resume
	$(BENCH) corruptions list --manifest data/corrupted/fashion-mnist-c/manifest.json
	$(BENCH) corruptions preview --dataset fashion-mnist --index 0 --out data/corrupted/fashion-mnist-c/preview.png
	@echo "demo: Fashion-MNIST-C in data/corrupted/fashion-mnist-c/, preview at data/corrupted/fashion-mnist-c/preview.png"

test: setup
	$(VENV)/bin/python -m pytest -n 2 tests

perf: setup
	$(BENCH) perf corruptions

clean:
	rm -rf data/corrupted runs leaderboard/site
