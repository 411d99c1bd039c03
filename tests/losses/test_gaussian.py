"""GaussianNLL (kerasloss.losses.gaussian) against torch.nn.GaussianNLLLoss: values and gradients
on every backend, the clamp, the coverage diagnostic and the input checks."""

import keras
import numpy as np
import pytest
import torch

import kerasloss
from tests.helpers import keras_parity as parity
from tests.helpers.backend_gradients import value_and_gradient

RNG = np.random.default_rng(12423)
TORCH_REDUCTIONS = {"sum_over_batch_size": "mean", "sum": "sum", None: "none"}


def _inputs(rng, shape, small_variances=False):
    """Targets `shape` and predictions `shape + (2,)` holding [mean, variance > 0]."""
    y_true = rng.normal(size=shape).astype(np.float32)
    variance = rng.uniform(1e-9 if small_variances else 0.05, 2.0, shape)
    y_pred = np.stack([rng.normal(size=shape), variance], axis=-1).astype(np.float32)
    return y_true, y_pred


def _torch_value_and_gradient(y_true, y_pred, full, eps, reduction):
    prediction = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.GaussianNLLLoss(full=full, eps=eps, reduction=TORCH_REDUCTIONS[reduction])
    value = loss(prediction[..., 0], torch.tensor(y_true, dtype=torch.float64), prediction[..., 1])
    value.sum().backward()
    return value.detach().numpy(), prediction.grad.numpy()


@pytest.mark.parametrize("reduction", list(TORCH_REDUCTIONS), ids=str)
@pytest.mark.parametrize("full", [False, True], ids=["partial", "full"])
@pytest.mark.parametrize("shape", [(16,), (6, 5)], ids=["one-target", "five-targets"])
def test_value_and_gradient_equal_torch(shape, full, reduction):
    y_true, y_pred = _inputs(RNG, shape)
    loss = kerasloss.GaussianNLL(full=full, reduction=reduction)
    value, gradient = value_and_gradient(lambda p: keras.ops.sum(loss(y_true, p)), y_pred)
    expected_value, expected_gradient = _torch_value_and_gradient(y_true, y_pred, full, 1e-6, reduction)
    np.testing.assert_allclose(value, expected_value.sum(), rtol=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-5, atol=1e-6)
    per_target = parity.as_numpy(kerasloss.GaussianNLL(full=full, reduction=None)(y_true, y_pred))
    assert per_target.shape == shape


def test_variances_below_eps_are_clamped_and_pass_the_gradient_as_torch():
    y_true, y_pred = _inputs(RNG, (12,), small_variances=True)
    y_pred[:4, 1] = [0.0, 1e-9, 1e-4, 0.5]
    loss = kerasloss.GaussianNLL(eps=1e-3)
    value, gradient = value_and_gradient(lambda p: loss(y_true, p), y_pred)
    expected_value, expected_gradient = _torch_value_and_gradient(y_true, y_pred, False, 1e-3, "sum_over_batch_size")
    np.testing.assert_allclose(value, expected_value, rtol=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-5)


def test_targets_with_a_trailing_axis_of_one_equal_targets_without():
    y_true, y_pred = _inputs(RNG, (8,))
    loss = kerasloss.GaussianNLL()
    np.testing.assert_allclose(parity.as_numpy(loss(y_true[:, None], y_pred)),
                               parity.as_numpy(loss(y_true, y_pred)), rtol=1e-7)


def test_components_are_the_log_variance_the_scaled_error_and_the_constant():
    y_true, y_pred = _inputs(RNG, (6, 2))
    loss = kerasloss.GaussianNLL(full=True, reduction="sum")
    parity.assert_components_add_up(loss, y_true, y_pred)
    components = {k: parity.as_numpy(v) for k, v in loss.components(y_true, y_pred).items()}
    mean, variance = y_pred[..., 0].astype(np.float64), y_pred[..., 1].astype(np.float64)
    np.testing.assert_allclose(components["log_variance"], 0.5 * np.log(variance).sum(), rtol=1e-5)
    np.testing.assert_allclose(components["scaled_squared_error"],
                               0.5 * ((y_true - mean) ** 2 / variance).sum(), rtol=1e-5)
    np.testing.assert_allclose(components["constant"], 12 * 0.5 * np.log(2 * np.pi), rtol=1e-6)


def test_one_sigma_coverage_is_the_share_of_targets_within_one_standard_deviation():
    y_true, y_pred = _inputs(RNG, (50,))
    total, weight = kerasloss.GaussianNLL().evaluate(y_true, y_pred).diagnostics["one_sigma_coverage"]
    within = np.abs(y_true - y_pred[:, 0]) <= np.sqrt(y_pred[:, 1])
    assert float(total) / float(weight) == pytest.approx(within.mean(), abs=1e-6)


def test_honest_variances_cover_about_68_percent():
    mean, sigma = RNG.normal(size=20000), RNG.uniform(0.5, 3.0, 20000)
    y_true = (mean + sigma * RNG.normal(size=20000)).astype(np.float32)
    y_pred = np.stack([mean, sigma**2], axis=-1).astype(np.float32)
    total, weight = kerasloss.GaussianNLL().evaluate(y_true, y_pred).diagnostics["one_sigma_coverage"]
    assert float(total) / float(weight) == pytest.approx(0.6827, abs=0.01)


def test_negative_variance_raises_like_torch_when_values_are_known():
    y_true, y_pred = _inputs(RNG, (4,))
    y_pred[2, 1] = -0.5
    with pytest.raises(ValueError, match=r"variances y_pred\[..., 1\] must be >= 0, got \[-0.5\]"):
        kerasloss.GaussianNLL()(y_true, y_pred)


@pytest.mark.parametrize("y_true_shape, y_pred_shape", [((4,), (4, 3)), ((4, 2), (4, 3, 2)), ((5,), (4, 2))])
def test_shapes_other_than_mean_and_variance_on_the_last_axis_are_refused(y_true_shape, y_pred_shape):
    with pytest.raises(ValueError, match="y_pred must hold \\[mean, variance\\]|must be equal for GaussianNLL"):
        kerasloss.GaussianNLL()(np.zeros(y_true_shape), np.ones(y_pred_shape))


@pytest.mark.parametrize("eps, error", [(0.0, ValueError), (-1.0, ValueError), ("1e-6", TypeError)])
def test_bad_eps_is_refused_naming_it(eps, error):
    with pytest.raises(error, match="eps must"):
        kerasloss.GaussianNLL(eps=eps)


def test_config_round_trip_and_keras_file(tmp_path):
    parity.assert_config_round_trip(kerasloss.GaussianNLL(full=True, eps=1e-4, reduction="sum", name="g"))
    inputs = keras.Input((3,))
    mean = keras.layers.Dense(1)(inputs)
    variance = keras.layers.Dense(1, activation="softplus")(inputs)
    model = keras.Model(inputs, keras.layers.Concatenate()([mean, variance]))
    x, y = RNG.normal(size=(8, 3)).astype(np.float32), RNG.normal(size=(8,)).astype(np.float32)
    parity.assert_keras_file_round_trip(kerasloss.GaussianNLL(), model, x, y, tmp_path)
