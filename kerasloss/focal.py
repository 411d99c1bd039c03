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
"""

import keras
from keras import ops

from kerasloss import _checks
from kerasloss.cross_entropy import binary_inputs, binary_per_output, class_axis
from kerasloss.entropy import entropy_from_log_probs
from kerasloss.reduction import mean_or_zero
from kerasloss.terms import Terms


def _binary_one_minus_p_t(targets, y_pred, from_logits):
    """1 - p_t = t·(1-q) + (1-t)·q = q + t·(1 - 2q), q the probability (one sigmoid from logits;
    four element-wise ops where Keras' 1 - (t·q + (1-t)·(1-q)) takes six, as precise)."""
    q = ops.sigmoid(y_pred) if from_logits else y_pred
    return q + targets * (1.0 - 2.0 * q)


def binary_focal_terms(
    y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1, with_entropy=False,
):
    """Terms for binary targets y_true in [0, 1] and scores y_pred (see the module docstring)."""
    y_true, y_pred = binary_inputs(y_true, y_pred)
    per_output = binary_per_output(y_true, y_pred, from_logits, label_smoothing, with_entropy)
    targets = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else y_true
    modulating = ops.power(_binary_one_minus_p_t(targets, y_pred, from_logits), gamma)
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


def _log_probabilities(y_pred, from_logits, axis):
    """(log p, 1 - p) along `axis`: from logits the log-softmax and -expm1(log p) (exact where p
    rounds to 1); from probabilities, normalised and clipped to [ε, 1-ε] as Keras does, their log
    and 1 - p."""
    if from_logits:
        log_probs = ops.log_softmax(y_pred, axis=axis)
        return log_probs, -ops.expm1(log_probs)
    eps = keras.config.epsilon()
    probs = ops.clip(y_pred / ops.sum(y_pred, axis=axis, keepdims=True), eps, 1.0 - eps)
    return ops.log(probs), 1.0 - probs


def categorical_focal_terms(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
    with_entropy=False,
):
    """Terms for target distributions y_true (one-hot or soft) and scores y_pred of the same shape."""
    y_pred = _checks.prepare_predictions(y_pred)
    axis = class_axis(y_pred, axis)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    _checks.check_same_shape(y_true, y_pred, "categorical focal cross-entropy (one-hot or soft labels)")
    log_probs, one_minus_probs = _log_probabilities(y_pred, from_logits, axis)
    modulating = ops.power(one_minus_probs, gamma)
    at_labels = y_true * modulating  # shared by the loss and the diagnostic
    # a scalar α (and the sign of -log p) multiplies the per-example sums, not every class
    if isinstance(alpha, (list, tuple)):
        weighted, scale = _class_weights(alpha, y_pred, axis) * modulating, -1.0
        focal_at_labels = y_true * weighted
    else:
        weighted, scale, focal_at_labels = modulating, -alpha, at_labels
    values = {"focal_cross_entropy": scale * ops.sum(focal_at_labels * log_probs, axis=axis)}
    if label_smoothing > 0:
        values["focal_uniform_cross_entropy"] = scale * ops.mean(weighted * log_probs, axis=axis)
    entropy = entropy_from_log_probs(log_probs, axis=axis) if with_entropy else None
    diagnostics = {"modulating_factor": ops.stop_gradient(ops.sum(at_labels, axis=axis))}
    return Terms(values=values, entropy=entropy, diagnostics=diagnostics)
