"""Closed-form NumPy references for every kerasloss loss, written independently of the package.

All math runs in float64. Per-element functions return `(components, mask)`: a dict of
per-element component arrays and a boolean array (False = ignored) or None. `reduce` applies a
reduction with sample weights and a mask the way issue 2 specifies (Keras semantics, weights of
lower rank broadcast over the trailing axes).
"""

import numpy as np

EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None)


def logsumexp(z, axis=-1):
    """log Σ exp(z) along `axis`, shifted by the maximum so it never overflows."""
    z = np.asarray(z, np.float64)
    peak = np.max(z, axis=axis, keepdims=True)
    return np.squeeze(peak, axis) + np.log(np.sum(np.exp(z - peak), axis=axis))


def log_softmax(z, axis=-1):
    z = np.asarray(z, np.float64)
    return z - np.expand_dims(logsumexp(z, axis), axis)


def softmax(z, axis=-1):
    return np.exp(log_softmax(z, axis))


def _log_probabilities(y_pred, from_logits, axis):
    """log p: log_softmax of logits, or the log of normalised probabilities clipped to [ε, 1-ε]."""
    y_pred = np.asarray(y_pred, np.float64)
    if from_logits:
        return log_softmax(y_pred, axis)
    probs = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
    return np.log(np.clip(probs, EPSILON, 1.0 - EPSILON))


def categorical(y_true, y_pred, from_logits=False, label_smoothing=0.0, z_loss=0.0, axis=-1):
    """cross_entropy = -Σ y·l, uniform = -mean l, z_loss = lse² (from logits), all over `axis`."""
    log_p = _log_probabilities(y_pred, from_logits, axis)
    y_true = np.asarray(y_true, np.float64)
    components = {"cross_entropy": -np.sum(y_true * log_p, axis=axis)}
    if label_smoothing > 0:
        components["uniform_cross_entropy"] = -np.mean(log_p, axis=axis)
    if z_loss > 0:
        components["z_loss"] = logsumexp(y_pred, axis) ** 2
    return components, None


def sparse_categorical(
    labels, y_pred, from_logits=False, label_smoothing=0.0, z_loss=0.0, axis=-1, ignore_class=None
):
    """The categorical reference on one_hot(labels), with ignored positions 0 and masked out."""
    y_pred = np.asarray(y_pred, np.float64)
    axis = axis % y_pred.ndim
    labels = np.asarray(labels)
    if labels.ndim == y_pred.ndim:
        labels = np.squeeze(labels, axis)
    num_classes = y_pred.shape[axis]
    mask = None if ignore_class is None else labels != ignore_class
    safe = labels if mask is None else np.where(mask, labels, 0)
    one_hot = np.moveaxis(np.eye(num_classes)[safe.astype(np.int64)], -1, axis)
    components, _ = categorical(one_hot, y_pred, from_logits, label_smoothing, z_loss, axis)
    if mask is not None:
        components = {name: np.where(mask, value, 0.0) for name, value in components.items()}
    return components, mask


def binary(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per output -(t log q + (1-t) log(1-q)) and its t = 1/2 twin, averaged over `axis`."""
    y_pred = np.asarray(y_pred, np.float64)
    y_true = np.asarray(y_true, np.float64)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    if from_logits:
        # log q = -softplus(-z), log(1-q) = -softplus(z), stable for any z
        log_q, log_not_q = -np.logaddexp(0.0, -y_pred), -np.logaddexp(0.0, y_pred)
    else:
        q = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        log_q, log_not_q = np.log(q), np.log(1.0 - q)
    components = {"cross_entropy": np.mean(-(y_true * log_q + (1 - y_true) * log_not_q), axis=axis)}
    if label_smoothing > 0:
        components["uniform_cross_entropy"] = np.mean(-0.5 * (log_q + log_not_q), axis=axis)
    return components, None


def _regression_difference(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return y_true - y_pred


def squared_error(y_true, y_pred):
    return {"squared_error": np.mean(_regression_difference(y_true, y_pred) ** 2, axis=-1)}, None


def absolute_error(y_true, y_pred):
    return {"absolute_error": np.mean(np.abs(_regression_difference(y_true, y_pred)), axis=-1)}, None


def element_weights(values, sample_weight=None, mask=None):
    """Per-element weights (sample_weight · mask, trailing axes added to match), or None."""
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, np.float64)
        weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
        weights = np.broadcast_to(weights, values.shape)
    if mask is not None:
        mask = np.asarray(mask, np.float64)
        mask = np.broadcast_to(mask.reshape(mask.shape + (1,) * (values.ndim - mask.ndim)), values.shape)
        weights = mask if weights is None else weights * mask
    return weights


def reduce(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Σ w·l ("sum"), Σ w·l / n_unmasked ("sum_over_batch_size", "mean"), Σ w·l / Σ w, or w·l."""
    values = np.asarray(values, np.float64)
    weights = element_weights(values, sample_weight, mask)
    weighted = values if weights is None else values * weights
    if reduction is None:
        return weighted
    total = np.sum(weighted)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = np.sum(weights)
    elif mask is not None:
        divisor = np.sum(element_weights(values, mask=mask))
    else:
        divisor = values.size
    return total / divisor if divisor else 0.0


def reduce_all(components, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    return {name: reduce(v, sample_weight, mask, reduction) for name, v in components.items()}


def weighted_total(reduced, weights):
    """Σ weights[k]·reduced[k] over the weights' keys."""
    return sum(weight * np.asarray(reduced[name]) for name, weight in weights.items())


def smoothed_softmax_gradient(labels_one_hot, logits, label_smoothing=0.0, axis=-1):
    """d/dz of the un-reduced smoothed cross-entropy: softmax(z) - ((1-e)·y + e/K)."""
    num_classes = np.shape(logits)[axis]
    target = (1 - label_smoothing) * np.asarray(labels_one_hot, np.float64) + label_smoothing / num_classes
    return softmax(logits, axis) - target


def central_difference(f, x, step=1e-6):
    """∂f/∂x by central differences, f: float64 array -> scalar."""
    x = np.array(x, np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (f(up) - f(down)) / (2 * step)
    return grad
