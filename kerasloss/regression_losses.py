"""Regression losses beyond MSE/MAE, drop-in equal to their `keras.losses` namesakes.

Thin classes over `kerasloss.regression`; arguments shared by every class (see `ComponentLoss`):
`reduction`, `name`, `dtype`. Integer predictions are converted to float32, as Keras does.
"""

from kerasloss import _checks
from kerasloss.base import ComponentLoss
from kerasloss.single_term import SingleTermLoss
from kerasloss.losses import register
from kerasloss.regression import (
    absolute_percentage_error_terms,
    cosine_similarity_terms,
    huber_terms,
    log_cosh_terms,
    squared_log_error_terms,
)


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

    term = "log_cosh"
    terms_function = staticmethod(log_cosh_terms)

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


@register
class MeanAbsolutePercentageError(SingleTermLoss):
    """Mean absolute error relative to the target, in percent.

    Formula (ε = keras.config.epsilon()):
        absolute_percentage_error = 100 · mean(|y_true − y_pred| / max(|y_true|, ε), axis=−1)
        loss = absolute_percentage_error

    Example:
    >>> MeanAbsolutePercentageError()([100.0, 200.0, 300.0], [90.0, 210.0, 310.0])   # 6.1111
    """

    term = "absolute_percentage_error"
    terms_function = staticmethod(absolute_percentage_error_terms)

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


@register
class MeanSquaredLogarithmicError(SingleTermLoss):
    """Mean squared error of log(1 + x): relative errors, for positive targets of any scale.

    Formula (values below ε = keras.config.epsilon() are raised to ε):
        squared_log_error = mean((log(max(y_pred, ε) + 1) − log(max(y_true, ε) + 1))², axis=−1)
        loss = squared_log_error

    Example:
    >>> MeanSquaredLogarithmicError()([[1.0]], [[0.0]])   # log(2)² = 0.48045
    """

    term = "squared_log_error"
    terms_function = staticmethod(squared_log_error_terms)

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


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
