"""Hinge, SquaredHinge and CategoricalHinge: label conversion, components and the
margin_violation_rate diagnostic against closed-form NumPy. (Parity with keras.losses:
tests/losses/test_catalogue_parity.py.)"""

import keras
import numpy as np
import pytest
from keras import ops

import kerasloss
from kerasloss.metrics import loss_components

RNG = np.random.default_rng(22)
LABELS01 = RNG.integers(0, 2, (16, 5)).astype(np.float32)
SCORES = RNG.normal(size=(16, 5)).astype(np.float32)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


def _gap(signed_labels, scores):
    return 1.0 - signed_labels.astype(np.float64) * scores


@pytest.mark.parametrize(
    "cls, square", [(kerasloss.Hinge, False), (kerasloss.SquaredHinge, True)], ids=["hinge", "squared"]
)
def test_binary_labels_are_mapped_to_plus_minus_one(cls, square):
    gap = np.maximum(_gap(2 * LABELS01 - 1, SCORES), 0.0)
    expected = np.mean(gap**2 if square else gap)
    np.testing.assert_allclose(_np(cls()(LABELS01, SCORES)), expected, rtol=1e-6)
    np.testing.assert_allclose(_np(cls()(2 * LABELS01 - 1, SCORES)), expected, rtol=1e-6)


def test_labels_not_all_binary_are_used_as_they_are_like_keras():
    labels = LABELS01.copy()
    labels[0, 0] = 0.5
    expected = np.mean(np.maximum(_gap(labels, SCORES), 0.0))
    np.testing.assert_allclose(_np(kerasloss.Hinge()(labels, SCORES)), expected, rtol=1e-6)
    np.testing.assert_allclose(_np(keras.losses.Hinge()(labels, SCORES)), expected, rtol=1e-6)


@pytest.mark.parametrize("cls", [kerasloss.Hinge, kerasloss.SquaredHinge])
def test_margin_violation_rate_is_the_share_of_margins_below_one(cls):
    terms = cls().terms(LABELS01, SCORES)
    expected = np.mean(_gap(2 * LABELS01 - 1, SCORES) > 0, -1)
    np.testing.assert_allclose(_np(terms.diagnostics["margin_violation_rate"]), expected, rtol=1e-6)


def test_categorical_hinge_and_its_violations_per_example():
    one_hot = np.eye(5, dtype=np.float32)[RNG.integers(0, 5, 16)]
    scores = (SCORES * 3).astype(np.float32)
    positive = np.sum(one_hot * scores, -1)
    negative = np.max((1 - one_hot) * scores, -1)
    gap = negative - positive + 1.0
    terms = kerasloss.CategoricalHinge().terms(one_hot, scores)
    np.testing.assert_allclose(_np(terms.values["categorical_hinge"]), np.maximum(gap, 0.0), rtol=1e-6)
    np.testing.assert_allclose(_np(terms.diagnostics["margin_violation_rate"]), gap > 0, rtol=0)
    assert 0 < np.mean(gap > 0) < 1  # both kinds of example are present


def test_margin_violation_rate_is_logged_as_a_weighted_mean_in_evaluate():
    loss = kerasloss.Hinge()
    weight = RNG.uniform(0.1, 2.0, 16).astype(np.float32)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(5)])
    model.compile(loss=loss, weighted_metrics=loss_components(loss, diagnostics=True))
    results = model.evaluate(SCORES, LABELS01, sample_weight=weight, batch_size=16, verbose=0,
                             return_dict=True)
    scores = np.asarray(model.predict(SCORES, verbose=0), np.float64)
    violated = np.mean(_gap(2 * LABELS01 - 1, scores) > 0, -1)
    assert results["diagnostics/margin_violation_rate"] == pytest.approx(
        np.sum(weight * violated) / np.sum(weight), rel=1e-5
    )
