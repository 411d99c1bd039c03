"""Per-element overlap terms: the pure functions behind the Dice and Tversky losses.

Sums over `axis` (None: every axis, one value for the whole batch), with y the target, p the
prediction and ε = keras.config.epsilon():

    I = Σ y·p     FP = Σ (1-y)·p     FN = Σ y·(1-p)
    D = c·I + α·FP + β·FN + ε             (Dice: c = 2, α = β = 1, so D = Σy + Σp + ε;
                                           Tversky: c = 1)
    loss = 1 - c·I / D = α·FP/D + β·FN/D + ε/D

The right-hand side is exact (D - c·I = α·FP + β·FN + ε), so the loss splits into

    false_positive = FP / D      (weight α)
    false_negative = FN / D      (weight β)
    empty          = ε / D       (weight 1: about ε/D ≈ 0 normally, 1 where y and p are both all 0)

FP = Σp - I and FN = Σy - I come from the same three sums Keras takes, so near a perfect prediction
they carry Keras' rounding (about 1e-7·Σp) and may come out a few ulps below 0.

The classes below them, `Dice` and `Tversky`, are drop-in for Keras'. Both sum over `axis` (None: every axis, so the loss is one number for the whole batch; a tuple such
as (1, 2, 3) gives one value per example). `reduction`, `name`, `dtype`: see `ComponentLoss`.
"""

import keras
from keras import ops

from kerasloss import _checks
from kerasloss.base import ComponentLoss, Terms, register
from kerasloss.losses._inputs import aligned


def overlap_terms(y_true, y_pred, alpha, beta, intersection_weight, axis=None):
    """`false_positive` (when α ≠ 0), `false_negative` (when β ≠ 0) and `empty`, summed over `axis`.

    y_true and y_pred must have one shape after Keras' rank alignment (a trailing size-1 axis may be
    missing on either side, see `kerasloss.losses._inputs`); integer predictions become float32 as in Keras.
    """
    y_true, y_pred = aligned(y_true, y_pred)
    _checks.check_same_shape(y_true, y_pred, "an overlap loss (Dice, Tversky)")
    for each in () if axis is None else axis if isinstance(axis, tuple) else (axis,):
        _checks.check_axis(y_pred, each)
    # three sums of the inputs, as Keras takes them (FP = Σp - I, FN = Σy - I): the per-element
    # FP and FN would cost two more passes over the inputs and their gradient
    intersection = ops.sum(y_true * y_pred, axis=axis)
    sum_pred, sum_true = ops.sum(y_pred, axis=axis), ops.sum(y_true, axis=axis)
    false_positive = sum_pred - intersection
    false_negative = sum_true - intersection
    eps = keras.config.epsilon()
    # D = c·I + α·FP + β·FN + ε, taken from the sums as (c − α − β)·I + α·Σp + β·Σy + ε (for Dice
    # just Σp + Σy + ε), and divided by once: each division is a costly node of the backward graph
    denominator = _weighted_sum(
        [(intersection_weight - alpha - beta, intersection), (alpha, sum_pred), (beta, sum_true)]
    ) + eps
    inverse = 1.0 / denominator
    values = {}
    if alpha:
        values["false_positive"] = false_positive * inverse
    if beta:
        values["false_negative"] = false_negative * inverse
    values["empty"] = eps * inverse
    return Terms(values=values)


def _weighted_sum(pairs):
    """Σ weight·tensor over the (weight, tensor) pairs, skipping zero weights and unit factors."""
    total = None
    for weight, tensor in pairs:
        if weight:
            term = tensor if weight == 1.0 else weight * tensor
            total = term if total is None else total + term
    return total


def _check_axis(axis):
    """None, an int, or a tuple of ints (a list, as JSON gives it back, becomes a tuple)."""
    if isinstance(axis, (list, tuple)):
        return tuple(_checks.check_int_or_none("axis", a) for a in axis)
    return _checks.check_int_or_none("axis", axis)


class _OverlapLoss(ComponentLoss):
    """loss = α·false_positive + β·false_negative + empty (see `kerasloss.losses.overlap`)."""

    def __init__(self, alpha, beta, intersection_weight, axis, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = _checks.check_non_negative("alpha", alpha)
        self.beta = _checks.check_non_negative("beta", beta)
        self.axis = _check_axis(axis)
        self._intersection_weight = intersection_weight

    @property
    def component_weights(self):
        weights = {}
        if self.alpha:
            weights["false_positive"] = self.alpha
        if self.beta:
            weights["false_negative"] = self.beta
        weights["empty"] = 1.0
        return weights

    def terms(self, y_true, y_pred, with_entropy=False):
        return overlap_terms(
            y_true, y_pred, self.alpha, self.beta, self._intersection_weight, self.axis
        )

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register
class Dice(_OverlapLoss):
    """One minus the Dice coefficient 2·|y∩p| / (|y| + |p|), split into its error terms.

    Formula (sums over `axis`, I = Σ y·p, FP = Σ (1-y)·p, FN = Σ y·(1-p), D = Σy + Σp + ε):
        false_positive = FP / D
        false_negative = FN / D
        empty          = ε / D        (1 where y and p are both all 0, else ≈ 0)
        loss = 1 - 2·I/D = false_positive + false_negative + empty

    Args:
        axis: the axes summed over: None (all: one value per batch), an int or a tuple of ints.

    Example:
    >>> Dice()([[1.0, 0.0]], [[0.5, 0.5]])   # 1 - 2·0.5/2 = 0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(1.0, 1.0, 2.0, axis, reduction, name, dtype)



@register
class Tversky(_OverlapLoss):
    """One minus the Tversky index |y∩p| / (|y∩p| + α·FP + β·FN) (Salehi et al., 2017).

    Formula (sums over `axis`, I = Σ y·p, FP = Σ (1-y)·p, FN = Σ y·(1-p), D = I + α·FP + β·FN + ε):
        false_positive = FP / D
        false_negative = FN / D
        empty          = ε / D        (1 where y and p are both all 0, else ≈ 0)
        loss = 1 - I/D = α·false_positive + β·false_negative + empty

    Args:
        alpha: the weight α ≥ 0 of false positives.
        beta: the weight β ≥ 0 of false negatives (α = β = 0.5: the Dice loss up to ε).
        axis: as `Dice`.

    α weighs false positives as documented (and as Keras since keras-team/keras#23333); Keras 3.15
    swapped them: its `Tversky(alpha=a, beta=b)` equals ours with alpha=b, beta=a.

    Example:
    >>> Tversky(alpha=0.2, beta=0.8)([[1.0, 0.0]], [[0.5, 0.5]])   # 1 - 0.5/1 = 0.5
    """

    def __init__(
        self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None,
        dtype=None,
    ):
        super().__init__(alpha, beta, 1.0, axis, reduction, name, dtype)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


__all__ = ["Dice", "Tversky"]
