"""Gaussian negative log-likelihood, as `torch.nn.GaussianNLLLoss` computes it.

y_pred's last axis holds [μ, σ²] (a mean and a variance per target), y_true the targets shaped
like μ (or with a trailing axis of size 1). With the variance clamped from below, σ²_c = max(σ², ε),
per target (no mean over an axis: the reductions average over every target, as torch does):

    log_variance         = ½·log σ²_c
    scaled_squared_error = ½·(y − μ)² / σ²_c
    constant             = ½·log 2π                 (only with full=True)
    nll                  = log_variance + scaled_squared_error (+ constant)
    one_sigma_coverage   = [|y − μ| ≤ σ_c]           (diagnostic: ≈ 0.683 for honest variances)

As in torch the clamp passes the gradient through unchanged (it is applied without autograd), and
a negative variance raises ValueError when its values are known (eager calls).
"""

import math

import numpy as np
from keras import ops

from kerasloss import _checks
from kerasloss.base import ComponentLoss, Terms, register
from kerasloss.losses._inputs import real_predictions


def _mean_and_variance(y_true, y_pred):
    """(y_true, μ, σ², the smallest σ² when known now (eager) else None), one shape, from y_pred [..., 2]."""
    y_pred = real_predictions(y_pred)
    if len(y_pred.shape) < 1 or y_pred.shape[-1] not in (2, None):
        raise ValueError(
            "y_pred must hold [mean, variance] on its last axis (size 2), got shape "
            f"{tuple(y_pred.shape)}"
        )
    # the variance as a contiguous copy, as torch's GaussianNLLLoss clones it: PyTorch's log and
    # division over the strided view y_pred[..., 1] took 1.2x the whole loss step (bench_beyond)
    mean, variance = y_pred[..., 0], ops.copy(y_pred[..., 1])
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(mean.shape) + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    _checks.check_same_shape(y_true, mean, "GaussianNLL (y_true shaped like y_pred[..., 0])")
    concrete = _checks.concrete_values(variance)
    smallest = None if concrete is None or concrete.size == 0 else float(concrete.min())
    if smallest is not None and smallest < 0:
        raise ValueError(
            f"the variances y_pred[..., 1] must be >= 0, got {np.asarray(concrete[concrete < 0])[:5].tolist()}"
        )
    return y_true, mean, variance, smallest


def gaussian_nll_terms(y_true, y_pred, full=False, eps=1e-6):
    """`log_variance`, `scaled_squared_error` (and `constant` when `full`); diagnostic
    `one_sigma_coverage` (see the module docstring)."""
    y_true, mean, variance, smallest = _mean_and_variance(y_true, y_pred)
    # torch clamps in place under no_grad: the value is max(σ², ε), the gradient passes as is
    clamped = variance
    if smallest is None or smallest < eps:  # not needed when every variance is known to be ≥ ε
        clamped = variance + ops.stop_gradient(ops.maximum(variance, eps) - variance)
    squared_error = ops.square(y_true - mean)
    log_variance, scaled_squared_error = ops.log(clamped), squared_error / clamped
    values = {"log_variance": lambda: 0.5 * log_variance, "scaled_squared_error": lambda: 0.5 * scaled_squared_error}
    # one reduction for the loss and its gradient, not one per component
    total = 0.5 * (log_variance + scaled_squared_error)
    if full:
        values["constant"] = lambda: ops.full_like(squared_error, 0.5 * math.log(2.0 * math.pi))
        total = total + 0.5 * math.log(2.0 * math.pi)
    coverage = lambda: ops.cast(ops.less_equal(squared_error, clamped), squared_error.dtype)  # noqa: E731
    return Terms(values=values, diagnostics={"one_sigma_coverage": coverage}, total=total)


@register
class GaussianNLL(ComponentLoss):
    """Negative log-likelihood of the targets under Gaussians whose mean and variance are predicted.

    Formula (y_pred[..., 0] = μ, y_pred[..., 1] = σ², σ²_c = max(σ², eps), per target):
        log_variance         = ½·log σ²_c
        scaled_squared_error = ½·(y_true − μ)² / σ²_c
        constant             = ½·log 2π                  (full=True only)
        loss = log_variance + scaled_squared_error (+ constant)
        one_sigma_coverage   = [|y_true − μ| ≤ σ_c]      (diagnostic: ≈ 0.683 when σ² is honest;
                                                           lower: overconfident, higher: too wide)

    Args:
        full: add the constant ½·log 2π, giving the exact negative log-density.
        eps: ε > 0, the smallest variance used (the clamp passes gradients through, as torch's).

    Same values and gradients as `torch.nn.GaussianNLLLoss(full, eps)(μ, y_true, σ²)`; the
    default reduction averages over every target, as torch's "mean".

    Example:
    >>> GaussianNLL()([[1.0]], [[[0.0, 1.0]]])   # ½·log 1 + ½·1²/1 = 0.5
    """

    diagnostic_names = ("one_sigma_coverage",)

    def __init__(
        self, full=False, eps=1e-6, reduction="sum_over_batch_size", name="gaussian_nll", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.full = _checks.check_bool("full", full)
        self.eps = _checks.check_non_negative("eps", eps)
        if self.eps == 0.0:
            raise ValueError(f"eps must be > 0 (the smallest variance), got {eps!r}")

    @property
    def component_weights(self):
        weights = {"log_variance": 1.0, "scaled_squared_error": 1.0}
        if self.full:
            weights["constant"] = 1.0
        return weights

    def terms(self, y_true, y_pred, with_entropy=False):
        return gaussian_nll_terms(y_true, y_pred, self.full, self.eps)

    def get_config(self):
        return {**super().get_config(), "full": self.full, "eps": self.eps}


__all__ = ["GaussianNLL"]
