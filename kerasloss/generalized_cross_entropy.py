"""Per-element generalized cross-entropy (Zhang & Sabuncu, 2018, https://arxiv.org/abs/1805.07836).

    generalized_cross_entropy = (1 - p_y^q) / q

with p_y the predicted probability of the integer label y (y_pred as given: not normalised, not
clipped, as Keras computes it) and q in (0, 1): towards 0 it approaches the cross-entropy -log p_y,
at 1 it is the absolute error 1 - p_y, which is what makes it robust to noisy labels.
"""

from keras import ops

from kerasloss import _checks
from kerasloss.cross_entropy import sparse_labels
from kerasloss.entropy import prediction_entropy
from kerasloss.terms import Terms


def generalized_cross_entropy_terms(y_true, y_pred, q=0.5, with_entropy=False):
    """Terms for integer labels y_true and probabilities y_pred [..., K] (classes on the last axis).

    Labels are shaped like y_pred without its last axis, or with a size-1 last axis.
    """
    y_pred = _checks.prepare_predictions(y_pred)
    axis = len(y_pred.shape) - 1
    labels, _, bad = sparse_labels(y_true, y_pred, axis)
    rows = ops.reshape(y_pred, (-1, y_pred.shape[axis]))
    picked = ops.squeeze(ops.take_along_axis(rows, ops.expand_dims(labels, -1), axis=-1), -1)
    value = (1.0 - ops.power(picked, q)) / q
    if bad is not None:
        value = ops.where(bad, ops.cast(float("nan"), value.dtype), value)
    value = ops.reshape(value, ops.shape(y_pred)[:-1])
    entropy = prediction_entropy(y_pred) if with_entropy else None
    return Terms(values={"generalized_cross_entropy": value}, entropy=entropy)
