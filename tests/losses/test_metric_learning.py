"""Circle (kerasloss.losses.metric_learning, kerasloss.losses.metric_learning) against keras.losses.Circle and a
NumPy reference of the paper's formula."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import kerasloss
from kerasloss.losses.metric_learning import circle_terms
from tests.helpers import keras_parity as parity
from tests.helpers import numpy_reference as ref

RNG = np.random.default_rng(51)

# Keras' own test inputs
LABELS = np.array([1, 1, 2, 2, 3])
EMBEDDINGS = np.array([
    [0.70014004, -0.42008403, 0.14002801, 0.56011203],
    [0.17609018, 0.70436073, -0.52827054, 0.44022545],
    [-0.34050261, 0.25537696, -0.68100522, 0.59587957],
    [0.32163376, -0.75047877, 0.53605627, -0.21442251],
    [0.51261459, -0.34174306, 0.17087153, 0.76892189],
], np.float32)


def _embeddings(rng, batch, dim, classes):
    x = rng.normal(size=(batch, dim))
    return rng.integers(0, classes, batch), (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _reference(labels, embeddings, gamma, margin, remove_diagonal=True):
    """Circle loss per example in float64, written from Sun et al. (2020), eq. 6 and 8."""
    e = np.asarray(embeddings, np.float64)
    distance = np.maximum(1 - e @ e.T, 0)
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool) if remove_diagonal else same
    s_p = -gamma * np.maximum(margin + distance, 0) * (margin - distance)
    s_n = gamma * np.maximum(1 + margin - distance, 0) * (1 - margin - distance)
    with np.errstate(divide="ignore"):
        lse_p = np.log(np.sum(np.where(positive, np.exp(s_p - s_p.max()), 0), 1)) + s_p.max()
        lse_n = np.log(np.sum(np.where(~same, np.exp(s_n - s_n.max()), 0), 1)) + s_n.max()
    return np.logaddexp(0, lse_p + lse_n)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("kwargs", [{}, {"gamma": 256.0, "margin": 0.25}, {"remove_diagonal": False}],
                         ids=["default", "gamma-margin", "with-diagonal"])
def test_value_equals_keras(kwargs, reduction, weighted):
    labels, embeddings = _embeddings(RNG, 12, 6, 4)
    weight = RNG.uniform(0, 2, 12).astype(np.float32) if weighted else None
    parity.assert_equal_to_keras(kerasloss.Circle(reduction=reduction, **kwargs), labels, embeddings, weight)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31 - 1), batch=st.sampled_from([1, 5, 9]), dim=st.sampled_from([1, 4]),
       classes=st.integers(1, 4), reduction=st.sampled_from(ref.REDUCTIONS))
def test_value_equals_keras_on_random_inputs(seed, batch, dim, classes, reduction):
    labels, embeddings = _embeddings(np.random.default_rng(seed), batch, dim, classes)
    parity.assert_equal_to_keras(kerasloss.Circle(gamma=30.0, reduction=reduction), labels, embeddings)


def test_keras_unit_test_values():
    np.testing.assert_allclose(parity.as_numpy(kerasloss.Circle()(LABELS, EMBEDDINGS)), 188.3883, rtol=1e-5)
    weight = np.array([2.0, 2.0, 1.0, 1.0, 0.5])
    np.testing.assert_allclose(parity.as_numpy(kerasloss.Circle()(LABELS, EMBEDDINGS, weight)), 244.91918,
                               rtol=1e-5)


def test_per_example_values_match_the_paper_formula():
    labels, embeddings = _embeddings(RNG, 10, 4, 3)
    terms = circle_terms(labels, embeddings, gamma=64.0, margin=0.25)
    expected = _reference(labels, embeddings, 64.0, 0.25)
    np.testing.assert_allclose(parity.as_numpy(terms.values["circle"]), expected, rtol=1e-5)
    np.testing.assert_array_equal(parity.as_numpy(terms.mask).astype(bool), expected > 0)


def test_examples_without_a_positive_pair_are_masked_out_of_the_mean():
    labels = np.array([0, 0, 1])  # example 2 has no positive
    embeddings = _embeddings(RNG, 3, 4, 2)[1]
    per_example = parity.as_numpy(kerasloss.Circle(reduction=None)(labels, embeddings))
    assert per_example[2] == 0.0
    np.testing.assert_allclose(parity.as_numpy(kerasloss.Circle()(labels, embeddings)), per_example[:2].mean(),
                               rtol=1e-6)


def test_reference_embeddings_and_labels_of_the_function():
    # Keras' own test: losses.circle(..., ref_labels, ref_embeddings, remove_diagonal=False)
    ref_labels = np.array([1, 1, 2, 2, 3, 4])
    ref_embeddings = np.array([
        [0.40824829, -0.54433105, 0.27216553, 0.68041382],
        [0.76376261, 0.10910895, -0.54554473, 0.32732684],
        [-0.74420841, 0.24806947, 0.49613894, -0.3721042],
        [0.52981294, -0.13245324, 0.79471941, -0.26490647],
        [0.54554473, -0.32732684, 0.10910895, 0.76376261],
        [-0.27216553, 0.68041382, 0.40824829, -0.54433105],
    ], np.float32)
    terms = circle_terms(LABELS, EMBEDDINGS, ref_labels, ref_embeddings, remove_diagonal=False,
                         gamma=80.0, margin=0.4)
    np.testing.assert_allclose(parity.as_numpy(terms.values["circle"]),
                               [61.5844, 94.3465, 276.9344, 90.9873, 48.8963], rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_embeddings_are_computed_in_float32(dtype):
    low = ops.cast(EMBEDDINGS, dtype)
    got = kerasloss.Circle()(LABELS, low)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(parity.as_numpy(got),
                               parity.as_numpy(kerasloss.Circle()(LABELS, ops.cast(low, "float32"))), rtol=1e-6)


def test_bad_arguments_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="gamma must be >= 0, got -1"):
        kerasloss.Circle(gamma=-1)
    with pytest.raises(ValueError, match="margin must be >= 0, got -0.2"):
        kerasloss.Circle(margin=-0.2)


def test_components_add_up_and_constructor_config_and_name_are_keras():
    parity.assert_same_signature(kerasloss.Circle)
    loss = kerasloss.Circle(gamma=64.0, margin=0.3, remove_diagonal=False, reduction="sum", name="c")
    assert loss.component_weights == {"circle": 1.0}
    parity.assert_components_add_up(loss, LABELS, EMBEDDINGS)
    parity.assert_config_round_trip(loss)


def test_model_compiled_with_the_loss_survives_a_keras_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.UnitNormalization()])
    x, labels = RNG.normal(size=(8, 3)).astype(np.float32), RNG.integers(0, 3, 8)
    parity.assert_keras_file_round_trip(kerasloss.Circle(), model, x, labels, tmp_path)


def test_docstring_example_gives_the_documented_value():
    value = kerasloss.Circle(gamma=1.0, reduction=None)(np.array([0, 0]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_allclose(parity.as_numpy(value), [0.0, 0.0])
