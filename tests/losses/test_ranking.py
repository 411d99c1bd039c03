"""The ranking losses (kerasloss.losses.ranking) against keras-rs 0.4 itself: values and gradients to
1e-5 on every backend, with padding labels, masks, sample weights and every reduction; and the
misordered_pairs diagnostic against a NumPy count of the pairs."""

import re

import keras
import keras_rs
import numpy as np
import pytest
from keras import ops

import kerasloss
from tests.helpers import keras_parity as parity
from tests.helpers import numpy_reference as ref
from tests.helpers.backend_gradients import value_and_gradient

RNG = np.random.default_rng(2807)
NAMES = ["PairwiseLogisticLoss", "PairwiseHingeLoss", "PairwiseSoftZeroOneLoss", "PairwiseMeanSquaredError",
         "ListMLELoss"]


def _lists(rng, batch=5, size=6):
    """Graded labels 0-3 with some −1 (padding), scores, a mask and per-item weights."""
    labels = rng.integers(-1, 4, (batch, size)).astype(np.float32)
    scores = rng.normal(size=(batch, size)).astype(np.float32)
    return labels, scores, rng.uniform(size=(batch, size)) > 0.2, rng.uniform(0, 2, (batch, size)).astype(np.float32)


def _pair(name, **kwargs):
    return getattr(kerasloss, name)(**kwargs), getattr(keras_rs.losses, name)(**kwargs)


def _assert_equal_to_keras_rs(name, y_true, scores, weight=None, **kwargs):
    ours, theirs = _pair(name, **kwargs)
    got = value_and_gradient(lambda s: ops.sum(ours(y_true, s, weight)), scores)
    expected = value_and_gradient(lambda s: ops.sum(theirs(y_true, s, weight)), scores)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", None], ids=str)
@pytest.mark.parametrize("inputs", ["padded", "masked", "weighted"])
@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_equal_keras_rs(name, inputs, reduction):
    labels, scores, mask, weight = _lists(RNG)
    y_true = {"labels": labels, "mask": mask} if inputs == "masked" else labels
    if inputs != "weighted":
        weight = None
    elif name == "ListMLELoss":
        weight = weight[:, 0]  # one value per list
    _assert_equal_to_keras_rs(name, y_true, scores, weight, reduction=reduction)


@pytest.mark.parametrize("name", NAMES)
def test_temperature_and_unbatched_lists_equal_keras_rs(name):
    labels, scores, _, _ = _lists(RNG, batch=1, size=7)
    _assert_equal_to_keras_rs(name, labels[0], scores[0], temperature=0.4)


@pytest.mark.parametrize("name", NAMES[:-1])
def test_keras_mask_of_the_scores_equals_keras_rs(name):
    labels, scores, mask, _ = _lists(RNG)
    ours, theirs = _pair(name)
    np.testing.assert_allclose(parity.as_numpy(ours(labels, parity.masked(scores, mask))),
                               parity.as_numpy(theirs(labels, parity.masked(scores, mask))), rtol=1e-5)


def test_pairwise_squared_error_equals_the_float64_sum_over_pairs_far_from_zero():
    # computed per list in O(L) from centred residuals: no cancellation when every score sits near
    # 1e4, where expanding Σ_j (r_i − r_j)² into V·r_i² − 2·r_i·Σr + Σr² loses every digit in float32
    labels, scores, mask, _ = _lists(RNG, batch=4, size=9)
    scores = (1e4 + scores).astype(np.float32)
    valid = (labels >= 0) & mask
    residual = labels.astype(np.float64) - scores.astype(np.float64)
    pair = (residual[:, :, None] - residual[:, None, :]) ** 2 * valid[:, :, None] * valid[:, None, :]
    got = kerasloss.PairwiseMeanSquaredError(reduction=None)({"labels": labels, "mask": mask}, scores)
    np.testing.assert_allclose(parity.as_numpy(got), pair.sum(-1), rtol=1e-5, atol=1e-3)


def test_list_mle_refuses_a_keras_mask_per_item():
    # one value per list: an item mask cannot weight it (keras-rs fails inside Keras' reduction)
    labels, scores, mask, _ = _lists(RNG)
    with pytest.raises(ValueError, match="Keras mask of y_pred shape \\(5, 6\\) does not broadcast"):
        kerasloss.ListMLELoss()(labels, parity.masked(scores, mask))


def _misordered_reference(labels, scores, valid, item_weight):
    """Σ w_i·(misordered pairs of i, ties ½) / Σ w_i·(pairs of i), pairs y_i > y_j of valid items."""
    more = (labels[:, :, None] > labels[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    gap = scores[:, :, None] - scores[:, None, :]
    wrong = more * np.where(gap < 0, 1.0, np.where(gap == 0, 0.5, 0.0))
    return (item_weight * wrong.sum(-1)).sum() / (item_weight * more.sum(-1)).sum()


@pytest.mark.parametrize("name", NAMES)
def test_misordered_pairs_is_the_weighted_share_of_pairs_ranked_the_wrong_way(name):
    labels, scores, mask, weight = _lists(RNG, batch=6, size=8)
    scores[0, :2] = 0.25  # a tie counts ½
    weight = weight[:, :1] if name == "ListMLELoss" else weight
    y_true = {"labels": labels, "mask": mask}
    total, count = getattr(kerasloss, name)().evaluate(y_true, scores, weight).diagnostics["misordered_pairs"]
    expected = _misordered_reference(labels, scores, (labels >= 0) & mask, np.broadcast_to(weight, labels.shape))
    assert float(total) / float(count) == pytest.approx(expected, rel=1e-6)


def test_misordered_pairs_is_zero_for_the_label_order_and_one_for_its_reverse():
    labels = np.array([[3.0, 2.0, 1.0, 0.0]])
    loss = kerasloss.PairwiseLogisticLoss()
    for scores, expected in ((labels, 0.0), (-labels, 1.0)):
        total, count = loss.evaluate(labels, scores).diagnostics["misordered_pairs"]
        assert float(total) / float(count) == expected


@pytest.mark.parametrize("name", NAMES)
def test_names_config_and_signature_are_keras_rs(name):
    ours, theirs = _pair(name, temperature=0.5, reduction="sum")
    assert ours.name == re.sub(r"_[0-9]+$", "", theirs.name)  # Keras numbers auto-names: _1, _2, ...
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}
    assert ours.component_weights == {ours.terms(np.ones((1, 2)), np.ones((1, 2))).values.popitem()[0]: 1.0}
    parity.assert_config_round_trip(ours)


@pytest.mark.parametrize("name", NAMES)
def test_components_add_up(name):
    labels, scores, _, weight = _lists(RNG)
    loss = getattr(kerasloss, name)(reduction="sum")
    parity.assert_components_add_up(loss, labels, scores, weight[:, 0])


def test_model_trained_with_a_pairwise_loss_orders_the_items_and_survives_a_keras_file(tmp_path):
    # each item's relevance is its first feature: a linear scorer learns to order the list
    features = RNG.normal(size=(64, 5, 3)).astype(np.float32)
    labels = np.argsort(np.argsort(features[..., 0], axis=1), axis=1).astype(np.float32)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(1), keras.layers.Reshape((5,))])
    loss = kerasloss.PairwiseLogisticLoss()
    model.compile(keras.optimizers.Adam(0.05), loss=loss,
                  metrics=[kerasloss.metrics.LossDiagnostic(loss, "misordered_pairs")])
    history = model.fit(features, labels, epochs=20, batch_size=16, verbose=0).history
    misordered = history["diagnostics/misordered_pairs"]
    assert misordered[-1] < min(0.03, misordered[0] / 4)
    fresh = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(1), keras.layers.Reshape((5,))])
    parity.assert_keras_file_round_trip(kerasloss.PairwiseLogisticLoss(), fresh, features, labels, tmp_path)


def test_scores_and_labels_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="must be equal for a ranking loss"):
        kerasloss.PairwiseHingeLoss()(np.zeros((2, 3)), np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="y_pred must hold scores of shape"):
        kerasloss.ListMLELoss()(np.zeros((2, 3, 1)), np.zeros((2, 3, 1), np.float32))
    with pytest.raises(ValueError, match='y_true as a dict must hold "labels"'):
        kerasloss.PairwiseHingeLoss()({"mask": np.ones((2, 3))}, np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("name", NAMES)
def test_temperature_must_be_positive(name):
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        getattr(kerasloss, name)(temperature=0)


def test_reductions_of_the_per_item_values_follow_keras():
    labels, scores, _, weight = _lists(RNG)
    per_item = parity.as_numpy(kerasloss.PairwiseHingeLoss(reduction=None)(labels, scores))
    for reduction in ref.REDUCTIONS:
        got = parity.as_numpy(kerasloss.PairwiseHingeLoss(reduction=reduction)(labels, scores, weight))
        np.testing.assert_allclose(got, ref.reduce(per_item, weight, None, reduction), rtol=1e-5)
