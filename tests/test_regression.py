"""Regression losses: MSE, MAE and the batch RMSE (root of the reduced squared error)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from kerasloss.regression import safe_sqrt
from tests import numpy_reference as ref

RNG = np.random.default_rng(3)
Y_TRUE = RNG.normal(size=(6, 2)).astype(np.float32)
Y_PRED = RNG.normal(size=(6, 2)).astype(np.float32)
WEIGHT = RNG.uniform(0.1, 2.0, 6).astype(np.float32)
MODES = {"eager": lambda f: f, "graph": tf.function, "xla": lambda f: tf.function(f, jit_compile=True)}


def _gradient(loss, y_true, y_pred, mode="eager", sample_weight=None):
    def run(y_true, y_pred):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            value = loss(y_true, y_pred, sample_weight)
        return tape.gradient(value, y_pred)

    return MODES[mode](run)(tf.constant(y_true), tf.constant(y_pred)).numpy()


def test_rmse_is_a_batch_root_not_a_mean_of_per_example_roots():
    per_example = ref.squared_error(Y_TRUE, Y_PRED)[0]["squared_error"]
    value = float(kerasloss.RootMeanSquaredError()(Y_TRUE, Y_PRED))
    assert value == pytest.approx(np.sqrt(per_example.mean()), rel=1e-5)
    assert value != pytest.approx(np.sqrt(per_example).mean(), rel=1e-3)


def test_rmse_with_mean_with_sample_weight_is_root_of_weighted_mean_squared_error():
    per_example = ref.squared_error(Y_TRUE, Y_PRED)[0]["squared_error"]
    loss = kerasloss.RootMeanSquaredError(reduction="mean_with_sample_weight")
    np.testing.assert_allclose(
        loss(Y_TRUE, Y_PRED, WEIGHT), np.sqrt(np.sum(WEIGHT * per_example) / np.sum(WEIGHT)), rtol=1e-5
    )


@pytest.mark.tensorflow_only  # tf.GradientTape / tf.function
@pytest.mark.parametrize("mode", list(MODES))
def test_rmse_gradient_is_zero_and_finite_at_exactly_zero_error(mode):
    grad = _gradient(kerasloss.RootMeanSquaredError(), Y_TRUE, Y_TRUE.copy(), mode)
    assert np.all(grad == 0.0)


@pytest.mark.tensorflow_only  # tf.GradientTape / tf.function
@pytest.mark.parametrize("mode", list(MODES))
def test_rmse_gradient_matches_the_closed_form(mode):
    # d sqrt(mean(e²)) / d ŷ = -(y - ŷ) / (n · rmse), n = number of elements
    grad = _gradient(kerasloss.RootMeanSquaredError(), Y_TRUE, Y_PRED, mode)
    error = Y_TRUE.astype(np.float64) - Y_PRED
    expected = -error / (error.size * np.sqrt(np.mean(error**2)))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.tensorflow_only  # tf.GradientTape / tf.function
def test_safe_sqrt_is_sqrt_with_zero_gradient_at_zero():
    x = tf.constant([0.0, 4.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = safe_sqrt(x)
    np.testing.assert_allclose(y, [0.0, 2.0])
    np.testing.assert_allclose(tape.gradient(y, x), [0.0, 0.25])


@pytest.mark.tensorflow_only  # tf.GradientTape / tf.function
@pytest.mark.parametrize(
    "cls", [kerasloss.MeanSquaredError, kerasloss.MeanAbsoluteError, kerasloss.RootMeanSquaredError]
)
def test_gradient_matches_central_finite_differences_in_float64(cls):
    loss = cls(dtype="float64")
    y_true, y_pred = Y_TRUE.astype(np.float64), Y_PRED.astype(np.float64)
    grad = _gradient(loss, y_true, y_pred, sample_weight=WEIGHT.astype(np.float64))
    numeric = ref.central_difference(lambda p: float(loss(y_true, p, WEIGHT.astype(np.float64))), y_pred)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (kerasloss.MeanSquaredError, keras.losses.MeanSquaredError),
        (kerasloss.MeanAbsoluteError, keras.losses.MeanAbsoluteError),
    ],
    ids=["mse", "mae"],
)
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_agrees_with_keras_for_every_reduction(ours, theirs, reduction):
    np.testing.assert_allclose(
        ours(reduction=reduction)(Y_TRUE, Y_PRED, WEIGHT),
        theirs(reduction=reduction)(Y_TRUE, Y_PRED, WEIGHT),
        rtol=1e-5, atol=1e-7,
    )


def test_labels_of_rank_one_less_are_compared_per_output():
    y_true = RNG.normal(size=6).astype(np.float32)
    y_pred = RNG.normal(size=(6, 1)).astype(np.float32)
    np.testing.assert_allclose(
        kerasloss.MeanSquaredError()(y_true, y_pred), np.mean((y_true - y_pred[:, 0]) ** 2), rtol=1e-5
    )


def test_predictions_of_rank_one_less_are_compared_per_output():
    y_true = RNG.normal(size=(6, 1)).astype(np.float32)
    y_pred = RNG.normal(size=6).astype(np.float32)
    np.testing.assert_allclose(
        kerasloss.MeanAbsoluteError()(y_true, y_pred), np.mean(np.abs(y_true[:, 0] - y_pred)), rtol=1e-5
    )


def test_integer_targets_are_cast_to_the_prediction_dtype():
    y_true = np.array([[1], [2]], np.int64)
    y_pred = np.array([[1.5], [2.0]], np.float32)
    np.testing.assert_allclose(kerasloss.MeanSquaredError()(y_true, y_pred), 0.125, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_rmse_of_an_empty_batch_is_zero(reduction):
    loss = kerasloss.RootMeanSquaredError(reduction=reduction)
    value = loss(np.zeros((0, 2)), np.zeros((0, 2), np.float32), np.zeros((0,), np.float32))
    assert tuple(value.shape) == () and float(value) == 0.0


@pytest.mark.parametrize(
    "cls", [kerasloss.MeanSquaredError, kerasloss.MeanAbsoluteError, kerasloss.RootMeanSquaredError]
)
def test_empty_rank_1_batch_is_zero_not_nan(cls):
    value = cls()(np.zeros((0,), np.float32), np.zeros((0,), np.float32))
    assert tuple(value.shape) == () and float(value) == 0.0


@pytest.mark.tensorflow_only  # tf.GradientTape / tf.function
@pytest.mark.parametrize("mode", ["graph", "xla"])
def test_rank_1_inputs_average_over_their_only_axis_like_keras(mode):
    y_true, y_pred = Y_TRUE[:, 0], Y_PRED[:, 0]
    compiled = MODES[mode](lambda t, p: kerasloss.MeanSquaredError(reduction="sum")(t, p))
    np.testing.assert_allclose(
        compiled(y_true, y_pred), keras.losses.MeanSquaredError(reduction="sum")(y_true, y_pred), rtol=1e-6
    )


@pytest.mark.parametrize(
    "ours, theirs",
    [(kerasloss.MeanSquaredError, keras.losses.MeanSquaredError),
     (kerasloss.MeanAbsoluteError, keras.losses.MeanAbsoluteError)],
    ids=["mse", "mae"],
)
def test_integer_predictions_are_converted_to_float32_like_keras(ours, theirs):
    ratings, predicted = np.array([[4], [2], [5]], np.int32), np.array([[3], [2], [1]], np.int64)
    value = ours()(ratings, predicted)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    np.testing.assert_allclose(value, theirs()(ratings, predicted), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["sum", None], ids=str)
def test_a_trailing_size_one_axis_is_squeezed_like_keras(reduction):
    y_true, y_pred = Y_TRUE, Y_PRED[..., None]
    np.testing.assert_allclose(
        kerasloss.MeanSquaredError(reduction=reduction)(y_true, y_pred),
        keras.losses.MeanSquaredError(reduction=reduction)(y_true, y_pred), rtol=1e-6,
    )
