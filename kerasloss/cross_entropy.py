"""Per-element cross-entropy terms: the pure functions behind the classification losses.

Each function returns `Terms` (see `kerasloss.terms`) with these per-element components:

    cross_entropy          H(y, p)   = -Σ_k y_k log p_k        (the hard-label fit)
    uniform_cross_entropy  H(u, p)   = -Σ_k (1/K) log p_k      (the label-smoothing term; u = 1/K,
                                                               or 1/2 for each binary output)
    z_loss                 lse(z)²                             (logits only)

so that label smoothing e, which trains against (1-e)·y + e·u, gives the loss
(1-e)·cross_entropy + e·uniform_cross_entropy (+ z_loss weight · z_loss). From logits the
softmax terms come from one log-sum-exp pass with a hand-written gradient
(`kerasloss.softmax_kernels`); from probabilities, p is normalised over the class axis and clipped
to [ε, 1-ε] as Keras does.
"""

import keras
import numpy as np
from keras import ops

from kerasloss import _checks
from kerasloss.entropy import bernoulli_entropy_from_logits, entropy_from_log_probs
from kerasloss.reduction import mean_or_zero
from kerasloss.softmax_kernels import dense_softmax_terms, sparse_softmax_terms
from kerasloss.terms import Terms


def class_axis(y_pred, axis):
    """`axis` of y_pred as a non-negative int, checked to exist and to have a known size."""
    rank = len(y_pred.shape)
    if not -rank <= axis < rank:
        raise ValueError(f"axis must index y_pred of rank {rank}, got axis={axis}")
    axis = axis % rank
    if y_pred.shape[axis] is None:
        raise ValueError(
            f"y_pred must have a known size on the class axis {axis}, got shape {tuple(y_pred.shape)}"
        )
    return axis


def _to_rows(x, axis):
    """Move `axis` last and flatten the rest: [N, K] rows, plus the leading shape to restore."""
    if axis != len(x.shape) - 1:
        x = ops.moveaxis(x, axis, -1)
    leading = ops.shape(x)[:-1]
    return ops.reshape(x, (-1, x.shape[-1])), leading


def _from_rows(values, leading):
    return {name: ops.reshape(value, leading) for name, value in values.items()}


def _log_probabilities(rows):
    probs = rows / ops.sum(rows, axis=-1, keepdims=True)
    eps = keras.config.epsilon()
    return ops.log(ops.clip(probs, eps, 1.0 - eps))


def _softmax_wanted(label_smoothing, z_loss, with_entropy):
    wanted = {"cross_entropy"}
    if label_smoothing > 0:
        wanted.add("uniform_cross_entropy")
    if z_loss > 0:
        wanted.add("lse")
    if with_entropy:
        wanted.add("entropy")
    return wanted


def _probability_terms(log_probs, cross_entropy, wanted):
    terms = {"cross_entropy": cross_entropy}
    if "uniform_cross_entropy" in wanted:
        # a sum over K, not ops.mean: Keras' torch mean computes float64 in float32
        terms["uniform_cross_entropy"] = -ops.sum(log_probs, axis=-1) / log_probs.shape[-1]
    if "entropy" in wanted:
        terms["entropy"] = entropy_from_log_probs(log_probs)
    return terms


def _finish(raw, leading, bad=None, mask=None):
    """Rename lse to z_loss (lse²), restore the leading shape, mark invalid rows NaN."""
    if "lse" in raw:
        raw["z_loss"] = ops.square(raw.pop("lse"))
    if bad is not None:
        nan = ops.cast(float("nan"), raw["cross_entropy"].dtype)
        raw = {name: ops.where(bad, nan, value) for name, value in raw.items()}
    values = _from_rows(raw, leading)
    entropy = values.pop("entropy", None)
    return Terms(values=values, mask=mask, entropy=entropy)


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


def sparse_categorical_terms(
    y_true, y_pred, from_logits=False, label_smoothing=0.0, z_loss=0.0, axis=-1,
    ignore_class=None, with_entropy=False,
):
    """Terms for integer labels y_true and scores y_pred [..., K] (class axis `axis`).

    With `ignore_class`, positions labelled so are masked out (mask False, terms 0).
    """
    y_pred = _checks.prepare_predictions(y_pred)
    axis = class_axis(y_pred, axis)
    labels, valid, bad = sparse_labels(y_true, y_pred, axis, ignore_class)
    rows, leading = _to_rows(y_pred, axis)
    wanted = _softmax_wanted(label_smoothing, z_loss if from_logits else 0.0, with_entropy)
    if from_logits:
        raw = sparse_softmax_terms(rows, labels, wanted)
    else:
        log_probs = _log_probabilities(rows)
        picked = ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), axis=-1)
        raw = _probability_terms(log_probs, -ops.squeeze(picked, -1), wanted)
    mask = None
    if valid is not None:
        raw = {name: ops.where(valid, value, 0.0) for name, value in raw.items()}
        mask = ops.reshape(valid, leading)
    return _finish(raw, leading, bad, mask)


def categorical_terms(
    y_true, y_pred, from_logits=False, label_smoothing=0.0, z_loss=0.0, axis=-1, with_entropy=False,
):
    """Terms for target distributions y_true (one-hot or soft) and scores y_pred, same shape."""
    y_pred = _checks.prepare_predictions(y_pred)
    axis = class_axis(y_pred, axis)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    _checks.check_same_shape(y_true, y_pred, "categorical cross-entropy (one-hot or soft labels)")
    rows, leading = _to_rows(y_pred, axis)
    targets, _ = _to_rows(y_true, axis)
    wanted = _softmax_wanted(label_smoothing, z_loss if from_logits else 0.0, with_entropy)
    if from_logits:
        raw = dense_softmax_terms(rows, targets, wanted)
    else:
        log_probs = _log_probabilities(rows)
        raw = _probability_terms(log_probs, -ops.sum(targets * log_probs, axis=-1), wanted)
    return _finish(raw, leading)


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


def binary_per_output(y_true, y_pred, from_logits, label_smoothing, with_entropy):
    """Per output of `binary_inputs`: cross_entropy, uniform_cross_entropy (when smoothing) and
    entropy (when asked), not yet averaged over the output axis."""
    if from_logits:
        # binary cross-entropy from logits is softplus(z) - z·t; both components share softplus(z)
        softplus = ops.softplus(y_pred)
        per_output = {"cross_entropy": softplus - y_pred * y_true}
        if label_smoothing > 0:
            per_output["uniform_cross_entropy"] = softplus - 0.5 * y_pred
        if with_entropy:
            per_output["entropy"] = bernoulli_entropy_from_logits(y_pred)
    else:
        eps = keras.config.epsilon()
        q = ops.clip(y_pred, eps, 1.0 - eps)
        log_q, log_not_q = ops.log(q), ops.log(1.0 - q)
        per_output = {"cross_entropy": -(y_true * log_q + (1.0 - y_true) * log_not_q)}
        if label_smoothing > 0:
            per_output["uniform_cross_entropy"] = -0.5 * (log_q + log_not_q)
        if with_entropy:
            per_output["entropy"] = -(q * log_q + (1.0 - q) * log_not_q)
    return per_output


def binary_terms(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1, with_entropy=False):
    """Terms for binary targets y_true in [0, 1] and scores y_pred, averaged over `axis`.

    Per output: cross_entropy = -(t log q + (1-t) log(1-q)), uniform = the same with t = 1/2.
    """
    y_true, y_pred = binary_inputs(y_true, y_pred)
    per_output = binary_per_output(y_true, y_pred, from_logits, label_smoothing, with_entropy)
    values = {name: mean_or_zero(value, axis) for name, value in per_output.items()}
    entropy = values.pop("entropy", None)
    return Terms(values=values, entropy=entropy)
