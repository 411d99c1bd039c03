"""The kerasloss losses: thin classes over the pure functions in `cross_entropy` and `regression`.

Arguments shared by every class (see `ComponentLoss`): `reduction`, `name`, `dtype`.
Each loss's `components()` returns its terms reduced like the loss, and
`loss == Σ component_weights[k] · components[k]` (RMSE: `loss == sqrt(components["squared_error"])`).
"""

import keras

from kerasloss import _checks
from kerasloss.base import ComponentLoss
from kerasloss.cross_entropy import binary_terms, categorical_terms, sparse_categorical_terms
from kerasloss.regression import absolute_error_terms, safe_sqrt, squared_error_terms

register = keras.saving.register_keras_serializable(package="kerasloss")


@register
class MeanSquaredError(ComponentLoss):
    """Mean of squared errors over the last axis.

    Formula:
        squared_error = mean(square(y_true - y_pred), axis=-1)
        loss = squared_error

    Example:
    >>> MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])   # 0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    @property
    def component_weights(self):
        return {"squared_error": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return squared_error_terms(y_true, y_pred)


@register
class MeanAbsoluteError(ComponentLoss):
    """Mean of absolute errors over the last axis.

    Formula:
        absolute_error = mean(abs(y_true - y_pred), axis=-1)
        loss = absolute_error

    Example:
    >>> MeanAbsoluteError()([[0.0, 1.0]], [[1.0, 1.0]])   # 0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    @property
    def component_weights(self):
        return {"absolute_error": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return absolute_error_terms(y_true, y_pred)


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


class _SmoothedCrossEntropy(ComponentLoss):
    """Shared argument handling of the cross-entropies.

    Args:
        from_logits: y_pred holds logits (recommended: exact, fused gradient) or probabilities.
        label_smoothing: e in [0, 1]; the target becomes (1-e)·y + e·u (u uniform), so the loss is
            (1-e)·cross_entropy + e·uniform_cross_entropy.
        axis: the class axis of y_pred.
    """

    def __init__(self, from_logits, label_smoothing, axis, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _checks.check_fraction("label_smoothing", label_smoothing)
        self.axis = _checks.check_int_or_none("axis", axis)
        if self.axis is None:
            raise TypeError("axis must be an int, got None")

    @property
    def component_weights(self):
        e = self.label_smoothing
        weights = {"cross_entropy": 1.0 - e}
        if e > 0:
            weights["uniform_cross_entropy"] = e
        return weights

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


@register
class BinaryCrossentropy(_SmoothedCrossEntropy):
    """Binary cross-entropy, averaged over `axis`, with optional label smoothing.

    Formula (q = sigmoid(y_pred) from logits, else y_pred clipped to [ε, 1-ε]):
        cross_entropy         = mean(-(y·log q + (1-y)·log(1-q)), axis)
        uniform_cross_entropy = mean(-(log q + log(1-q)) / 2, axis)
        loss = (1-e)·cross_entropy + e·uniform_cross_entropy

    Example:
    >>> BinaryCrossentropy(from_logits=True)([[1.0]], [[0.0]])   # log 2
    """

    entropy_kind = "binary"

    def __init__(
        self, from_logits=False, label_smoothing=0.0, axis=-1,
        reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)

    def terms(self, y_true, y_pred, with_entropy=False):
        return binary_terms(
            y_true, y_pred, self.from_logits, self.label_smoothing, self.axis, with_entropy
        )


class _SoftmaxCrossEntropy(_SmoothedCrossEntropy):
    """Adds z-loss: z_loss · lse(logits)², which keeps logits from drifting (PaLM, 2022)."""

    entropy_kind = "categorical"

    def __init__(self, from_logits, label_smoothing, axis, z_loss, reduction, name, dtype):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)
        self.z_loss = _checks.check_non_negative("z_loss", z_loss)
        if self.z_loss > 0 and not self.from_logits:
            raise ValueError(
                f"z_loss={z_loss} needs logits (from_logits=True): the log-sum-exp of "
                "probabilities is always 0"
            )

    @property
    def component_weights(self):
        weights = super().component_weights
        if self.z_loss > 0:
            weights["z_loss"] = self.z_loss
        return weights

    def get_config(self):
        return {**super().get_config(), "z_loss": self.z_loss}


@register
class CategoricalCrossentropy(_SoftmaxCrossEntropy):
    """Softmax cross-entropy against one-hot or soft targets, with label smoothing and z-loss.

    Formula (l = log_softmax(y_pred, axis) from logits, else log of y_pred normalised and clipped):
        cross_entropy         = -Σ_k y_k·l_k
        uniform_cross_entropy = -mean_k l_k                    (target 1/K, K = size of `axis`)
        z_loss                = logsumexp(y_pred, axis)²       (from logits only)
        loss = (1-e)·cross_entropy + e·uniform_cross_entropy + z_loss_weight·z_loss

    Example:
    >>> CategoricalCrossentropy(from_logits=True)([[0.0, 1.0]], [[0.0, 0.0]])   # log 2
    """

    def __init__(
        self, from_logits=False, label_smoothing=0.0, axis=-1, z_loss=0.0,
        reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, z_loss, reduction, name, dtype)

    def terms(self, y_true, y_pred, with_entropy=False):
        return categorical_terms(
            y_true, y_pred, self.from_logits, self.label_smoothing, self.z_loss, self.axis,
            with_entropy,
        )


@register
class SparseCategoricalCrossentropy(_SoftmaxCrossEntropy):
    """Softmax cross-entropy against integer labels, smoothed without a one-hot tensor.

    Formula (l = log_softmax(y_pred, axis), y the integer label):
        cross_entropy         = -l_y = lse - z_y
        uniform_cross_entropy = -mean_k l_k = lse - mean(z)
        z_loss                = lse²
        loss = (1-e)·cross_entropy + e·uniform_cross_entropy + z_loss_weight·z_loss

    Args:
        ignore_class: a label value whose positions count for nothing: 0 in every component, and
            left out of the "sum_over_batch_size" divisor (all ignored gives 0).

    Labels may be shaped like y_pred without `axis`, or with a size-1 class axis; integer labels
    stay integers (exact above 2**24). Out-of-range or fractional labels raise eagerly and give
    NaN inside a compiled function.

    Example:
    >>> SparseCategoricalCrossentropy(from_logits=True)([1], [[0.0, 0.0]])   # log 2
    """

    def __init__(
        self, from_logits=False, label_smoothing=0.0, axis=-1, z_loss=0.0, ignore_class=None,
        reduction="sum_over_batch_size", name="sparse_categorical_crossentropy", dtype=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, z_loss, reduction, name, dtype)
        self.ignore_class = _checks.check_int_or_none("ignore_class", ignore_class)

    def terms(self, y_true, y_pred, with_entropy=False):
        return sparse_categorical_terms(
            y_true, y_pred, self.from_logits, self.label_smoothing, self.z_loss, self.axis,
            self.ignore_class, with_entropy,
        )

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}


__all__ = [
    "MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
]
