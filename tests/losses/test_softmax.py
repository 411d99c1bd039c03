"""The TensorFlow softmax kernel's execution paths: graph (in-place label term) and XLA (scatter).

Other backends' kernels are checked in test_backends.py."""

import numpy as np
import pytest
import tensorflow as tf

import kerasloss

from tests.helpers.numpy_reference import smoothed_softmax_gradient

pytestmark = pytest.mark.tensorflow_only


def _labels_and_logits(rows=6, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, classes, rows).astype("int32"), rng.normal(size=(rows, classes)).astype("float32")


def _loss():
    return kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2, z_loss=0.01)


def _gradient(loss_fn, labels, logits, outer_jit=False):
    def fn(labels, logits):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            value = loss_fn(labels, logits)
        return tape.gradient(value, logits)

    return tf.function(fn, jit_compile=outer_jit)(tf.constant(labels), tf.constant(logits)).numpy()


@pytest.mark.parametrize("outer_jit", [False, True], ids=["graph", "xla"])
def test_gradient_matches_eager_in_graph_and_xla(outer_jit):
    labels, logits = _labels_and_logits()
    loss = _loss()
    with tf.GradientTape() as tape:
        z = tf.constant(logits)
        tape.watch(z)
        value = loss(labels, z)
    eager = tape.gradient(value, z).numpy()
    np.testing.assert_allclose(_gradient(loss, labels, logits, outer_jit), eager, rtol=1e-5, atol=1e-7)


def test_gradient_through_a_jit_compiled_loss_taken_outside_xla():
    """The backward of a jit-compiled forward is compiled by XLA too: no XLA-less kernel may appear."""
    labels, logits = _labels_and_logits()
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    inner = tf.function(lambda y, z: loss(y, z), jit_compile=True)
    expected = smoothed_softmax_gradient(np.eye(5)[labels], logits, 0.2) / len(labels)
    np.testing.assert_allclose(_gradient(inner, labels, logits), expected, rtol=1e-5, atol=1e-7)


def test_in_place_label_term_leaves_inputs_untouched_and_repeats_exactly():
    labels, logits = _labels_and_logits()
    loss = _loss()
    z = tf.constant(logits)

    @tf.function
    def gradient(y, z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            value = loss(y, z)
        return tape.gradient(value, z)

    first = gradient(tf.constant(labels), z).numpy()
    second = gradient(tf.constant(labels), z).numpy()
    np.testing.assert_array_equal(z.numpy(), logits)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("label_logit", [0.0, -100.0], ids=["lse-from-labels", "lse-from-maximum"])
def test_graph_mode_lse_is_exact_whether_read_at_the_labels_or_the_maximum(label_logit):
    """A label probability below 1e-30 (exp(-100)) switches lse to max z - log max p."""
    logits = np.zeros((2, 4), np.float32)
    logits[:, 1] = label_logit
    logits[1, 3] = 3.0
    labels = np.array([1, 1], np.int32)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, z_loss=0.5)
    components = tf.function(loss.components)(tf.constant(labels), tf.constant(logits))
    lse = np.log(np.exp(logits.astype(np.float64)).sum(-1))
    np.testing.assert_allclose(components["cross_entropy"], np.mean(lse - label_logit), rtol=1e-6)
    np.testing.assert_allclose(components["z_loss"], np.mean(lse**2), rtol=1e-6)
