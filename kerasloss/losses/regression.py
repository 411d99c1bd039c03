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

Inputs are prepared by `kerasloss.losses._inputs.aligned` (integer predictions become float32).

The classes below them are drop-in equal to their `keras.losses` namesakes, plus
`RootMeanSquaredError`. Arguments shared by every class (see `ComponentLoss`): `reduction`, `name`, `dtype`.
"""

import math

import keras
from keras import ops

from kerasloss import _checks
from kerasloss.base import ComponentLoss, SingleTermLoss, Terms, register
from kerasloss.losses._inputs import aligned
from kerasloss.losses._power import safe_sqrt
from kerasloss.reduction import mean_or_zero


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
    axis = _checks.check_axis(y_pred, axis)
    dot = ops.sum(y_true * y_pred, axis=axis)
    similarity = dot * _inverse_norm(y_true, axis) * _inverse_norm(y_pred, axis)
    return Terms(values={"cosine_similarity": similarity})


@register
class MeanSquaredError(SingleTermLoss):
    """Mean of squared errors over the last axis.

    Formula:
        squared_error = mean(square(y_true - y_pred), axis=-1)
        loss = squared_error

    Example:
    >>> MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])   # 0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(squared_error_terms, name=name, reduction=reduction, dtype=dtype)


@register
class MeanAbsoluteError(SingleTermLoss):
    """Mean of absolute errors over the last axis.

    Formula:
        absolute_error = mean(abs(y_true - y_pred), axis=-1)
        loss = absolute_error

    Example:
    >>> MeanAbsoluteError()([[0.0, 1.0]], [[1.0, 1.0]])   # 0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(absolute_error_terms, name=name, reduction=reduction, dtype=dtype)


@register
class RootMeanSquaredError(MeanSquaredError):
    """Square root of the batch's reduced squared error: a batch RMSE, not a mean of roots.

    Formula:
        squared_error = mean(square(y_true - y_pred), axis=-1)
        loss = sqrt(reduce(squared_error))   # reduce = the loss's reduction with sample weights,
                                             # e.g. "mean_with_sample_weight": sqrt(Σw·e²/Σw)

    The one non-additive loss (`additive = False`): components are {"squared_error"} and the total is
    its square root. Its gradient is 0, not infinite, where the error is exactly 0. Under a
    `tf.distribute` strategy each replica returns sqrt of its own scaled mean (see docs/distributed.md).
    `reduction=None` is refused: a per-element root would be MAE, not RMSE.

    Example:
    >>> RootMeanSquaredError()([[0.0], [0.0]], [[3.0], [4.0]])   # sqrt(12.5)
    """

    additive = False

    def __init__(self, reduction="sum_over_batch_size", name="root_mean_squared_error", dtype=None):
        if reduction is None or reduction == "none":
            raise ValueError(
                f"RootMeanSquaredError needs a reducing reduction (a root of the reduced squared "
                f"error), got reduction={reduction!r}; use MeanAbsoluteError for per-element errors"
            )
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def combine(self, components):
        return safe_sqrt(components["squared_error"])

    def call(self, y_true, y_pred):
        raise NotImplementedError("RootMeanSquaredError has no per-element value; call the loss")


@register
class Huber(ComponentLoss):
    """Huber loss: quadratic for errors up to `delta`, linear beyond, split into its two zones.

    Formula (e = y_pred − y_true, means over the last axis):
        quadratic       = mean(½·min(|e|, δ)²)
        linear          = mean(δ·(|e| − min(|e|, δ)))
        loss            = quadratic + linear     (½e² where |e| ≤ δ, δ|e| − ½δ² elsewhere)
        linear_fraction = mean([|e| > δ])        (diagnostic: the share of errors treated as outliers)

    Args:
        delta: δ ≥ 0, where the loss turns from quadratic to linear.

    Example:
    >>> Huber()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])   # 0.155
    """

    diagnostic_names = ("linear_fraction",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = _checks.check_non_negative("delta", delta)

    @property
    def component_weights(self):
        return {"quadratic": 1.0, "linear": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return huber_terms(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@register
class LogCosh(SingleTermLoss):
    """Logarithm of the hyperbolic cosine of the error: ½e² near 0, |e| − log 2 far from it.

    Formula (e = y_pred − y_true):
        log_cosh = mean(e + softplus(−2e) − log 2, axis=−1)      (= mean log cosh e, overflow-free)
        loss = log_cosh

    Example:
    >>> LogCosh()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])   # 0.10844
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh_terms, name=name, reduction=reduction, dtype=dtype)


@register
class MeanAbsolutePercentageError(SingleTermLoss):
    """Mean absolute error relative to the target, in percent.

    Formula (ε = keras.config.epsilon()):
        absolute_percentage_error = 100 · mean(|y_true − y_pred| / max(|y_true|, ε), axis=−1)
        loss = absolute_percentage_error

    Example:
    >>> MeanAbsolutePercentageError()([100.0, 200.0, 300.0], [90.0, 210.0, 310.0])   # 6.1111
    """

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None
    ):
        super().__init__(absolute_percentage_error_terms, name=name, reduction=reduction, dtype=dtype)


@register
class MeanSquaredLogarithmicError(SingleTermLoss):
    """Mean squared error of log(1 + x): relative errors, for positive targets of any scale.

    Formula (values below ε = keras.config.epsilon() are raised to ε):
        squared_log_error = mean((log(max(y_pred, ε) + 1) − log(max(y_true, ε) + 1))², axis=−1)
        loss = squared_log_error

    Example:
    >>> MeanSquaredLogarithmicError()([[1.0]], [[0.0]])   # log(2)² = 0.48045
    """

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None
    ):
        super().__init__(squared_log_error_terms, name=name, reduction=reduction, dtype=dtype)


@register
class CosineSimilarity(ComponentLoss):
    """Negative cosine similarity along `axis`: −1 for aligned vectors, 0 if either is zero.

    Formula (1/‖x‖ capped at 1/ε, ε = keras.config.epsilon()):
        cosine_similarity = Σ_axis y_true·y_pred / (‖y_true‖·‖y_pred‖)
        loss = −cosine_similarity                 (component weight −1: the logged similarity
                                                   rises as the loss falls)

    Args:
        axis: the feature axis the similarity is taken along.

    Example:
    >>> CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])   # −0.5
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = _checks.check_int_or_none("axis", axis)
        if self.axis is None:
            raise TypeError("axis must be an int, got None")

    @property
    def component_weights(self):
        return {"cosine_similarity": -1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return cosine_similarity_terms(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = [
    "CosineSimilarity", "Huber", "LogCosh", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
]
