"""Sums over long class axes (kerasloss._sums and the losses that use it): within 1e-5 relative of
float64 over 2**24 + 1 classes, eager and compiled, on every backend.

One-pass float32 reductions drifted there before: 2.5e-4 for the sparse cross-entropy in TensorFlow
graph mode, 1e-3 under XLA, 6e-3 for PyTorch's entropy from logits. One row of 2**24 + 1 float32
logits is 64 MiB."""

import functools

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss import _sums
from tests.helpers.backend_gradients import value_and_gradient

CLASSES = 2**24 + 1
# TensorFlow's graph mode runs the same kernels as its eager mode; "xla" is jax.jit on JAX
MODES = ["eager", "xla"]
SPIKE = CLASSES // 3


def _spiked_row():
    """One row of zeros with a logit of 10 at SPIKE: 2**24 equal tiny probabilities beside a large one."""
    logits = np.zeros((1, CLASSES), np.float32)
    logits[0, SPIKE] = 10.0
    return logits


@functools.cache
def _float64_log_softmax():
    """log softmax of `_spiked_row()` in float64."""
    z = _spiked_row().astype(np.float64)
    top = z.max(-1, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(-1, keepdims=True))


def _value(fn, logits, mode):
    """fn(logits) summed, through the backend's autodiff as training computes it."""
    value, _ = value_and_gradient(lambda z: keras.ops.sum(fn(z)), logits, mode)
    return float(value)


def _forward(fn, logits, mode):
    """fn(logits) summed, forward only (for values that carry no gradient)."""
    backend = keras.backend.backend()
    if mode == "xla" and backend == "tensorflow":
        import tensorflow as tf

        fn = tf.function(fn, jit_compile=True)
    elif mode == "xla" and backend == "jax":
        import jax

        fn = jax.jit(fn)
    elif mode != "eager":
        pytest.skip(f"mode {mode!r} does not exist on backend {backend}")
    return float(keras.ops.convert_to_numpy(keras.ops.sum(fn(keras.ops.convert_to_tensor(logits)))))


@pytest.mark.parametrize("mode", MODES)
def test_row_sum_of_2_pow_24_plus_1_equal_terms_is_within_1e_6(mode):
    terms = np.full((1, CLASSES), np.exp(-10.0), np.float32)
    expected = terms.astype(np.float64).sum()
    assert _forward(_sums.row_sum, terms, mode) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_sparse_smoothed_cross_entropy_over_2_pow_24_plus_1_classes_is_within_1e_5(mode):
    label = SPIKE
    logits = _spiked_row()
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    log_probs = _float64_log_softmax()[0]
    expected = 0.9 * -log_probs[label] + 0.1 * -log_probs.mean()
    assert _value(lambda z: loss(np.array([label]), z), logits, mode) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_dense_target_cross_entropy_over_2_pow_24_plus_1_classes_is_within_1e_5(mode):
    logits = _spiked_row()
    targets = np.random.default_rng(0).random((1, CLASSES)).astype(np.float32)
    targets /= targets.sum()
    loss = kerasloss.CategoricalCrossentropy(from_logits=True)
    expected = -(targets.astype(np.float64) * _float64_log_softmax()).sum()
    assert _forward(lambda z: loss(targets, z), logits, mode) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_entropy_from_the_loss_pass_over_2_pow_24_plus_1_classes_is_within_1e_5(mode):
    logits = _spiked_row()
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    log_probs = _float64_log_softmax()
    expected = -(np.exp(log_probs) * log_probs).sum()
    entropy = _forward(lambda z: loss.terms(np.array([0]), z, with_entropy=True).entropy, logits, mode)
    assert entropy == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probabilities"])
@pytest.mark.parametrize("mode", MODES)
def test_prediction_entropy_over_2_pow_24_plus_1_classes_is_within_1e_5(mode, from_logits):
    logits = _spiked_row()
    log_probs = _float64_log_softmax()
    expected = -(np.exp(log_probs) * log_probs).sum()
    y_pred = logits if from_logits else np.exp(log_probs).astype(np.float32)
    if not from_logits:  # Keras' clip of probabilities to [1e-7, 1 - 1e-7] is part of the value
        probs = np.clip(y_pred.astype(np.float64) / y_pred.sum(dtype=np.float64), 1e-7, 1 - 1e-7)
        expected = -(probs * np.log(probs)).sum()
    entropy = _forward(lambda z: kerasloss.prediction_entropy(z, from_logits=from_logits), y_pred, mode)
    assert entropy == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_categorical_focal_loss_over_2_pow_24_plus_1_classes_is_within_1e_5(mode):
    label = SPIKE
    logits = _spiked_row()
    loss = kerasloss.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1)
    log_probs = _float64_log_softmax()[0]
    one_hot = np.zeros(CLASSES)
    one_hot[label] = 1.0
    targets = 0.9 * one_hot + 0.1 / CLASSES
    expected = -0.25 * (targets * (1 - np.exp(log_probs)) ** 2 * log_probs).sum()
    focal = _forward(lambda z: loss(one_hot[None].astype(np.float32), z), logits, mode)
    assert focal == pytest.approx(expected, rel=1e-5)
