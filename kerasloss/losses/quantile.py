"""Quantile regression: the pinball loss, as TensorFlow Addons defined it (`tfa.losses.PinballLoss`).

With e = y_true − y_pred and the quantile level τ ∈ [0, 1] (one τ, or one per entry of the last
axis of y_pred), means over the last axis:

    under    = mean τ·max(e, 0)              (the target above the prediction)
    over     = mean (1 − τ)·max(−e, 0)       (the target below it)
    pinball  = under + over = mean max(τ·e, (τ − 1)·e)
    coverage = mean [y_true ≤ y_pred]        (diagnostic: → τ for a calibrated τ-quantile)

A model minimising the pinball loss predicts the τ-quantile of y given x (Koenker & Bassett, 1978);
its coverage, the share of targets at or below the prediction, approaches τ when it does.
"""

import functools
import numbers

import keras
from keras import ops

from kerasloss.base import ComponentLoss, Terms, register
from kerasloss.losses._inputs import aligned
from kerasloss.reduction import mean_or_zero


def pinball_terms(y_true, y_pred, tau=0.5):
    """`under` and `over` (see the module docstring), diagnostic `coverage`; with a list `tau` of
    Q levels (y_pred's last axis of size Q) also `coverage_<τ>`, the coverage of each quantile."""
    y_true, y_pred = aligned(y_true, y_pred)
    levels = [tau] if isinstance(tau, numbers.Real) else list(tau)
    if not isinstance(tau, numbers.Real) and y_pred.shape[-1] not in (len(levels), None):
        raise ValueError(
            f"tau holds {len(levels)} quantile levels, one per entry of y_pred's last axis, but "
            f"y_pred has shape {tuple(y_pred.shape)}; expected a last axis of size {len(levels)}"
        )
    tau_tensor = ops.convert_to_tensor(tau, dtype=y_pred.dtype)
    error = y_true - y_pred
    covered = functools.cache(lambda: ops.cast(ops.less_equal(y_true, y_pred), y_pred.dtype))  # once per call
    diagnostics = {"coverage": lambda: mean_or_zero(covered())}
    if not isinstance(tau, numbers.Real):
        diagnostics.update({_coverage_name(t): (lambda k=k: covered()[..., k]) for k, t in enumerate(levels)})
    return Terms(
        values={
            "under": lambda: mean_or_zero(tau_tensor * ops.relu(error)),
            "over": lambda: mean_or_zero((1.0 - tau_tensor) * ops.relu(-error)),
        },
        diagnostics=diagnostics,
        total=mean_or_zero(_PINBALL(error, tau_tensor)),  # one reduction, not one per side
    )


def _pinball_as_max(error, tau):
    return ops.maximum(tau * error, (tau - 1.0) * error)


def _pinball_as_relu(error, tau):
    return ops.relu(error) - (1.0 - tau) * error  # τ·max(e, 0) + (1 − τ)·max(−e, 0)


# The same values; chosen once for the backend's autodiff (benchmarks/bench_beyond.py): XLA fuses
# the max form and its gradient into one loop (the relu form costs 1.5x there), while PyTorch's and
# TensorFlow's maximum gradient costs 1.5-3x relu's.
_PINBALL = _pinball_as_max if keras.backend.backend() == "jax" else _pinball_as_relu


def _coverage_name(level):
    return f"coverage_{level:g}"


def _check_tau(tau):
    """A number in [0, 1], or a non-empty list of them; returned as a float or a list of floats."""
    levels = [tau] if isinstance(tau, numbers.Real) else tau
    if not isinstance(levels, (list, tuple)) or not levels or any(
        isinstance(t, bool) or not isinstance(t, numbers.Real) for t in levels
    ):
        raise TypeError(
            f"tau must be a quantile level in [0, 1] or a non-empty list of them, got {tau!r}"
        )
    if not all(0.0 <= float(t) <= 1.0 for t in levels):
        raise ValueError(f"tau must be in [0, 1] (each level), got {tau!r}")
    return float(tau) if isinstance(tau, numbers.Real) else [float(t) for t in levels]


@register
class PinballLoss(ComponentLoss):
    """Pinball (quantile) loss: its minimiser is the τ-quantile of the target, split by side.

    Formula (e = y_true − y_pred, means over the last axis):
        under    = mean(τ·max(e, 0))
        over     = mean((1 − τ)·max(−e, 0))
        loss     = under + over = mean(max(τ·e, (τ − 1)·e))
        coverage = mean([y_true ≤ y_pred])   (diagnostic: approaches τ when calibrated)

    Args:
        tau: the quantile level τ in [0, 1] (0.5: half the absolute error, the median), or a list
            of levels, one per entry of y_pred's last axis (several quantiles from one head; the
            targets y_true [..., 1] or [...] broadcast against them). With a list, the diagnostics
            also hold `coverage_<τ>` per level.

    Same values as `tfa.losses.PinballLoss(tau)` (TensorFlow Addons).

    Example:
    >>> PinballLoss(tau=0.1)([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0])   # 0.475
    """

    def __init__(self, tau=0.5, reduction="sum_over_batch_size", name="pinball_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.tau = _check_tau(tau)

    @property
    def diagnostic_names(self):
        if isinstance(self.tau, float):
            return ("coverage",)
        return ("coverage",) + tuple(_coverage_name(t) for t in self.tau)

    @property
    def component_weights(self):
        return {"under": 1.0, "over": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return pinball_terms(y_true, y_pred, self.tau)

    def get_config(self):
        return {**super().get_config(), "tau": self.tau}


__all__ = ["PinballLoss"]
