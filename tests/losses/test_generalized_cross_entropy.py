"""CategoricalGeneralizedCrossEntropy (kerasloss.losses.generalized_cross_entropy, kerasloss.losses.generalized_cross_entropy)
against keras.losses and its closed form."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import kerasloss
from kerasloss.entropy import prediction_entropy
from tests.helpers import keras_parity as parity
from tests.helpers.backend_gradients import value_and_gradient
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(61)


def _problem(rng, shape):
    labels = rng.integers(0, shape[-1], shape[:-1])
    return labels, rng.dirichlet(np.ones(shape[-1]), shape[:-1]).astype(np.float32)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_value_equals_keras(q, reduction, weighted):
    labels, probs = _problem(RNG, (8, 5))
    weight = RNG.uniform(0, 2, 8).astype(np.float32) if weighted else None
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(q=q, reduction=reduction)
    parity.assert_equal_to_keras(loss, labels, probs, weight)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31 - 1), shape=st.sampled_from([(1, 2), (3, 2), (2, 3, 4), (5, 7)]),
       q=st.floats(0.01, 0.99), reduction=st.sampled_from(ref.REDUCTIONS))
def test_value_equals_keras_on_random_inputs(seed, shape, q, reduction):
    # (a single class is left out: Keras then expands the labels to (B, 1) and returns (B, 1) values)
    labels, probs = _problem(np.random.default_rng(seed), shape)
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(q=q, reduction=reduction)
    parity.assert_equal_to_keras(loss, labels, probs)


def test_closed_form_and_zero_probability():
    probs = np.array([[0.7, 0.3, 0.0], [0.2, 0.2, 0.6], [0.0, 1.0, 0.0]], np.float32)
    labels = np.array([0, 2, 0])
    expected = (1 - np.array([0.7, 0.6, 0.0]) ** 0.5) / 0.5
    got = kerasloss.CategoricalGeneralizedCrossEntropy(reduction=None)(labels, probs)
    np.testing.assert_allclose(parity.as_numpy(got), expected, rtol=1e-6)


def test_labels_with_a_size_1_last_axis_give_one_value_per_example():
    # Keras broadcasts (B, 1) labels into a (B, B) matrix; ours reads them as (B,)
    labels, probs = _problem(RNG, (4, 3))
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(reduction=None)
    np.testing.assert_allclose(parity.as_numpy(loss(labels[:, None], probs)), parity.as_numpy(loss(labels, probs)))


def test_entropy_is_the_prediction_entropy():
    labels, probs = _problem(RNG, (6, 4))
    entropy = kerasloss.CategoricalGeneralizedCrossEntropy().terms(labels, probs, with_entropy=True).entropy
    np.testing.assert_allclose(parity.as_numpy(entropy), parity.as_numpy(prediction_entropy(probs)), rtol=1e-6)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_predictions_are_computed_in_float32(dtype, label_smoothing):
    labels, probs = _problem(RNG, (6, 4))
    low = ops.cast(probs, dtype)
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(label_smoothing=label_smoothing)
    got = loss(labels, low)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(parity.as_numpy(got), parity.as_numpy(loss(labels, ops.cast(low, "float32"))),
                               rtol=1e-6)


@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_keras_mask_on_predictions_is_honoured_like_keras(reduction):
    labels, probs = _problem(RNG, (3, 4, 5))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(reduction=reduction)
    np.testing.assert_allclose(
        parity.as_numpy(loss(labels, parity.masked(probs, mask))),
        parity.as_numpy(parity.twin(loss)(labels, parity.masked(probs, mask))), rtol=1e-6, atol=1e-7,
    )


@pytest.mark.parametrize("q, error", [(0.0, ValueError), (1.0, ValueError), ("x", TypeError)])
def test_q_outside_0_1_is_refused_like_keras(q, error):
    if error is ValueError:
        with pytest.raises(ValueError, match=r"q must be in the interval \(0, 1\)"):
            keras.losses.CategoricalGeneralizedCrossEntropy(q=q)
    with pytest.raises(error, match=r"q must be .*\(0, 1\), got"):
        kerasloss.CategoricalGeneralizedCrossEntropy(q=q)


def test_labels_outside_the_classes_are_refused():
    with pytest.raises(ValueError, match=r"sparse labels \(y_true\) must be integers in \[0, 3\), got \[3\]"):
        kerasloss.CategoricalGeneralizedCrossEntropy()(np.array([0, 3]), np.full((2, 3), 1 / 3, np.float32))


def test_components_add_up_and_constructor_config_and_name_are_keras():
    parity.assert_same_signature(kerasloss.CategoricalGeneralizedCrossEntropy, beyond_keras={"label_smoothing": 0.0})
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(q=0.3, reduction="sum", name="g")
    assert loss.component_weights == {"generalized_cross_entropy": 1.0}
    parity.assert_components_add_up(loss, *_problem(RNG, (5, 3)))
    parity.assert_config_round_trip(loss)


# --- label smoothing (beyond Keras) --------------------------------------------------------------
def _smoothed_reference(labels, probs, q, e):
    """Σ_k t_k (1 - p_k^q)/q in float64 against the dense smoothed target t = (1-e)·onehot + e/K."""
    k = probs.shape[-1]
    target = (1 - e) * np.eye(k)[labels] + e / k
    return np.sum(target * (1 - probs.astype(np.float64) ** q) / q, axis=-1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shape=st.sampled_from([(1, 2), (4, 3), (2, 3, 5), (6, 10)]),
       q=st.floats(0.05, 0.95), e=st.floats(0.0, 1.0))
def test_label_smoothing_equals_the_dense_smoothed_target_in_float64(seed, shape, q, e):
    labels, probs = _problem(np.random.default_rng(seed), shape)
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(q=q, label_smoothing=e, reduction=None)
    np.testing.assert_allclose(parity.as_numpy(loss(labels, probs)), _smoothed_reference(labels, probs, q, e),
                               rtol=2e-5, atol=2e-6)


def test_label_smoothing_components_add_up_and_survive_config_and_keras_file(tmp_path):
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(q=0.7, label_smoothing=0.2, reduction="sum", name="g")
    assert loss.component_weights == pytest.approx(
        {"generalized_cross_entropy": 0.8, "uniform_generalized_cross_entropy": 0.2})
    labels, probs = _problem(RNG, (5, 4))
    parity.assert_components_add_up(loss, labels, probs, RNG.uniform(0, 2, 5).astype(np.float32))
    uniform = loss.components(labels, probs)["uniform_generalized_cross_entropy"]  # reduced by "sum"
    np.testing.assert_allclose(parity.as_numpy(uniform), _smoothed_reference(labels, probs, 0.7, 1.0).sum(),
                               rtol=1e-5)
    parity.assert_config_round_trip(loss)
    assert loss.get_config()["label_smoothing"] == 0.2
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    x, y = RNG.normal(size=(8, 3)).astype(np.float32), RNG.integers(0, 4, 8)
    parity.assert_keras_file_round_trip(loss, model, x, y, tmp_path)


def test_label_smoothing_with_a_zero_probability_is_finite_and_exact():
    # 0^q = 0: the uniform term's exp(q·log p) on JAX and PyTorch must give it too
    probs = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]], np.float32)
    labels = np.array([0, 2])
    got = kerasloss.CategoricalGeneralizedCrossEntropy(q=0.5, label_smoothing=0.3, reduction=None)(labels, probs)
    np.testing.assert_allclose(parity.as_numpy(got), _smoothed_reference(labels, probs, 0.5, 0.3), rtol=1e-6)


@pytest.mark.parametrize("e", [0.0, 0.3], ids=["plain", "smoothed"])
@pytest.mark.parametrize("mode", ["eager", "xla"])
def test_a_softmax_probability_that_underflows_to_0_has_the_float64_gradient_not_nan(mode, e):
    # p_0 = e^-120 is 0 in float32: p^q computed as it reads has an infinite derivative there, and
    # the chain rule through the softmax (derivative 0) gave NaN, which diverged a training
    logits = np.array([[0.0, 120.0, 0.0], [1.0, 2.0, 3.0]], np.float32)
    labels = np.array([0, 2])
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(q=0.5, label_smoothing=e, reduction="sum")
    value, gradient = value_and_gradient(lambda z: loss(labels, ops.softmax(z)), logits, mode)
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    target = (1 - e) * np.eye(3)[labels] + e / 3
    np.testing.assert_allclose(value, np.sum(target * (1 - p**0.5) / 0.5), rtol=1e-6)
    weighted = target * p**0.5  # d/dz_j Σ_k t_k (1 - p_k^q)/q = -(t_j p_j^q - p_j Σ_k t_k p_k^q)
    np.testing.assert_allclose(gradient, -(weighted - p * weighted.sum(-1, keepdims=True)), rtol=1e-5, atol=1e-7)


def test_label_smoothing_keeps_out_of_range_labels_refused():
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(label_smoothing=0.1, reduction=None)
    with pytest.raises(ValueError, match=r"sparse labels \(y_true\) must be integers in \[0, 3\), got \[3\]"):
        loss(np.array([0, 3]), np.full((2, 3), 1 / 3, np.float32))


@pytest.mark.tensorflow_only
def test_label_smoothing_gives_nan_for_an_out_of_range_label_inside_a_compiled_function():
    import tensorflow as tf

    loss = kerasloss.CategoricalGeneralizedCrossEntropy(label_smoothing=0.1, reduction=None)
    for name in ("generalized_cross_entropy", "uniform_generalized_cross_entropy"):
        values = tf.function(lambda t, p, name=name: loss.terms(t, p).values[name])(
            tf.constant([0, 3]), tf.fill((2, 3), 1 / 3)).numpy()
        assert np.isfinite(values[0]) and np.isnan(values[1]), name


def test_label_smoothing_over_2_pow_24_classes_stays_within_1e_5_of_float64():
    # the brief's bound for sums over the class axis, on the uniform term's 2**24 + 3 powers; and a
    # label above 2**24, which a float32 cast would move to its neighbour, picks its own probability
    classes, label = 2**24 + 3, 2**24 + 1
    probs = np.random.default_rng(24).uniform(0.5, 1.5, (1, classes)).astype(np.float32)
    probs /= probs.sum(dtype=np.float64)
    loss = kerasloss.CategoricalGeneralizedCrossEntropy(q=0.5, label_smoothing=0.1, reduction=None)
    uniform = loss.components(np.array([label]), probs)["uniform_generalized_cross_entropy"]
    expected = (1 - np.mean(probs[0].astype(np.float64) ** 0.5)) / 0.5
    np.testing.assert_allclose(parity.as_numpy(uniform), [expected], rtol=1e-5)
    picked = loss.components(np.array([label]), probs)["generalized_cross_entropy"]
    np.testing.assert_allclose(parity.as_numpy(picked), [(1 - float(probs[0, label]) ** 0.5) / 0.5], rtol=1e-6)


@pytest.mark.parametrize("value, error", [(-0.1, ValueError), (1.5, ValueError), ("0.1", TypeError), (True, TypeError)])
def test_label_smoothing_outside_0_1_is_refused_naming_it(value, error):
    with pytest.raises(error, match="label_smoothing must be"):
        kerasloss.CategoricalGeneralizedCrossEntropy(label_smoothing=value)


def test_model_compiled_with_the_loss_survives_a_keras_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    x, labels = RNG.normal(size=(8, 3)).astype(np.float32), RNG.integers(0, 4, 8)
    parity.assert_keras_file_round_trip(kerasloss.CategoricalGeneralizedCrossEntropy(q=0.7), model, x, labels,
                                        tmp_path)


def test_docstring_example_gives_the_documented_value():
    value = kerasloss.CategoricalGeneralizedCrossEntropy(q=0.5)(np.array([1]), np.array([[0.75, 0.25]]))
    np.testing.assert_allclose(parity.as_numpy(value), 1.0, rtol=1e-6)
