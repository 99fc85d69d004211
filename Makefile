# The two commands a user needs: `make demo` and `make test`. Both set up everything first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BENCH := $(VENV)/bin/bench
STAMP := $(VENV)/.installed
FMNIST_DIR := /usr/share/datasets/fashion-mnist

.PHONY: setup oracle data browser demo test perf reports leaderboard verify gpu-check clean

# the shipped submissions, baseline first (every mCE is relative to it)
SUBMISSIONS := baseline bls_aug jpeg_aug bmshj_aug jpeg2000_aug webp_aug avif_aug noise_aug blur_aug dct_aug \
	dct_noise_aug bls_top2 jpeg_timm \
	reduced_vgg reduced_vgg_bls band_weights band_uniform
PROFILE ?= cpu

setup: $(STAMP) data

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade --quiet pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory oracle
	touch $(STAMP)

# CompressAI, the test oracle of the learned codecs (and the reference of `bench perf codec`),
# never a dependency of the product: it declares numpy<2, so it goes in without its declared
# requirements, beside the few modules it imports (see shared/reference/codec_anchors.md)
oracle:
	$(VENV)/bin/pip install --quiet --no-deps compressai==1.2.8 torch-geometric==2.8.1 \
		einops==0.8.2 pytorch-msssim==1.0.0
	$(VENV)/bin/pip install --quiet xxhash aiohttp fsspec psutil pyparsing

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

# the browser test drives Debian's chromium (Playwright, no browser download)
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium (apt) for the leaderboard's browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "note: /usr/bin/chromium is missing and cannot be installed here (needs root + apt);"; \
		echo "      the browser tests will be skipped (and fail under CI=true)."; \
	fi

demo: setup
	$(BENCH) build-corruptions --dataset fashion-mnist --resume
	$(BENCH) corruptions list --manifest data/corrupted/fashion-mnist-c/manifest.json
	$(BENCH) corruptions preview --dataset fashion-mnist --index 0 --out data/corrupted/fashion-mnist-c/preview.png
	$(BENCH) run --submission submissions/baseline.yaml --profile demo --reports runs/demo/reports --quiet
	$(BENCH) run --submission submissions/bls_aug.yaml --profile demo --reports runs/demo/reports --quiet
	$(BENCH) leaderboard --reports runs/demo/reports --out runs/demo/site --quiet
	@echo "demo: Fashion-MNIST-C in data/corrupted/fashion-mnist-c/, preview at data/corrupted/fashion-mnist-c/preview.png,"
	@echo "      the demo's reports in runs/demo/reports/, its site at runs/demo/site/index.html"
	@echo "      (the committed leaderboard: make leaderboard). What the demo showed:"
	@$(BENCH) statistics --reports runs/demo/reports | grep -v "^wrote"

# the tests, then every committed number recomputed (ci reruns from scratch, one cpu unit
# and one cpu study part drawn from the commit among those that took at most 30 s, site
# read back); make verify draws a demo unit too and allows 60 s: the budget of make test
# (15 minutes from a fresh clone) leaves no room for it; the slowest tests are listed so
# that a CI log shows where that budget goes
test: setup browser
	$(VENV)/bin/python -m pytest -n 2 --durations=12 tests
	$(BENCH) verify --zoo-sample 2 --rerun ci,cpu:1:30

leaderboard: setup
	$(BENCH) leaderboard

verify: setup
	$(BENCH) verify --zoo-sample 2 --rerun ci,cpu:1:60,demo:1:60

# the CUDA path on one GPU (tests against the CPU, perf, the reduced gpu profiles, the thesis
# grid's projection), every result under OUT; without a GPU it says so and skips (exit 0)
gpu-check: setup
	OUT=$${OUT:-runs/gpu-check} $(VENV)/bin/python scripts/gpu_check.py

perf: setup
	$(BENCH) perf corruptions
	$(BENCH) perf codec
	$(BENCH) perf train
	$(BENCH) perf eval

# the reported numbers: every shipped submission's $(PROFILE) profile into reports/ (resumable:
# finished units are skipped, a killed one resumes from its last epoch)
reports: setup
	@for s in $(SUBMISSIONS); do $(BENCH) run --submission submissions/$$s.yaml --profile $(PROFILE) || exit $$?; done

clean:
	rm -rf data/corrupted runs leaderboard/site
