"""The focal cross-entropies: thin classes over `kerasloss.focal`, drop-in for their keras.losses twins.

Arguments shared with the other cross-entropies (`from_logits`, `label_smoothing`, `axis`) are
described in `kerasloss.losses`; `reduction`, `name`, `dtype` in `ComponentLoss`.
"""

from kerasloss import _checks
from kerasloss.focal import binary_focal_terms, categorical_focal_terms
from kerasloss.losses import _SmoothedCrossEntropy, register


class _FocalCrossEntropy(_SmoothedCrossEntropy):
    """The focal components: (1-e)·focal_cross_entropy + e·focal_uniform_cross_entropy."""

    diagnostic_names = ("modulating_factor",)

    def __init__(self, alpha, gamma, from_logits, label_smoothing, axis, reduction, name, dtype):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)
        self.gamma = _checks.check_non_negative("gamma", gamma)

    @property
    def component_weights(self):
        e = self.label_smoothing
        weights = {"focal_cross_entropy": 1.0 - e}
        if e > 0:
            weights["focal_uniform_cross_entropy"] = e
        return weights

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma}


@register
class BinaryFocalCrossentropy(_FocalCrossEntropy):
    """Binary cross-entropy scaled down on outputs the model already gets right (focal loss).

    Formula (per output, then the mean over `axis`; q = sigmoid(y_pred) or y_pred, t = (1-e)·y + e/2,
    1 - p_t = t·(1-q) + (1-t)·q, c = α·t + (1-α)·(1-t) with class balancing, else 1):
        focal_cross_entropy         = c·(1 - p_t)^γ · -(y log q + (1-y) log(1-q))
        focal_uniform_cross_entropy = c·(1 - p_t)^γ · -(log q + log(1-q)) / 2
        loss = (1-e)·focal_cross_entropy + e·focal_uniform_cross_entropy
    Diagnostic:
        modulating_factor = mean over `axis` of (1 - p_t)^γ

    Args:
        apply_class_balancing: weight outputs by α where the target is 1 and 1-α where it is 0.
        alpha: the class-1 weight α in [0, 1] (used with `apply_class_balancing`).
        gamma: the focusing exponent γ ≥ 0; 0 gives the binary cross-entropy.
        from_logits, label_smoothing, axis: as `BinaryCrossentropy`.

    Example:
    >>> BinaryFocalCrossentropy(gamma=2.0)([[1.0]], [[0.5]])   # 0.25·log 2 = 0.1733
    """

    entropy_kind = "binary"

    def __init__(
        self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
        label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
        name="binary_focal_crossentropy", dtype=None,
    ):
        super().__init__(alpha, gamma, from_logits, label_smoothing, axis, reduction, name, dtype)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = _checks.check_fraction("alpha", alpha)

    def terms(self, y_true, y_pred, with_entropy=False):
        return binary_focal_terms(
            y_true, y_pred, self.apply_class_balancing, self.alpha, self.gamma, self.from_logits,
            self.label_smoothing, self.axis, with_entropy,
        )

    def get_config(self):
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing}


def _check_class_weights(alpha):
    """alpha: a non-negative number, or a list of them (one per class)."""
    if isinstance(alpha, (list, tuple)):
        return [_checks.check_non_negative("alpha", weight) for weight in alpha]
    return _checks.check_non_negative("alpha", alpha)


@register
class CategoricalFocalCrossentropy(_FocalCrossEntropy):
    """Softmax cross-entropy scaled down on examples the model already gets right (focal loss).

    Formula (p = softmax(y_pred) or y_pred normalised, both along `axis`, K classes, α_k = alpha or
    alpha[k]):
        focal_cross_entropy         = Σ_k α_k (1-p_k)^γ · -y_k log p_k
        focal_uniform_cross_entropy = Σ_k α_k (1-p_k)^γ · -(log p_k) / K
        loss = (1-e)·focal_cross_entropy + e·focal_uniform_cross_entropy
    Diagnostic:
        modulating_factor = Σ_k y_k (1-p_k)^γ     (the factor at the label)

    Args:
        alpha: the class weight, a number or a list of one weight per class (each ≥ 0).
        gamma: the focusing exponent γ ≥ 0; 0 gives alpha times the categorical cross-entropy.
        from_logits, label_smoothing, axis: as `CategoricalCrossentropy`.

    Example:
    >>> CategoricalFocalCrossentropy(alpha=1.0)([[0.0, 1.0]], [[0.5, 0.5]])   # 0.25·log 2 = 0.1733
    """

    entropy_kind = "categorical"

    def __init__(
        self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
        reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None,
    ):
        super().__init__(alpha, gamma, from_logits, label_smoothing, axis, reduction, name, dtype)
        self.alpha = _check_class_weights(alpha)

    def terms(self, y_true, y_pred, with_entropy=False):
        return categorical_focal_terms(
            y_true, y_pred, self.alpha, self.gamma, self.from_logits, self.label_smoothing,
            self.axis, with_entropy,
        )


__all__ = ["BinaryFocalCrossentropy", "CategoricalFocalCrossentropy"]
