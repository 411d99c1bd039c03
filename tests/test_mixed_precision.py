"""kerasloss under Keras mixed precision (`mixed_float16`, `mixed_bfloat16`).

Layers then compute in 16 bits and hand 16-bit predictions to the loss. Every loss computes in
float32 (its value and components are float32 and equal the float32 computation on the same
predictions), stays finite wherever the float32 result is, logs components and entropy as float32,
and leaves `LossScaleOptimizer` (which `compile` adds under `mixed_float16`) doing its job: the
scaled loss only scales gradients, never the logged values.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasloss
from kerasloss.distribute import CustomLoopLogger
from kerasloss.metrics import loss_components
from tests.helpers import backend_gradients

POLICIES = ("mixed_float16", "mixed_bfloat16")
HALF = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def _dtype(tensor):
    return keras.backend.standardize_dtype(tensor.dtype)


@pytest.fixture(params=POLICIES)
def policy(request):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(request.param)
    try:
        yield request.param
    finally:
        keras.config.set_dtype_policy(previous)


def _losses():
    """(loss, y_true, raw predictions in float32) for every loss, 4 rows."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 5)).astype("float32") * 3
    probs = tf.nn.softmax(logits).numpy()
    labels = np.array([0, 3, 4, 1], dtype="int32")
    onehot = np.eye(5, dtype="float32")[labels]
    binary = (rng.uniform(size=(4, 5)) > 0.5).astype("float32")
    regression = rng.normal(size=(4, 5)).astype("float32")
    return {
        "mse": (kerasloss.MeanSquaredError(), regression, logits),
        "mae": (kerasloss.MeanAbsoluteError(), regression, logits),
        "rmse": (kerasloss.RootMeanSquaredError(), regression, logits),
        "binary_logits": (kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
                          binary, logits),
        "binary_probs": (kerasloss.BinaryCrossentropy(label_smoothing=0.1), binary,
                         1 / (1 + np.exp(-logits))),
        "categorical_logits": (kerasloss.CategoricalCrossentropy(
            from_logits=True, label_smoothing=0.1, z_loss=1e-3), onehot, logits),
        "categorical_probs": (kerasloss.CategoricalCrossentropy(label_smoothing=0.1), onehot, probs),
        "sparse_logits": (kerasloss.SparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=0.1, z_loss=1e-3, ignore_class=4), labels, logits),
        "sparse_probs": (kerasloss.SparseCategoricalCrossentropy(label_smoothing=0.1), labels, probs),
        "composite": (kerasloss.MeanSquaredError() + 0.5 * kerasloss.MeanAbsoluteError(),
                      regression, logits),
    }


CASES = sorted(_losses())


@pytest.mark.parametrize("case", CASES)
def test_loss_computes_in_float32_on_16_bit_predictions(policy, case):
    loss, y_true, raw = _losses()[case]
    half = keras.ops.cast(raw, HALF[policy])
    value = loss(y_true, half)
    components = loss.components(y_true, half)
    assert _dtype(value) == "float32"
    assert all(_dtype(c) == "float32" for c in components.values())
    # the same number as float32 math on the (rounded) 16-bit predictions
    exact = loss(y_true, keras.ops.cast(half, "float32"))
    np.testing.assert_allclose(np.asarray(value), np.asarray(exact), rtol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_loss_from_a_mixed_precision_layer_is_float32(policy, case):
    loss, y_true, raw = _losses()[case]
    layer = keras.layers.Activation("linear")
    y_pred = layer(raw)
    assert _dtype(y_pred) == HALF[policy]
    assert _dtype(loss(y_true, y_pred)) == "float32"


@pytest.mark.parametrize("case", CASES)
def test_gradient_reaches_16_bit_predictions_finite(policy, case):
    loss, y_true, raw = _losses()[case]
    half = keras.ops.cast(raw, HALF[policy])
    # From logits (and for regression) the gradient is bounded, so even a loss scale such as
    # LossScaleOptimizer applies does not overflow 16 bits. From probabilities d(-log p)/dp = -1/p
    # exceeds float16's range for small p once scaled, as with Keras' own losses: finding that
    # overflow and lowering the scale is LossScaleOptimizer's job, so they are checked unscaled.
    scale = 1.0 if case.endswith("_probs") else 1024.0
    _, grad = backend_gradients.value_and_gradient(lambda p: loss(y_true, p) * scale, half)
    assert _dtype(grad) == HALF[policy]
    assert np.isfinite(grad.astype("float32")).all()


def _extremes(dtype):
    big = 6.0e4 if dtype == "float16" else 1.0e30  # near float16's max; far beyond it for bfloat16
    return np.array([[big, -big, 0.0], [0.0, 0.0, 0.0], [-big, big, big]], dtype="float32")


@pytest.mark.parametrize("make", [
    lambda: kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, z_loss=1e-4),
    lambda: kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
    lambda: kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
    lambda: kerasloss.MeanSquaredError(),
], ids=["categorical", "sparse", "binary", "mse"])
def test_finite_wherever_float32_is(policy, make):
    loss = make()
    logits32 = _extremes(HALF[policy])
    half = keras.ops.cast(logits32, HALF[policy])
    if isinstance(loss, kerasloss.SparseCategoricalCrossentropy):
        y_true = np.array([1, 0, 2], dtype="int32")
    else:
        y_true = np.eye(3, dtype="float32")[[1, 0, 2]]
    reference = np.asarray(loss(y_true, keras.ops.cast(half, "float32")))
    value = np.asarray(loss(y_true, half))
    assert np.isfinite(value) == np.isfinite(reference)
    if np.isfinite(reference):
        np.testing.assert_allclose(value, reference, rtol=1e-6)


@pytest.mark.parametrize("case", ["categorical_probs", "binary_probs", "sparse_probs"])
def test_probabilities_0_and_1_in_16_bits_are_finite(policy, case):
    loss, y_true, raw = _losses()[case]
    hard = np.where(raw > 0.5, 1.0, 0.0).astype("float32")
    hard[:, 0] = np.where(hard.sum(axis=1) == 0, 1.0, hard[:, 0])  # every row has a 1
    value, grad = backend_gradients.value_and_gradient(
        lambda p: loss(y_true, p), keras.ops.cast(hard, HALF[policy])
    )
    assert np.isfinite(value)
    assert np.isfinite(grad.astype("float32")).all()


def _classifier():
    keras.utils.set_random_seed(11)
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(16, activation="tanh"),
        keras.layers.Dense(5),
        # the usual mixed-precision recipe keeps the logits' layer in float32; here the
        # 16-bit logits reach the loss directly, which is what it must cope with
    ])
    return model


def _fit(policy_name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy_name)
    try:
        rng = np.random.default_rng(1)
        x = rng.normal(size=(64, 6)).astype("float32")
        y = rng.integers(0, 5, size=64).astype("int32")
        model = _classifier()
        loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
        metrics = loss_components(loss, entropy=True)
        model.compile(keras.optimizers.SGD(0.05), loss=loss, metrics=metrics)
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
        weights = [w.numpy().astype("float32") for w in model.trainable_weights]
        return model, metrics, history, weights
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.fixture(scope="module")
def float32_run():
    return _fit("float32")


def test_components_and_entropy_are_logged_as_float32(policy):
    model, metrics, history, _ = _fit(policy)
    assert model.layers[-1].compute_dtype == HALF[policy]
    for metric in metrics:
        assert metric.dtype == "float32"
        assert all(v.dtype == "float32" for v in metric.variables)
        assert keras.backend.standardize_dtype(metric.result().dtype) == "float32"
    assert {"loss", "loss/cross_entropy", "loss/uniform_cross_entropy", "entropy"} <= set(history)
    assert all(np.isfinite(v).all() for v in history.values())


def test_loss_scale_optimizer_unaffected(policy, float32_run):
    model, _, history, weights = _fit(policy)
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert float(model.optimizer.dynamic_scale) > 1.0
    _, _, reference, reference_weights = float32_run
    # the logged loss is the loss, not the scaled loss; training follows the float32 run within
    # 16-bit rounding
    for key in ("loss", "loss/cross_entropy", "loss/uniform_cross_entropy", "entropy"):
        np.testing.assert_allclose(history[key], reference[key], rtol=3e-2)
    for w, r in zip(weights, reference_weights):
        np.testing.assert_allclose(w, r, atol=5e-2)


@pytest.mark.tensorflow_only
def test_custom_loop_logger_values_are_float32(policy, tmp_path):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    logger = CustomLoopLogger(loss, str(tmp_path), entropy=True)
    logits = keras.layers.Activation("linear")(np.random.default_rng(0).normal(size=(8, 5)))
    assert logits.dtype == HALF[policy]
    loss(np.arange(8) % 5, logits)
    for metric in [logger._total, *logger._metrics]:
        assert keras.backend.standardize_dtype(metric.result().dtype) == "float32"
    values = logger.write_epoch(0)
    assert all(np.isfinite(v) for v in values.values())
    logger.close()


def test_policy_restored_after_each_test():
    assert keras.config.dtype_policy().name == "float32"
