"""Regression losses: MSE, MAE and the batch RMSE (root of the reduced squared error).

Huber, LogCosh, MAPE, MSLE and CosineSimilarity: their components, diagnostics and edge values
against closed-form NumPy, and against PyTorch's namesakes. (Parity with keras.losses:
tests/losses/test_catalogue_parity.py.)
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import kerasloss
from tests.helpers import numpy_reference as ref
import torch
from keras import ops
from kerasloss.metrics import loss_components
from kerasloss.losses.regression import huber_terms


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


RNG = np.random.default_rng(21)
Y_TRUE = RNG.normal(size=(32, 8)).astype(np.float32)
Y_PRED = RNG.normal(size=(32, 8)).astype(np.float32)
WEIGHT = RNG.uniform(0.1, 2.0, 32).astype(np.float32)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


@pytest.mark.parametrize("delta", [0.0, 0.3, 1.0, 5.0])
def test_huber_splits_into_quadratic_and_linear_zones(delta):
    error = np.abs(Y_PRED.astype(np.float64) - Y_TRUE)
    clipped = np.minimum(error, delta)
    terms = huber_terms(Y_TRUE, Y_PRED, delta)
    np.testing.assert_allclose(_np(terms.values["quadratic"]), np.mean(0.5 * clipped**2, -1), rtol=1e-6)
    np.testing.assert_allclose(
        _np(terms.values["linear"]), np.mean(delta * (error - clipped), -1), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        _np(terms.diagnostics["linear_fraction"]), np.mean(error > delta, -1), rtol=1e-6
    )


def test_huber_linear_component_is_zero_when_every_error_is_within_delta():
    components = kerasloss.Huber(delta=100.0).components(Y_TRUE, Y_PRED)
    assert float(components["linear"]) == 0.0
    assert float(components["quadratic"]) > 0.0


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_equals_torch_huber_loss(delta):
    expected = torch.nn.functional.huber_loss(
        torch.tensor(Y_PRED), torch.tensor(Y_TRUE), reduction="mean", delta=delta
    )
    np.testing.assert_allclose(_np(kerasloss.Huber(delta)(Y_TRUE, Y_PRED)), expected.item(), rtol=1e-6)


def test_huber_negative_or_non_numeric_delta_is_refused():
    with pytest.raises(ValueError, match=r"delta must be >= 0, got -1.0"):
        kerasloss.Huber(delta=-1.0)
    with pytest.raises(TypeError, match=r"delta must be a non-negative number, got '1'"):
        kerasloss.Huber(delta="1")


def test_huber_logs_its_components_and_the_linear_fraction_in_fit():
    loss = kerasloss.Huber(delta=0.5)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss=loss, metrics=loss_components(loss, diagnostics=True))
    results = model.evaluate(Y_PRED, Y_TRUE, batch_size=32, verbose=0, return_dict=True)
    predictions = np.asarray(model.predict(Y_PRED, verbose=0), np.float64)
    error = np.abs(predictions - Y_TRUE)
    clipped = np.minimum(error, 0.5)
    assert results["loss/quadratic"] == pytest.approx(np.mean(0.5 * clipped**2), rel=1e-5)
    assert results["loss/linear"] == pytest.approx(np.mean(0.5 * (error - clipped)), rel=1e-5)
    assert results["diagnostics/linear_fraction"] == pytest.approx(np.mean(error > 0.5), rel=1e-6)
    assert results["loss"] == pytest.approx(results["loss/quadratic"] + results["loss/linear"], rel=1e-5)


def test_log_cosh_of_huge_errors_is_finite_and_linear():
    y_pred = np.array([[1e4, -1e4, 50.0]], np.float32)
    expected = np.mean(np.abs(y_pred.astype(np.float64)) - np.log(2.0))
    np.testing.assert_allclose(_np(kerasloss.LogCosh()(np.zeros_like(y_pred), y_pred)), expected, rtol=1e-6)


def test_mape_divides_a_zero_target_by_epsilon():
    value = kerasloss.MeanAbsolutePercentageError()(np.array([[0.0, 2.0]]), np.array([[1e-7, 1.0]], np.float32))
    np.testing.assert_allclose(_np(value), 100.0 * (1.0 + 0.5) / 2, rtol=1e-5)


def test_msle_raises_negative_values_to_epsilon():
    value = kerasloss.MeanSquaredLogarithmicError()(np.array([[-3.0]]), np.array([[np.e - 1.0]], np.float32))
    np.testing.assert_allclose(_np(value), (1.0 - np.log1p(1e-7)) ** 2, rtol=1e-6)


def test_cosine_similarity_component_is_the_similarity_with_weight_minus_one():
    loss = kerasloss.CosineSimilarity()
    cosine = np.sum(Y_TRUE * Y_PRED, -1) / (np.linalg.norm(Y_TRUE, axis=-1) * np.linalg.norm(Y_PRED, axis=-1))
    assert loss.component_weights == {"cosine_similarity": -1.0}
    np.testing.assert_allclose(_np(loss.components(Y_TRUE, Y_PRED)["cosine_similarity"]), cosine.mean(), rtol=1e-5)
    np.testing.assert_allclose(_np(loss(Y_TRUE, Y_PRED)), -cosine.mean(), rtol=1e-5)


def test_cosine_similarity_equals_torch_cosine_embedding_loss_minus_one():
    # cosine_embedding_loss with target 1 is mean(1 − cos)
    embedding = torch.nn.functional.cosine_embedding_loss(
        torch.tensor(Y_TRUE), torch.tensor(Y_PRED), torch.ones(32)
    )
    np.testing.assert_allclose(_np(kerasloss.CosineSimilarity()(Y_TRUE, Y_PRED)), embedding.item() - 1.0, rtol=1e-5)


def test_cosine_similarity_along_another_axis_equals_the_transposed_loss():
    along_batch = kerasloss.CosineSimilarity(axis=0)(Y_TRUE, Y_PRED)
    transposed = kerasloss.CosineSimilarity()(Y_TRUE.T.copy(), Y_PRED.T.copy())
    np.testing.assert_allclose(_np(along_batch), _np(transposed), rtol=1e-6)


def test_cosine_similarity_refuses_an_axis_outside_the_rank():
    with pytest.raises(ValueError, match=r"axis must index y_pred of rank 2, got axis=2"):
        kerasloss.CosineSimilarity(axis=2)(Y_TRUE, Y_PRED)
    with pytest.raises(TypeError, match=r"axis must be an int, got None"):
        kerasloss.CosineSimilarity(axis=None)
