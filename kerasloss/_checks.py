"""Argument and input checks shared by the losses, metrics and callbacks.

Every check raises `ValueError` or `TypeError` naming the argument, the value received and what
was expected, at the earliest point the information exists (construction for arguments, the
first call for tensor shapes and dtypes). `prepare_predictions` also casts y_pred to the dtype
every loss and entropy computes in.
"""

import math
import numbers

import keras
import numpy as np

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {REDUCTIONS}, got {reduction!r} (Keras: Invalid value for "
            f"argument `reduction`. Received: reduction={reduction})"
        )
    return reduction


def check_fraction(name, value):
    """A plain real number in [0, 1] (label smoothing)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def check_non_negative(name, value):
    """A plain real number in [0, inf): a weight, a margin, a focusing power, a temperature.
    Infinity is refused too: every loss value it touches becomes inf or NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a non-negative number, got {value!r}")
    if not float(value) >= 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_int_at_least(name, value, minimum):
    """A plain int (not a bool) >= `minimum`, 0 ("non-negative") or 1 ("positive")."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be a {kind} int, got {value!r}")
    return value


def check_bool(name, value):
    """True or False (NumPy's bools too): `bool("False")` would be True, a silent wrong flag."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_int_or_none(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int or None, got {value!r}")
    return int(value)


def check_ids(ids):
    """`ids` as a 1-D NumPy array of ints or strings (one per example), or None."""
    if ids is None:
        return None
    try:
        ids = np.asarray(ids)
    except (TypeError, ValueError):
        ids = None
    if ids is None or ids.ndim != 1 or ids.dtype.kind not in "iuU":
        raise TypeError(f"ids must be a 1-D sequence of ints or strings (one per example), got {ids!r}")
    return ids


def check_axis(y_pred, axis):
    """`axis` as a non-negative index of y_pred's axes, or ValueError naming it."""
    rank = len(y_pred.shape)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -rank <= axis < rank:
        raise ValueError(
            f"axis must index y_pred of rank {rank}, got axis={axis!r} (expected an int in [{-rank}, {rank}))"
        )
    return int(axis) % rank


def check_float_predictions(y_pred):
    """y_pred must hold floating-point scores (probabilities or logits)."""
    dtype = keras.backend.standardize_dtype(y_pred.dtype)
    if not keras.backend.is_float_dtype(dtype):
        raise TypeError(
            f"y_pred must be a floating-point tensor (probabilities or logits), got dtype {dtype}"
        )


def prepare_predictions(y_pred):
    """y_pred, checked by `check_float_predictions`, in its compute dtype: float64 stays float64,
    every other float (16-bit included) is computed in float32."""
    y_pred = keras.ops.convert_to_tensor(y_pred)
    check_float_predictions(y_pred)
    compute_dtype = "float64" if keras.backend.standardize_dtype(y_pred.dtype) == "float64" else "float32"
    return keras.ops.cast(y_pred, compute_dtype)


# Keras' phrase for the same error, after ours, for code that matches Keras' message
_KERAS_SHAPE_WORDS = " (Keras: Arguments `target` and `output` must have the same shape)"


def check_broadcastable(y_true, y_pred):
    """Static shapes of y_true and y_pred must broadcast against each other (None matches all)."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    for a, b in zip(reversed(true_shape), reversed(pred_shape)):
        if a is not None and b is not None and a != b and a != 1 and b != 1:
            raise ValueError(
                f"y_true shape {true_shape} and y_pred shape {pred_shape} do not broadcast; "
                "expected equal sizes (or 1) on every trailing axis" + _KERAS_SHAPE_WORDS
            )


def check_same_shape(y_true, y_pred, what):
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    compatible = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b for a, b in zip(true_shape, pred_shape)
    )
    if not compatible:
        raise ValueError(
            f"y_true shape {true_shape} and y_pred shape {pred_shape} must be equal for {what}"
            + _KERAS_SHAPE_WORDS
        )


def concrete_values(x):
    """The NumPy value of `x` when it is known now (eager execution), else None (graph tracing)."""
    if isinstance(x, np.ndarray):
        return x
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return None
    try:
        return keras.ops.convert_to_numpy(x)
    except Exception:  # a symbolic tensor of another backend: values unknown until run time
        return None
