"""KLDivergence (cross_entropy − target_entropy, a negative component weight) and Poisson
(predicted_rate + log_term) against closed-form NumPy and PyTorch. (Parity with keras.losses:
tests/losses/test_catalogue_parity.py.)"""

import gc

import keras
import numpy as np
import pytest
import torch
from keras import ops

import kerasloss
from kerasloss.entropy import prediction_entropy
from kerasloss.metrics import loss_components

RNG = np.random.default_rng(23)
TARGET = RNG.dirichlet(np.ones(6), 16).astype(np.float32)
PREDICTED = RNG.dirichlet(np.ones(6), 16).astype(np.float32)
COUNTS = RNG.poisson(3.0, (16, 6)).astype(np.float32)
RATES = RNG.uniform(0.1, 6.0, (16, 6)).astype(np.float32)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


def test_kl_divergence_is_cross_entropy_minus_target_entropy():
    loss = kerasloss.KLDivergence()
    t, q = np.clip(TARGET.astype(np.float64), 1e-7, 1), np.clip(PREDICTED.astype(np.float64), 1e-7, 1)
    cross_entropy, target_entropy = -np.sum(t * np.log(q), -1), -np.sum(t * np.log(t), -1)
    components = loss.components(TARGET, PREDICTED)
    assert loss.component_weights == {"cross_entropy": 1.0, "target_entropy": -1.0}
    np.testing.assert_allclose(_np(components["cross_entropy"]), cross_entropy.mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(components["target_entropy"]), target_entropy.mean(), rtol=1e-6)
    np.testing.assert_allclose(
        _np(loss(TARGET, PREDICTED)), np.mean(np.sum(t * np.log(t / q), -1)), rtol=1e-5
    )


def test_kl_divergence_equals_torch_kl_div():
    expected = torch.nn.functional.kl_div(
        torch.log(torch.tensor(PREDICTED)), torch.tensor(TARGET), reduction="batchmean"
    )
    np.testing.assert_allclose(_np(kerasloss.KLDivergence()(TARGET, PREDICTED)), expected.item(), rtol=1e-5)


def test_kl_divergence_entropy_is_the_prediction_entropy_of_its_probabilities():
    terms = kerasloss.KLDivergence().terms(TARGET, PREDICTED, with_entropy=True)
    np.testing.assert_allclose(_np(terms.entropy), _np(prediction_entropy(PREDICTED)), rtol=1e-6)
    assert kerasloss.KLDivergence().terms(TARGET, PREDICTED).entropy is None


def test_negative_component_weight_is_logged_so_components_add_up_to_the_loss():
    loss = kerasloss.KLDivergence()
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6, activation="softmax")])
    model.compile(loss=loss, metrics=loss_components(loss, entropy=True))
    results = model.evaluate(PREDICTED, TARGET, batch_size=16, verbose=0, return_dict=True)
    assert results["loss"] == pytest.approx(
        results["loss/cross_entropy"] - results["loss/target_entropy"], rel=1e-5
    )
    predictions = model.predict(PREDICTED, verbose=0)
    assert results["entropy"] == pytest.approx(float(np.mean(_np(prediction_entropy(predictions)))), rel=1e-5)
    # the entropy metric asks every KLDivergence for the entropy while it lives: let it go now, not
    # at a later garbage collection inside another test (whose y_pred may have a class axis of 1)
    del model
    gc.collect()


def test_kl_divergence_gradient_is_the_cross_entropy_gradient():
    # d/dq Σ −t log q = −t/q: the target entropy carries no gradient
    variable = keras.Variable(PREDICTED)
    gradient = _gradient(lambda q: kerasloss.KLDivergence(reduction="sum")(TARGET, q), variable)
    np.testing.assert_allclose(gradient, -TARGET / PREDICTED, rtol=1e-5)


def _gradient(function, variable):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = function(variable.value)
        return _np(tape.gradient(value, variable.value))
    if backend == "jax":
        import jax

        return _np(jax.grad(function)(variable.value))
    value = variable.value.detach().requires_grad_(True)
    function(value).backward()
    return _np(value.grad)


def test_poisson_is_predicted_rate_plus_log_term():
    loss = kerasloss.Poisson()
    components = loss.components(COUNTS, RATES)
    rates = RATES.astype(np.float64)
    np.testing.assert_allclose(_np(components["predicted_rate"]), rates.mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(components["log_term"]), np.mean(-COUNTS * np.log(rates + 1e-7)), rtol=1e-6)
    np.testing.assert_allclose(
        _np(loss(COUNTS, RATES)), np.mean(rates - COUNTS * np.log(rates + 1e-7)), rtol=1e-5
    )


def test_poisson_equals_torch_poisson_nll_loss():
    expected = torch.nn.functional.poisson_nll_loss(
        torch.tensor(RATES), torch.tensor(COUNTS), log_input=False, full=False, eps=1e-7
    )
    # the total is a sum of reduced components of opposite signs: rounded at their scale, mean rate
    np.testing.assert_allclose(
        _np(kerasloss.Poisson()(COUNTS, RATES)), expected.item(), rtol=1e-6, atol=1e-6 * RATES.mean()
    )
