"""PinballLoss (kerasloss.losses.quantile) against a NumPy float64 port of TensorFlow Addons'
pinball_loss, its gradient, its coverage diagnostics and its argument checks."""

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kerasloss
from tests.helpers import keras_parity as parity
from tests.helpers import numpy_reference as ref
from tests.helpers import tfa_reference as tfa
from tests.helpers.backend_gradients import value_and_gradient

RNG = np.random.default_rng(21)
LEVELS = [0.1, 0.5, 0.9]


def _regression(rng, shape):
    return rng.normal(size=shape).astype(np.float32), rng.normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ref.REDUCTIONS, ids=str)
@pytest.mark.parametrize("tau", [0.5, 0.1, LEVELS], ids=["median", "0.1", "three-levels"])
def test_value_equals_tensorflow_addons(tau, reduction, weighted):
    y_true, y_pred = _regression(RNG, (8, 3))
    weight = RNG.uniform(0, 2, 8).astype(np.float32) if weighted else None
    got = parity.as_numpy(kerasloss.PinballLoss(tau, reduction=reduction)(y_true, y_pred, weight))
    np.testing.assert_allclose(got, ref.reduce(tfa.pinball(y_true, y_pred, tau), weight, None, reduction),
                               rtol=1e-6, atol=1e-7)


@given(seed=st.integers(0, 2**31 - 1), tau=st.floats(0.0, 1.0), rows=st.sampled_from([1, 5]),
       cols=st.sampled_from([1, 3]))
def test_value_equals_tensorflow_addons_on_random_inputs(seed, tau, rows, cols):
    y_true, y_pred = _regression(np.random.default_rng(seed), (rows, cols))
    got = parity.as_numpy(kerasloss.PinballLoss(tau)(y_true, y_pred))
    np.testing.assert_allclose(got, tfa.pinball(y_true, y_pred, tau).mean(), rtol=1e-5, atol=1e-7)


def test_targets_of_one_column_broadcast_against_every_quantile():
    y_true, y_pred = RNG.normal(size=(6, 1)).astype(np.float32), RNG.normal(size=(6, 3)).astype(np.float32)
    got = parity.as_numpy(kerasloss.PinballLoss(LEVELS, reduction=None)(y_true[:, 0], y_pred))
    np.testing.assert_allclose(got, tfa.pinball(y_true, y_pred, LEVELS), rtol=1e-6)


def test_docstring_example_gives_the_tensorflow_addons_value():
    loss = kerasloss.PinballLoss(tau=0.1)
    np.testing.assert_allclose(parity.as_numpy(loss([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0])), 0.475, rtol=1e-6)


def test_gradient_is_minus_tau_below_the_target_and_one_minus_tau_above():
    y_true, y_pred = _regression(RNG, (5, 4))
    _, gradient = value_and_gradient(lambda p: kerasloss.PinballLoss(0.3)(y_true, p), y_pred)
    expected = np.where(y_true > y_pred, -0.3, 0.7) / y_pred.size
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)


def test_components_are_the_two_sides_and_add_up():
    y_true, y_pred = _regression(RNG, (6, 3))
    loss = kerasloss.PinballLoss(LEVELS, reduction="sum")
    parity.assert_components_add_up(loss, y_true, y_pred)
    components = loss.components(y_true, y_pred)
    error = y_true.astype(np.float64) - y_pred
    np.testing.assert_allclose(parity.as_numpy(components["under"]),
                               (np.array(LEVELS) * np.maximum(error, 0)).mean(-1).sum(), rtol=1e-6)
    np.testing.assert_allclose(parity.as_numpy(components["over"]),
                               ((1 - np.array(LEVELS)) * np.maximum(-error, 0)).mean(-1).sum(), rtol=1e-6)


def test_coverage_is_the_share_of_targets_at_or_below_each_quantile():
    y_true, y_pred = _regression(RNG, (40, 3))
    y_pred[0] = y_true[0]  # a target equal to its prediction is covered
    result = kerasloss.PinballLoss(LEVELS).evaluate(y_true, y_pred)
    coverage = {name: float(s) / float(w) for name, (s, w) in result.diagnostics.items()}
    covered = y_true <= y_pred
    assert coverage["coverage"] == pytest.approx(covered.mean(), abs=1e-6)
    for k, level in enumerate(LEVELS):
        assert coverage[f"coverage_{level:g}"] == pytest.approx(covered[:, k].mean(), abs=1e-6)


def test_a_fitted_quantile_covers_its_level():
    # the τ-quantile of a sample minimises the pinball loss: fitting one constant recovers it
    targets = RNG.normal(size=(2000, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    loss = kerasloss.PinballLoss(0.8)
    model.compile(keras.optimizers.Adam(0.05), loss=loss,
                  metrics=[kerasloss.metrics.LossDiagnostic(loss, "coverage")])
    history = model.fit(np.zeros_like(targets), targets, epochs=30, batch_size=500, verbose=0)
    assert history.history["diagnostics/coverage"][-1] == pytest.approx(0.8, abs=0.05)


def test_diagnostic_names_list_every_level():
    assert kerasloss.PinballLoss(0.3).diagnostic_names == ("coverage",)
    assert kerasloss.PinballLoss(LEVELS).diagnostic_names == (
        "coverage", "coverage_0.1", "coverage_0.5", "coverage_0.9")


def test_levels_must_match_the_last_axis_of_the_predictions():
    with pytest.raises(ValueError, match="tau holds 3 quantile levels.*expected a last axis of size 3"):
        kerasloss.PinballLoss(LEVELS)(np.zeros((4, 2)), np.zeros((4, 2)))


@pytest.mark.parametrize("tau, error", [(1.5, ValueError), (-0.1, ValueError), ([0.5, 2.0], ValueError),
                                        ("0.5", TypeError), ([], TypeError), (True, TypeError)])
def test_bad_levels_are_refused_naming_tau(tau, error):
    with pytest.raises(error, match="tau must"):
        kerasloss.PinballLoss(tau)


def test_config_round_trip_and_keras_file(tmp_path):
    parity.assert_config_round_trip(kerasloss.PinballLoss(LEVELS, reduction="sum", name="q"))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    x, y = _regression(RNG, (8, 2))
    parity.assert_keras_file_round_trip(kerasloss.PinballLoss(LEVELS), model, x, y[:, :1], tmp_path)
