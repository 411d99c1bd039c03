"""The noise-robust cross-entropy: a thin class over `kerasloss.generalized_cross_entropy`."""

import numbers

from kerasloss.base import ComponentLoss
from kerasloss.generalized_cross_entropy import generalized_cross_entropy_terms
from kerasloss.losses import register


@register
class CategoricalGeneralizedCrossEntropy(ComponentLoss):
    """Generalized cross-entropy (1 - p_y^q)/q, between cross-entropy and MAE (Zhang & Sabuncu, 2018).

    Formula (y the integer label, p_y = y_pred[..., y] the predicted probability, as given):
        generalized_cross_entropy = (1 - p_y^q) / q
        loss = generalized_cross_entropy

    Args:
        q: in (0, 1); towards 0 the loss approaches the cross-entropy -log p_y, towards 1 the
            absolute error 1 - p_y, which tolerates noisy labels better.

    Example:
    >>> CategoricalGeneralizedCrossEntropy(q=0.5)([1], [[0.75, 0.25]])   # (1 - 0.5)/0.5 = 1.0
    """

    entropy_kind = "categorical"

    def __init__(
        self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
        dtype=None,
    ):
        if isinstance(q, bool) or not isinstance(q, numbers.Real):
            raise TypeError(f"q must be a number in (0, 1), got {q!r}")
        if not 0.0 < float(q) < 1.0:
            raise ValueError(f"q must be in the interval (0, 1), got {q!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.q = float(q)

    @property
    def component_weights(self):
        return {"generalized_cross_entropy": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return generalized_cross_entropy_terms(y_true, y_pred, self.q, with_entropy)

    def get_config(self):
        return {**super().get_config(), "q": self.q}


__all__ = ["CategoricalGeneralizedCrossEntropy"]
