"""Per-element focal cross-entropy terms: the pure functions behind the focal losses.

Focal loss (Lin et al., 2017, https://arxiv.org/abs/1708.02002) multiplies each cross-entropy term
by the modulating factor (1 - p)^γ, which fades out examples the model already gets right. With
label smoothing e the target is (1-e)·y + e·u and the cross-entropy is linear in the target, so the
loss splits exactly as the plain cross-entropies do:

    loss = (1-e)·focal_cross_entropy + e·focal_uniform_cross_entropy

Binary (per output, then averaged over `axis`; t = (1-e)·y + e/2 the smoothed target, q the
predicted probability, 1 - p_t = t·(1-q) + (1-t)·q):

    factor                     = (1 - p_t)^γ · (α·t + (1-α)·(1-t) with class balancing, else 1)
    focal_cross_entropy        = factor · -(y log q + (1-y) log(1-q))
    focal_uniform_cross_entropy = factor · -(log q + log(1-q)) / 2

Categorical (summed over the class axis; p the predicted distribution, α a scalar or one per class):

    focal_cross_entropy        = Σ_k α_k (1-p_k)^γ · -y_k log p_k
    focal_uniform_cross_entropy = Σ_k α_k (1-p_k)^γ · -(log p_k) / K

Diagnostic `modulating_factor`: the mean (1 - p_t)^γ of the loss's own pass (binary: over the
outputs, with the smoothed target; categorical: at the label, Σ_k y_k (1-p_k)^γ).

From logits every log-probability comes from softplus / log-softmax, exact at any logit (Keras
takes the sigmoid or softmax first and clips it to [ε, 1-ε], which flattens the loss and zeroes
its gradient beyond |logit| ≈ 16); from probabilities they are clipped to [ε, 1-ε] as Keras does.

The classes below them, `BinaryFocalCrossentropy` and `CategoricalFocalCrossentropy`, are drop-in for
their `keras.losses` twins. Arguments shared with the other cross-entropies (`from_logits`,
`label_smoothing`, `axis`) are described in `kerasloss.losses.cross_entropy`; `reduction`, `name`,
`dtype` in `ComponentLoss`.
"""

from keras import ops

from kerasloss import _checks
from kerasloss._sums import row_sum
from kerasloss.base import Terms, register
from kerasloss.entropy import entropy_from_log_probs, log_probabilities
from kerasloss.losses._inputs import binary_inputs, class_axis
from kerasloss.losses._power import vanishing_at_zero
from kerasloss.losses.cross_entropy import SmoothedCrossEntropy, binary_per_output
from kerasloss.reduction import mean_or_zero


def _binary_one_minus_p_t(targets, y_pred, from_logits):
    """1 - p_t = t·(1-q) + (1-t)·q = q + t·(1 - 2q), q the probability (one sigmoid from logits;
    four element-wise ops where Keras' 1 - (t·q + (1-t)·(1-q)) takes six, as precise)."""
    q = ops.sigmoid(y_pred) if from_logits else y_pred
    return q + targets * (1.0 - 2.0 * q)


def _modulating_factor(one_minus_p, gamma):
    """(1 - p)^γ with a finite gradient where 1 - p = 0 (a probability that rounded to 1): for
    0 < γ < 1 by `_power.vanishing_at_zero` (its derivative there is infinite, NaN through the chain
    rule, as Keras' binary focal loss gives), for γ = 0 a constant 1, for γ >= 1 as it reads."""
    if gamma == 0:
        return ops.ones_like(one_minus_p)
    if gamma < 1:
        return vanishing_at_zero(lambda x: ops.power(x, gamma), one_minus_p)
    return ops.power(one_minus_p, gamma)


def binary_focal_terms(
    y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1, with_entropy=False,
):
    """Terms for binary targets y_true in [0, 1] and scores y_pred (see the module docstring)."""
    y_true, y_pred = binary_inputs(y_true, y_pred)
    axis = _checks.check_axis(y_pred, axis)
    per_output = binary_per_output(y_true, y_pred, from_logits, label_smoothing, with_entropy)
    targets = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else y_true
    modulating = _modulating_factor(_binary_one_minus_p_t(targets, y_pred, from_logits), gamma)
    factor = modulating
    if apply_class_balancing:
        factor = factor * (targets * alpha + (1.0 - targets) * (1.0 - alpha))
    values = {"focal_cross_entropy": mean_or_zero(factor * per_output["cross_entropy"], axis)}
    if label_smoothing > 0:
        uniform = factor * per_output["uniform_cross_entropy"]
        values["focal_uniform_cross_entropy"] = mean_or_zero(uniform, axis)
    entropy = mean_or_zero(per_output["entropy"], axis) if with_entropy else None
    diagnostics = {"modulating_factor": ops.stop_gradient(mean_or_zero(modulating, axis))}
    return Terms(values=values, entropy=entropy, diagnostics=diagnostics)


def _class_weights(alpha, y_pred, axis):
    """A list α of one weight per class as a tensor shaped to broadcast along `axis`."""
    num_classes = y_pred.shape[axis]
    if len(alpha) != num_classes:
        raise ValueError(
            f"alpha must be a number or one weight per class ({num_classes} along axis {axis}), "
            f"got {len(alpha)} weights"
        )
    shape = [1] * len(y_pred.shape)
    shape[axis] = num_classes
    return ops.reshape(ops.convert_to_tensor(alpha, y_pred.dtype), shape)


def categorical_focal_terms(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
    with_entropy=False,
):
    """Terms for target distributions y_true (one-hot or soft) and scores y_pred of the same shape."""
    y_pred = _checks.prepare_predictions(y_pred)
    axis = class_axis(y_pred, axis)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    _checks.check_same_shape(y_true, y_pred, "categorical focal cross-entropy (one-hot or soft labels)")
    log_probs = log_probabilities(y_pred, from_logits, axis)
    one_minus_probs = -ops.expm1(log_probs)  # exact where p rounds to 1
    modulating = _modulating_factor(one_minus_probs, gamma)
    at_labels = y_true * modulating  # shared by the loss and the diagnostic
    # a scalar α (and the sign of -log p) multiplies the per-example sums, not every class
    if isinstance(alpha, (list, tuple)):
        weighted, scale = _class_weights(alpha, y_pred, axis) * modulating, -1.0
        focal_at_labels = y_true * weighted
    else:
        weighted, scale, focal_at_labels = modulating, -alpha, at_labels
    values = {"focal_cross_entropy": scale * row_sum(focal_at_labels * log_probs, axis=axis)}
    if label_smoothing > 0:
        uniform = row_sum(weighted * log_probs, axis=axis) / y_pred.shape[axis]
        values["focal_uniform_cross_entropy"] = scale * uniform
    entropy = entropy_from_log_probs(log_probs, axis=axis) if with_entropy else None
    diagnostics = {"modulating_factor": ops.stop_gradient(row_sum(at_labels, axis=axis))}
    return Terms(values=values, entropy=entropy, diagnostics=diagnostics)


class _FocalCrossEntropy(SmoothedCrossEntropy):
    """The focal components: (1-e)·focal_cross_entropy + e·focal_uniform_cross_entropy."""

    diagnostic_names = ("modulating_factor",)

    def __init__(self, alpha, gamma, from_logits, label_smoothing, axis, reduction, name, dtype):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)
        self.gamma = _checks.check_non_negative("gamma", gamma)

    hard_term, uniform_term = "focal_cross_entropy", "focal_uniform_cross_entropy"

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

    `from_logits`, `label_smoothing`, `axis`: as `BinaryCrossentropy`.

    Args:
        apply_class_balancing: weight outputs by α where the target is 1 and 1-α where it is 0.
        alpha: the class-1 weight α in [0, 1] (used with `apply_class_balancing`).
        gamma: the focusing exponent γ ≥ 0; 0 gives the binary cross-entropy.

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
        self.apply_class_balancing = _checks.check_bool("apply_class_balancing", apply_class_balancing)
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

    `from_logits`, `label_smoothing`, `axis`: as `CategoricalCrossentropy`.

    Args:
        alpha: the class weight, a number or a list of one weight per class (each ≥ 0).
        gamma: the focusing exponent γ ≥ 0; 0 gives alpha times the categorical cross-entropy.

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
