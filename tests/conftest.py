"""Shared test settings: quiet TensorFlow, deterministic seeds, a bounded hypothesis profile, and
backend markers: `@pytest.mark.tensorflow_only` and `@pytest.mark.backends("jax", "torch")` skip a
test unless `keras.backend.backend()` is one of those named (one backend per run, KERAS_BACKEND);
`@pytest.mark.backend_neutral` runs a test once: on tensorflow, or on jax where TensorFlow is not
installed (`make test-without-tensorflow`)."""

import importlib.util
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "kerasloss",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("kerasloss")


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)
    yield


def pytest_configure(config):
    config.addinivalue_line("markers", "tensorflow_only: runs only on KERAS_BACKEND=tensorflow")
    config.addinivalue_line("markers", "backends(*names): runs only on the Keras backends named")
    config.addinivalue_line("markers", "backend_neutral: runs once, on tensorflow (jax without TensorFlow)")


def pytest_collection_modifyitems(config, items):
    active = keras.backend.backend()
    neutral = "tensorflow" if importlib.util.find_spec("tensorflow") is not None else "jax"
    for item in items:
        allowed = {name for marker in item.iter_markers("backends") for name in marker.args}
        if item.get_closest_marker("tensorflow_only") is not None:
            allowed.add("tensorflow")
        if item.get_closest_marker("backend_neutral") is not None:
            allowed.add(neutral)
        if allowed and active not in allowed:
            item.add_marker(pytest.mark.skip(reason=f"needs backend {sorted(allowed)}, running {active}"))
