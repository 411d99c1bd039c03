"""Cross-entropy math: sparse/categorical/binary, smoothing, ignore_class, axis, z-loss, extremes,
gradients (finite differences and the analytic softmax − smoothed target), property tests."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasloss
from kerasloss.losses.cross_entropy import categorical_terms, sparse_categorical_terms
from tests.helpers import backend_gradients
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(2)
MODES = {
    "eager": lambda f: f,
    "graph": tf.function,
    "xla": lambda f: tf.function(f, jit_compile=True),
}


def _value_and_gradient(loss, y_true, y_pred, mode="eager", sample_weight=None):
    return backend_gradients.value_and_gradient(lambda p: loss(y_true, p, sample_weight), y_pred, mode)


# --- sparse == categorical, smoothing --------------------------------------------------------

LABELS = RNG.integers(0, 5, 7)
LOGITS = RNG.normal(0, 3, (7, 5)).astype(np.float32)
ONE_HOT = np.eye(5, dtype=np.float32)[LABELS]


@pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probs"])
def test_sparse_terms_equal_categorical_terms_on_one_hot_labels(from_logits):
    y_pred = LOGITS if from_logits else ref.softmax(LOGITS).astype(np.float32)
    z_loss = 0.1 if from_logits else 0.0
    sparse = sparse_categorical_terms(LABELS, y_pred, from_logits, 0.2, z_loss).values
    dense = categorical_terms(ONE_HOT, y_pred, from_logits, 0.2, z_loss).values
    assert set(sparse) == set(dense)
    for name in sparse:
        np.testing.assert_allclose(sparse[name], dense[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_smoothed_sparse_loss_is_cross_entropy_against_the_smoothed_target(smoothing):
    target = (1 - smoothing) * ONE_HOT + smoothing / 5
    expected = -np.sum(target * ref.log_softmax(LOGITS), axis=-1).mean()
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    np.testing.assert_allclose(loss(LABELS, LOGITS), expected, rtol=1e-5)


def test_smoothed_binary_loss_is_cross_entropy_against_the_smoothed_target():
    y_true = RNG.integers(0, 2, (4, 3)).astype(np.float32)
    logits = RNG.normal(size=(4, 3)).astype(np.float32)
    target = 0.7 * y_true + 0.3 * 0.5
    expected = ref.binary(target, logits, from_logits=True)[0]["cross_entropy"].mean()
    loss = kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.3)
    np.testing.assert_allclose(loss(y_true, logits), expected, rtol=1e-5)


def test_categorical_loss_with_soft_targets_matches_reference():
    soft = ref.softmax(RNG.normal(size=(7, 5))).astype(np.float32)
    loss = kerasloss.CategoricalCrossentropy(from_logits=True)
    expected = ref.categorical(soft, LOGITS, from_logits=True)[0]["cross_entropy"].mean()
    np.testing.assert_allclose(loss(soft, LOGITS), expected, rtol=1e-5)


def test_z_loss_component_is_the_squared_log_sum_exp():
    loss = kerasloss.CategoricalCrossentropy(from_logits=True, z_loss=0.5, reduction=None)
    np.testing.assert_allclose(
        loss.components(ONE_HOT, LOGITS)["z_loss"], ref.logsumexp(LOGITS) ** 2, rtol=1e-5
    )


# --- axis --------------------------------------------------------------------------------------

SEQ = RNG.normal(size=(2, 3, 6)).astype(np.float32)  # class axis 1 (K = 3), 6 positions
SEQ_LABELS = RNG.integers(0, 3, (2, 6))
SEQ_ONE_HOT = np.moveaxis(np.eye(3, dtype=np.float32)[SEQ_LABELS], -1, 1)


def test_categorical_smoothing_on_axis_1_divides_by_that_axis_size():
    loss = kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3, axis=1)
    target = 0.7 * SEQ_ONE_HOT + 0.3 / 3
    expected = -np.sum(target * ref.log_softmax(SEQ, axis=1), axis=1).mean()
    np.testing.assert_allclose(loss(SEQ_ONE_HOT, SEQ), expected, rtol=1e-5)


def test_categorical_axis_1_equals_keras_on_the_class_axis_moved_last():
    loss = kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3, axis=1)
    theirs = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3)
    expected = theirs(np.moveaxis(SEQ_ONE_HOT, 1, -1), np.moveaxis(SEQ, 1, -1))
    np.testing.assert_allclose(loss(SEQ_ONE_HOT, SEQ), expected, rtol=1e-5)


@pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probs"])
def test_sparse_on_axis_1_matches_reference(from_logits):
    y_pred = SEQ if from_logits else ref.softmax(SEQ, axis=1).astype(np.float32)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=from_logits, label_smoothing=0.2, axis=1)
    elements, _ = ref.sparse_categorical(SEQ_LABELS, y_pred, from_logits, 0.2, axis=1)
    expected = ref.weighted_total(ref.reduce_all(elements), loss.component_weights)
    np.testing.assert_allclose(loss(SEQ_LABELS, y_pred), expected, rtol=1e-5)


def test_binary_averages_over_the_given_axis():
    y_true = RNG.integers(0, 2, (3, 4, 2)).astype(np.float32)
    logits = RNG.normal(size=(3, 4, 2)).astype(np.float32)
    loss = kerasloss.BinaryCrossentropy(from_logits=True, axis=1, reduction=None)
    expected = ref.binary(y_true, logits, from_logits=True, axis=1)[0]["cross_entropy"]
    np.testing.assert_allclose(loss(y_true, logits), expected, rtol=1e-5)


# --- ignore_class ------------------------------------------------------------------------------

def test_ignored_positions_leave_the_divisor():
    labels = np.array([0, 2, -1, 1, -1])
    logits = RNG.normal(size=(5, 3)).astype(np.float32)
    keep = labels != -1
    expected = ref.sparse_categorical(labels[keep], logits[keep], from_logits=True)[0]["cross_entropy"].mean()
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    np.testing.assert_allclose(loss(labels, logits), expected, rtol=1e-5)


def test_ignored_positions_are_zero_in_every_per_element_component():
    labels = np.array([0, 2, 1])
    loss = kerasloss.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=2, label_smoothing=0.1, z_loss=0.1, reduction=None
    )
    for name, value in loss.components(labels, LOGITS[:3, :3]).items():
        value = keras.ops.convert_to_numpy(value)
        assert value[1] == 0.0, name
        assert np.all(value[[0, 2]] > 0), name


@pytest.mark.parametrize("label_shape", [(4,), (4, 1)], ids=["B", "B1"])
def test_all_ignored_batch_gives_zero_not_nan_for_loss_and_components(label_shape):
    labels = np.full(label_shape, 3)
    logits = RNG.normal(size=(4, 5)).astype(np.float32)
    loss = kerasloss.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=3, label_smoothing=0.1, z_loss=0.1
    )
    assert float(loss(labels, logits)) == 0.0
    assert all(float(v) == 0.0 for v in loss.components(labels, logits).values())


def test_labels_shaped_b_and_b1_give_the_same_loss_with_ignore_class():
    labels = np.array([0, 4, 2, 4])
    logits = RNG.normal(size=(4, 5)).astype(np.float32)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, ignore_class=4)
    np.testing.assert_allclose(loss(labels, logits), loss(labels[:, None], logits), rtol=1e-6)
    assert float(loss(labels, logits)) != pytest.approx(
        float(kerasloss.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)), rel=1e-3
    )


@pytest.mark.parametrize("mode", list(MODES))
def test_ignored_positions_get_zero_gradient(mode):
    labels = np.array([1, -1, 0])
    loss = kerasloss.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=-1, label_smoothing=0.2, z_loss=0.1
    )
    _, grad = _value_and_gradient(loss, labels, LOGITS[:3], mode)
    assert np.all(grad[1] == 0.0)
    assert np.all(np.abs(grad[[0, 2]]).sum(-1) > 0)


# --- empty batches -----------------------------------------------------------------------------

EMPTY_CASES = {
    "sparse": lambda: (
        kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        np.zeros((0,), np.int32), np.zeros((0, 3), np.float32),
    ),
    "sparse_probs": lambda: (
        kerasloss.SparseCategoricalCrossentropy(label_smoothing=0.1),
        np.zeros((0,), np.int32), np.zeros((0, 3), np.float32),
    ),
    "categorical": lambda: (
        kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32),
    ),
    "binary": lambda: (
        kerasloss.BinaryCrossentropy(label_smoothing=0.1), np.zeros((0, 2)), np.zeros((0, 2), np.float32),
    ),
}


@pytest.mark.parametrize("reduction", [r for r in ref.REDUCTIONS if r is not None], ids=str)
@pytest.mark.parametrize("case", list(EMPTY_CASES))
def test_empty_batch_gives_scalar_zero_for_loss_and_components(case, reduction):
    loss, y_true, y_pred = EMPTY_CASES[case]()
    loss = type(loss).from_config({**loss.get_config(), "reduction": reduction})
    values = [loss(y_true, y_pred, np.zeros((0,), np.float32))]
    values += list(loss.components(y_true, y_pred).values())
    for value in values:
        assert tuple(value.shape) == ()
        assert float(value) == 0.0


def test_empty_batch_with_z_loss_gives_scalar_zero_eagerly():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, z_loss=0.1)
    assert float(loss(np.zeros((0,), np.int32), np.zeros((0, 3), np.float32))) == 0.0


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("mode", ["graph", "xla"])
def test_empty_batch_with_z_loss_gives_scalar_zero_when_compiled(mode):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, z_loss=0.1)
    value = MODES[mode](lambda t, p: loss(t, p))(tf.zeros((0,), tf.int32), tf.zeros((0, 3)))
    assert float(value) == 0.0


# --- bad labels inside compiled functions ------------------------------------------------------

@pytest.mark.tensorflow_only
@pytest.mark.parametrize("mode", ["graph", "xla"])
@pytest.mark.parametrize(
    "labels", [[0, 3], [-1, 0], [0.0, 1.5]], ids=["too_large", "negative", "fractional"]
)
def test_bad_sparse_labels_give_nan_inside_a_compiled_function(labels, mode):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    compiled = MODES[mode](lambda t, p: loss(t, p))
    assert np.isnan(float(compiled(tf.constant(labels), tf.zeros((2, 3)))))


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("mode", ["graph", "xla"])
def test_bad_sparse_labels_give_nan_from_probabilities_when_compiled(mode):
    loss = kerasloss.SparseCategoricalCrossentropy(ignore_class=-1, label_smoothing=0.1)
    compiled = MODES[mode](lambda t, p: loss(t, p))
    assert np.isnan(float(compiled(tf.constant([-1, 7]), tf.fill((2, 3), 1 / 3))))


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("mode", ["graph", "xla"])
def test_ignored_label_outside_the_class_range_is_not_bad_when_compiled(mode):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-100)
    compiled = MODES[mode](lambda t, p: loss(t, p))
    np.testing.assert_allclose(compiled(tf.constant([-100, 1]), tf.zeros((2, 3))), np.log(3), rtol=1e-6)


# --- extremes ----------------------------------------------------------------------------------

EXTREME_CASES = {
    "sparse_probs": (
        kerasloss.SparseCategoricalCrossentropy(label_smoothing=0.1), np.array([0, 1]),
        np.array([[0.0, 1.0], [1.0, 0.0]], np.float32),
    ),
    "categorical_probs": (
        kerasloss.CategoricalCrossentropy(label_smoothing=0.1), np.eye(2, dtype=np.float32)[[0, 1]],
        np.array([[0.0, 1.0], [1.0, 0.0]], np.float32),
    ),
    "binary_probs": (
        kerasloss.BinaryCrossentropy(label_smoothing=0.1), np.array([[1.0, 0.0]], np.float32),
        np.array([[0.0, 1.0]], np.float32),
    ),
    "sparse_logits_1e4": (
        kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1, z_loss=1e-4),
        np.array([0, 1]), np.array([[-1e4, 1e4], [1e4, -1e4]], np.float32),
    ),
    "categorical_logits_1e4": (
        kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, z_loss=1e-4),
        np.eye(2, dtype=np.float32)[[0, 1]], np.array([[-1e4, 1e4], [1e4, -1e4]], np.float32),
    ),
    "binary_logits_1e4": (
        kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        np.array([[1.0, 0.0]], np.float32), np.array([[-1e4, 1e4]], np.float32),
    ),
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", list(EXTREME_CASES))
def test_extreme_predictions_give_finite_values_and_gradients(case, mode):
    loss, y_true, y_pred = EXTREME_CASES[case]
    value, grad = _value_and_gradient(loss, y_true, y_pred, mode)
    assert np.isfinite(value) and value > 1.0  # confidently wrong: a large, finite loss
    assert np.all(np.isfinite(grad))


def test_confidently_wrong_logits_of_1e4_give_the_exact_loss():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(loss([0], np.array([[-1e4, 1e4]], np.float32)), 2e4, rtol=1e-6)


@pytest.mark.parametrize("mode", list(MODES))
def test_extreme_wrong_logits_gradient_is_softmax_minus_target(mode):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    _, grad = _value_and_gradient(loss, np.array([0]), np.array([[-1e4, 1e4]], np.float32), mode)
    np.testing.assert_allclose(grad, [[-1.0, 1.0]], atol=1e-6)


# --- gradients ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_sparse_gradient_is_softmax_minus_smoothed_target(smoothing, mode):
    loss = kerasloss.SparseCategoricalCrossentropy(
        from_logits=True, label_smoothing=smoothing, reduction="sum"
    )
    _, grad = _value_and_gradient(loss, LABELS, LOGITS, mode)
    np.testing.assert_allclose(grad, ref.smoothed_softmax_gradient(ONE_HOT, LOGITS, smoothing), atol=1e-5)


@pytest.mark.parametrize("mode", list(MODES))
def test_categorical_gradient_is_softmax_minus_smoothed_target(mode):
    loss = kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3, reduction="sum")
    _, grad = _value_and_gradient(loss, ONE_HOT, LOGITS, mode)
    np.testing.assert_allclose(grad, ref.smoothed_softmax_gradient(ONE_HOT, LOGITS, 0.3), atol=1e-5)


@pytest.mark.parametrize("mode", list(MODES))
def test_categorical_gradient_on_axis_1_is_softmax_minus_smoothed_target(mode):
    loss = kerasloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3, axis=1, reduction="sum")
    _, grad = _value_and_gradient(loss, SEQ_ONE_HOT, SEQ, mode)
    np.testing.assert_allclose(grad, ref.smoothed_softmax_gradient(SEQ_ONE_HOT, SEQ, 0.3, axis=1), atol=1e-5)


@pytest.mark.parametrize("mode", list(MODES))
def test_z_loss_gradient_is_twice_lse_times_softmax(mode):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, z_loss=0.1, reduction="sum")
    _, grad = _value_and_gradient(loss, LABELS, LOGITS, mode)
    z_gradient = 2 * ref.logsumexp(LOGITS)[:, None] * ref.softmax(LOGITS)
    expected = ref.smoothed_softmax_gradient(ONE_HOT, LOGITS) + 0.1 * z_gradient
    np.testing.assert_allclose(grad, expected, atol=1e-4)


@pytest.mark.parametrize("mode", list(MODES))
def test_binary_gradient_is_sigmoid_minus_smoothed_target_over_outputs(mode):
    y_true = RNG.integers(0, 2, (4, 3)).astype(np.float32)
    logits = RNG.normal(size=(4, 3)).astype(np.float32)
    loss = kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.2, reduction="sum")
    _, grad = _value_and_gradient(loss, y_true, logits, mode)
    expected = (1 / (1 + np.exp(-logits.astype(np.float64))) - (0.8 * y_true + 0.1)) / 3
    np.testing.assert_allclose(grad, expected, atol=1e-6)


FD_CASES = {
    "sparse_logits": lambda: (
        kerasloss.SparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=0.2, z_loss=0.05, dtype="float64"
        ),
        LABELS[:4], RNG.normal(size=(4, 5)),
    ),
    "sparse_probs": lambda: (
        kerasloss.SparseCategoricalCrossentropy(label_smoothing=0.2, dtype="float64"),
        LABELS[:4], RNG.uniform(0.1, 1.0, (4, 5)),
    ),
    "categorical_soft_logits": lambda: (
        kerasloss.CategoricalCrossentropy(
            from_logits=True, label_smoothing=0.2, z_loss=0.05, dtype="float64"
        ),
        ref.softmax(RNG.normal(size=(4, 5))), RNG.normal(size=(4, 5)),
    ),
    "categorical_probs": lambda: (
        kerasloss.CategoricalCrossentropy(label_smoothing=0.2, dtype="float64"),
        ONE_HOT[:4].astype(np.float64), RNG.uniform(0.1, 1.0, (4, 5)),
    ),
    "binary_logits": lambda: (
        kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.2, dtype="float64"),
        RNG.uniform(size=(4, 3)), RNG.normal(size=(4, 3)),
    ),
    "binary_probs": lambda: (
        kerasloss.BinaryCrossentropy(label_smoothing=0.2, dtype="float64"),
        RNG.uniform(size=(4, 3)), RNG.uniform(0.1, 0.9, (4, 3)),
    ),
}


@pytest.mark.backends("tensorflow", "torch")  # JAX computes float64 as float32 (jax_enable_x64 off)
@pytest.mark.parametrize("case", list(FD_CASES))
def test_gradient_matches_central_finite_differences_in_float64(case):
    loss, y_true, y_pred = FD_CASES[case]()
    weight = RNG.uniform(0.5, 2.0, y_pred.shape[0])
    _, grad = _value_and_gradient(loss, y_true, y_pred, "eager", weight)
    numeric = ref.central_difference(lambda p: float(loss(y_true, p, weight)), y_pred)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


# --- property tests ----------------------------------------------------------------------------

@st.composite
def _sparse_problem(draw):
    leading = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    classes = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, leading)
    logits = rng.normal(0, draw(st.sampled_from([0.1, 3.0, 30.0])), leading + (classes,)).astype(np.float32)
    return {
        "labels": labels,
        "logits": logits,
        "smoothing": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        "from_logits": draw(st.booleans()),
        "z_loss": draw(st.sampled_from([0.0, 1e-3])),
        "ignore_class": draw(st.sampled_from([None, 0, classes - 1])),
        "mask": rng.uniform(size=leading) < draw(st.sampled_from([0.0, 0.5, 1.0])),
        "weight": rng.uniform(0.1, 2.0, leading[:1]).astype(np.float32),
        "reduction": draw(st.sampled_from(ref.REDUCTIONS)),
    }


@settings(max_examples=25)
@given(_sparse_problem())
def test_sparse_loss_matches_reference_on_random_problems(problem):
    p = problem
    from_logits = p["from_logits"]
    z_loss = p["z_loss"] if from_logits else 0.0
    scores = p["logits"] if from_logits else ref.softmax(p["logits"]).astype(np.float32)
    loss = kerasloss.SparseCategoricalCrossentropy(
        from_logits=from_logits, label_smoothing=p["smoothing"], z_loss=z_loss,
        ignore_class=p["ignore_class"], reduction=p["reduction"],
    )
    y_pred = tf.constant(scores)
    keras.src.backend.set_keras_mask(y_pred, tf.constant(~p["mask"]))
    elements, ignore_mask = ref.sparse_categorical(
        p["labels"], scores, from_logits, p["smoothing"], z_loss, ignore_class=p["ignore_class"]
    )
    mask = ~p["mask"] if ignore_mask is None else (~p["mask"] & ignore_mask)
    expected = ref.reduce_all(elements, p["weight"], mask, p["reduction"])
    np.testing.assert_allclose(
        loss(p["labels"], y_pred, p["weight"]), ref.weighted_total(expected, loss.component_weights),
        rtol=1e-4, atol=1e-5,
    )


@st.composite
def _categorical_problem(draw):
    rank = draw(st.integers(2, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    shape = shape[:-1] + (max(shape[-1], 2),)
    axis = draw(st.sampled_from([-1, 0] if rank == 2 else [-1, 1]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return {
        "targets": ref.softmax(rng.normal(0, 2, shape), axis).astype(np.float32),
        "logits": rng.normal(0, 3, shape).astype(np.float32),
        "smoothing": draw(st.sampled_from([0.0, 0.2, 1.0])),
        "from_logits": draw(st.booleans()),
        "axis": axis,
    }


@settings(max_examples=20)
@given(_categorical_problem())
def test_categorical_loss_matches_reference_on_random_problems(problem):
    p = problem
    y_pred = p["logits"] if p["from_logits"] else ref.softmax(p["logits"], p["axis"]).astype(np.float32)
    loss = kerasloss.CategoricalCrossentropy(
        from_logits=p["from_logits"], label_smoothing=p["smoothing"], axis=p["axis"]
    )
    elements, _ = ref.categorical(p["targets"], y_pred, p["from_logits"], p["smoothing"], axis=p["axis"])
    expected = ref.weighted_total(ref.reduce_all(elements), loss.component_weights)
    np.testing.assert_allclose(loss(p["targets"], y_pred), expected, rtol=1e-4, atol=1e-5)


@settings(max_examples=15)
@given(
    st.integers(1, 5), st.integers(1, 4), st.sampled_from([0.0, 0.3]), st.booleans(), st.integers(0, 2**16)
)
def test_binary_loss_matches_reference_on_random_problems(batch, outputs, smoothing, from_logits, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, (batch, outputs)).astype(np.float32)
    y_pred = (rng.normal(0, 3, (batch, outputs)) if from_logits else rng.uniform(0, 1, (batch, outputs)))
    y_pred = y_pred.astype(np.float32)
    loss = kerasloss.BinaryCrossentropy(from_logits=from_logits, label_smoothing=smoothing)
    elements, _ = ref.binary(y_true, y_pred, from_logits, smoothing)
    expected = ref.weighted_total(ref.reduce_all(elements), loss.component_weights)
    np.testing.assert_allclose(loss(y_true, y_pred), expected, rtol=1e-4, atol=1e-5)


# --- label shapes only known at run time -------------------------------------------------------

def _traced_with_unknown_label_shape(loss, jit_compile=False):
    return tf.function(
        lambda t, p: loss(t, p),
        input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, 5], tf.float32)],
        jit_compile=jit_compile,
    )


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_b1_labels_with_unknown_static_shape_are_accepted_when_traced(jit_compile):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    compiled = _traced_with_unknown_label_shape(loss, jit_compile)
    labels = LABELS[:, None].astype(np.int32)
    np.testing.assert_allclose(compiled(labels, LOGITS), loss(LABELS, LOGITS), rtol=1e-6)

@pytest.mark.tensorflow_only

def test_one_hot_labels_behind_an_unknown_static_shape_fail_at_run_time():
    compiled = _traced_with_unknown_label_shape(kerasloss.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(tf.errors.InvalidArgumentError):
        compiled(ONE_HOT.astype(np.int32), LOGITS)


COMPONENT_GRADIENTS = {
    "cross_entropy": lambda: ref.softmax(LOGITS) - ONE_HOT,
    "uniform_cross_entropy": lambda: ref.softmax(LOGITS) - 1 / 5,
    "z_loss": lambda: 2 * ref.logsumexp(LOGITS)[:, None] * ref.softmax(LOGITS),
}


@pytest.mark.parametrize("mode", ["eager", "xla"])
@pytest.mark.parametrize("component", list(COMPONENT_GRADIENTS))
@pytest.mark.parametrize("sparse", [True, False], ids=["sparse", "dense"])
def test_gradient_of_a_single_component_is_its_own_analytic_gradient(sparse, component, mode):
    cls = kerasloss.SparseCategoricalCrossentropy if sparse else kerasloss.CategoricalCrossentropy
    loss = cls(from_logits=True, label_smoothing=0.2, z_loss=0.1, reduction="sum")
    y_true = LABELS if sparse else ONE_HOT

    _, grad = backend_gradients.value_and_gradient(lambda z: loss.components(y_true, z)[component], LOGITS, mode)
    np.testing.assert_allclose(grad, COMPONENT_GRADIENTS[component](), atol=1e-5)


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_smoothed_sparse_loss_and_gradient_never_build_a_one_hot_tensor(jit_compile):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)

    def run(labels, logits):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            value = loss(labels, logits)
        return tape.gradient(value, logits)

    graph = tf.function(run, jit_compile=jit_compile).get_concrete_function(
        tf.TensorSpec([7], tf.int32), tf.TensorSpec([7, 5], tf.float32)
    ).graph
    one_hot_like = [
        op.type for op in graph.get_operations() for out in op.outputs
        if op.type == "OneHot" or (out.shape.as_list() == [7, 5] and not out.dtype.is_floating)
    ]
    assert one_hot_like == []


@pytest.mark.parametrize("mode", ["eager", pytest.param("graph", marks=pytest.mark.tensorflow_only)])
def test_integral_float_labels_give_the_same_loss_as_integer_labels(mode):
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    compute = MODES[mode](lambda t, p: loss(t, p))
    np.testing.assert_allclose(
        compute(tf.constant(LABELS.astype(np.float32)), LOGITS),
        compute(tf.constant(LABELS), LOGITS),
        rtol=1e-6,
    )


def test_sparse_labels_on_axis_1_may_keep_a_size_1_class_axis():
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True, axis=1)
    np.testing.assert_allclose(loss(SEQ_LABELS[:, None, :], SEQ), loss(SEQ_LABELS, SEQ), rtol=1e-6)


def test_empty_rank_1_binary_batch_gives_zero_for_loss_and_components():
    loss = kerasloss.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    empty = np.zeros((0,), np.float32)
    values = [loss(empty, empty)] + list(loss.components(empty, empty).values())
    assert all(tuple(v.shape) == () and float(v) == 0.0 for v in values)


def test_binary_squeezes_a_size_one_label_axis_as_keras_does():
    y_true = np.array([[1.0], [0.0], [1.0]], np.float32)
    y_pred = np.array([0.8, 0.3, 0.6], np.float32)
    ours = kerasloss.BinaryCrossentropy()(y_true, y_pred)
    np.testing.assert_allclose(ours, keras.losses.BinaryCrossentropy()(y_true, y_pred), rtol=1e-6)
