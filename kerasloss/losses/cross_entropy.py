"""Per-element cross-entropy terms: the pure functions behind the classification losses.

Each function returns `Terms` (see `kerasloss.base`) with these per-element components:

    cross_entropy          H(y, p)   = -Σ_k y_k log p_k        (the hard-label fit)
    uniform_cross_entropy  H(u, p)   = -Σ_k (1/K) log p_k      (the label-smoothing term; u = 1/K,
                                                               or 1/2 for each binary output)
    z_loss                 lse(z)²                             (logits only)

so that label smoothing e, which trains against (1-e)·y + e·u, gives the loss
(1-e)·cross_entropy + e·uniform_cross_entropy (+ z_loss weight · z_loss). From logits the
softmax terms come from one log-sum-exp pass with a hand-written gradient
(`kerasloss.losses._softmax`); from probabilities, p is normalised over the class axis and clipped
to [ε, 1-ε] as Keras does.

The classes below them: `BinaryCrossentropy`, `CategoricalCrossentropy`,
`SparseCategoricalCrossentropy`. Arguments shared by every class (see `ComponentLoss`): `reduction`, `name`, `dtype`.
"""

import keras
from keras import ops

from kerasloss import _checks
from kerasloss._sums import row_sum
from kerasloss.base import ComponentLoss, Terms, register
from kerasloss.entropy import (
    bernoulli_entropy,
    bernoulli_entropy_from_logits,
    entropy_from_log_probs,
    log_probabilities,
)
from kerasloss.losses._inputs import binary_inputs, class_axis, sparse_labels
from kerasloss.losses._softmax import dense_softmax_terms, sparse_softmax_terms
from kerasloss.reduction import mean_or_zero


def _to_rows(x, axis):
    """Move `axis` last and flatten the rest: [N, K] rows, plus the leading shape to restore."""
    if axis != len(x.shape) - 1:
        x = ops.moveaxis(x, axis, -1)
    leading = ops.shape(x)[:-1]
    return ops.reshape(x, (-1, x.shape[-1])), leading


def _from_rows(values, leading):
    return {name: ops.reshape(value, leading) for name, value in values.items()}


def _class_rows(y_pred, axis, from_logits, label_smoothing, z_loss, with_entropy):
    """(rows [N, K], the leading shape to restore, the softmax terms wanted) of scores y_pred."""
    rows, leading = _to_rows(y_pred, axis)
    return rows, leading, _softmax_wanted(label_smoothing, z_loss if from_logits else 0.0, with_entropy)


def _softmax_wanted(label_smoothing, z_loss, with_entropy):
    wanted = {"cross_entropy"}
    if label_smoothing > 0:
        wanted.add("uniform_cross_entropy")
    if z_loss > 0:
        wanted.add("lse")
    if with_entropy:
        wanted.add("entropy")
    return wanted


def _probability_terms(log_probs, cross_entropy, wanted):
    terms = {"cross_entropy": cross_entropy}
    if "uniform_cross_entropy" in wanted:
        # a sum over K, not ops.mean: Keras' torch mean computes float64 in float32
        terms["uniform_cross_entropy"] = -row_sum(log_probs) / log_probs.shape[-1]
    if "entropy" in wanted:
        terms["entropy"] = entropy_from_log_probs(log_probs)
    return terms


def _finish(raw, leading, bad=None, mask=None):
    """Rename lse to z_loss (lse²), restore the leading shape, mark invalid rows NaN."""
    if "lse" in raw:
        raw["z_loss"] = ops.square(raw.pop("lse"))
    if bad is not None:
        nan = ops.cast(float("nan"), raw["cross_entropy"].dtype)
        raw = {name: ops.where(bad, nan, value) for name, value in raw.items()}
    values = _from_rows(raw, leading)
    entropy = values.pop("entropy", None)
    return Terms(values=values, mask=mask, entropy=entropy)


def sparse_categorical_terms(
    y_true, y_pred, from_logits=False, label_smoothing=0.0, z_loss=0.0, axis=-1,
    ignore_class=None, with_entropy=False,
):
    """Terms for integer labels y_true and scores y_pred [..., K] (class axis `axis`).

    With `ignore_class`, positions labelled so are masked out (mask False, terms 0).
    """
    y_pred = _checks.prepare_predictions(y_pred)
    axis = class_axis(y_pred, axis)
    labels, valid, bad = sparse_labels(y_true, y_pred, axis, ignore_class)
    rows, leading, wanted = _class_rows(y_pred, axis, from_logits, label_smoothing, z_loss, with_entropy)
    if from_logits:
        raw = sparse_softmax_terms(rows, labels, wanted)
    else:
        log_probs = log_probabilities(rows, from_logits=False)
        picked = ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), axis=-1)
        raw = _probability_terms(log_probs, -ops.squeeze(picked, -1), wanted)
    mask = None
    if valid is not None:
        raw = {name: ops.where(valid, value, 0.0) for name, value in raw.items()}
        mask = ops.reshape(valid, leading)
    return _finish(raw, leading, bad, mask)


def categorical_terms(
    y_true, y_pred, from_logits=False, label_smoothing=0.0, z_loss=0.0, axis=-1, with_entropy=False,
):
    """Terms for target distributions y_true (one-hot or soft) and scores y_pred, same shape."""
    y_pred = _checks.prepare_predictions(y_pred)
    axis = class_axis(y_pred, axis)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    _checks.check_same_shape(y_true, y_pred, "categorical cross-entropy (one-hot or soft labels)")
    rows, leading, wanted = _class_rows(y_pred, axis, from_logits, label_smoothing, z_loss, with_entropy)
    targets, _ = _to_rows(y_true, axis)
    if from_logits:
        raw = dense_softmax_terms(rows, targets, wanted)
    else:
        log_probs = log_probabilities(rows, from_logits=False)
        raw = _probability_terms(log_probs, -row_sum(targets * log_probs), wanted)
    return _finish(raw, leading)


def binary_per_output(y_true, y_pred, from_logits, label_smoothing, with_entropy):
    """Per output of `binary_inputs`: cross_entropy, uniform_cross_entropy (when smoothing) and
    entropy (when asked), not yet averaged over the output axis."""
    if from_logits:
        # binary cross-entropy from logits is softplus(z) - z·t; both components share softplus(z)
        softplus = ops.softplus(y_pred)
        per_output = {"cross_entropy": softplus - y_pred * y_true}
        if label_smoothing > 0:
            per_output["uniform_cross_entropy"] = softplus - 0.5 * y_pred
        if with_entropy:
            per_output["entropy"] = bernoulli_entropy_from_logits(y_pred)
    else:
        eps = keras.config.epsilon()
        q = ops.clip(y_pred, eps, 1.0 - eps)
        log_q, log_not_q = ops.log(q), ops.log(1.0 - q)
        per_output = {"cross_entropy": -(y_true * log_q + (1.0 - y_true) * log_not_q)}
        if label_smoothing > 0:
            per_output["uniform_cross_entropy"] = -0.5 * (log_q + log_not_q)
        if with_entropy:
            per_output["entropy"] = bernoulli_entropy(q, log_q, log_not_q)
    return per_output


def binary_terms(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1, with_entropy=False):
    """Terms for binary targets y_true in [0, 1] and scores y_pred, averaged over `axis`.

    Per output: cross_entropy = -(t log q + (1-t) log(1-q)), uniform = the same with t = 1/2.
    """
    y_true, y_pred = binary_inputs(y_true, y_pred)
    axis = _checks.check_axis(y_pred, axis)
    per_output = binary_per_output(y_true, y_pred, from_logits, label_smoothing, with_entropy)
    values = {name: mean_or_zero(value, axis) for name, value in per_output.items()}
    entropy = values.pop("entropy", None)
    return Terms(values=values, entropy=entropy)


class SmoothedCrossEntropy(ComponentLoss):
    """Shared argument handling of the cross-entropies.

    Args:
        from_logits: y_pred holds logits (recommended: exact, fused gradient) or probabilities.
        label_smoothing: e in [0, 1]; the target becomes (1-e)·y + e·u (u uniform), so the loss is
            (1-e)·cross_entropy + e·uniform_cross_entropy.
        axis: the class axis of y_pred.
    """

    def __init__(self, from_logits, label_smoothing, axis, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = _checks.check_bool("from_logits", from_logits)
        self.label_smoothing = _checks.check_fraction("label_smoothing", label_smoothing)
        self.axis = _checks.check_int_or_none("axis", axis)
        if self.axis is None:
            raise TypeError("axis must be an int, got None")

    # the components the smoothing weighs: the hard-label term (1 - e) and the uniform term (e)
    hard_term, uniform_term = "cross_entropy", "uniform_cross_entropy"

    @property
    def component_weights(self):
        e = self.label_smoothing
        weights = {self.hard_term: 1.0 - e}
        if e > 0:
            weights[self.uniform_term] = e
        return weights

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


@register
class BinaryCrossentropy(SmoothedCrossEntropy):
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


class _SoftmaxCrossEntropy(SmoothedCrossEntropy):
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
