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
"""

from keras import ops

from kerasloss import _checks
from kerasloss.terms import Terms


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
