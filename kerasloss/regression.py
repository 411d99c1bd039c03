"""Per-element regression terms: the pure functions behind the regression losses.

Each mean is over the last axis (as keras.losses), e = y_pred − y_true, ε = keras.config.epsilon():

    squared_error             = mean e²
    absolute_error            = mean |e|
    quadratic, linear         = mean ½·min(|e|, δ)²,  mean δ·(|e| − min(|e|, δ))   (Huber, they add up
                                to mean ½e² where |e| ≤ δ, δ|e| − ½δ² elsewhere)
    log_cosh                  = mean e + softplus(−2e) − log 2
    absolute_percentage_error = 100 · mean |e| / max(|y_true|, ε)
    squared_log_error         = mean (log(max(y_pred, ε) + 1) − log(max(y_true, ε) + 1))²
    cosine_similarity         = Σ_axis y_true·y_pred / (‖y_true‖·‖y_pred‖), each 1/‖·‖ at most 1/ε
    root                      = sqrt(x), with gradient 0 (not ∞) at x = 0

Inputs are prepared by `kerasloss._pairs.aligned` (integer predictions become float32).
"""

import math

import keras
from keras import ops

from kerasloss._pairs import aligned
from kerasloss.reduction import mean_or_zero
from kerasloss.terms import Terms


def _difference(y_true, y_pred):
    y_true, y_pred = aligned(y_true, y_pred)
    return y_true - y_pred


def squared_error_terms(y_true, y_pred):
    return Terms(values={"squared_error": mean_or_zero(ops.square(_difference(y_true, y_pred)))})


def absolute_error_terms(y_true, y_pred):
    return Terms(values={"absolute_error": mean_or_zero(ops.abs(_difference(y_true, y_pred)))})


def huber_terms(y_true, y_pred, delta):
    """`quadratic` and `linear` (see the module docstring); diagnostic `linear_fraction`, the share
    of the last axis with |e| > δ."""
    error = ops.abs(_difference(y_true, y_pred))
    clipped = ops.minimum(error, delta)
    beyond = error - clipped  # > 0 exactly where |e| > δ: its sign is the linear-zone indicator
    return Terms(
        values={
            "quadratic": 0.5 * mean_or_zero(ops.square(clipped)),
            "linear": delta * mean_or_zero(beyond),
        },
        diagnostics={"linear_fraction": mean_or_zero(ops.sign(ops.stop_gradient(beyond)))},
    )


def log_cosh_terms(y_true, y_pred):
    y_true, y_pred = aligned(y_true, y_pred)
    error = y_pred - y_true
    return Terms(
        values={"log_cosh": mean_or_zero(error + ops.softplus(-2.0 * error) - math.log(2.0))}
    )


def absolute_percentage_error_terms(y_true, y_pred):
    y_true, y_pred = aligned(y_true, y_pred)
    ratio = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), keras.config.epsilon()))
    return Terms(values={"absolute_percentage_error": 100.0 * mean_or_zero(ratio)})


def squared_log_error_terms(y_true, y_pred):
    y_true, y_pred = aligned(y_true, y_pred)
    eps = keras.config.epsilon()
    log_gap = ops.log(ops.maximum(y_pred, eps) + 1.0) - ops.log(ops.maximum(y_true, eps) + 1.0)
    return Terms(values={"squared_log_error": mean_or_zero(ops.square(log_gap))})


def _inverse_norm(x, axis):
    """1/‖x‖ along `axis`, at most 1/ε (a zero vector gets similarity 0, as in Keras)."""
    return ops.minimum(ops.rsqrt(ops.sum(ops.square(x), axis=axis)), 1.0 / keras.config.epsilon())


def cosine_similarity_terms(y_true, y_pred, axis=-1):
    y_true, y_pred = aligned(y_true, y_pred)
    rank = len(y_pred.shape)
    if not -rank <= axis < rank:
        raise ValueError(f"axis must index y_pred of rank {rank}, got axis={axis}")
    dot = ops.sum(y_true * y_pred, axis=axis)
    similarity = dot * _inverse_norm(y_true, axis) * _inverse_norm(y_pred, axis)
    return Terms(values={"cosine_similarity": similarity})


def safe_sqrt(x):
    """sqrt(x) for x >= 0 whose gradient is 0 at x = 0 (the double-where trick keeps it finite)."""
    positive = ops.greater(x, 0.0)
    return ops.where(positive, ops.sqrt(ops.where(positive, x, 1.0)), 0.0)
