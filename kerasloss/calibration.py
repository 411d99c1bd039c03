"""Calibration error: is the model's confidence earned? ECE, RMSCE and MCE, streaming, every backend.

Each counted prediction gives a confidence c and an outcome a:

    kind="categorical"   c = max_k p_k (p = softmax(logits) or the given probabilities),
                         a = 1 if argmax_k p_k is the label else 0   (labels sparse or one-hot)
    kind="binary"        c = p (sigmoid(logit) or the given probability of the positive class),
                         a = the label (0 or 1); every element of a multi-label output counts

The confidences are grouped into bins b, each with its weight n_b = Σ w, mean confidence
conf_b = Σ w·c / n_b and accuracy acc_b = Σ w·a / n_b (w = sample weight, 1 by default; a weight
k is the same as k copies of the example), N = Σ_b n_b:

Formula:
    norm="l1"   ECE   = Σ_b (n_b / N) · |acc_b − conf_b|
    norm="l2"   RMSCE = sqrt(Σ_b (n_b / N) · (acc_b − conf_b)²)
    norm="max"  MCE   = max over non-empty bins of |acc_b − conf_b|

Binning:
    "uniform"   num_bins equal-width bins [e_i, e_{i+1}) with the edges of
                `torch.linspace(0, 1, num_bins + 1)`, bucketed as torchmetrics' CalibrationError
                buckets them: a confidence of exactly 1 (a saturated float32 softmax) falls in a
                bin of its own, [1, 1]. State: three sums per bin, whatever the data size
                (`kerasloss._calibration_kernels` bins them, per backend).
    "quantile"  equal-mass bins: the confidences sorted (stable) and split into num_bins groups as
                `numpy.array_split` splits them (weights split as repeated copies would be). It
                KEEPS every confidence until `reset_state`, so it runs eagerly only (PostHocMetrics,
                LossMonitor, `run_eagerly=True`), never inside a compiled step.
"""

import math
import warnings

import keras
import numpy as np
from keras import ops

from kerasloss import _checks
from kerasloss._calibration_kernels import (
    compiled,
    range_summary,
    top_class,
    top_probability_and_hits,
    uniform_bin_sums,
    uniform_edges,
)
from kerasloss._keras_compat import register_metric_name
from kerasloss.base import register
from kerasloss.entropy import KINDS
from kerasloss.reduction import align_weights

NORMS = ("l1", "l2", "max")
BINNINGS = ("uniform", "quantile")
# compile / PostHocMetrics / LossMonitor names -> norm
NAMED_NORMS = {"ece": "l1", "rmsce": "l2", "mce": "max"}
# the columns of a reliability record, one row per bin
RECORD_COLUMNS = ("lower", "upper", "count", "confidence", "accuracy")


def confidences_and_outcomes(y_true, y_pred, kind="categorical", from_logits=False):
    """(confidence c, outcome a), both flat, one entry per counted prediction (module docstring).

    Args:
        y_true: categorical: integer labels `[...]` (or `[..., 1]`), or one-hot `[..., K]`;
            binary: 0/1 labels shaped as `y_pred`.
        y_pred: categorical: `[..., K]` probabilities or logits; binary: `[...]` probabilities
            or logits of the positive class.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = "float64" if keras.backend.standardize_dtype(y_pred.dtype) == "float64" else "float32"
    y_pred = ops.cast(y_pred, dtype)
    if kind == "binary":
        confidence = ops.sigmoid(y_pred) if from_logits else y_pred
        outcome = ops.cast(ops.reshape(ops.convert_to_tensor(y_true), ops.shape(y_pred)), dtype)
        return _flat(confidence), _flat(outcome)
    labels = ops.convert_to_tensor(y_true)
    if _one_hot(labels, y_pred):
        labels = top_class(labels)[1]
    elif len(labels.shape) == len(y_pred.shape):
        labels = ops.squeeze(labels, -1)
    if from_logits:
        confidence, hits = top_probability_and_hits(y_pred, labels)
    else:
        confidence, predicted = top_class(y_pred)
        hits = ops.equal(ops.cast(labels, predicted.dtype), predicted)
    return _flat(confidence), _flat(ops.cast(hits, dtype))


def _flat(x):
    return x if len(x.shape) == 1 else ops.reshape(x, (-1,))


def _one_hot(labels, y_pred):
    """Whether categorical `labels` are one-hot rows of `y_pred`'s shape (else class ids)."""
    return len(labels.shape) == len(y_pred.shape) and labels.shape[-1] == y_pred.shape[-1] != 1


def quantile_bin_sums(confidence, outcome, weight, num_bins):
    """([num_bins, 3] sums per equal-mass bin, [num_bins, 2] (lowest, highest) confidence), NumPy.

    The group boundaries are those `numpy.array_split` gives N items, on the cumulative weight W:
    j·⌊W/B⌋ + min(j, W − B·⌊W/B⌋); an example across a boundary is split between the two groups.
    """
    order = np.argsort(confidence, kind="stable")
    c, a, w = confidence[order], outcome[order], weight[order]
    ends = np.cumsum(w)
    starts = ends - w
    total = ends[-1] if len(ends) else 0.0
    size = np.floor(total / num_bins)
    j = np.arange(num_bins + 1)
    bounds = j * size + np.minimum(j, total - num_bins * size)
    # share[i, b] = how much of example i's weight falls in group b
    share = np.clip(np.minimum(ends[:, None], bounds[None, 1:]) - np.maximum(starts[:, None], bounds[None, :-1]),
                    0.0, None)
    sums = np.stack([share.sum(0), share.T @ c, share.T @ a], axis=-1)
    inside = share > 0
    lowest = np.array([c[col].min() if col.any() else np.nan for col in inside.T])
    highest = np.array([c[col].max() if col.any() else np.nan for col in inside.T])
    return sums, np.stack([lowest, highest], axis=-1)


def calibration_error(bin_sums, norm="l1"):
    """ECE / RMSCE / MCE (module docstring) of per-bin sums [bins, 3] = (Σ w, Σ w·c, Σ w·a)."""
    count, confidence, accuracy = bin_sums[:, 0], bin_sums[:, 1], bin_sums[:, 2]
    safe = ops.where(count > 0, count, ops.ones_like(count))
    gap = ops.where(count > 0, ops.abs(accuracy - confidence) / safe, ops.zeros_like(count))
    if norm == "max":
        return ops.max(gap)
    total = ops.sum(count)
    share = count / ops.where(total > 0, total, ops.ones_like(total))
    if norm == "l1":
        return ops.sum(share * gap)
    return ops.sqrt(ops.sum(share * gap * gap))


@register
class CalibrationError(keras.metrics.Metric):
    """Calibration error of a classifier's confidences (ECE, RMSCE or MCE; module docstring).

    Args:
        num_bins: the number of bins (a positive int).
        norm: "l1" (ECE), "l2" (RMSCE) or "max" (MCE).
        binning: "uniform" (equal width, torchmetrics' bins) or "quantile" (equal mass; keeps
            every confidence, eager only).
        kind: "categorical" (top class of `[..., K]` scores, labels sparse or one-hot) or "binary"
            (probability of the positive class, every element counts).
        from_logits: whether `y_pred` holds logits (softmax / sigmoid taken here).

    Compiled by name: "ece", "rmsce", "mce" (15 uniform bins, categorical, probabilities).

    Example:
    >>> metric = CalibrationError(num_bins=2)
    >>> metric.update_state([0, 1, 1], [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    >>> round(float(metric.result()), 4)    # bins [0, .5): empty; [.5, 1): conf .7667, acc 2/3
    0.1
    """

    def __init__(self, num_bins=15, norm="l1", binning="uniform", kind="categorical", from_logits=False,
                 name="calibration_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_bins = _checks.check_int_at_least("num_bins", num_bins, 1)
        self.norm = _checks.check_choice("norm", norm, NORMS)
        self.binning = _checks.check_choice("binning", binning, BINNINGS)
        self.kind = _checks.check_choice("kind", kind, KINDS)
        if not isinstance(from_logits, bool):
            raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
        self.from_logits = from_logits
        self._direction = "down"
        self._warned_range = False
        self._kept = []  # quantile binning: [(confidence, outcome, weight)] NumPy chunks
        if binning == "uniform":
            self.bin_sums = self.add_variable(
                shape=(num_bins + 1, 3), initializer="zeros", name="bin_sums", aggregation="sum")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch. Its labels out of range raise a ValueError and confidences outside [0, 1]
        (without from_logits) warn once, when the values are known (eager): labels given as NumPy
        are checked there, the rest is reduced on the device in the batch's kernel to one small
        vector read once (one host round trip per update, none inside a compiled step)."""
        y_pred = ops.convert_to_tensor(y_pred)
        if not keras.backend.is_float_dtype(y_pred.dtype):
            raise TypeError(f"y_pred must hold probabilities or logits (a float tensor), got dtype {y_pred.dtype}")
        labels = y_true if ops.is_tensor(y_true) else np.asarray(y_true)
        if sample_weight is not None and not ops.is_tensor(sample_weight):
            sample_weight = np.asarray(sample_weight)
        sparse = self.kind == "categorical" and not _one_hot(labels, y_pred)
        high = int(y_pred.shape[-1]) - 1 if sparse else 1
        if isinstance(labels, np.ndarray):
            self._check_labels(labels, sparse, high)
        check = {"high": high, "extremes": not (self.from_logits or self._warned_range) and bool(_size(y_pred)),
                 "check_labels": not isinstance(labels, np.ndarray) and bool(_size(labels))
                 and keras.backend.standardize_dtype(labels.dtype) != "bool"}  # bools are 0/1
        settings = {"kind": self.kind, "from_logits": self.from_logits, **check}
        if self.binning == "uniform":
            sums, summary = _uniform_batch(labels, y_pred, sample_weight, num_bins=self.num_bins, **settings)
            self._check_summary(summary, labels, sparse, **check)
            self.bin_sums.assign_add(ops.cast(sums, self.dtype))
            return
        confidence, outcome, weight, summary = _batch(labels, y_pred, sample_weight, **settings)
        self._check_summary(summary, labels, sparse, **check)
        weight = ops.ones_like(confidence) if weight is None else weight
        chunk = [_checks.concrete_values(v) for v in (confidence, outcome, weight)]
        if any(v is None for v in chunk):
            raise ValueError(
                f"binning='quantile' keeps every confidence, so {self.name!r} cannot update inside a "
                "compiled step; use it in PostHocMetrics or LossMonitor, compile(run_eagerly=True), "
                "or binning='uniform'")
        self._kept.append(tuple(np.asarray(v, np.float64) for v in chunk))

    def _check_summary(self, summary, labels, sparse, high, extremes, check_labels):
        """Raise or warn from the batch's `range_summary`, when its values are known."""
        values = None if summary is None else _checks.concrete_values(summary)
        if values is None:
            return
        if check_labels and values[0]:
            self._check_labels(_checks.concrete_values(labels), sparse, high)
        if extremes and (values[-2] < 0.0 or values[-1] > 1.0):
            self._warned_range = True
            warnings.warn(
                f"CalibrationError {self.name!r}: the predictions leave [0, 1] (confidences from {values[-2]:.3g} "
                f"to {values[-1]:.3g}) but it expects probabilities; if the model outputs logits, pass "
                f"from_logits=True", UserWarning, stacklevel=3)

    def _check_labels(self, labels, sparse, high):
        """ValueError naming y_true when NumPy `labels` leave [0, high]."""
        if labels.size and (labels.min() < 0 or labels.max() > high):
            what = f"class ids in [0, {high}]" if sparse else "0/1 labels" if self.kind == "binary" else "one-hot rows"
            raise ValueError(
                f"y_true must hold {what} for {self.name!r}, got values in [{labels.min()}, {labels.max()}]")

    def _sums_and_edges(self):
        """(NumPy [bins, 3] sums, [bins, 2] lower and upper edges) of everything seen."""
        if self.binning == "uniform":
            edges = uniform_edges(self.num_bins).astype(np.float64)
            bounds = np.stack([np.append(edges[:-1], 1.0), np.append(edges[1:], 1.0)], axis=-1)
            return np.asarray(ops.convert_to_numpy(self.bin_sums.value), np.float64), bounds
        if not self._kept:
            return np.zeros((self.num_bins, 3)), np.full((self.num_bins, 2), np.nan)
        return quantile_bin_sums(*(np.concatenate(parts) for parts in zip(*self._kept)), self.num_bins)

    def result(self):
        if self.binning == "uniform":
            return calibration_error(self.bin_sums, self.norm)
        return ops.cast(calibration_error(self._sums_and_edges()[0], self.norm), self.dtype)

    def reliability(self):
        """The reliability record: a NumPy [bins, 5] array of `RECORD_COLUMNS` (lower and upper
        edge, weight, mean confidence, accuracy; 0 for an empty bin). Uniform binning has
        num_bins + 1 rows, the last the bin [1, 1]; quantile binning's edges are its lowest and
        highest confidence."""
        sums, bounds = self._sums_and_edges()
        count = sums[:, :1]
        means = np.divide(sums[:, 1:], count, out=np.zeros_like(sums[:, 1:]), where=count > 0)
        return np.concatenate([np.nan_to_num(bounds), count, means], axis=-1)

    def reset_state(self):
        super().reset_state()
        self._kept = []

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_bins": self.num_bins, "norm": self.norm,
                "binning": self.binning, "kind": self.kind, "from_logits": self.from_logits}


def _element_weights(sample_weight, y_pred, kind, confidence):
    """One weight per confidence: `sample_weight` over the leading axes, broadcast over the rest
    (None without `sample_weight`: every confidence counts once)."""
    if sample_weight is None:
        return None
    per_prediction = y_pred[..., 0] if kind == "categorical" else y_pred
    weight = align_weights(ops.cast(ops.convert_to_tensor(sample_weight), confidence.dtype), per_prediction)
    return ops.reshape(ops.broadcast_to(weight, ops.shape(per_prediction)), (-1,))


def _batch(y_true, y_pred, sample_weight, kind, from_logits, high, extremes, check_labels):
    """(confidence, outcome, weight (None: 1 each), `range_summary` or None) of one batch."""
    confidence, outcome = confidences_and_outcomes(y_true, y_pred, kind, from_logits)
    weight = _element_weights(sample_weight, y_pred, kind, confidence)
    summary = None
    if extremes or check_labels:
        summary = range_summary(y_true if check_labels else None, high, confidence, extremes)
    return confidence, outcome, weight, summary


def _uniform_batch_sums(y_true, y_pred, sample_weight, kind, from_logits, high, extremes, check_labels, num_bins):
    """(uniform bin sums, `range_summary` or None) of one batch: a uniform update's whole work."""
    confidence, outcome, weight, summary = _batch(
        y_true, y_pred, sample_weight, kind, from_logits, high, extremes, check_labels)
    return uniform_bin_sums(confidence, outcome, weight, num_bins), summary


_uniform_batch = compiled(
    _uniform_batch_sums, static=("kind", "from_logits", "high", "extremes", "check_labels", "num_bins"))


def _size(x):
    """The number of elements of `x`, or None when a dimension is unknown (graph tracing)."""
    return None if any(d is None for d in x.shape) else math.prod(x.shape)


class _Named:
    """What `keras.metrics.get("ece" | "rmsce" | "mce")` calls: a CalibrationError of that norm."""

    norm = None

    def __new__(cls):
        return CalibrationError(norm=cls.norm, name=cls.__name__)


for _name, _norm in NAMED_NORMS.items():
    register_metric_name(_name, type(_name, (_Named,), {"norm": _norm}))
