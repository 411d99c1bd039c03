"""Hinge losses, drop-in equal to their `keras.losses` namesakes.

Thin classes over `kerasloss.margin`; arguments shared by every class (see `ComponentLoss`):
`reduction`, `name`, `dtype`. Each logs the diagnostic `margin_violation_rate`.
"""

from kerasloss.losses import register
from kerasloss.margin import categorical_hinge_terms, hinge_terms, squared_hinge_terms
from kerasloss.single_term import SingleTermLoss


class _MarginLoss(SingleTermLoss):
    diagnostic_names = ("margin_violation_rate",)


@register
class Hinge(_MarginLoss):
    """Hinge loss for labels in {−1, 1} (labels all in {0, 1} are mapped to 2y − 1).

    Formula (means over the last axis):
        hinge = mean(max(1 − y_true·y_pred, 0))
        loss = hinge
        margin_violation_rate = mean([y_true·y_pred < 1])    (diagnostic)

    Example:
    >>> Hinge()([[1.0, 0.0]], [[0.5, -2.0]])   # mean(0.5, 0) = 0.25
    """

    term = "hinge"
    terms_function = staticmethod(hinge_terms)

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


@register
class SquaredHinge(_MarginLoss):
    """Squared hinge loss for labels in {−1, 1} (labels all in {0, 1} are mapped to 2y − 1).

    Formula (means over the last axis):
        squared_hinge = mean(max(1 − y_true·y_pred, 0)²)
        loss = squared_hinge
        margin_violation_rate = mean([y_true·y_pred < 1])    (diagnostic)

    Example:
    >>> SquaredHinge()([[1.0, 0.0]], [[0.5, -2.0]])   # mean(0.25, 0) = 0.125
    """

    term = "squared_hinge"
    terms_function = staticmethod(squared_hinge_terms)

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


@register
class CategoricalHinge(_MarginLoss):
    """Multi-class hinge: the best wrong class must score 1 below the true class.

    Formula (per example, over the last axis):
        pos = Σ y_true·y_pred,  neg = max((1 − y_true)·y_pred)
        categorical_hinge = max(neg − pos + 1, 0)
        loss = categorical_hinge
        margin_violation_rate = [neg − pos + 1 > 0]           (diagnostic)

    Example:
    >>> CategoricalHinge()([[0.0, 1.0]], [[0.5, 1.0]])   # max(0.5 − 1 + 1, 0) = 0.5
    """

    term = "categorical_hinge"
    terms_function = staticmethod(categorical_hinge_terms)

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


__all__ = ["CategoricalHinge", "Hinge", "SquaredHinge"]
