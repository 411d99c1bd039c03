"""Circle (kerasloss.losses.metric_learning) against keras.losses.Circle and a NumPy reference of the
paper's formula; TripletSemiHardLoss, ContrastiveLoss and SupervisedContrastive against NumPy
float64 ports of TensorFlow Addons and of SupCon's L_out (tests/helpers/tfa_reference.py)."""

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
from tests.helpers import tfa_reference as tfa
from tests.helpers.backend_gradients import value_and_gradient

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


# TripletSemiHardLoss, ContrastiveLoss, SupervisedContrastive: against NumPy float64 ports of
# TensorFlow Addons' triplet_semihard_loss and contrastive_loss and of SupCon's L_out (Khosla et al.)

DISTANCE_METRICS = ["L2", "squared-L2", "angular"]


def _clustered(rng, batch, dim, classes):
    """Labels and unnormalised embeddings near one centre per class (so mining finds every case)."""
    labels = rng.integers(0, classes, batch)
    centres = rng.normal(size=(classes, dim))
    return labels, (centres[labels] + 0.7 * rng.normal(size=(batch, dim))).astype(np.float32)


def _diagnostic_means(loss, y_true, y_pred):
    result = loss.evaluate(y_true, y_pred)
    return {name: float(s) / float(w) for name, (s, w) in result.diagnostics.items()}


@pytest.mark.parametrize("margin", [1.0, 0.3])
@pytest.mark.parametrize("metric", DISTANCE_METRICS)
def test_triplet_value_and_diagnostics_equal_tensorflow_addons(metric, margin):
    labels, embeddings = _clustered(RNG, 14, 5, 3)
    loss = kerasloss.TripletSemiHardLoss(margin=margin, distance_metric=metric)
    value, active, positive, negative = tfa.triplet_semihard(labels, embeddings, margin, metric)
    np.testing.assert_allclose(parity.as_numpy(loss(labels, embeddings)), value, rtol=1e-5)
    means = _diagnostic_means(loss, labels, embeddings)
    assert means["active_triplet_fraction"] == pytest.approx(active, abs=1e-6)
    assert means["positive_distance"] == pytest.approx(positive, rel=1e-5)
    assert means["negative_distance"] == pytest.approx(negative, rel=1e-5)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), batch=st.sampled_from([2, 9]), classes=st.integers(1, 4),
       metric=st.sampled_from(DISTANCE_METRICS))
def test_triplet_equals_tensorflow_addons_on_random_batches(seed, batch, classes, metric):
    labels, embeddings = _clustered(np.random.default_rng(seed), batch, 3, classes)
    if not any((labels == label).sum() > 1 for label in labels):
        return  # no positive pair: TensorFlow Addons gives NaN (see the next test)
    np.testing.assert_allclose(
        parity.as_numpy(kerasloss.TripletSemiHardLoss(distance_metric=metric)(labels, embeddings)),
        tfa.triplet_semihard(labels, embeddings, 1.0, metric)[0], rtol=1e-5, atol=1e-6)


def test_triplet_batch_without_a_positive_pair_gives_zero_not_nan():
    value = kerasloss.TripletSemiHardLoss()(np.array([0, 1, 2]), RNG.normal(size=(3, 4)).astype(np.float32))
    assert parity.as_numpy(value) == 0.0


def test_triplet_tensorflow_addons_docstring_examples():
    labels, embeddings = np.array([0, 0]), np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    np.testing.assert_allclose(parity.as_numpy(kerasloss.TripletSemiHardLoss()(labels, embeddings)), 2.4142137,
                               rtol=1e-6)
    inner_product = kerasloss.TripletSemiHardLoss(distance_metric=lambda x: ops.matmul(x, ops.transpose(x)))
    np.testing.assert_allclose(parity.as_numpy(inner_product(labels, embeddings)), 1.0, rtol=1e-6)


def test_triplet_gradient_matches_finite_differences_of_the_reference():
    labels, embeddings = _clustered(RNG, 8, 3, 2)
    _, gradient = value_and_gradient(lambda e: kerasloss.TripletSemiHardLoss()(labels, e), embeddings)
    expected = ref.central_difference(lambda e: tfa.triplet_semihard(labels, e)[0], embeddings.astype(np.float64))
    np.testing.assert_allclose(gradient, expected, rtol=1e-3, atol=1e-4)


def test_triplet_per_pair_values_and_anchor_weights():
    labels, embeddings = _clustered(RNG, 6, 3, 2)
    per_pair = parity.as_numpy(kerasloss.TripletSemiHardLoss(reduction=None)(labels, embeddings))
    positive = (labels[:, None] == labels[None, :]) & ~np.eye(6, dtype=bool)
    assert per_pair.shape == (6, 6) and np.all(per_pair[~positive] == 0.0)
    weight = RNG.uniform(0, 2, 6).astype(np.float32)
    weighted = parity.as_numpy(kerasloss.TripletSemiHardLoss(reduction="sum")(labels, embeddings, weight))
    np.testing.assert_allclose(weighted, (per_pair * weight[:, None]).sum(), rtol=1e-5)


def test_triplet_refuses_an_unknown_distance_metric_and_embeddings_not_of_rank_two():
    with pytest.raises(ValueError, match="distance_metric must be one of"):
        kerasloss.TripletSemiHardLoss(distance_metric="cosine")
    with pytest.raises(ValueError, match="y_pred must hold one embedding per example"):
        kerasloss.TripletSemiHardLoss()(np.zeros(4), np.zeros((4, 2, 2), np.float32))
    with pytest.raises(ValueError, match="y_true must hold one integer label per embedding"):
        kerasloss.TripletSemiHardLoss()(np.zeros(3), np.zeros((4, 2), np.float32))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
def test_contrastive_value_equals_tensorflow_addons(reduction, weighted):
    similar, distance = RNG.integers(0, 2, 20), np.abs(RNG.normal(size=20)).astype(np.float32)
    weight = RNG.uniform(0, 2, 20).astype(np.float32) if weighted else None
    loss = kerasloss.ContrastiveLoss(margin=0.8, reduction=reduction)
    np.testing.assert_allclose(parity.as_numpy(loss(similar, distance, weight)),
                               ref.reduce(tfa.contrastive(similar, distance, 0.8), weight, None, reduction),
                               rtol=1e-6)


def test_contrastive_components_and_diagnostics_split_similar_from_dissimilar_pairs():
    similar, distance = RNG.integers(0, 2, 30), np.abs(RNG.normal(size=30)).astype(np.float32)
    loss = kerasloss.ContrastiveLoss(reduction="sum")
    parity.assert_components_add_up(loss, similar, distance)
    components = {k: parity.as_numpy(v) for k, v in loss.components(similar, distance).items()}
    np.testing.assert_allclose(components["similar"], (distance[similar == 1].astype(np.float64) ** 2).sum(),
                               rtol=1e-6)
    means = _diagnostic_means(loss, similar, distance)
    assert means["positive_distance"] == pytest.approx(distance[similar == 1].mean(), rel=1e-6)
    assert means["negative_distance"] == pytest.approx(distance[similar == 0].mean(), rel=1e-6)


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_supervised_contrastive_equals_the_paper_formula(temperature):
    labels, embeddings = _clustered(RNG, 12, 4, 4)
    labels[0] = 9  # an anchor without a positive (NaN in the paper's formula): masked out, 0
    expected = tfa.supervised_contrastive(labels, embeddings, temperature)
    per_anchor = parity.as_numpy(kerasloss.SupervisedContrastive(temperature, reduction=None)(labels, embeddings))
    np.testing.assert_allclose(per_anchor, np.nan_to_num(expected), rtol=1e-5)
    mean = parity.as_numpy(kerasloss.SupervisedContrastive(temperature)(labels, embeddings))
    np.testing.assert_allclose(mean, np.nanmean(expected), rtol=1e-5)


def test_supervised_contrastive_gradient_matches_finite_differences_of_the_paper_formula():
    labels, embeddings = _clustered(RNG, 6, 3, 2)
    _, gradient = value_and_gradient(lambda e: kerasloss.SupervisedContrastive(0.5)(labels, e), embeddings)
    expected = ref.central_difference(
        lambda e: np.nanmean(tfa.supervised_contrastive(labels, e, 0.5)), embeddings.astype(np.float64))
    np.testing.assert_allclose(gradient, expected, rtol=1e-3, atol=1e-5)


def test_supervised_contrastive_similarity_diagnostics_are_means_over_pairs():
    labels, embeddings = _clustered(RNG, 10, 4, 3)
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    similarity = unit @ unit.T
    same = labels[:, None] == labels[None, :]
    means = _diagnostic_means(kerasloss.SupervisedContrastive(), labels, embeddings)
    assert means["positive_similarity"] == pytest.approx(similarity[same & ~np.eye(10, dtype=bool)].mean(), abs=1e-5)
    assert means["negative_similarity"] == pytest.approx(similarity[~same].mean(), abs=1e-5)


@pytest.mark.parametrize("loss", [
    kerasloss.TripletSemiHardLoss(margin=0.5, distance_metric="angular", reduction="sum", name="t"),
    kerasloss.ContrastiveLoss(margin=2.0, name="c"),
    kerasloss.SupervisedContrastive(temperature=0.2, reduction=None),
], ids=lambda loss: type(loss).__name__)
def test_metric_learning_configs_round_trip(loss):
    parity.assert_config_round_trip(loss)


def test_model_trained_with_triplet_loss_survives_a_keras_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.UnitNormalization()])
    x, labels = RNG.normal(size=(8, 3)).astype(np.float32), RNG.integers(0, 3, 8)
    parity.assert_keras_file_round_trip(kerasloss.TripletSemiHardLoss(), model, x, labels, tmp_path)


@pytest.mark.parametrize("make", [lambda: kerasloss.SupervisedContrastive(temperature=0.0),
                                  lambda: kerasloss.ContrastiveLoss(margin=-1.0)], ids=["temperature", "margin"])
def test_bad_metric_learning_arguments_are_refused(make):
    with pytest.raises(ValueError, match="temperature must be > 0|margin must be >= 0"):
        make()
