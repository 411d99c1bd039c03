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

# the suite once per Keras backend, one backend per process; stops at the first that fails;
# then the documentation site in strict mode (a broken link or a bad docstring fails)
test: install
	KERAS_BACKEND=tensorflow $(PY) -m pytest -q
	KERAS_BACKEND=jax $(PY) -m pytest -q
	KERAS_BACKEND=torch $(PY) -m pytest -q
	$(VENV)/bin/mkdocs build --strict --quiet

# without TensorFlow installed: the tab, report and summary tests, and a fit with LossMonitor whose
# logs are read back, in a process that must never import tensorflow
.PHONY: test-without-tensorflow
test: test-without-tensorflow
test-without-tensorflow: $(NOTF_STAMP)
	KERAS_BACKEND=jax $(NOTF_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/tensorboard tests/test_without_tensorflow.py

# the "kerasloss" TensorBoard tab in headless Chromium (Debian's chromium, installed when missing)
.PHONY: test-browser
test: test-browser
test-browser: install
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver)
	KERAS_BACKEND=tensorflow KERASLOSS_BROWSER_TEST=1 $(PY) -m pytest -q tests/tensorboard/test_browser.py tests/tensorboard/test_report_browser.py

demo: install
	$(PY) examples/factorization.py --logdir $(LOGDIR)/factorization $(if $(EPOCHS),--epochs $(EPOCHS))

bench: install
	$(PY) benchmarks/bench_losses.py
	$(PY) benchmarks/bench_losses.py --backend jax
	$(PY) benchmarks/bench_losses.py --backend torch
	$(PY) benchmarks/bench_callbacks.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_report.py

docs: install
	$(VENV)/bin/mkdocs build --strict

dashboard: install
	$(VENV)/bin/tensorboard --logdir $(LOGDIR) --host 127.0.0.1 --port $(PORT)

clean:
	rm -rf $(VENV) $(NOTF_VENV) *.egg-info .pytest_cache .hypothesis site
