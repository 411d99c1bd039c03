"""The softmax losses from logits on the active Keras backend (the suite runs once per backend:
KERAS_BACKEND=tensorflow, jax, torch) against NumPy float64 closed forms: value, components,
entropy and the gradient wrt y_pred, with smoothing, z-loss, ignore_class, sample weights, Keras
masks, 16-bit logits and labels above 2**24."""

import keras
import numpy as np
import pytest
from keras.src.backend import set_keras_mask

import kerasloss
from tests.helpers import backend_gradients
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(0)
ROWS, CLASSES = 6, 5
LABELS = RNG.integers(0, CLASSES, ROWS).astype(np.int32)
LOGITS = RNG.normal(0, 2, (ROWS, CLASSES)).astype(np.float32)
SOFT_TARGETS = RNG.dirichlet(np.ones(CLASSES), ROWS).astype(np.float32)
SAMPLE_WEIGHT = RNG.uniform(0.1, 2.0, ROWS).astype(np.float32)
MASK = np.array([True, False, True, True, False, True])


def value_and_gradient(fn, y_pred, compiled=False):
    """float64 (value, gradient) of fn at y_pred, eagerly or compiled (tf.function / jax.jit)."""
    values = backend_gradients.value_and_gradient(fn, y_pred, "xla" if compiled else "eager")
    return tuple(np.asarray(v, np.float64) for v in values)


def _gradient_of_elements(targets, logits, label_smoothing, z_loss):
    """d/dz of the per-row total (1-e)·H(t, p) + e·H(u, p) + z·lse², [N, K] float64."""
    logits = np.asarray(logits, np.float64)
    probs = ref.softmax(logits)
    mass = targets.sum(-1, keepdims=True)
    ce = probs * mass - targets
    uniform = probs - 1.0 / logits.shape[-1]
    lse = ref.logsumexp(logits)[:, None]
    return (1 - label_smoothing) * ce + label_smoothing * uniform + z_loss * 2 * lse * probs


def _expected(targets, logits, label_smoothing, z_loss, weights, reference):
    """(total, components, gradient) for sum_over_batch_size: Σ w·l / n_unmasked."""
    elements, ignore_mask = reference
    mask = weights["mask"]
    if ignore_mask is not None:
        mask = ignore_mask if mask is None else mask & ignore_mask
    components = ref.reduce_all(elements, weights["sample_weight"], mask)
    loss_weights = {"cross_entropy": 1 - label_smoothing, "uniform_cross_entropy": label_smoothing,
                    "z_loss": z_loss}
    total = ref.weighted_total(components, {k: v for k, v in loss_weights.items() if k in components})
    per_row = ref.element_weights(np.ones(len(logits)), weights["sample_weight"], mask)
    per_row = np.ones(len(logits)) if per_row is None else per_row
    divisor = len(logits) if mask is None else mask.sum()
    gradient = _gradient_of_elements(targets, logits, label_smoothing, z_loss) * per_row[:, None] / divisor
    return total, components, gradient


WEIGHTINGS = {
    "unweighted": {"sample_weight": None, "mask": None},
    "sample_weight": {"sample_weight": SAMPLE_WEIGHT, "mask": None},
    "keras_mask": {"sample_weight": None, "mask": MASK},
    "both": {"sample_weight": SAMPLE_WEIGHT, "mask": MASK},
}
SETTINGS = {
    "plain": {"label_smoothing": 0.0, "z_loss": 0.0},
    "smoothed_zloss": {"label_smoothing": 0.2, "z_loss": 0.01},
}


def _call(loss, y_true, weights):
    def fn(y_pred):
        if weights["mask"] is not None:
            set_keras_mask(y_pred, keras.ops.convert_to_tensor(weights["mask"]))
        return loss(y_true, y_pred, sample_weight=weights["sample_weight"])

    return fn


def _check(loss, y_true, logits, targets, settings, weights, reference, compiled=False):
    value, grad = value_and_gradient(_call(loss, y_true, weights), logits, compiled)
    total, components, gradient = _expected(targets, logits, **settings, weights=weights, reference=reference)
    np.testing.assert_allclose(value, total, rtol=1e-5)
    np.testing.assert_allclose(grad, gradient, rtol=1e-5, atol=1e-7)
    return components


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("setting", SETTINGS)
def test_sparse_value_components_and_gradient(setting, weighting):
    settings, weights = SETTINGS[setting], WEIGHTINGS[weighting]
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, **settings)
    reference = ref.sparse_categorical(LABELS, LOGITS, True, **settings)
    expected = _check(loss, LABELS, LOGITS, np.eye(CLASSES)[LABELS], settings, weights, reference)
    y_pred = keras.ops.convert_to_tensor(LOGITS)
    if weights["mask"] is not None:
        set_keras_mask(y_pred, keras.ops.convert_to_tensor(weights["mask"]))
    components = loss.components(LABELS, y_pred, sample_weight=weights["sample_weight"])
    assert set(components) == set(expected)
    for name, value in components.items():
        np.testing.assert_allclose(keras.ops.convert_to_numpy(value), expected[name], rtol=1e-5)


@pytest.mark.parametrize("weighting", ["unweighted", "both"])
def test_dense_soft_targets_value_and_gradient(weighting):
    settings = SETTINGS["smoothed_zloss"]
    loss = kerasloss.CategoricalCrossentropy(from_logits=True, **settings)
    reference = ref.categorical(SOFT_TARGETS, LOGITS, True, **settings)
    _check(loss, SOFT_TARGETS, LOGITS, SOFT_TARGETS.astype(np.float64), settings, WEIGHTINGS[weighting], reference)


@pytest.mark.parametrize("sparse", [True, False], ids=["sparse", "dense"])
def test_compiled_gradient_equals_the_closed_form(sparse):
    """tf.function / jax.jit: the TensorFlow graph kernel and XLA's fusion of the plain formula."""
    settings = SETTINGS["smoothed_zloss"]
    targets = np.eye(CLASSES)[LABELS]
    if sparse:
        loss, y_true = kerasloss.SparseCategoricalCrossentropy(from_logits=True, **settings), LABELS
    else:
        loss, y_true = kerasloss.CategoricalCrossentropy(from_logits=True, **settings), targets.astype(np.float32)
    reference = ref.categorical(targets, LOGITS, True, **settings)
    _check(loss, y_true, LOGITS, targets, settings, WEIGHTINGS["both"], reference, compiled=True)


def test_ignore_class_masks_rows_out_of_value_and_gradient():
    settings = SETTINGS["smoothed_zloss"]
    labels = LABELS.copy()
    labels[[0, 3]] = -1
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, **settings)
    reference = ref.sparse_categorical(labels, LOGITS, True, ignore_class=-1, **settings)
    targets = np.eye(CLASSES)[np.where(labels < 0, 0, labels)]
    _, grad = value_and_gradient(_call(loss, labels, WEIGHTINGS["sample_weight"]), LOGITS)
    _check(loss, labels, LOGITS, targets, settings, WEIGHTINGS["sample_weight"], reference)
    np.testing.assert_array_equal(grad[[0, 3]], 0.0)


@pytest.mark.parametrize("dtype, gradient_rtol", [("float16", 2e-3), ("bfloat16", 1e-2)])
def test_16_bit_logits_are_computed_in_float32(dtype, gradient_rtol):
    """Large logits whose softmax would lose digits in 16 bits: the value is float32's; the
    gradient, which reaches the 16-bit y_pred in its dtype, to that dtype's resolution."""
    settings = SETTINGS["smoothed_zloss"]
    logits = (LOGITS * 8).astype(np.float32)
    low = keras.ops.convert_to_numpy(keras.ops.cast(keras.ops.cast(logits, dtype), "float32"))
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, **settings)
    reference = ref.sparse_categorical(LABELS, low, True, **settings)
    total, _, gradient = _expected(np.eye(CLASSES)[LABELS], low, **settings, weights=WEIGHTINGS["unweighted"],
                                   reference=reference)
    value, grad = value_and_gradient(lambda z: loss(LABELS, keras.ops.cast(z, dtype)), logits)
    np.testing.assert_allclose(value, total, rtol=1e-5)
    np.testing.assert_allclose(grad, gradient, rtol=gradient_rtol, atol=1e-4)


def test_entropy_from_the_same_pass_matches_the_closed_form():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    entropy = loss.terms(LABELS, keras.ops.convert_to_tensor(LOGITS), with_entropy=True).entropy
    probs = ref.softmax(LOGITS)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(entropy), -(probs * np.log(probs)).sum(-1), rtol=1e-5)


def test_labels_above_2_to_the_24_pick_their_own_class():
    """float32 holds 2**24 + 1 as 2**24: a float cast of the labels would pick the neighbour."""
    classes = 2**24 + 3
    labels = np.array([2**24 + 1, 2**24 + 2], np.int32)
    logits = np.zeros((2, classes), np.float32)
    logits[0, 2**24:2**24 + 3] = [-3.0, 3.0, 1.0]
    logits[1, 2**24:2**24 + 3] = [2.0, -1.0, -2.0]
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    value, grad = value_and_gradient(lambda z: loss(labels, z), logits)
    lse = ref.logsumexp(logits)
    picked = logits[[0, 1], labels].astype(np.float64)
    np.testing.assert_allclose(value, np.mean(lse - picked), rtol=1e-5)
    for row, label in enumerate(labels):
        np.testing.assert_allclose(grad[row, label - 1: label + 1],
                                   (np.exp(logits[row, label - 1: label + 1] - lse[row]) - [0, 1]) / 2,
                                   rtol=1e-5, atol=1e-7)
