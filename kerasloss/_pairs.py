"""(y_true, y_pred) as the regression, margin and divergence losses compute them.

    y_pred  any real tensor: integers and booleans are converted to float32 (as Keras converts
            them), 16-bit floats are computed in float32, float64 stays float64
    y_true  cast to y_pred's compute dtype
    ranks   when they differ by one and the larger has a last axis of size 1, that axis is
            dropped (or the rank-1 tensor gets one), as Keras' `squeeze_or_expand_to_same_rank`;
            otherwise the tensor of lower rank gets a trailing axis (per-output labels)
"""

import keras
from keras import ops

from kerasloss import _checks


def real_predictions(y_pred):
    """y_pred in its compute dtype; integer and boolean predictions become float32."""
    y_pred = ops.convert_to_tensor(y_pred)
    if not keras.backend.is_float_dtype(keras.backend.standardize_dtype(y_pred.dtype)):
        y_pred = ops.cast(y_pred, "float32")
    return _checks.prepare_predictions(y_pred)


def _same_rank(larger, smaller):
    """(larger, smaller) of equal rank, for tensors whose ranks differ by one."""
    if larger.shape[-1] == 1 and len(smaller.shape) > 1:
        return ops.squeeze(larger, -1), smaller
    return larger, ops.expand_dims(smaller, -1)


def aligned(y_true, y_pred):
    """(y_true, y_pred) in y_pred's compute dtype, of one rank, checked to broadcast."""
    y_pred = real_predictions(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) + 1:
        y_true, y_pred = _same_rank(y_true, y_pred)
    elif len(y_pred.shape) == len(y_true.shape) + 1:
        y_pred, y_true = _same_rank(y_pred, y_true)
    _checks.check_broadcastable(y_true, y_pred)
    return y_true, y_pred
