"""Shared checks of a kerasloss loss against its `keras.losses` twin (used by the tests of the
focal, overlap, sequence, metric-learning and robust losses)."""

import contextlib
import inspect

import keras
import numpy as np
from keras import ops
from keras.src.backend import set_keras_mask


def as_numpy(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


def twin(ours):
    """The keras.losses loss built from `ours`' configuration (same class name); arguments beyond
    Keras' must hold their defaults (Keras' loss then computes the same)."""
    theirs_cls = getattr(keras.losses, type(ours).__name__)
    keras_arguments = inspect.signature(theirs_cls.__init__).parameters
    ours_arguments = inspect.signature(type(ours).__init__).parameters
    config = {key: value for key, value in ours.get_config().items() if key != "dtype"}
    beyond = {key: value for key, value in config.items() if key not in keras_arguments}
    assert all(value == ours_arguments[key].default for key, value in beyond.items()), (
        f"no Keras twin for {beyond}: Keras' {theirs_cls.__name__} has no such argument")
    return theirs_cls(**{key: value for key, value in config.items() if key in keras_arguments})


def assert_equal_to_keras(
    ours, y_true, y_pred, sample_weight=None, theirs=None, rtol=1e-6, scale=None, atol=0.0,
    float64_keras=False,
):
    """|ours - keras| ≤ rtol·(|keras| + scale) + atol, scale = Σ|weight·component| (the size the
    terms are rounded at) unless given.

    float64_keras: compare with Keras computing in float64 (the exact value of its formula) where
    our float32 formula is more accurate than Keras' float32 one (e.g. log-softmax of logits
    instead of the log of a rounded softmax).
    """
    theirs = twin(ours) if theirs is None else theirs
    got = as_numpy(ours(y_true, y_pred, sample_weight))
    if scale is None:
        reduced = ours.components(y_true, y_pred, sample_weight)
        scale = sum(abs(w) * np.abs(as_numpy(reduced[k])) for k, w in ours.component_weights.items())
    if float64_keras:
        theirs = type(theirs).from_config({**theirs.get_config(), "dtype": "float64"})
        y_true, y_pred = (np.asarray(ops.convert_to_numpy(x), np.float64) for x in (y_true, y_pred))
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, np.float64)
    with _float64_enabled(float64_keras):
        expected = as_numpy(theirs(y_true, y_pred, sample_weight))
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert np.all(np.abs(got - expected) <= rtol * (np.abs(expected) + scale) + atol + 1e-30), (
        got, expected)


def _float64_enabled(wanted):
    """A context in which the backend computes float64 (JAX truncates it to float32 by default)."""
    if wanted and keras.backend.backend() == "jax":
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def masked(y_pred, mask):
    """y_pred as a tensor carrying the Keras mask `mask`."""
    tensor = ops.convert_to_tensor(y_pred)
    set_keras_mask(tensor, ops.convert_to_tensor(mask))
    return tensor


def assert_same_signature(ours_cls, beyond_keras=None):
    """Constructor arguments, their defaults and the default name equal the Keras class's, plus
    `beyond_keras` ({argument: default}), ours only, which must come after Keras' own."""
    theirs_cls = getattr(keras.losses, ours_cls.__name__)
    ours_parameters = inspect.signature(ours_cls.__init__).parameters
    theirs_parameters = inspect.signature(theirs_cls.__init__).parameters
    expected = {n: p.default for n, p in theirs_parameters.items()} | (beyond_keras or {})
    assert {n: p.default for n, p in ours_parameters.items()} == expected
    assert list(ours_parameters)[:len(theirs_parameters)] == list(theirs_parameters)


def assert_components_add_up(loss, y_true, y_pred, sample_weight=None, rtol=1e-6):
    components = loss.components(y_true, y_pred, sample_weight)
    assert set(components) == set(loss.component_weights)
    total = sum(w * as_numpy(components[name]) for name, w in loss.component_weights.items())
    np.testing.assert_allclose(as_numpy(loss(y_true, y_pred, sample_weight)), total, rtol=rtol, atol=1e-7)
    terms = loss.terms(y_true, y_pred)
    assert set(terms.diagnostics or {}) == set(loss.diagnostic_names)


def assert_config_round_trip(loss):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    # every constructor argument, "dtype" only when one was given (as Keras leaves it out)
    expected = set(inspect.signature(type(loss).__init__).parameters) - {"self"}
    assert set(loss.get_config()) | {"dtype"} == expected | {"dtype"}
    assert ("dtype" in loss.get_config()) == (loss.get_config().get("dtype") is not None)


def assert_keras_file_round_trip(loss, model, x, y, tmp_path):
    """A model compiled with `loss` evaluates the same after save / load_model (no custom_objects)."""
    model.compile(optimizer="sgd", loss=loss)
    before = model.evaluate(x, y, verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored.loss) is type(loss) and restored.loss.get_config() == loss.get_config()
    assert np.isfinite(before)
    np.testing.assert_allclose(restored.evaluate(x, y, verbose=0), before, rtol=1e-6)
