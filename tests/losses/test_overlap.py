"""Dice and Tversky (kerasloss.losses.overlap, kerasloss.losses.overlap): keras.losses parity, the exact
false_positive / false_negative / empty split, and the alpha / beta meaning Keras 3.15 swapped."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import kerasloss
from tests.helpers import keras_parity as parity
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(31)
EPSILON = 1e-7


def _segmentation(rng, shape):
    return rng.integers(0, 2, shape).astype(np.float32), rng.uniform(0, 1, shape).astype(np.float32)


def _keras_tversky_swaps_alpha_and_beta():
    """Keras 3.15 weighs false negatives by alpha (fixed in keras-team/keras#23333)."""
    # y = [1, 0], p = [1, 1]: one false positive, no false negative
    value = keras.losses.Tversky(alpha=1.0, beta=0.0)(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    return float(ops.convert_to_numpy(value)) < 0.25


def _keras_twin(loss):
    """keras.losses' Dice or Tversky computing the same formula as `loss`."""
    if isinstance(loss, kerasloss.Tversky) and _keras_tversky_swaps_alpha_and_beta():
        config = {**loss.get_config(), "alpha": loss.beta, "beta": loss.alpha}
        return keras.losses.Tversky(**{k: v for k, v in config.items() if k != "dtype"})
    return parity.twin(loss)


def _reference(y_true, y_pred, alpha, beta, c, axis):
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    intersection = np.sum(y_true * y_pred, axis=axis)
    fp, fn = np.sum((1 - y_true) * y_pred, axis=axis), np.sum(y_true * (1 - y_pred), axis=axis)
    denominator = c * intersection + alpha * fp + beta * fn + EPSILON
    return {"false_positive": fp / denominator, "false_negative": fn / denominator,
            "empty": EPSILON / denominator}, 1 - c * intersection / denominator


LOSSES = {
    "dice": lambda **kw: kerasloss.Dice(**kw),
    "tversky": lambda **kw: kerasloss.Tversky(**kw),
    "tversky_fp_heavy": lambda **kw: kerasloss.Tversky(alpha=0.8, beta=0.2, **kw),
}
# Keras computes 1 - c·I/D, which cancels near 0: its rounding is relative to 1, not to the loss
SCALE = 1.0


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("axis", [(1, 2, 3), 1, -1], ids=str)
@pytest.mark.parametrize("case", list(LOSSES))
def test_value_equals_keras(case, axis, reduction, weighted):
    y_true, y_pred = _segmentation(RNG, (4, 3, 5, 2))
    loss = LOSSES[case](axis=axis, reduction=reduction)
    weight = RNG.uniform(0, 2, loss.call(y_true, y_pred).shape).astype(np.float32) if weighted else None
    parity.assert_equal_to_keras(loss, y_true, y_pred, weight, theirs=_keras_twin(loss), scale=SCALE)


@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("case", list(LOSSES))
def test_axis_none_gives_one_value_for_the_batch_like_keras(case, reduction):
    y_true, y_pred = _segmentation(RNG, (4, 6))
    loss = LOSSES[case](reduction=reduction)
    assert tuple(loss(y_true, y_pred).shape) == ()
    parity.assert_equal_to_keras(loss, y_true, y_pred, theirs=_keras_twin(loss), scale=SCALE)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**31 - 1),
    shape=st.sampled_from([(1, 1), (3, 1), (5, 2), (2, 3, 4), (7,), (4, 33)]),
    alpha=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    beta=st.sampled_from([0.0, 0.5, 0.9]),
    soft_targets=st.booleans(),
    reduction=st.sampled_from(ref.REDUCTIONS),
)
def test_tversky_equals_keras_on_random_inputs(seed, shape, alpha, beta, soft_targets, reduction):
    rng = np.random.default_rng(seed)
    y_true, y_pred = _segmentation(rng, shape)
    if soft_targets:
        y_true = rng.uniform(0, 1, shape).astype(np.float32)
    axis = tuple(range(1, len(shape))) or None
    loss = kerasloss.Tversky(alpha=alpha, beta=beta, axis=axis, reduction=reduction)
    parity.assert_equal_to_keras(loss, y_true, y_pred, theirs=_keras_twin(loss), scale=SCALE)


EDGES = {
    "perfect": lambda t: (t, t.copy()),
    "all_wrong": lambda t: (t, 1.0 - t),
    "both_empty": lambda t: (np.zeros_like(t), np.zeros_like(t)),
    "empty_target": lambda t: (np.zeros_like(t), np.full_like(t, 0.5)),
    "integer_counts": lambda t: (t * 2, t * 3 + 1),
}


@pytest.mark.parametrize("edge", list(EDGES))
@pytest.mark.parametrize("case", list(LOSSES))
def test_value_equals_keras_on_edge_inputs(case, edge):
    y_true, y_pred = EDGES[edge](RNG.integers(0, 2, (3, 4)).astype(np.float32))
    loss = LOSSES[case](axis=1, reduction=None)
    parity.assert_equal_to_keras(loss, y_true, y_pred, theirs=_keras_twin(loss), scale=SCALE)


def test_integer_predictions_are_converted_like_keras():
    # Keras' own test: y_true [[1, 2], [1, 2]], y_pred [[4, 1], [6, 1]] (integers)
    y_true, y_pred = np.array([[1, 2], [1, 2]]), np.array([[4, 1], [6, 1]])
    for loss in (kerasloss.Dice(), kerasloss.Tversky()):
        np.testing.assert_allclose(parity.as_numpy(loss(y_true, y_pred)), -0.5555556, rtol=1e-6)


@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_keras_mask_over_examples_is_honoured_like_keras(reduction):
    y_true, y_pred = _segmentation(RNG, (4, 3, 5))
    loss = kerasloss.Dice(axis=(1, 2), reduction=reduction)
    mask = np.array([True, False, True, True])
    y_pred_per_example = y_pred  # the mask covers the examples: one value each
    got = loss(y_true, parity.masked(y_pred_per_example, mask))
    expected = keras.losses.Dice(axis=(1, 2), reduction=reduction)(y_true, parity.masked(y_pred, mask))
    np.testing.assert_allclose(parity.as_numpy(got), parity.as_numpy(expected), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", list(LOSSES))
def test_16_bit_predictions_are_computed_in_float32(case, dtype):
    y_true, y_pred = _segmentation(RNG, (6, 5))
    low = ops.cast(y_pred, dtype)
    loss = LOSSES[case](axis=1)
    got = loss(y_true, low)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(parity.as_numpy(got),
                               parity.as_numpy(loss(y_true, ops.cast(low, "float32"))), rtol=1e-6)
    parity.assert_equal_to_keras(loss, y_true, low, theirs=_keras_twin(loss), scale=SCALE)


# --- components -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case, alpha, beta, c", [
    ("dice", 1.0, 1.0, 2.0), ("tversky", 0.5, 0.5, 1.0), ("tversky_fp_heavy", 0.8, 0.2, 1.0),
])
def test_components_are_the_reference_terms_and_add_up_exactly(case, alpha, beta, c):
    y_true, y_pred = _segmentation(RNG, (5, 4, 3))
    loss = LOSSES[case](axis=(1, 2), reduction=None)
    expected, total = _reference(y_true, y_pred, alpha, beta, c, (1, 2))
    terms = loss.terms(y_true, y_pred)
    for name, value in terms.values.items():
        np.testing.assert_allclose(parity.as_numpy(value), expected[name], rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(parity.as_numpy(loss(y_true, y_pred)), total, rtol=1e-6)
    assert loss.component_weights == {"false_positive": alpha, "false_negative": beta, "empty": 1.0}
    parity.assert_components_add_up(kerasloss.Dice(axis=(1, 2), reduction="sum"), y_true, y_pred)


def test_a_zero_weight_drops_its_component():
    loss = kerasloss.Tversky(alpha=0.0, beta=1.0)
    assert loss.component_weights == {"false_negative": 1.0, "empty": 1.0}
    assert set(loss.components(*_segmentation(RNG, (3, 4)))) == {"false_negative", "empty"}


def test_empty_target_and_prediction_give_1_from_the_empty_component():
    zeros = np.zeros((2, 3), np.float32)
    components = kerasloss.Dice(axis=1).components(zeros, zeros)
    np.testing.assert_allclose(parity.as_numpy(components["empty"]), 1.0)
    np.testing.assert_allclose(parity.as_numpy(components["false_positive"]), 0.0)


# --- errors ----------------------------------------------------------------------------------------

def test_shapes_that_differ_are_refused():
    with pytest.raises(ValueError, match=r"y_true shape \(3, 2\) and y_pred shape \(3, 4\)"):
        kerasloss.Dice()(np.ones((3, 2)), np.ones((3, 4), np.float32))


def test_shapes_that_only_broadcast_are_refused_not_broadcast():
    # Keras sums y_true before broadcasting it: Σy counts once what the intersection counts 3 times
    with pytest.raises(ValueError, match=r"must be equal for an overlap loss"):
        kerasloss.Tversky(axis=1)(np.ones((3, 1, 2)), np.ones((3, 3, 2), np.float32))


@pytest.mark.parametrize("make, error, message", [
    (lambda: kerasloss.Tversky(alpha=-0.1), ValueError, "alpha must be >= 0, got -0.1"),
    (lambda: kerasloss.Tversky(beta="x"), TypeError, "beta must be a non-negative number, got 'x'"),
    (lambda: kerasloss.Dice(axis=1.5), TypeError, "axis must be an int or None, got 1.5"),
], ids=["alpha", "beta", "axis"])
def test_bad_arguments_are_refused_naming_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_per_example_weights_on_a_batch_value_are_refused():
    with pytest.raises(ValueError, match=r"sample_weight shape \(3,\) does not broadcast"):
        kerasloss.Dice()(np.ones((3, 2)), np.ones((3, 2), np.float32), sample_weight=np.ones(3))


# --- configuration --------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [kerasloss.Dice, kerasloss.Tversky])
def test_constructor_arguments_defaults_and_name_are_keras(cls):
    parity.assert_same_signature(cls)


@pytest.mark.parametrize("loss", [
    kerasloss.Dice(axis=(1, 2), reduction="sum", name="d"), kerasloss.Tversky(0.3, 0.7, axis=-1),
], ids=["dice", "tversky"])
def test_config_round_trip_rebuilds_an_equal_loss(loss):
    parity.assert_config_round_trip(loss)


@pytest.mark.parametrize("loss", [kerasloss.Dice(axis=(1,)), kerasloss.Tversky(0.3, 0.7, axis=1)],
                         ids=["dice", "tversky"])
def test_model_compiled_with_the_loss_survives_a_keras_file_round_trip(loss, tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="sigmoid")])
    x, y = RNG.normal(size=(8, 3)).astype(np.float32), RNG.integers(0, 2, (8, 4)).astype(np.float32)
    parity.assert_keras_file_round_trip(loss, model, x, y, tmp_path)


@pytest.mark.parametrize("expression, expected", [
    (lambda: kerasloss.Dice()(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])), 0.5),
    (lambda: kerasloss.Tversky(alpha=0.2, beta=0.8)(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])), 0.5),
], ids=["dice", "tversky"])
def test_docstring_examples_give_the_documented_values(expression, expected):
    np.testing.assert_allclose(parity.as_numpy(expression()), expected, rtol=1e-6)
