"""prediction_entropy: per-example entropy in nats, categorical or binary, optionally normalised."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(5)
LOGITS = RNG.normal(0, 2, (4, 5)).astype(np.float32)


def _categorical_entropy(p, axis=-1):
    return -np.sum(p * np.log(p), axis=axis)


def test_categorical_entropy_from_logits_matches_reference():
    np.testing.assert_allclose(
        kerasloss.prediction_entropy(LOGITS, from_logits=True),
        _categorical_entropy(ref.softmax(LOGITS)),
        rtol=1e-5,
    )


def test_categorical_entropy_from_probabilities_matches_reference():
    probs = ref.softmax(LOGITS).astype(np.float32)
    np.testing.assert_allclose(kerasloss.prediction_entropy(probs), _categorical_entropy(probs), rtol=1e-5)


def test_uniform_prediction_has_entropy_log_k_and_normalised_entropy_one():
    uniform = np.full((2, 5), 0.2, np.float32)
    np.testing.assert_allclose(kerasloss.prediction_entropy(uniform), np.log(5), rtol=1e-6)
    np.testing.assert_allclose(kerasloss.prediction_entropy(uniform, normalize=True), 1.0, rtol=1e-6)


def test_one_hot_prediction_has_almost_zero_entropy():
    entropy = kerasloss.prediction_entropy(np.eye(3, dtype=np.float32))
    assert np.all((np.asarray(entropy) >= 0) & (np.asarray(entropy) < 1e-4))


def test_entropy_on_axis_1_reduces_that_axis():
    logits = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    entropy = kerasloss.prediction_entropy(logits, from_logits=True, axis=1)
    assert tuple(entropy.shape) == (2, 4)
    np.testing.assert_allclose(entropy, _categorical_entropy(ref.softmax(logits, 1), 1), rtol=1e-5)


def test_binary_entropy_is_the_mean_bernoulli_entropy_over_outputs():
    logits = RNG.normal(size=(4, 3)).astype(np.float32)
    q = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = np.mean(-(q * np.log(q) + (1 - q) * np.log(1 - q)), axis=-1)
    np.testing.assert_allclose(kerasloss.prediction_entropy(logits, True, "binary"), expected, rtol=1e-5)
    from_probs = kerasloss.prediction_entropy(q.astype(np.float32), kind="binary")
    np.testing.assert_allclose(from_probs, expected, rtol=1e-5)


def test_binary_normalised_entropy_divides_by_log_2():
    half = np.full((1, 2), 0.5, np.float32)
    np.testing.assert_allclose(kerasloss.prediction_entropy(half, kind="binary", normalize=True), 1.0, rtol=1e-6)


@pytest.mark.parametrize("kind", ["categorical", "binary"])
def test_entropy_of_huge_logits_is_finite(kind):
    entropy = kerasloss.prediction_entropy(np.array([[1e4, -1e4]], np.float32), from_logits=True, kind=kind)
    entropy = np.asarray(entropy)
    assert np.all(np.isfinite(entropy)) and np.all(entropy >= 0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_predictions_give_float32_entropy(dtype):
    entropy = kerasloss.prediction_entropy(tf.cast(LOGITS, dtype), from_logits=True)
    assert keras.backend.standardize_dtype(entropy.dtype) == "float32"
    np.testing.assert_allclose(
        entropy,
        _categorical_entropy(ref.softmax(np.asarray(tf.cast(tf.cast(LOGITS, dtype), "float32")))),
        rtol=1e-4,
    )


@pytest.mark.tensorflow_only
def test_entropy_compiled_with_xla_equals_eager():
    compiled = tf.function(lambda x: kerasloss.prediction_entropy(x, from_logits=True), jit_compile=True)
    eager = kerasloss.prediction_entropy(LOGITS, from_logits=True)
    np.testing.assert_allclose(compiled(LOGITS), eager, rtol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_categorical_entropy_over_one_class_is_refused_with_the_fix(from_logits):
    with pytest.raises(ValueError, match=r"kind='categorical' .* size 1 \(shape \(2, 1\)\): always 0.*kind='binary'"):
        kerasloss.prediction_entropy(np.array([[0.3], [0.9]], "float32"), from_logits=from_logits)
