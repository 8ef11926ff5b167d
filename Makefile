# Two commands on a fresh machine: `make quickstart` (the main job, end to end) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install quickstart ablation test space bench browser deepspeed clean

install: $(STAMP)

# torch first and exactly 2.13.0: that CPU wheel lies on disk; anything looser pulls a CUDA build.
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,benchmarks,lmms]"
	$(PY) -m pip install -q --no-deps lmms-eval==0.7.3  # why --no-deps: setup.py, extra "lmms"
	touch $(STAMP)

quickstart: install
	$(VENV)/bin/sdvlm-quickstart --output_dir outputs/quickstart

ablation: install
	$(VENV)/bin/sdvlm-ablation --output_dir outputs/ablation

space: install
	$(VENV)/bin/sdvlm-space

bench: install
	$(PY) benchmarks/bench_dpe.py
	$(PY) benchmarks/bench_depth_in_situ.py
	$(PY) benchmarks/bench_depth_processor.py
	$(PY) benchmarks/bench_metric.py
	$(PY) benchmarks/bench_synthetic.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/fuzz_inputs.py

# Debian's chromium + chromedriver for the Space's real-browser test; never a browser download.
# Best effort: the browser test skips with a reason where they cannot be installed.
browser:
	-@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  ( (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 || \
	    echo "chromium could not be installed; the browser test will skip" )

# The `.[deepspeed]` extra for the ZeRO-2/3 tests. Best effort: they skip with a reason where it cannot install.
deepspeed: install
	-@$(PY) -c "import deepspeed" >/dev/null 2>&1 || $(PY) -m pip install -q -e ".[deepspeed]" || \
	  echo "deepspeed could not be installed; the DeepSpeed tests will skip"

test: install browser deepspeed
	$(PY) -m pytest

clean:
	rm -rf $(VENV) outputs .pytest_cache
