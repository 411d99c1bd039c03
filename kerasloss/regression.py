"""Per-element regression terms: the pure functions behind the regression losses.

    squared_error  = mean_j (y_j - ŷ_j)²     (mean over the last axis, as keras.losses)
    absolute_error = mean_j |y_j - ŷ_j|
    root           = sqrt(x), with gradient 0 (not ∞) at x = 0
"""

from keras import ops

from kerasloss import _checks
from kerasloss.reduction import mean_or_zero
from kerasloss.terms import Terms


def _difference(y_true, y_pred):
    y_pred = _checks.prepare_predictions(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    elif len(y_pred.shape) == len(y_true.shape) - 1:
        y_pred = ops.expand_dims(y_pred, -1)
    _checks.check_broadcastable(y_true, y_pred)
    return y_true - y_pred


def squared_error_terms(y_true, y_pred):
    return Terms(values={"squared_error": mean_or_zero(ops.square(_difference(y_true, y_pred)))})


def absolute_error_terms(y_true, y_pred):
    return Terms(values={"absolute_error": mean_or_zero(ops.abs(_difference(y_true, y_pred)))})


def safe_sqrt(x):
    """sqrt(x) for x >= 0 whose gradient is 0 at x = 0 (the double-where trick keeps it finite)."""
    positive = ops.greater(x, 0.0)
    return ops.where(positive, ops.sqrt(ops.where(positive, x, 1.0)), 0.0)
