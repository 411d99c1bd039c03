"""The focal cross-entropies (kerasloss.losses.focal, kerasloss.losses.focal): keras.losses parity, the
label-smoothing split of the focal components, the modulating-factor diagnostic, prediction entropy,
exact logits, and torchvision's sigmoid_focal_loss formula (written out below, run in PyTorch)."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import kerasloss
from kerasloss.entropy import prediction_entropy
from tests.helpers import keras_parity as parity
from tests.helpers import numpy_reference as ref
from tests.helpers.backend_gradients import value_and_gradient

RNG = np.random.default_rng(21)
BATCH = 6
# Keras clips probabilities to [ε, 1-ε] even when they come from logits: a certain right answer
# costs it up to about ε·α where ours (log-softmax, log-sigmoid) gives 0
KERAS_CLIP = 1e-7


def _binary(rng, shape, from_logits):
    y_true = rng.integers(0, 2, shape).astype(np.float32)
    logits = rng.normal(0, 2, shape).astype(np.float32)
    return y_true, logits if from_logits else (1 / (1 + np.exp(-logits))).astype(np.float32)


def _categorical(rng, shape, from_logits, axis=-1):
    labels = rng.integers(0, shape[axis], np.delete(shape, axis % len(shape)))
    y_true = np.moveaxis(np.eye(shape[axis], dtype=np.float32)[labels], -1, axis)
    logits = rng.normal(0, 2, shape).astype(np.float32)
    return y_true, logits if from_logits else ref.softmax(logits, axis).astype(np.float32)


BINARY_KWARGS = {
    "default": {},
    "balanced": {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5},
    "smoothed": {"label_smoothing": 0.2},
    "balanced_smoothed": {"apply_class_balancing": True, "label_smoothing": 0.3, "gamma": 3.0},
    "axis_1": {"axis": 1, "label_smoothing": 0.1},
}
CATEGORICAL_KWARGS = {
    "default": {},
    "per_class_alpha": {"alpha": [0.1, 0.2, 0.3, 0.25, 0.15], "gamma": 1.5},
    "smoothed": {"label_smoothing": 0.2, "gamma": 0.5},
    "axis_1": {"axis": 1, "label_smoothing": 0.1},
}


# --- parity with keras.losses ---------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("kwargs", list(BINARY_KWARGS))
def test_binary_focal_equals_keras(kwargs, from_logits, reduction):
    y_true, y_pred = _binary(RNG, (BATCH, 4, 5), from_logits)
    loss = kerasloss.BinaryFocalCrossentropy(from_logits=from_logits, reduction=reduction,
                                            **BINARY_KWARGS[kwargs])
    weight = RNG.uniform(0, 2, loss.call(y_true, y_pred).shape).astype(np.float32)
    parity.assert_equal_to_keras(loss, y_true, y_pred, weight, float64_keras=from_logits, atol=KERAS_CLIP)


@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("kwargs", list(CATEGORICAL_KWARGS))
def test_categorical_focal_equals_keras(kwargs, from_logits, reduction):
    kwargs = CATEGORICAL_KWARGS[kwargs]
    shape = (BATCH, 5, 5)
    y_true, y_pred = _categorical(RNG, shape, from_logits, kwargs.get("axis", -1))
    loss = kerasloss.CategoricalFocalCrossentropy(from_logits=from_logits, reduction=reduction, **kwargs)
    weight = RNG.uniform(0, 2, loss.call(y_true, y_pred).shape).astype(np.float32)
    parity.assert_equal_to_keras(loss, y_true, y_pred, weight, float64_keras=from_logits, atol=KERAS_CLIP)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**31 - 1),
    shape=st.sampled_from([(1, 1), (3, 1), (5, 2), (2, 3, 4), (7,), (4, 33)]),
    from_logits=st.booleans(),
    gamma=st.sampled_from([0.0, 0.5, 2.0, 4.0]),
    smoothing=st.sampled_from([0.0, 0.1, 1.0]),
    balanced=st.booleans(),
    reduction=st.sampled_from(ref.REDUCTIONS),
    weighted=st.booleans(),
)
def test_binary_focal_equals_keras_on_random_inputs(
    seed, shape, from_logits, gamma, smoothing, balanced, reduction, weighted
):
    rng = np.random.default_rng(seed)
    y_true, y_pred = _binary(rng, shape, from_logits)
    loss = kerasloss.BinaryFocalCrossentropy(
        apply_class_balancing=balanced, alpha=0.4, gamma=gamma, from_logits=from_logits,
        label_smoothing=smoothing, reduction=reduction,
    )
    weight = rng.uniform(0, 2, shape[:-1]).astype(np.float32) if weighted and len(shape) > 1 else None
    parity.assert_equal_to_keras(loss, y_true, y_pred, weight, float64_keras=from_logits, atol=KERAS_CLIP)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**31 - 1),
    shape=st.sampled_from([(1, 2), (3, 1), (5, 2), (2, 3, 4), (4, 33)]),
    from_logits=st.booleans(),
    gamma=st.sampled_from([0.0, 0.5, 2.0]),
    smoothing=st.sampled_from([0.0, 0.1, 1.0]),
    reduction=st.sampled_from(ref.REDUCTIONS),
    weighted=st.booleans(),
)
def test_categorical_focal_equals_keras_on_random_inputs(
    seed, shape, from_logits, gamma, smoothing, reduction, weighted
):
    rng = np.random.default_rng(seed)
    y_true, y_pred = _categorical(rng, shape, from_logits)
    loss = kerasloss.CategoricalFocalCrossentropy(
        gamma=gamma, from_logits=from_logits, label_smoothing=smoothing, reduction=reduction
    )
    weight = rng.uniform(0, 2, shape[:-1]).astype(np.float32) if weighted else None
    parity.assert_equal_to_keras(loss, y_true, y_pred, weight, float64_keras=from_logits, atol=KERAS_CLIP)


EDGES = {
    "certain_right": lambda t: (t, t.copy()),
    "certain_wrong": lambda t: (t, 1.0 - t),
    "half": lambda t: (t, np.full_like(t, 0.5)),
    "soft_targets": lambda t: (np.full_like(t, 0.3), np.clip(t, 0.1, 0.9)),
}


@pytest.mark.parametrize("edge", list(EDGES))
def test_binary_focal_equals_keras_on_edge_probabilities(edge):
    y_true, y_pred = EDGES[edge](RNG.integers(0, 2, (4, 3)).astype(np.float32))
    loss = kerasloss.BinaryFocalCrossentropy(apply_class_balancing=True, label_smoothing=0.1, reduction=None)
    parity.assert_equal_to_keras(loss, y_true, y_pred, scale=1e-6)


@pytest.mark.parametrize("edge", ["certain_right", "certain_wrong", "half"])
def test_categorical_focal_equals_keras_on_edge_probabilities(edge):
    y_true = np.eye(3, dtype=np.float32)[[0, 2, 1, 1]]
    y_pred = EDGES[edge](y_true)[1]
    y_pred = y_pred if edge != "certain_wrong" else y_pred / 2
    loss = kerasloss.CategoricalFocalCrossentropy(label_smoothing=0.1, reduction=None)
    parity.assert_equal_to_keras(loss, y_true, y_pred, scale=1e-6)


@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("cls", [kerasloss.BinaryFocalCrossentropy, kerasloss.CategoricalFocalCrossentropy])
def test_keras_mask_on_predictions_is_honoured_like_keras(cls, reduction):
    make = _binary if cls is kerasloss.BinaryFocalCrossentropy else _categorical
    y_true, y_pred = make(RNG, (3, 4, 5), True)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
    weight = RNG.uniform(0.1, 2.0, (3, 4)).astype(np.float32)
    loss = cls(from_logits=True, label_smoothing=0.1, reduction=reduction)
    np.testing.assert_allclose(
        parity.as_numpy(loss(y_true, parity.masked(y_pred, mask), weight)),
        parity.as_numpy(parity.twin(loss)(y_true, parity.masked(y_pred, mask), weight)),
        rtol=1e-6, atol=1e-7,
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("cls", [kerasloss.BinaryFocalCrossentropy, kerasloss.CategoricalFocalCrossentropy])
def test_16_bit_predictions_are_computed_in_float32(cls, dtype):
    make = _binary if cls is kerasloss.BinaryFocalCrossentropy else _categorical
    y_true, y_pred = make(RNG, (8, 5), True)
    low = ops.cast(y_pred, dtype)
    loss = cls(from_logits=True, label_smoothing=0.1)
    got = loss(y_true, low)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(parity.as_numpy(got), parity.as_numpy(loss(y_true, ops.cast(low, "float32"))),
                               rtol=1e-6)
    parity.assert_equal_to_keras(loss, y_true, low)


@pytest.mark.parametrize("cls", [kerasloss.BinaryCrossentropy, kerasloss.BinaryFocalCrossentropy])
def test_binary_shapes_that_only_broadcast_are_refused_like_keras(cls):
    # both take their inputs from cross_entropy.binary_inputs
    y_true, y_pred = np.ones((3, 1), np.float32), np.full((3, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match="same shape"):
        getattr(keras.losses, cls.__name__)()(y_true, y_pred)
    with pytest.raises(ValueError, match=r"y_true shape \(3, 1\) and y_pred shape \(3, 3\) must be equal"):
        cls()(y_true, y_pred)


def test_categorical_shapes_that_differ_are_refused():
    with pytest.raises(ValueError, match=r"y_true shape \(3, 1\) and y_pred shape \(3, 3\) must be equal"):
        kerasloss.CategoricalFocalCrossentropy()(np.ones((3, 1)), np.full((3, 3), 0.3, np.float32))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: kerasloss.BinaryFocalCrossentropy(gamma=-1.0), "gamma must be >= 0, got -1.0"),
        (lambda: kerasloss.BinaryFocalCrossentropy(alpha=1.5), r"alpha must be in \[0, 1\], got 1.5"),
        (lambda: kerasloss.CategoricalFocalCrossentropy(alpha=[0.2, -0.1]), "alpha must be >= 0, got -0.1"),
        (lambda: kerasloss.CategoricalFocalCrossentropy(label_smoothing=2.0),
         r"label_smoothing must be in \[0, 1\], got 2.0"),
    ],
    ids=["gamma", "binary-alpha", "class-alpha", "smoothing"],
)
def test_bad_arguments_are_refused_naming_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_per_class_alpha_of_the_wrong_length_is_refused():
    loss = kerasloss.CategoricalFocalCrossentropy(alpha=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"alpha must be a number or one weight per class \(3 along axis 1\), got 2"):
        loss(np.eye(3, dtype=np.float32), np.full((3, 3), 1 / 3, np.float32))


# --- components, diagnostics, entropy -------------------------------------------------------------

def _binary_reference(y_true, y_pred, from_logits, balanced, alpha, gamma, smoothing):
    """Per-output focal terms in float64 (exact log-sigmoid from logits)."""
    z = np.asarray(y_pred, np.float64)
    if from_logits:
        q, log_q, log_not_q = 1 / (1 + np.exp(-z)), -np.logaddexp(0, -z), -np.logaddexp(0, z)
    else:
        q = z
        clipped = np.clip(z, ref.EPSILON, 1 - ref.EPSILON)
        log_q, log_not_q = np.log(clipped), np.log(1 - clipped)
    t = y_true * (1 - smoothing) + 0.5 * smoothing
    modulating = (t * (1 - q) + (1 - t) * q) ** gamma
    factor = modulating * ((t * alpha + (1 - t) * (1 - alpha)) if balanced else 1.0)
    return {
        "focal_cross_entropy": np.mean(factor * -(y_true * log_q + (1 - y_true) * log_not_q), -1),
        "focal_uniform_cross_entropy": np.mean(factor * -(log_q + log_not_q) / 2, -1),
    }, np.mean(modulating, -1)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_binary_components_and_modulating_factor_match_the_reference(from_logits):
    y_true, y_pred = _binary(RNG, (BATCH, 5), from_logits)
    loss = kerasloss.BinaryFocalCrossentropy(
        apply_class_balancing=True, alpha=0.3, gamma=2.5, from_logits=from_logits, label_smoothing=0.2,
        reduction=None,
    )
    expected, modulating = _binary_reference(y_true, y_pred, from_logits, True, 0.3, 2.5, 0.2)
    terms = loss.terms(y_true, y_pred)
    for name, value in expected.items():
        np.testing.assert_allclose(parity.as_numpy(terms.values[name]), value, rtol=2e-6, atol=1e-8, err_msg=name)
    np.testing.assert_allclose(parity.as_numpy(terms.diagnostics["modulating_factor"]), modulating, rtol=2e-6, atol=1e-8)
    parity.assert_components_add_up(loss, y_true, y_pred)
    assert loss.component_weights == pytest.approx(
        {"focal_cross_entropy": 0.8, "focal_uniform_cross_entropy": 0.2}
    )


@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_categorical_components_and_modulating_factor_match_the_reference(from_logits):
    y_true, y_pred = _categorical(RNG, (BATCH, 5), from_logits)
    alpha = [0.1, 0.2, 0.3, 0.25, 0.15]
    loss = kerasloss.CategoricalFocalCrossentropy(
        alpha=alpha, gamma=1.5, from_logits=from_logits, label_smoothing=0.3, reduction=None
    )
    log_p = ref.log_softmax(y_pred) if from_logits else np.log(np.clip(
        y_pred / y_pred.sum(-1, keepdims=True), ref.EPSILON, 1 - ref.EPSILON))
    modulating = (1 - np.exp(log_p)) ** 1.5
    focal = np.asarray(alpha) * modulating * -log_p
    terms = loss.terms(y_true, y_pred)
    np.testing.assert_allclose(parity.as_numpy(terms.values["focal_cross_entropy"]),
                               np.sum(y_true * focal, -1), rtol=2e-6, atol=1e-8)
    np.testing.assert_allclose(parity.as_numpy(terms.values["focal_uniform_cross_entropy"]),
                               np.mean(focal, -1), rtol=2e-6, atol=1e-8)
    np.testing.assert_allclose(parity.as_numpy(terms.diagnostics["modulating_factor"]),
                               np.sum(y_true * modulating, -1), rtol=2e-6, atol=1e-8)
    parity.assert_components_add_up(loss, y_true, y_pred)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_entropy_is_the_prediction_entropy(from_logits):
    y_true, y_pred = _binary(RNG, (BATCH, 5), from_logits)
    entropy = kerasloss.BinaryFocalCrossentropy(from_logits=from_logits).terms(y_true, y_pred, True).entropy
    np.testing.assert_allclose(parity.as_numpy(entropy), parity.as_numpy(
        prediction_entropy(y_pred, from_logits, "binary")), rtol=1e-6)
    y_true, y_pred = _categorical(RNG, (BATCH, 5), from_logits)
    entropy = kerasloss.CategoricalFocalCrossentropy(from_logits=from_logits).terms(y_true, y_pred, True).entropy
    np.testing.assert_allclose(parity.as_numpy(entropy), parity.as_numpy(
        prediction_entropy(y_pred, from_logits, "categorical")), rtol=1e-6)


def test_logits_of_1e4_give_the_exact_loss_entropy_and_a_finite_gradient():
    y_true = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)
    logits = np.array([[-1e4, 1e4, 1e4, -1e4]], np.float32)
    binary = kerasloss.BinaryFocalCrossentropy(from_logits=True, gamma=2.0, reduction="sum")
    terms = binary.terms(y_true, logits, with_entropy=True)
    # two confidently wrong outputs: factor 1, cross-entropy 1e4 each; two right ones: 0
    np.testing.assert_allclose(parity.as_numpy(terms.values["focal_cross_entropy"]), [5e3], rtol=1e-6)
    np.testing.assert_allclose(parity.as_numpy(terms.entropy), [0.0], atol=1e-30)
    categorical = kerasloss.CategoricalFocalCrossentropy(alpha=1.0, from_logits=True, reduction="sum")
    one_hot, class_logits = np.array([[0.0, 1.0, 0.0]], np.float32), np.array([[1e4, -1e4, 0.0]], np.float32)
    np.testing.assert_allclose(parity.as_numpy(categorical(one_hot, class_logits)), 2e4, rtol=1e-6)
    for loss, y, z in [(binary, y_true, logits), (categorical, one_hot, class_logits)]:
        gradient = _gradient(loss, y, z)
        assert np.all(np.isfinite(gradient))
        assert np.any(gradient != 0.0)  # Keras' clipped sigmoid/softmax gives 0 here


def _gradient(loss, y_true, y_pred):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(y_pred)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(y_true, x)
        return tape.gradient(value, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda x: loss(y_true, x))(y_pred))
    import torch

    x = torch.tensor(y_pred, requires_grad=True)
    loss(y_true, x).backward()
    return x.grad.numpy()


# --- torchvision's sigmoid_focal_loss ----------------------------------------------------------

def _torchvision_sigmoid_focal_loss(inputs, targets, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss (torchvision 0.20, reduction="mean"), its formula verbatim."""
    import torch
    import torch.nn.functional as F

    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.mean()


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_binary_focal_from_logits_equals_torchvision_sigmoid_focal_loss(scale):
    torch = pytest.importorskip("torch")
    y_true, logits = _binary(RNG, (BATCH, 7), True)
    logits = (logits * scale).astype(np.float32)
    expected = _torchvision_sigmoid_focal_loss(
        torch.tensor(logits, dtype=torch.float64), torch.tensor(y_true, dtype=torch.float64), 0.25, 2.0
    ).item()
    loss = kerasloss.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True)
    np.testing.assert_allclose(parity.as_numpy(loss(y_true, logits)), expected, rtol=1e-6)


# --- configuration and serialization --------------------------------------------------------------

@pytest.mark.parametrize("cls", [kerasloss.BinaryFocalCrossentropy, kerasloss.CategoricalFocalCrossentropy])
def test_constructor_arguments_defaults_and_name_are_keras(cls):
    parity.assert_same_signature(cls)
    assert keras.saving.get_registered_name(cls) == f"kerasloss>{cls.__name__}"


@pytest.mark.parametrize(
    "loss",
    [
        kerasloss.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=3.0,
                                          label_smoothing=0.1, axis=1, reduction="sum", name="bf"),
        kerasloss.CategoricalFocalCrossentropy(alpha=[0.2, 0.8], gamma=1.0, from_logits=True, name="cf"),
    ],
    ids=["binary", "categorical"],
)
def test_config_round_trip_rebuilds_an_equal_loss(loss):
    parity.assert_config_round_trip(loss)


@pytest.mark.parametrize(
    "loss, y",
    [
        (kerasloss.BinaryFocalCrossentropy(from_logits=True, label_smoothing=0.1),
         RNG.integers(0, 2, (8, 2)).astype(np.float32)),
        (kerasloss.CategoricalFocalCrossentropy(alpha=[0.3, 0.7], from_logits=True),
         np.eye(2, dtype=np.float32)[RNG.integers(0, 2, 8)]),
    ],
    ids=["binary", "categorical"],
)
def test_model_compiled_with_the_loss_survives_a_keras_file_round_trip(loss, y, tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    parity.assert_keras_file_round_trip(loss, model, RNG.normal(size=(8, 3)).astype(np.float32), y, tmp_path)


@pytest.mark.parametrize(
    "expression, expected",
    [
        (lambda: kerasloss.BinaryFocalCrossentropy(gamma=2.0)([[1.0]], [[0.5]]), 0.25 * np.log(2)),
        (lambda: kerasloss.CategoricalFocalCrossentropy(alpha=1.0)([[0.0, 1.0]], [[0.5, 0.5]]),
         0.25 * np.log(2)),
    ],
    ids=["binary", "categorical"],
)
def test_docstring_examples_give_the_documented_values(expression, expected):
    np.testing.assert_allclose(parity.as_numpy(expression()), expected, rtol=1e-6)


@pytest.mark.parametrize("gamma", [0.0, 0.5], ids=["gamma-0", "gamma-0.5"])
@pytest.mark.parametrize("mode", ["eager", "xla"])
@pytest.mark.parametrize("loss_class, y_true, logits", [
    (kerasloss.BinaryFocalCrossentropy, [[1.0], [0.0]], [[40.0], [-30.0]]),
    (kerasloss.CategoricalFocalCrossentropy, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[120.0, 0.0, 0.0], [0.0, 0.0, 120.0]]),
], ids=["binary", "categorical"])
def test_a_confident_right_answer_has_a_gradient_of_0_not_nan_for_gamma_below_1(loss_class, y_true, logits, mode, gamma):
    # 1 - p rounds to 0: (1 - p)^γ has an infinite derivative there for γ < 1 (and 0·x^-1 for γ = 0),
    # and the chain rule gave NaN; the limit of the gradient with respect to the logits is 0
    loss = loss_class(gamma=gamma, from_logits=True, reduction="sum")
    y_true, logits = np.array(y_true, np.float32), np.array(logits, np.float32)
    value, gradient = value_and_gradient(lambda z: loss(y_true, z), logits, mode)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-6)
    np.testing.assert_allclose(value, 0.0, atol=1e-6)
