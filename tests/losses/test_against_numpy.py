"""The loss classes against closed-form NumPy references: every loss x reduction x sample_weight,
components, Keras masks, dtypes, compiled execution and agreement with keras.losses."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend import set_keras_mask

import kerasloss
from tests.helpers import backend_gradients
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(0)


def _dtype(tensor):
    return keras.backend.standardize_dtype(tensor.dtype)
BATCH, CLASSES = 5, 4


def _probabilities(shape):
    p = RNG.uniform(0.05, 1.0, shape)
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def _one_hot(labels, k=CLASSES):
    return np.eye(k, dtype=np.float32)[labels]


LABELS = RNG.integers(0, CLASSES, BATCH)
LOGITS = RNG.normal(0, 2, (BATCH, CLASSES)).astype(np.float32)
PROBS = _probabilities((BATCH, CLASSES))
BINARY_TRUE = RNG.integers(0, 2, (BATCH, 3)).astype(np.float32)
BINARY_LOGITS = RNG.normal(0, 2, (BATCH, 3)).astype(np.float32)
BINARY_PROBS = RNG.uniform(0.05, 0.95, (BATCH, 3)).astype(np.float32)
REG_TRUE = RNG.normal(size=(BATCH, 3)).astype(np.float32)
REG_PRED = RNG.normal(size=(BATCH, 3)).astype(np.float32)
SAMPLE_WEIGHT = RNG.uniform(0.1, 2.0, BATCH).astype(np.float32)

# id -> (constructor kwargs -> loss, y_true, y_pred, reference per-element (components, mask))
CASES = {
    "mse": (
        kerasloss.MeanSquaredError, {}, REG_TRUE, REG_PRED, ref.squared_error,
    ),
    "mae": (
        kerasloss.MeanAbsoluteError, {}, REG_TRUE, REG_PRED, ref.absolute_error,
    ),
    "bce_probs_smoothed": (
        kerasloss.BinaryCrossentropy, {"label_smoothing": 0.2}, BINARY_TRUE, BINARY_PROBS,
        lambda t, p: ref.binary(t, p, label_smoothing=0.2),
    ),
    "bce_logits": (
        kerasloss.BinaryCrossentropy, {"from_logits": True}, BINARY_TRUE, BINARY_LOGITS,
        lambda t, p: ref.binary(t, p, from_logits=True),
    ),
    "cce_probs_smoothed": (
        kerasloss.CategoricalCrossentropy, {"label_smoothing": 0.1}, _one_hot(LABELS), PROBS,
        lambda t, p: ref.categorical(t, p, label_smoothing=0.1),
    ),
    "cce_logits_smoothed_zloss": (
        kerasloss.CategoricalCrossentropy,
        {"from_logits": True, "label_smoothing": 0.3, "z_loss": 0.01}, _one_hot(LABELS), LOGITS,
        lambda t, p: ref.categorical(t, p, True, 0.3, 0.01),
    ),
    "scce_probs": (
        kerasloss.SparseCategoricalCrossentropy, {}, LABELS, PROBS,
        lambda t, p: ref.sparse_categorical(t, p),
    ),
    "scce_logits_smoothed_zloss_ignore": (
        kerasloss.SparseCategoricalCrossentropy,
        {"from_logits": True, "label_smoothing": 0.2, "z_loss": 0.1, "ignore_class": LABELS[0]},
        LABELS, LOGITS,
        lambda t, p: ref.sparse_categorical(t, p, True, 0.2, 0.1, ignore_class=LABELS[0]),
    ),
}
ADDITIVE = list(CASES)


def _build(case, reduction="sum_over_batch_size"):
    cls, kwargs, y_true, y_pred, reference = CASES[case]
    return cls(reduction=reduction, **kwargs), y_true, y_pred, reference


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("case", ADDITIVE)
def test_loss_and_components_match_the_numpy_reference(case, reduction, weighted):
    loss, y_true, y_pred, reference = _build(case, reduction)
    sample_weight = SAMPLE_WEIGHT if weighted else None
    elements, mask = reference(y_true, y_pred)
    expected = ref.reduce_all(elements, sample_weight, mask, reduction)
    components = loss.components(y_true, y_pred, sample_weight)
    assert set(components) == set(loss.component_weights)
    for name, value in components.items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(
        loss(y_true, y_pred, sample_weight),
        ref.weighted_total(expected, loss.component_weights), rtol=1e-5, atol=1e-6,
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", [r for r in ref.REDUCTIONS if r is not None], ids=str)
def test_rmse_is_the_root_of_the_reduced_squared_error(reduction, weighted):
    sample_weight = SAMPLE_WEIGHT if weighted else None
    elements, _ = ref.squared_error(REG_TRUE, REG_PRED)
    expected = ref.reduce(elements["squared_error"], sample_weight, None, reduction)
    loss = kerasloss.RootMeanSquaredError(reduction=reduction)
    np.testing.assert_allclose(loss(REG_TRUE, REG_PRED, sample_weight), np.sqrt(expected), rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("case", ADDITIVE)
def test_loss_equals_weighted_sum_of_components(case, reduction, weighted):
    loss, y_true, y_pred, _ = _build(case, reduction)
    sample_weight = SAMPLE_WEIGHT if weighted else None
    components = loss.components(y_true, y_pred, sample_weight)
    total = sum(w * np.asarray(components[k], np.float64) for k, w in loss.component_weights.items())
    np.testing.assert_allclose(loss(y_true, y_pred, sample_weight), total, rtol=1e-6, atol=1e-7)


def test_component_weights_name_uniform_and_z_loss_only_when_non_zero():
    plain = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    full = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.25, z_loss=1e-3)
    assert plain.component_weights == {"cross_entropy": 1.0}
    assert full.component_weights == pytest.approx(
        {"cross_entropy": 0.75, "uniform_cross_entropy": 0.25, "z_loss": 1e-3}
    )
    assert set(plain.components(LABELS, LOGITS)) == {"cross_entropy"}
    assert set(full.components(LABELS, LOGITS)) == {"cross_entropy", "uniform_cross_entropy", "z_loss"}


def test_binary_component_weights_follow_label_smoothing():
    assert kerasloss.BinaryCrossentropy(label_smoothing=0.4).component_weights == pytest.approx(
        {"cross_entropy": 0.6, "uniform_cross_entropy": 0.4}
    )


def test_rmse_total_is_sqrt_of_its_squared_error_component():
    loss = kerasloss.RootMeanSquaredError()
    squared = loss.components(REG_TRUE, REG_PRED, SAMPLE_WEIGHT)["squared_error"]
    np.testing.assert_allclose(loss(REG_TRUE, REG_PRED, SAMPLE_WEIGHT), np.sqrt(squared), rtol=1e-6)


@pytest.mark.parametrize("case", ADDITIVE)
def test_reduction_none_returns_per_example_weighted_values(case):
    loss, y_true, y_pred, reference = _build(case, None)
    elements, mask = reference(y_true, y_pred)
    expected = ref.weighted_total(ref.reduce_all(elements, SAMPLE_WEIGHT, mask, None), loss.component_weights)
    value = loss(y_true, y_pred, SAMPLE_WEIGHT)
    assert tuple(value.shape) == (BATCH,)
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)


# --- Keras masks -------------------------------------------------------------------------------

SEQ_LABELS = RNG.integers(0, CLASSES, (3, 4))
SEQ_LOGITS = RNG.normal(size=(3, 4, CLASSES)).astype(np.float32)
SEQ_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
SEQ_WEIGHT = RNG.uniform(0.1, 2.0, (3, 4)).astype(np.float32)


def _masked(y_pred, mask):
    y_pred = tf.constant(y_pred)
    set_keras_mask(y_pred, tf.constant(mask))
    return y_pred


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_keras_mask_on_predictions_is_honoured_like_keras(reduction, weighted):
    sample_weight = SEQ_WEIGHT if weighted else None
    ours = kerasloss.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
    got = ours(SEQ_LABELS, _masked(SEQ_LOGITS, SEQ_MASK), sample_weight)
    expected = theirs(SEQ_LABELS, _masked(SEQ_LOGITS, SEQ_MASK), sample_weight)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_per_sequence_sample_weight_broadcasts_over_the_time_axis_under_a_mask():
    weight = np.array([1.0, 2.0, 0.5], np.float32)
    elements, _ = ref.sparse_categorical(SEQ_LABELS, SEQ_LOGITS, from_logits=True)
    expected = ref.reduce(elements["cross_entropy"], weight, SEQ_MASK)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(loss(SEQ_LABELS, _masked(SEQ_LOGITS, SEQ_MASK), weight), expected, rtol=1e-5)


def test_keras_mask_leaves_the_sum_over_batch_size_divisor():
    elements, _ = ref.sparse_categorical(SEQ_LABELS, SEQ_LOGITS, from_logits=True)
    expected = elements["cross_entropy"][SEQ_MASK].mean()
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(loss(SEQ_LABELS, _masked(SEQ_LOGITS, SEQ_MASK)), expected, rtol=1e-5)


def test_keras_mask_applies_to_every_component():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1, z_loss=0.1)
    elements, _ = ref.sparse_categorical(SEQ_LABELS, SEQ_LOGITS, True, 0.1, 0.1)
    components = loss.components(SEQ_LABELS, _masked(SEQ_LOGITS, SEQ_MASK))
    for name, value in components.items():
        np.testing.assert_allclose(value, elements[name][SEQ_MASK].mean(), rtol=1e-5, err_msg=name)


def test_keras_mask_combines_with_ignore_class():
    labels = SEQ_LABELS.copy()
    labels[0, 0] = -1
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    keep = SEQ_MASK & (labels != -1)
    elements, _ = ref.sparse_categorical(np.where(keep, labels, 0), SEQ_LOGITS, from_logits=True)
    np.testing.assert_allclose(
        loss(labels, _masked(SEQ_LOGITS, SEQ_MASK)), elements["cross_entropy"][keep].mean(), rtol=1e-5
    )


def _sequence_model(output_units, activation=None):
    inputs = keras.Input((4,), dtype="int32")
    x = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    outputs = keras.layers.Dense(output_units, activation=activation)(x)
    return keras.Model(inputs, outputs)


def test_mask_from_embedding_mask_zero_in_a_model_matches_keras_loss():
    tokens = np.array([[3, 4, 0, 0], [5, 1, 2, 0]], np.int32)
    labels = np.array([[1, 2, 0, 0], [3, 0, 1, 0]], np.int32)
    model = _sequence_model(CLASSES)
    results = {}
    for name, loss in {
        "ours": kerasloss.SparseCategoricalCrossentropy(from_logits=True),
        "keras": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    }.items():
        model.compile(loss=loss)
        results[name] = model.evaluate(tokens, labels, verbose=0)
    unmasked_logits = keras.ops.convert_to_numpy(model(tokens))  # a NumPy copy carries no mask
    unmasked = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, unmasked_logits)
    assert results["ours"] == pytest.approx(results["keras"], rel=1e-5)
    assert results["ours"] != pytest.approx(float(unmasked), rel=1e-3)


# --- dtypes, compiled execution -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", ADDITIVE)
def test_16_bit_predictions_are_computed_in_float32(case, dtype):
    loss, y_true, y_pred, reference = _build(case)
    low = tf.cast(y_pred, dtype)
    elements, mask = reference(y_true, np.asarray(tf.cast(low, "float32")))
    expected = ref.weighted_total(ref.reduce_all(elements, None, mask), loss.component_weights)
    value = loss(y_true, low)
    assert _dtype(value) == "float32"
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)


def test_float16_logits_whose_softmax_overflows_in_float16_give_a_finite_loss():
    logits = tf.constant([[60000.0, -60000.0, 0.0]], tf.float16)
    value = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)([1], logits)
    # lse = 60000: cross_entropy = lse - z_1 = 120000, uniform = lse - mean(z) = 60000
    np.testing.assert_allclose(value, 0.9 * 120000 + 0.1 * 60000, rtol=1e-4)


@pytest.mark.backends("tensorflow", "torch")  # JAX: float64 is float32
def test_dtype_argument_sets_the_returned_dtype_of_loss_and_components():
    loss = kerasloss.SparseCategoricalCrossentropy(label_smoothing=0.1, dtype="float64")
    assert _dtype(loss(LABELS, PROBS)) == "float64"
    assert {_dtype(value) for value in loss.components(LABELS, PROBS).values()} == {"float64"}


@pytest.mark.backends("tensorflow", "torch")  # JAX: float64 is float32
def test_without_dtype_float64_predictions_give_a_float64_loss():
    loss = kerasloss.MeanSquaredError()
    assert _dtype(loss(REG_TRUE, REG_PRED.astype(np.float64))) == "float64"
    assert _dtype(loss(REG_TRUE, REG_PRED)) == "float32"


@pytest.mark.backends("tensorflow", "torch")  # JAX: float64 is float32
def test_default_dtype_survives_a_config_round_trip():
    loss = kerasloss.MeanSquaredError()
    clone = kerasloss.MeanSquaredError.from_config(loss.get_config())
    assert _dtype(clone(REG_TRUE, REG_PRED.astype(np.float64))) == "float64"


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("case", ADDITIVE)
def test_compiled_loss_equals_eager_loss(case, jit_compile):
    loss, y_true, y_pred, _ = _build(case)
    compiled = tf.function(lambda t, p, w: loss(t, p, w), jit_compile=jit_compile)
    np.testing.assert_allclose(
        compiled(y_true, y_pred, SAMPLE_WEIGHT), loss(y_true, y_pred, SAMPLE_WEIGHT), rtol=1e-5, atol=1e-6
    )


def test_integer_labels_above_2_pow_24_select_the_exact_class():
    label = 2**24 + 1  # float32 rounds it to 2**24
    logits = np.zeros((1, 2**24 + 3), np.float32)
    logits[0, label] = 30.0
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    value = float(loss(np.array([label], np.int64), logits))
    expected = ref.logsumexp(logits[0]) - 30.0
    assert value == pytest.approx(expected, abs=1e-3)


# --- agreement with keras.losses ----------------------------------------------------------------

KERAS_TWINS = {
    "mse": (kerasloss.MeanSquaredError(), keras.losses.MeanSquaredError(), REG_TRUE, REG_PRED),
    "mae": (kerasloss.MeanAbsoluteError(), keras.losses.MeanAbsoluteError(), REG_TRUE, REG_PRED),
    "bce": (
        kerasloss.BinaryCrossentropy(label_smoothing=0.2),
        keras.losses.BinaryCrossentropy(label_smoothing=0.2), BINARY_TRUE, BINARY_PROBS,
    ),
    "bce_logits": (
        kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
        keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), BINARY_TRUE, BINARY_LOGITS,
    ),
    "cce": (
        kerasloss.CategoricalCrossentropy(label_smoothing=0.1),
        keras.losses.CategoricalCrossentropy(label_smoothing=0.1), _one_hot(LABELS), PROBS,
    ),
    "cce_logits": (
        kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), _one_hot(LABELS), LOGITS,
    ),
    "scce_logits_ignore": (
        kerasloss.SparseCategoricalCrossentropy(from_logits=True, ignore_class=int(LABELS[1])),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=int(LABELS[1])),
        LABELS, LOGITS,
    ),
    "scce_probs": (
        kerasloss.SparseCategoricalCrossentropy(), keras.losses.SparseCategoricalCrossentropy(),
        LABELS, PROBS,
    ),
}


@pytest.mark.parametrize("case", list(KERAS_TWINS))
def test_agrees_with_the_keras_counterpart(case):
    ours, theirs, y_true, y_pred = KERAS_TWINS[case]
    np.testing.assert_allclose(
        ours(y_true, y_pred, SAMPLE_WEIGHT), theirs(y_true, y_pred, SAMPLE_WEIGHT), rtol=1e-5, atol=1e-6
    )


def test_rmse_with_mean_with_sample_weight_agrees_with_the_keras_metric():
    metric = keras.metrics.RootMeanSquaredError()
    metric.update_state(REG_TRUE, REG_PRED, SAMPLE_WEIGHT)
    loss = kerasloss.RootMeanSquaredError(reduction="mean_with_sample_weight")
    np.testing.assert_allclose(loss(REG_TRUE, REG_PRED, SAMPLE_WEIGHT), metric.result(), rtol=1e-5)


# --- configuration ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ADDITIVE)
def test_get_config_rebuilds_an_equal_loss(case):
    loss, y_true, y_pred, _ = _build(case, "sum")
    clone = type(loss).from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    np.testing.assert_allclose(clone(y_true, y_pred), loss(y_true, y_pred), rtol=1e-6)


def test_get_config_holds_every_constructor_argument():
    loss = kerasloss.SparseCategoricalCrossentropy(
        from_logits=True, label_smoothing=0.1, axis=1, z_loss=0.01, ignore_class=3,
        reduction="sum", name="scce", dtype="float64",
    )
    assert loss.get_config() == {
        "from_logits": True, "label_smoothing": 0.1, "axis": 1, "z_loss": 0.01, "ignore_class": 3,
        "reduction": "sum", "name": "scce", "dtype": "float64",
    }


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_predictions_get_a_finite_gradient_of_their_own_dtype(dtype):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1, z_loss=1e-3)
    logits = keras.ops.cast([[300.0, -300.0, 0.0], [0.0, 1.0, 2.0]], dtype)
    _, grad = backend_gradients.value_and_gradient(lambda z: loss(np.array([1, 2]), z), logits)
    assert _dtype(grad) == dtype
    assert np.all(np.isfinite(grad.astype("float32")))


@pytest.mark.parametrize(
    "expression, expected",
    [
        (lambda: kerasloss.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]), 0.5),
        (lambda: kerasloss.MeanAbsoluteError()([[0.0, 1.0]], [[1.0, 1.0]]), 0.5),
        (lambda: kerasloss.RootMeanSquaredError()([[0.0], [0.0]], [[3.0], [4.0]]), np.sqrt(12.5)),
        (lambda: kerasloss.BinaryCrossentropy(from_logits=True)([[1.0]], [[0.0]]), np.log(2)),
        (lambda: kerasloss.CategoricalCrossentropy(from_logits=True)([[0.0, 1.0]], [[0.0, 0.0]]), np.log(2)),
        (lambda: kerasloss.SparseCategoricalCrossentropy(from_logits=True)([1], [[0.0, 0.0]]), np.log(2)),
    ],
    ids=["mse", "mae", "rmse", "bce", "cce", "scce"],
)
def test_docstring_examples_give_the_documented_values(expression, expected):
    np.testing.assert_allclose(expression(), expected, rtol=1e-6)


def test_scalar_sample_weight_with_mean_with_sample_weight_divides_by_the_broadcast_weight_sum():
    # Keras 3.15 divides by the scalar itself (Σw over one element), not by Σw over the batch
    loss = kerasloss.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
    unweighted_mean = kerasloss.SparseCategoricalCrossentropy()(LABELS, PROBS)
    np.testing.assert_allclose(loss(LABELS, PROBS, 2.0), unweighted_mean, rtol=1e-6)


@pytest.mark.parametrize("jit_compile", [
    False,
    # on PyTorch jit_compile is torch.compile of the whole step: 40 s here, and no kerasloss path
    pytest.param(True, marks=pytest.mark.backends("tensorflow", "jax")),
], ids=["graph", "xla"])
def test_fit_with_smoothed_sparse_loss_trains_like_keras_on_one_hot_labels(jit_compile):
    x = RNG.normal(size=(16, 3)).astype(np.float32)
    labels = RNG.integers(0, CLASSES, 16)
    weight = RNG.uniform(0.1, 2.0, 16).astype(np.float32)
    histories = {}
    for name, loss, y in [
        ("ours", kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1), labels),
        (
            "keras", keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
            _one_hot(labels),
        ),
    ]:
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(CLASSES)])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, jit_compile=jit_compile)
        history = model.fit(x, y, sample_weight=weight, epochs=3, batch_size=8, verbose=0)
        histories[name] = history.history["loss"]
    assert histories["ours"][-1] < histories["ours"][0]
    np.testing.assert_allclose(histories["ours"], histories["keras"], rtol=1e-5)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (kerasloss.MeanSquaredError, keras.losses.MeanSquaredError),
        (kerasloss.MeanAbsoluteError, keras.losses.MeanAbsoluteError),
        (kerasloss.BinaryCrossentropy, keras.losses.BinaryCrossentropy),
    ],
    ids=["mse", "mae", "bce"],
)
def test_mask_from_a_masking_layer_in_a_model_matches_keras_loss(ours, theirs):
    x = RNG.normal(size=(3, 4, 2)).astype(np.float32)
    x[0, 2:] = 0.0
    x[1, 3:] = 0.0
    y = RNG.uniform(0.0, 1.0, (3, 4, 2)).astype(np.float32)
    inputs = keras.Input((4, 2))
    outputs = keras.layers.Dense(2, activation="sigmoid")(keras.layers.Masking(0.0)(inputs))
    model = keras.Model(inputs, outputs)
    results = {}
    for name, loss in {"ours": ours(), "keras": theirs()}.items():
        model.compile(loss=loss)
        results[name] = model.evaluate(x, y, verbose=0)
    unmasked = float(theirs()(y, keras.ops.convert_to_numpy(model(x))))
    assert results["ours"] == pytest.approx(results["keras"], rel=1e-5)
    assert results["ours"] != pytest.approx(unmasked, rel=1e-4)
