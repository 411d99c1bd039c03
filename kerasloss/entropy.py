"""Entropy of a model's predictions, per example, in nats.

Formula:
    categorical:  H(x) = -Σ_k p_k log p_k,                 p = softmax(logits) or the given probabilities
    binary:       H(x) = mean_j [-q_j log q_j - (1-q_j) log(1-q_j)],  q = sigmoid(logits) or probabilities
    normalize:    H / log K (categorical) or H / log 2 (binary), so that 1 means uniform.
"""

import math

import keras
from keras import ops

from kerasloss import _checks, _sums

KINDS = ("categorical", "binary")


def entropy_from_log_probs(log_probs, axis=-1):
    """-Σ exp(l)·l along `axis`; exact and finite for log-probabilities from log_softmax."""
    return -_sums.row_sum(ops.exp(log_probs) * log_probs, axis=axis)


def log_probabilities(y_pred, from_logits, axis=-1):
    """log p along `axis`: from logits the log-softmax; from probabilities y_pred / Σ y_pred, clipped
    to [ε, 1-ε] as Keras clips it, then its log."""
    if from_logits:
        return _sums.log_softmax(y_pred, axis=axis)
    eps = keras.config.epsilon()
    total = _sums.row_sum(y_pred, axis=axis, keepdims=True)
    return ops.log(ops.clip(y_pred / total, eps, 1.0 - eps))


def bernoulli_entropy(q, log_q, log_not_q):
    """-q log q - (1-q) log(1-q), from a probability and the two logs its caller already has."""
    return -(q * log_q + (1.0 - q) * log_not_q)


def bernoulli_entropy_from_logits(logits):
    """-q log q - (1-q) log(1-q) with q = sigmoid(z), as q·softplus(-z) + (1-q)·softplus(z)."""
    q = ops.sigmoid(logits)
    return q * ops.softplus(-logits) + (1.0 - q) * ops.softplus(logits)


def entropy_scale(kind, num_classes):
    """The maximum entropy: log K for a categorical over K classes, log 2 for a binary output."""
    return math.log(2.0) if kind == "binary" else math.log(max(num_classes or 2, 2))


def prediction_entropy(y_pred, from_logits=False, kind="categorical", axis=-1, normalize=False):
    """Per-example entropy of predictions, in nats (see the module docstring for the formulas).

    Args:
        y_pred: scores, `[..., K]` with the class axis at `axis`.
        from_logits: whether `y_pred` holds logits (else probabilities).
        kind: "categorical" (softmax over `axis`) or "binary" (independent sigmoid outputs, averaged
            over `axis`).
        axis: the class (categorical) or output (binary) axis.
        normalize: divide by log K (categorical) or log 2 (binary).

    Returns:
        A float32 (float64 for float64 input) tensor of shape `y_pred.shape` without `axis`.

    Example:
    >>> float(prediction_entropy([[0.5, 0.5]]))
    0.6931...
    """
    _checks.check_choice("kind", kind, KINDS)
    y_pred = _checks.prepare_predictions(y_pred)
    _checks.check_axis(y_pred, axis)
    if kind == "categorical" and y_pred.shape[axis] == 1:
        raise ValueError(
            f"kind='categorical' takes the entropy over axis {axis} of y_pred, which has size 1 "
            f"(shape {tuple(y_pred.shape)}): always 0. For one sigmoid unit (binary cross-entropy, "
            f"binary focal) pass kind='binary'"
        )
    if kind == "categorical":
        entropy = entropy_from_log_probs(log_probabilities(y_pred, from_logits, axis), axis=axis)
    else:
        if from_logits:
            per_output = bernoulli_entropy_from_logits(y_pred)
        else:
            eps = keras.config.epsilon()
            q = ops.clip(y_pred, eps, 1.0 - eps)
            per_output = bernoulli_entropy(q, ops.log(q), ops.log(1.0 - q))
        entropy = ops.mean(per_output, axis=axis)
    return entropy / entropy_scale(kind, y_pred.shape[axis]) if normalize else entropy
