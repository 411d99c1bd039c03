"""Circle, the metric-learning loss: a thin class over `kerasloss.circle`, drop-in for Keras'."""

from kerasloss import _checks
from kerasloss.base import ComponentLoss
from kerasloss.circle import circle_terms
from kerasloss.losses import register


@register
class Circle(ComponentLoss):
    """Circle loss between integer labels and L2-normalised embeddings (Sun et al., 2020).

    Formula (d_ij = max(1 - y_pred_i·y_pred_j, 0), m = margin, γ = gamma; pairs of the batch):
        s_ij (same label, i ≠ j) = -γ · max(m + d_ij, 0) · (m - d_ij)
        s_ij (other label)       =  γ · max(1 + m - d_ij, 0) · (1 - m - d_ij)
        circle = softplus(logsumexp_same s + logsumexp_other s)
        loss = circle      (examples whose value is 0, e.g. without a positive pair, are masked out)

    Args:
        gamma: the scale γ ≥ 0 of the similarity scores.
        margin: the relaxation m ≥ 0.
        remove_diagonal: leave each example's pair with itself out of its positives.

    Example:
    >>> Circle(gamma=1.0)([0, 0], [[1.0, 0.0], [1.0, 0.0]])   # softplus(-0.16 + -inf) = 0, masked
    """

    def __init__(
        self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size",
        name="circle", dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = _checks.check_non_negative("gamma", gamma)
        self.margin = _checks.check_non_negative("margin", margin)
        self.remove_diagonal = bool(remove_diagonal)

    @property
    def component_weights(self):
        return {"circle": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return circle_terms(
            y_true, y_pred, remove_diagonal=self.remove_diagonal, gamma=self.gamma, margin=self.margin
        )

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma, "margin": self.margin, "remove_diagonal": self.remove_diagonal,
        }


__all__ = ["Circle"]
