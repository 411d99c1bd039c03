"""Per-element generalized cross-entropy (Zhang & Sabuncu, 2018, https://arxiv.org/abs/1805.07836).

    generalized_cross_entropy          = (1 - p_y^q) / q
    uniform_generalized_cross_entropy  = (1/K) Σ_k (1 - p_k^q) / q     (the label-smoothing term)

with p_y the predicted probability of the integer label y (y_pred as given: not normalised, not
clipped, as Keras computes it; p^q by `_power.vanishing_at_zero`, whose gradient at p = 0 is 0 where
Keras' is NaN) and q in (0, 1): towards 0 it approaches the cross-entropy -log p_y,
at 1 it is the absolute error 1 - p_y, which is what makes it robust to noisy labels. Against a
target distribution t the loss is Σ_k t_k (1 - p_k^q) / q, linear in t; label smoothing e trains
against (1-e)·onehot(y) + e/K, so the loss is (1-e)·generalized_cross_entropy +
e·uniform_generalized_cross_entropy, computed from the label without a one-hot tensor.

The class below it: `CategoricalGeneralizedCrossEntropy`, drop-in for Keras'.
"""

import numbers

import keras
from keras import ops

from kerasloss import _checks
from kerasloss._sums import row_sum
from kerasloss.base import ComponentLoss, Terms, register
from kerasloss.entropy import prediction_entropy
from kerasloss.losses._inputs import sparse_labels
from kerasloss.losses._power import vanishing_at_zero


def _power_by_exp_log(p, q):
    """p^q as exp(q·log p) (p > 0)."""
    return ops.exp(q * ops.log(p))


# p^q over every class (the uniform term); the same values to float32 rounding, chosen once for the
# backend (benchmarks/bench_catalogue.py's "smoothed" row): with its gradient over [4096, 256],
# XLA's CPU power took 9.4 ms against 2.0 ms as exp(q·log p), PyTorch's 5.1 against 3.3 ms, and
# TensorFlow's power is the faster, 1.9 against 3.1 ms.
_POWER = ops.power if keras.backend.backend() == "tensorflow" else _power_by_exp_log


def generalized_cross_entropy_terms(y_true, y_pred, q=0.5, label_smoothing=0.0, with_entropy=False):
    """Terms for integer labels y_true and probabilities y_pred [..., K] (classes on the last axis);
    the uniform term too when `label_smoothing` > 0.

    Labels are shaped like y_pred without its last axis, or with a size-1 last axis.
    """
    y_pred = _checks.prepare_predictions(y_pred)
    axis = len(y_pred.shape) - 1
    labels, _, bad = sparse_labels(y_true, y_pred, axis)
    rows = ops.reshape(y_pred, (-1, y_pred.shape[axis]))
    picked = ops.squeeze(ops.take_along_axis(rows, ops.expand_dims(labels, -1), axis=-1), -1)
    values = {"generalized_cross_entropy": (1.0 - vanishing_at_zero(lambda p: ops.power(p, q), picked)) / q}
    if label_smoothing > 0:
        mean_power = row_sum(vanishing_at_zero(lambda p: _POWER(p, q), rows)) / rows.shape[-1]
        values["uniform_generalized_cross_entropy"] = (1.0 - mean_power) / q
    leading = ops.shape(y_pred)[:-1]
    if bad is not None:
        values = {name: ops.where(bad, ops.cast(float("nan"), value.dtype), value) for name, value in values.items()}
    values = {name: ops.reshape(value, leading) for name, value in values.items()}
    entropy = prediction_entropy(y_pred) if with_entropy else None
    return Terms(values=values, entropy=entropy)


@register
class CategoricalGeneralizedCrossEntropy(ComponentLoss):
    """Generalized cross-entropy (1 - p_y^q)/q, between cross-entropy and MAE (Zhang & Sabuncu, 2018).

    Formula (y the integer label, p_y = y_pred[..., y] the predicted probability, as given; K classes):
        generalized_cross_entropy = (1 - p_y^q) / q
        uniform_generalized_cross_entropy = (1/K) Σ_k (1 - p_k^q) / q
        loss = (1 - e)·generalized_cross_entropy + e·uniform_generalized_cross_entropy

    Args:
        q: in (0, 1); towards 0 the loss approaches the cross-entropy -log p_y, towards 1 the
            absolute error 1 - p_y, which tolerates noisy labels better.
        label_smoothing: e in [0, 1]; the target becomes (1-e)·onehot(y) + e/K (never built as a
            one-hot tensor). Beyond Keras' arguments; 0 gives Keras' loss.

    Example:
    >>> CategoricalGeneralizedCrossEntropy(q=0.5)([1], [[0.75, 0.25]])   # (1 - 0.5)/0.5 = 1.0
    """

    entropy_kind = "categorical"

    def __init__(
        self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
        dtype=None, label_smoothing=0.0,
    ):
        if isinstance(q, bool) or not isinstance(q, numbers.Real):
            raise TypeError(f"q must be a number in (0, 1), got {q!r}")
        if not 0.0 < float(q) < 1.0:
            raise ValueError(f"q must be in the interval (0, 1), got {q!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.q = float(q)
        self.label_smoothing = _checks.check_fraction("label_smoothing", label_smoothing)

    @property
    def component_weights(self):
        e = self.label_smoothing
        weights = {"generalized_cross_entropy": 1.0 - e}
        if e > 0:
            weights["uniform_generalized_cross_entropy"] = e
        return weights

    def terms(self, y_true, y_pred, with_entropy=False):
        return generalized_cross_entropy_terms(y_true, y_pred, self.q, self.label_smoothing, with_entropy)

    def get_config(self):
        return {**super().get_config(), "q": self.q, "label_smoothing": self.label_smoothing}


__all__ = ["CategoricalGeneralizedCrossEntropy"]
