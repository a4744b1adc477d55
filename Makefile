# The two README commands: `make demo` (install + the main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow test-installed lint benchmark lite-runs train-lite reproduce-lite model-card clean

# The opencv packages share one cv2 folder: the contrib build (CSRT/KCF) is reinstalled last, at its resolved version.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e ".[lite,eval,dev,supervision,demo,onnx]"
	$(PIP) install -q --force-reinstall --no-deps $$($(PIP) freeze | grep -i '^opencv-contrib-python-headless==')
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/unicorn track unicorn/assets/sample.mp4 --task sot --box 42,86,36,68 --out runs/quickstart --overwrite

test: $(STAMP)
	$(PY) -m ruff check unicorn tests tools demo
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# The web demo from a wheel installed into a fresh environment outside the checkout (a few minutes).
test-installed: $(STAMP)
	UNICORN_TEST_INSTALLED=1 $(PY) -m pytest -q tests/test_installed_demo.py

benchmark: $(STAMP)
	$(PY) tools/benchmark.py

# Train the bundled default from scratch on this CPU (about 7 minutes on 2 cores), then package it.
# It reads the real training clips from ../shared/train_data (configs/lite/memory.yaml). Training is
# deterministic on one CPU process; `make reproduce-lite` trains into runs/lite-repro and compares.
LITE_RUNS ?= runs/lite
lite-runs: $(STAMP)
	$(PY) tools/train.py configs/lite/memory.yaml output_dir=$(LITE_RUNS)

train-lite: lite-runs
	$(PY) tools/bundle_lite.py $(LITE_RUNS)/lite_memory --overwrite

reproduce-lite:
	$(MAKE) lite-runs LITE_RUNS=runs/lite-repro
	$(PY) tools/compare_weights.py runs/lite-repro/lite_memory/weights.safetensors unicorn/assets/unicorn-lite.safetensors

model-card: $(STAMP)
	$(PY) tools/model_card.py --out docs/unicorn-lite

clean:
	rm -rf $(VENV) runs .pytest_cache
