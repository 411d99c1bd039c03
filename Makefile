# kerasloss: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EPOCHS ?=
LOGDIR ?= runs
PORT   ?= 6006
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install test demo bench dashboard docs clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[tensorflow,jax,torch,test,examples,docs]"
	touch $(STAMP)

# a second virtualenv without TensorFlow: what `pip install "kerasloss[jax]"` gives (JAX on CPU)
NOTF_VENV  := .venv-without-tensorflow
NOTF_STAMP := $(NOTF_VENV)/.installed

$(NOTF_STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(NOTF_VENV)
	$(NOTF_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NOTF_VENV)/bin/python -m pip install --quiet -e ".[jax]" pytest hypothesis
	touch $(NOTF_STAMP)

# the suite once per Keras backend, one backend per process, two processes at a time (JAX beside
# TensorFlow, then PyTorch: much of a suite waits on subprocesses, servers and compilers, so two
# share 2 cores well), each backend's output printed whole when it ends; a failure stops the rest.
# Then the documentation site in strict mode (a broken link or a bad docstring fails).
# JAX keeps its compiled programs in .cache/jax: tests that compile the same loss on the same
# shapes compile it once (tests/losses/test_catalogue_parity.py: 54 s -> 43 s from an empty cache)
JAX_CACHE := JAX_COMPILATION_CACHE_DIR=$(CURDIR)/.cache/jax JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
	JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0
test: install
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-jax test-tensorflow test-torch
	$(VENV)/bin/mkdocs build --strict --quiet
	@$(MAKE) --no-print-directory test-browser

BACKEND_SUITES := test-tensorflow test-jax test-torch
.PHONY: $(BACKEND_SUITES)
$(BACKEND_SUITES): test-%: install
	KERAS_BACKEND=$* $(if $(filter jax,$*),$(JAX_CACHE)) $(PY) -m pytest -q

# without TensorFlow installed: the tab, report and summary tests, and a fit with LossMonitor whose
# logs are read back, in a process that must never import tensorflow
.PHONY: test-without-tensorflow
test: test-without-tensorflow
test-without-tensorflow: $(NOTF_STAMP)
	KERAS_BACKEND=jax $(NOTF_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/kerasloss_tensorboard tests/test_without_tensorflow.py

# the "kerasloss" tab and the report in headless Chromium, last in `make test`. Chromium is looked for
# on PATH (docs/screenshot.py's names) and installed with apt-get when root on Debian; without it the
# tests are skipped and said so, unless KERASLOSS_REQUIRE_BROWSER=1 (set by .ci/run) makes that an error.
BROWSER_TESTS := tests/kerasloss_tensorboard/test_browser.py tests/kerasloss_tensorboard/test_report_browser.py
FIND_CHROMIUM := $(PY) -c 'import sys; sys.path.insert(0, "docs"); import screenshot; print(screenshot.find_chromium() or "")'
.PHONY: test-browser
test-browser: install
	@chromium="$$($(FIND_CHROMIUM))"; \
	if [ -z "$$chromium" ] && [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  chromium="$$($(FIND_CHROMIUM))"; \
	fi; \
	if [ -z "$$chromium" ]; then \
	  echo "SKIPPED: the browser tests ($(BROWSER_TESTS)):"; \
	  echo "  no Chromium on PATH, and none can be installed here (that needs root and apt-get)."; \
	  echo "  To run them: install Chromium (Debian/Ubuntu: apt-get install chromium), then: make test-browser"; \
	  if [ "$(KERASLOSS_REQUIRE_BROWSER)" = 1 ]; then echo "KERASLOSS_REQUIRE_BROWSER=1: a missing browser fails"; exit 1; fi; \
	else \
	  KERAS_BACKEND=tensorflow KERASLOSS_BROWSER_TEST=1 $(PY) -m pytest -q $(BROWSER_TESTS); \
	fi

demo: install
	$(PY) examples/factorization.py --logdir $(LOGDIR)/factorization $(if $(EPOCHS),--epochs $(EPOCHS))

bench: install
	$(PY) benchmarks/bench_losses.py
	$(PY) benchmarks/bench_losses.py --backend jax
	$(PY) benchmarks/bench_losses.py --backend torch
	$(PY) benchmarks/bench_callbacks.py
	$(PY) benchmarks/bench_calibration.py
	$(PY) benchmarks/bench_calibration.py --backend jax
	$(PY) benchmarks/bench_calibration.py --backend torch
	$(PY) benchmarks/bench_ledger.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_report.py

docs: install
	$(VENV)/bin/mkdocs build --strict

dashboard: install
	$(VENV)/bin/tensorboard --logdir $(LOGDIR) --host 127.0.0.1 --port $(PORT)

clean:
	rm -rf $(VENV) $(NOTF_VENV) *.egg-info .pytest_cache .hypothesis site .cache
