"""Per-element margin (hinge) terms: the pure functions behind the hinge losses.

With labels y in {−1, 1} (labels that are all 0 or 1 are mapped to 2y − 1 first, as Keras does)
and means over the last axis:

    hinge                  = mean max(1 − y·ŷ, 0)
    squared_hinge          = mean max(1 − y·ŷ, 0)²
    margin_violation_rate  = mean [1 − y·ŷ > 0]          (diagnostic: share of violated margins)

Categorical, per example (y one-hot or {−1, 1}, over the last axis):

    categorical_hinge      = max(neg − pos + 1, 0),  pos = Σ y·ŷ,  neg = max_k (1 − y_k)·ŷ_k
    margin_violation_rate  = [neg − pos + 1 > 0]

max(·, 0) is a relu: on the margin itself (gap exactly 0) the gradient is 0, PyTorch's convention
(Keras' `maximum` passes the gradient there); one fused backward pass instead of a select.

The classes below them, `Hinge`, `SquaredHinge` and `CategoricalHinge`, are drop-in equal to their
`keras.losses` namesakes. Arguments shared by every class (see `ComponentLoss`): `reduction`, `name`, `dtype`.
"""

from keras import ops

from kerasloss.base import SingleTermLoss, Terms, register
from kerasloss.losses._inputs import aligned
from kerasloss.reduction import mean_or_zero


def _signed_labels(y_true):
    """2y − 1 when every label is 0 or 1, else y unchanged (one decision for the whole batch)."""
    is_binary = ops.all(ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0)))
    return ops.cond(is_binary, lambda: 2.0 * y_true - 1.0, lambda: y_true)


def _violated(hinge):
    """1 where the hinge max(gap, 0) is positive (the margin is violated), else 0."""
    return ops.sign(ops.stop_gradient(hinge))


def _hinge_gap(y_true, y_pred):
    """max(1 − y·ŷ, 0) per element, and the share of violated margins over the last axis."""
    y_true, y_pred = aligned(y_true, y_pred)
    hinge = ops.relu(1.0 - _signed_labels(y_true) * y_pred)
    return hinge, {"margin_violation_rate": mean_or_zero(_violated(hinge))}


def hinge_terms(y_true, y_pred):
    gap, diagnostics = _hinge_gap(y_true, y_pred)
    return Terms(values={"hinge": mean_or_zero(gap)}, diagnostics=diagnostics)


def squared_hinge_terms(y_true, y_pred):
    gap, diagnostics = _hinge_gap(y_true, y_pred)
    return Terms(values={"squared_hinge": mean_or_zero(ops.square(gap))}, diagnostics=diagnostics)


def categorical_hinge_terms(y_true, y_pred):
    y_true, y_pred = aligned(y_true, y_pred)
    positive = ops.sum(y_true * y_pred, axis=-1)
    negative = ops.max((1.0 - y_true) * y_pred, axis=-1)
    hinge = ops.relu(negative - positive + 1.0)
    return Terms(
        values={"categorical_hinge": hinge}, diagnostics={"margin_violation_rate": _violated(hinge)}
    )


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

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge_terms, name=name, reduction=reduction, dtype=dtype)


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

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge_terms, name=name, reduction=reduction, dtype=dtype)


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

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge_terms, name=name, reduction=reduction, dtype=dtype)


__all__ = ["CategoricalHinge", "Hinge", "SquaredHinge"]
