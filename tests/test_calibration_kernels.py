"""The per-backend kernels of CalibrationError against torch and NumPy: edges, bins, top class,
top probability and hits, range summary."""

import keras
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasloss._calibration_kernels import (
    range_summary,
    top_class,
    top_probability,
    top_probability_and_hits,
    uniform_bin_sums,
    uniform_edges,
)

FLOATS = ["float32", "float64"] if keras.backend.backend() != "jax" else ["float32"]  # JAX: no x64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_edges_are_torch_linspace_bit_for_bit(dtype):
    torch_dtype = getattr(torch, dtype)
    for num_bins in range(1, 400):
        expected = torch.linspace(0, 1, num_bins + 1, dtype=torch_dtype).numpy()
        np.testing.assert_array_equal(uniform_edges(num_bins, dtype), expected)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("num_bins", [1, 2, 3, 7, 15, 37, 999])
def test_bin_sums_bucket_as_torch_bucketize_on_edges_beside_them_and_outside_zero_one(dtype, num_bins):
    edges = uniform_edges(num_bins, dtype)
    beside = [edges, np.nextafter(edges, -1), np.nextafter(edges, 2), np.nextafter(np.nextafter(edges, -1), -1)]
    outside = [-np.inf, -1e30, -0.5, 1.5, 1e30, np.inf]
    confidence = np.concatenate([*beside, outside, np.random.default_rng(0).uniform(-0.1, 1.1, 5000)]).astype(dtype)
    outcome = (np.arange(len(confidence)) % 3 == 0).astype(dtype)
    bins = (torch.bucketize(torch.tensor(confidence), torch.tensor(edges), right=True) - 1).clamp(min=0).numpy()
    expected = np.zeros((num_bins + 1, 3))
    for column, values in enumerate([np.ones_like(confidence), confidence, outcome]):
        np.add.at(expected[:, column], bins, values.astype(np.float64))
    ours = uniform_bin_sums(keras.ops.convert_to_tensor(confidence), keras.ops.convert_to_tensor(outcome), None, num_bins)
    ours = keras.ops.convert_to_numpy(ours)
    np.testing.assert_array_equal(ours[:, 0], expected[:, 0])  # counts: every confidence in torch's bin
    np.testing.assert_allclose(ours[:, 1:][np.isfinite(expected[:, 1:])], expected[:, 1:][np.isfinite(expected[:, 1:])],
                               rtol=1e-6)


def test_a_nan_confidence_lands_in_bin_zero():
    sums = uniform_bin_sums(keras.ops.convert_to_tensor(np.array([np.nan, 0.5], "float32")),
                            keras.ops.convert_to_tensor(np.array([1.0, 0.0], "float32")), None, 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(sums)[:, 0], [1, 0, 1, 0, 0])


@pytest.mark.parametrize("classes", [3, 4097, 20001])
def test_top_probability_is_the_top_softmax_probability_of_long_and_confident_rows(classes):
    logits = np.random.default_rng(1).normal(size=(64, classes)) * 3  # unfolded XLA sums: 1.8e-6 off
    logits[1, 0] += 30.0  # confident: one term near 1 over a tail of tiny ones
    logits[2] *= 1e6  # far apart: finite, exactly 1
    logits = logits.astype("float32")
    shifted = logits.astype(np.float64) - logits.max(-1, keepdims=True)
    expected = 1.0 / np.exp(shifted).sum(-1)
    scores = keras.ops.convert_to_tensor(logits)
    ours = keras.ops.convert_to_numpy(top_probability(scores, top_class(scores)[0]))
    np.testing.assert_allclose(ours, expected, rtol=1e-6)


def _assert_top_class_is_torch_max(scores):
    top, index = top_class(keras.ops.convert_to_tensor(np.array(scores, "float32")))
    values, indices = torch.max(torch.tensor(scores), dim=-1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(index), indices.numpy())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(top), values.numpy())


def test_top_class_breaks_ties_to_the_lowest_index_as_torch_max():
    _assert_top_class_is_torch_max([[0.5, 0.2, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0], [0.1, 0.3, 0.3, 0.3]])


def test_top_class_takes_minus_zero_and_zero_as_a_tie():  # Keras' ops.argmax orders -0.0 below 0.0
    _assert_top_class_is_torch_max([[0.0, -0.0, 0.0, 0.0], [-0.0, 0.0, 0.0, 0.0]])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), doubtful=st.sampled_from([0.0, 0.1, 0.5, 1.0]), shape=st.sampled_from([(40,), (8, 5)]))
def test_hits_are_the_labels_of_the_first_top_class_however_many_rows_tie(seed, doubtful, shape):
    """Against NumPy's argmax (the first top class, -0.0 tying 0.0), rows sure of their top class
    and rows with tied top logits (a `doubtful` share of them), labels outside [0, K) too."""
    rng = np.random.default_rng(seed)
    k = 6
    logits = (rng.normal(size=(*shape, k)) * 20).astype("float32")
    tied = rng.uniform(size=shape) < doubtful
    logits[tied] = rng.integers(0, 2, size=(int(tied.sum()), k)).astype("float32") * np.where(
        rng.uniform(size=(int(tied.sum()), k)) < 0.5, -0.0, 0.0) + rng.integers(0, 2, size=(int(tied.sum()), k))
    far = tied & (rng.uniform(size=shape) < 0.5)  # the rest far below: a two-way tie has p = 1/2 exactly
    logits[far] = np.where(logits[far] == logits[far].max(-1, keepdims=True), logits[far], -100.0)
    first = np.argmax(logits, axis=-1)
    labels = np.where(rng.uniform(size=shape) < 0.6, first, rng.integers(-1, k + 1, size=shape))
    probability, hits = top_probability_and_hits(keras.ops.convert_to_tensor(logits), keras.ops.convert_to_tensor(labels))
    exp = np.exp(logits.astype(np.float64) - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(probability), 1 / exp.sum(-1), rtol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(hits), labels == first)


def test_a_two_way_tie_with_p_one_half_is_a_hit_of_its_first_class_only():
    logits = np.full((4, 6), -100.0, "float32")
    logits[:2, [1, 4]] = 3.0
    logits[2:, [1, 4]] = [-0.0, 0.0]
    probability, hits = top_probability_and_hits(keras.ops.convert_to_tensor(logits),
                                                 keras.ops.convert_to_tensor(np.array([1, 4, 4, 1])))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(probability), [0.5] * 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(hits), [True, False, False, True])


def test_range_summary_flags_labels_outside_and_gives_the_confidence_extremes():
    confidence = keras.ops.convert_to_tensor(np.array([0.25, -0.5, 1.5], "float32"))
    for labels, outside in (([0, 3, 2], 0.0), ([0, 4, 2], 1.0), ([-1, 0, 0], 1.0)):
        summary = range_summary(keras.ops.convert_to_tensor(np.array(labels, "int32")), 3, confidence, True)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(summary), [outside, -0.5, 1.5])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(range_summary(None, 3, confidence, True)), [-0.5, 1.5])
