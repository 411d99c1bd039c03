"""How every loss family takes its inputs: one place for the checks and conversions they share.

`aligned(y_true, y_pred)`, for the regression, margin, divergence and overlap losses:

    y_pred  any real tensor: integers and booleans are converted to float32 (as Keras converts
            them), 16-bit floats are computed in float32, float64 stays float64
    y_true  cast to y_pred's compute dtype
    ranks   when they differ by one and the larger has a last axis of size 1, that axis is
            dropped (or the rank-1 tensor gets one), as Keras' `squeeze_or_expand_to_same_rank`;
            otherwise the tensor of lower rank gets a trailing axis (per-output labels)

`class_axis` (the class axis, checked), `sparse_labels` (integer labels, never cast to float) and
`binary_inputs` (one target per output) for the cross-entropy families.
"""

import keras
import numpy as np
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


def class_axis(y_pred, axis):
    """`axis` of y_pred as a non-negative int, checked to exist and to have a known size."""
    axis = _checks.check_axis(y_pred, axis)
    if y_pred.shape[axis] is None:
        raise ValueError(
            f"y_pred must have a known size on the class axis {axis}, got shape {tuple(y_pred.shape)}"
        )
    return axis


def sparse_labels(y_true, y_pred, axis, ignore_class=None):
    """Integer labels shaped like y_pred without its class axis, plus (valid, bad) flat masks.

    Accepts labels shaped `y_pred.shape` minus `axis`, or with a size-1 class axis; integer or
    integral floats. Eagerly, a label outside [0, K) or with a fractional part raises; while
    tracing, such rows are returned in `bad` so the loss can be made NaN. `valid` is False where
    the label equals `ignore_class`. Labels are never cast to float (exact above 2**24).
    """
    y_true = ops.convert_to_tensor(y_true)
    num_classes = y_pred.shape[axis]
    expected = tuple(y_pred.shape[:axis] + y_pred.shape[axis + 1 :])
    if len(y_true.shape) == len(y_pred.shape):
        if y_true.shape[axis] not in (1, None):
            raise ValueError(
                f"sparse labels must be class indices shaped {expected} (or with a size-1 class "
                f"axis), got y_true shape {tuple(y_true.shape)} that looks one-hot; use "
                "CategoricalCrossentropy for one-hot or soft labels"
            )
        if y_true.shape[axis] == 1:
            y_true = ops.squeeze(y_true, axis)
        else:  # size unknown while tracing: a reshape that fails at run time unless it is 1
            shape = ops.shape(y_true)
            y_true = ops.reshape(y_true, tuple(shape[:axis]) + tuple(shape[axis + 1 :]))
    if len(y_true.shape) != len(expected) or any(
        a is not None and b is not None and a != b for a, b in zip(y_true.shape, expected)
    ):
        raise ValueError(
            f"sparse labels must be shaped {expected} for y_pred shape {tuple(y_pred.shape)} with "
            f"class axis {axis}, got y_true shape {tuple(y_true.shape)}"
        )
    dtype = keras.backend.standardize_dtype(y_true.dtype)
    if dtype == "bool":
        y_true, dtype = ops.cast(y_true, "int32"), "int32"
    flat = ops.reshape(y_true, (-1,))
    ignored = None if ignore_class is None else ops.equal(flat, ignore_class)
    bad = ops.logical_or(ops.less(flat, 0), ops.greater_equal(flat, num_classes))
    if keras.backend.is_float_dtype(dtype):
        # whole numbers survive an int64 round trip; not ops.floor, which Keras' torch backend
        # computes in float32 (2**24 + 1 would look fractional)
        whole = ops.cast(ops.cast(flat, "int64"), dtype)
        bad = ops.logical_or(bad, ops.not_equal(flat, whole))
    if ignored is not None:
        bad = ops.logical_and(bad, ops.logical_not(ignored))
    concrete_bad = _checks.concrete_values(bad)
    if concrete_bad is not None:
        if concrete_bad.any():
            offending = _checks.concrete_values(flat)[concrete_bad][:5]
            raise ValueError(
                f"sparse labels (y_true) must be integers in [0, {num_classes})"
                + ("" if ignore_class is None else f" or ignore_class={ignore_class}")
                + f", got {np.asarray(offending).tolist()}"
            )
        bad = None
    safe = ops.cast(flat, "int32") if bad is None else ops.where(bad, 0, ops.cast(flat, "int32"))
    if ignored is not None:
        safe = ops.where(ignored, 0, safe)
    valid = None if ignored is None else ops.logical_not(ignored)
    return safe, valid, bad


def binary_inputs(y_true, y_pred):
    """(y_true, y_pred) of one shape, y_pred in its compute dtype and y_true cast to it.

    y_true may lack y_pred's last axis (one target per output), or have an extra size-1 last axis
    (Keras squeezes it); any other difference of shapes raises ValueError, as Keras does, instead
    of broadcasting to a silently wrong loss.
    """
    y_pred = _checks.prepare_predictions(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    elif len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    _checks.check_same_shape(y_true, y_pred, "binary cross-entropy (one target per output)")
    return y_true, y_pred
