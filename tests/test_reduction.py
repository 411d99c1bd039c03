"""reduce_weighted: Keras' reductions with sample weights and masks, empty batches, replicas."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasloss.reduction import (
    WeightedReduction,
    align_weights,
    element_weights,
    mean_or_zero,
    reduce_weighted,
    weighted_sum_and_weight,
)
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(4)
VALUES = RNG.uniform(0.0, 3.0, (4, 3)).astype(np.float32)
WEIGHT = RNG.uniform(0.1, 2.0, 4).astype(np.float32)
MASK = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]], bool)


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_reduction_matches_reference(reduction, weighted, masked):
    weight = WEIGHT if weighted else None
    mask = MASK if masked else None
    np.testing.assert_allclose(
        reduce_weighted(VALUES, weight, mask, reduction),
        ref.reduce(VALUES, weight, mask, reduction),
        rtol=1e-6,
    )


@pytest.mark.parametrize("reduction", [r for r in ref.REDUCTIONS if r is not None], ids=str)
def test_reduction_matches_keras_with_full_shape_weights_and_mask(reduction):
    weight = RNG.uniform(0.1, 2.0, VALUES.shape).astype(np.float32)
    expected = keras.src.losses.loss.reduce_weighted_values(
        tf.constant(VALUES), sample_weight=weight, mask=tf.constant(MASK), reduction=reduction
    )
    np.testing.assert_allclose(reduce_weighted(VALUES, weight, MASK, reduction), expected, rtol=1e-6)


def test_mean_divides_by_the_unmasked_count_not_the_weight_sum():
    got = reduce_weighted(VALUES, WEIGHT, MASK, "mean")
    expected = np.sum(VALUES * WEIGHT[:, None] * MASK) / MASK.sum()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_mean_with_sample_weight_divides_by_the_weight_sum():
    np.testing.assert_allclose(
        reduce_weighted(VALUES[:, 0], WEIGHT, None, "mean_with_sample_weight"),
        np.sum(WEIGHT * VALUES[:, 0]) / np.sum(WEIGHT), rtol=1e-6,
    )


def test_mean_with_sample_weight_without_weights_is_the_plain_mean():
    value = reduce_weighted(VALUES, reduction="mean_with_sample_weight")
    np.testing.assert_allclose(value, VALUES.mean(), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "mean_with_sample_weight"])
def test_fully_masked_batch_reduces_to_zero_not_nan(reduction):
    assert float(reduce_weighted(VALUES, WEIGHT, np.zeros_like(MASK), reduction)) == 0.0


@pytest.mark.parametrize("reduction", [r for r in ref.REDUCTIONS if r is not None], ids=str)
def test_empty_values_reduce_to_a_scalar_zero(reduction):
    value = reduce_weighted(np.zeros((0,), np.float32), np.zeros((0,), np.float32), None, reduction)
    assert tuple(value.shape) == () and float(value) == 0.0


@pytest.mark.parametrize("reduction", [r for r in ref.REDUCTIONS if r is not None], ids=str)
def test_scalar_values_reduce_to_themselves(reduction):
    np.testing.assert_allclose(reduce_weighted(np.float32(2.5), reduction=reduction), 2.5)


@pytest.mark.parametrize("shape", [(4, 3), (5,), (0,), (3, 0)], ids=str)
def test_mean_or_zero_is_the_last_axis_mean_or_zero_when_empty(shape):
    values = RNG.uniform(0.0, 3.0, shape).astype(np.float32)
    expected = values.mean(axis=-1) if shape[-1] else np.zeros(shape[:-1], np.float32)
    np.testing.assert_allclose(mean_or_zero(values), expected, rtol=1e-6)


@pytest.mark.backends("tensorflow", "torch")  # JAX computes float64 as float32 (jax_enable_x64 off)
def test_mean_or_zero_keeps_float64():
    mean = mean_or_zero(np.array([[1.0 + 2e-12, 1.0]]))
    assert keras.backend.standardize_dtype(mean.dtype) == "float64"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(mean), [1.0 + 1e-12], rtol=1e-15)


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("rows", [4, 0])
@pytest.mark.parametrize("reduction", [r for r in ref.REDUCTIONS if r is not None], ids=str)
def test_sizes_unknown_at_trace_time_reduce_as_known_ones(reduction, rows):
    """Sizes known while tracing take a shortcut (a constant divisor); unknown ones divide at run time."""
    values = VALUES[:rows]

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def traced(x):
        return reduce_weighted(mean_or_zero(x), reduction=reduction), mean_or_zero(x)

    reduced, row_means = traced(tf.constant(values))
    np.testing.assert_allclose(reduced, ref.reduce(values.mean(axis=-1), None, None, reduction), rtol=1e-6)
    np.testing.assert_allclose(row_means, values.mean(axis=-1), rtol=1e-6)
    np.testing.assert_allclose(reduced, reduce_weighted(mean_or_zero(values), reduction=reduction), rtol=1e-6)


@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_one_weighted_reduction_reduces_every_tensor_of_its_shape_alike(reduction):
    other = RNG.normal(size=VALUES.shape).astype(np.float32)
    shared = WeightedReduction(VALUES, WEIGHT, MASK, reduction)
    for values in (VALUES, other):
        np.testing.assert_allclose(shared.reduce(values), ref.reduce(values, WEIGHT, MASK, reduction), rtol=1e-6)
        np.testing.assert_allclose(shared.sum_and_weight(values), weighted_sum_and_weight(values, WEIGHT, MASK),
                                   rtol=1e-6)


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("reduction", [r for r in ref.REDUCTIONS if r is not None], ids=str)
def test_weights_and_mask_of_unknown_size_reduce_as_known_ones(reduction):
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.float32),
                                  tf.TensorSpec([None, None], tf.bool)])
    def traced(values, weight, mask):
        return reduce_weighted(values, weight, mask, reduction), weighted_sum_and_weight(values, weight, mask)

    reduced, sums = traced(tf.constant(VALUES), tf.constant(WEIGHT), tf.constant(MASK))
    np.testing.assert_allclose(reduced, ref.reduce(VALUES, WEIGHT, MASK, reduction), rtol=1e-6)
    weights = WEIGHT[:, None] * MASK
    np.testing.assert_allclose(sums, (np.sum(VALUES * weights), np.sum(weights)), rtol=1e-6)


def test_fully_masked_non_finite_values_reduce_to_zero():
    values = np.full((2, 3), np.nan, np.float32)
    assert float(reduce_weighted(values, mask=np.zeros((2, 3), bool))) == 0.0


def test_reduction_none_returns_weighted_elements():
    np.testing.assert_allclose(reduce_weighted(VALUES, WEIGHT, MASK, None), VALUES * WEIGHT[:, None] * MASK)


def test_lower_rank_weight_broadcasts_over_trailing_axes():
    assert tuple(align_weights(tf.constant(WEIGHT), tf.constant(VALUES)).shape) == (4, 1)


def test_weight_with_trailing_unit_axis_is_squeezed_to_the_value_rank():
    assert tuple(align_weights(tf.ones((4, 1)), tf.ones((4,))).shape) == (4,)


def test_weight_that_cannot_align_is_refused():
    with pytest.raises(ValueError, match=r"sample_weight shape \(4, 2\) does not broadcast"):
        element_weights(tf.ones((4,)), np.ones((4, 2), np.float32))


def test_element_weights_are_none_without_weight_or_mask():
    assert element_weights(tf.constant(VALUES)) is None


@pytest.mark.tensorflow_only
def test_mean_reduction_runs_in_a_strategy_replica_context():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])  # one replica: the scaling path runs, scale 1
    with strategy.scope():
        value = strategy.run(lambda: reduce_weighted(tf.constant(VALUES)))
    np.testing.assert_allclose(strategy.reduce("SUM", value, axis=None), VALUES.mean(), rtol=1e-6)


@settings(max_examples=20)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=3),
    st.sampled_from(ref.REDUCTIONS),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_reduction_matches_reference_on_random_shapes(shape, reduction, weighted, masked, seed):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 3, shape).astype(np.float32)
    weight = rng.uniform(0.1, 2.0, shape[:1]).astype(np.float32) if weighted else None
    mask = rng.uniform(size=shape) < 0.6 if masked else None
    got = reduce_weighted(values, weight, mask, reduction)
    np.testing.assert_allclose(got, ref.reduce(values, weight, mask, reduction), rtol=1e-5, atol=1e-6)
