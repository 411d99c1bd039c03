"""Per-example Circle loss (Sun et al., 2020, https://arxiv.org/abs/2002.10857), as Keras computes it.

For L2-normalised embeddings y_pred [B, D], integer labels y_true [B], and reference embeddings and
labels (default: the batch itself), with d_ij = max(1 - y_pred_i·ref_j, 0) the cosine distance,
m the margin and γ the scale:

    positive pairs P_i (same label; the pair (i, i) left out with remove_diagonal)
        s_ij = -γ · max(m + d_ij, 0) · (m - d_ij)
    negative pairs N_i (another label)
        s_ij =  γ · max(1 + m - d_ij, 0) · (1 - m - d_ij)
    circle_i = softplus(logsumexp_{P_i} s + logsumexp_{N_i} s)

A row without positives or negatives gives 0 and is masked out (as Keras masks every 0 value: it
leaves the "sum_over_batch_size" divisor).

The class below it: `Circle`, drop-in for Keras'.
"""

from keras import ops

from kerasloss import _checks
from kerasloss.base import ComponentLoss, Terms, register


def _pair_masks(labels, ref_labels, remove_diagonal):
    """(positive, negative) boolean [B, R]: same label (minus the diagonal), other label."""
    labels, ref_labels = ops.reshape(labels, (-1, 1)), ops.reshape(ref_labels, (1, -1))
    same = ops.equal(labels, ref_labels)
    positive = same
    if remove_diagonal:
        diagonal = ops.eye(ops.shape(labels)[0], ops.shape(ref_labels)[1], dtype="bool")
        positive = ops.logical_and(same, ops.logical_not(diagonal))
    return positive, ops.logical_not(same)


def circle_terms(
    y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80.0, margin=0.4
):
    """Terms with the per-example `circle` [B] and its mask (False where it is 0)."""
    y_pred = _checks.prepare_predictions(y_pred)
    labels = ops.cast(ops.convert_to_tensor(y_true), "int32")
    ref_embeddings = y_pred if ref_embeddings is None else ops.cast(ref_embeddings, y_pred.dtype)
    ref_labels = labels if ref_labels is None else ops.cast(ops.convert_to_tensor(ref_labels), "int32")
    distance = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(ref_embeddings)), 0.0)
    positive, negative = _pair_masks(labels, ref_labels, remove_diagonal)
    positive_scores = -gamma * ops.maximum(margin + distance, 0.0) * (margin - distance)
    negative_scores = gamma * ops.maximum(1.0 + margin - distance, 0.0) * (1.0 - margin - distance)
    positive_lse = ops.logsumexp(ops.where(positive, positive_scores, float("-inf")), axis=1)
    negative_lse = ops.logsumexp(ops.where(negative, negative_scores, float("-inf")), axis=1)
    value = ops.softplus(positive_lse + negative_lse)
    return Terms(values={"circle": value}, mask=ops.greater(value, 0.0))


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
