"""The overlap losses Dice and Tversky: thin classes over `kerasloss.overlap`, drop-in for Keras'.

Both sum over `axis` (None: every axis, so the loss is one number for the whole batch; a tuple such
as (1, 2, 3) gives one value per example). `reduction`, `name`, `dtype`: see `ComponentLoss`.
"""

from kerasloss import _checks
from kerasloss.base import ComponentLoss
from kerasloss.losses import register
from kerasloss.overlap import overlap_terms


def _check_axis(axis):
    """None, an int, or a tuple of ints (a list, as JSON gives it back, becomes a tuple)."""
    if isinstance(axis, (list, tuple)):
        return tuple(_checks.check_int_or_none("axis", a) for a in axis)
    return _checks.check_int_or_none("axis", axis)


class _OverlapLoss(ComponentLoss):
    """loss = α·false_positive + β·false_negative + empty (see `kerasloss.overlap`)."""

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
