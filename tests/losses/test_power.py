"""`_power.vanishing_at_zero` and `safe_sqrt`: the root or fractional power itself, 0 at 0 with a
gradient of 0 there (not NaN), on every backend, eager and compiled."""

import numpy as np
import pytest
from keras import ops

from kerasloss.losses._power import safe_sqrt, vanishing_at_zero
from tests.helpers.backend_gradients import value_and_gradient

X = np.array([0.0, 1e-6, 0.25, 4.0], np.float32)


@pytest.mark.parametrize("mode", ["eager", "xla"])
@pytest.mark.parametrize("exponent", [0.1, 0.5, 0.9])
def test_a_fractional_power_has_the_float64_values_and_gradients_and_0_at_0(mode, exponent):
    value, gradient = value_and_gradient(
        lambda x: ops.sum(vanishing_at_zero(lambda t: ops.power(t, exponent), x)), X, mode)
    x = X.astype(np.float64)
    np.testing.assert_allclose(value, (x**exponent).sum(), rtol=1e-6)
    expected = np.where(x > 0, exponent * np.where(x > 0, x, 1.0) ** (exponent - 1), 0.0)
    np.testing.assert_allclose(gradient, expected, rtol=1e-5)


@pytest.mark.parametrize("mode", ["eager", "xla"])
def test_safe_sqrt_is_sqrt_with_a_gradient_of_0_at_0(mode):
    value, gradient = value_and_gradient(lambda x: ops.sum(safe_sqrt(x)), X, mode)
    x = X.astype(np.float64)
    np.testing.assert_allclose(value, np.sqrt(x).sum(), rtol=1e-6)
    np.testing.assert_allclose(gradient, np.where(x > 0, 0.5 / np.sqrt(np.where(x > 0, x, 1.0)), 0.0), rtol=1e-5)
