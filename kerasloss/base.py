"""`ComponentLoss`: the base of every kerasloss loss.

A ComponentLoss computes named per-element terms once, reduces each exactly as Keras reduces a loss
(`kerasloss.reduction`), and returns their weighted sum:

    loss(y, ŷ, w) = Σ_k component_weights[k] · components(y, ŷ, w)[k]

It differs from `keras.losses.Loss.__call__` in three ways: integer labels are never cast to float,
16-bit predictions are computed in float32, and each call leaves what it computed (components,
entropy, diagnostics) for the kerasloss metrics updating on the same `y_pred`
(`kerasloss._call_results`), so logging them costs no second pass over the predictions.
"""

import numbers

import keras
from keras import ops

from kerasloss import _call_results, _checks
from kerasloss._keras_compat import (
    get_keras_mask,
    scale_loss_for_distribution,
    unscale_loss_for_distribution,
)
from kerasloss.reduction import MEAN_REDUCTIONS, WeightedReduction


class ComponentLoss(keras.losses.Loss):
    """Base class: subclasses define `component_weights` and `terms` (or override `evaluate`).

    Args:
        name: the loss name (also the name scope).
        reduction: "sum_over_batch_size" (default), "sum", "mean", "mean_with_sample_weight", or
            None / "none" for per-element values. See `kerasloss.reduction` for each formula.
        dtype: the dtype of the returned loss and components; math runs in float32 (float64 for
            float64 inputs), and by default (None) the result keeps that compute dtype.
    """

    additive = True
    # the names of the `Terms.diagnostics` that `terms` returns
    diagnostic_names = ()
    # "categorical" or "binary" for losses that can give the prediction entropy from their pass
    entropy_kind = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        _checks.check_reduction(reduction)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._output_dtype = None if dtype is None else self.dtype

    @property
    def entropy_settings(self):
        """(from_logits, kind, axis) of the entropy `terms(..., with_entropy=True)` gives, or None."""
        if self.entropy_kind is None:
            return None
        return (bool(getattr(self, "from_logits", False)), self.entropy_kind, getattr(self, "axis", -1))

    @property
    def component_weights(self):
        """Component name -> the weight it enters the total with (only non-zero weights)."""
        raise NotImplementedError

    def terms(self, y_true, y_pred, with_entropy=False):
        """Per-element `Terms` of this loss (see `kerasloss.terms`)."""
        raise NotImplementedError

    def combine(self, components):
        """The total from reduced (or per-element) components: Σ weight·component."""
        total = None
        for name, weight in self.component_weights.items():
            term = components[name] if weight == 1.0 else components[name] * weight
            total = term if total is None else total + term
        return total

    def evaluate(self, y_true, y_pred, sample_weight=None, with_entropy=False):
        """One pass: a `CallResult` (reduced components, entropy and diagnostic sums)."""
        mask = get_keras_mask(y_pred)
        terms = self.terms(y_true, y_pred, with_entropy=with_entropy)
        if mask is not None:
            mask = ops.cast(mask, "bool")
            mask = mask if terms.mask is None else ops.logical_and(mask, terms.mask)
        else:
            mask = terms.mask
        reductions = {}  # one WeightedReduction per shape: weights and divisor computed once

        def reduction_of(value):
            shape = tuple(value.shape)
            if shape not in reductions:
                reductions[shape] = WeightedReduction(value, sample_weight, mask, self.reduction)
            return reductions[shape]

        reduced = {name: reduction_of(value).reduce(value) for name, value in terms.values.items()}
        entropy = None
        if terms.entropy is not None:
            entropy = reduction_of(terms.entropy).sum_and_weight(terms.entropy)
        diagnostics = {
            name: reduction_of(value).sum_and_weight(ops.stop_gradient(value))
            for name, value in (terms.diagnostics or {}).items()
        }
        settings = self.entropy_settings if entropy is not None else None
        return _call_results.CallResult(reduced, entropy, diagnostics, settings)

    def components(self, y_true, y_pred, sample_weight=None):
        """Component name -> that term reduced exactly as the loss is (not multiplied by its weight)."""
        with keras.name_scope(self.name):
            reduced = self.evaluate(y_true, y_pred, sample_weight).reduced
            return {name: self._as_output(value) for name, value in reduced.items()}

    def __call__(self, y_true, y_pred, sample_weight=None):
        with keras.name_scope(self.name):
            wants_entropy = _call_results.entropy_requested(self.entropy_settings)
            result = self.evaluate(y_true, y_pred, sample_weight, wants_entropy)
            _call_results.leave(self, y_pred, result)
            return self._as_output(self.total_from_components(result.reduced))

    def _as_output(self, value):
        return value if self._output_dtype is None else ops.cast(value, self._output_dtype)

    def total_from_components(self, reduced):
        """The loss value `__call__` returns, from the reduced components of the same call."""
        if self.additive or self.reduction not in MEAN_REDUCTIONS:
            return self.combine(reduced)
        # Mean reductions come divided by the replica count (tf.distribute). A non-additive total
        # (RMSE's root) must be taken of this replica's own mean and only then divided, or Keras'
        # unscaled logging and the summed replica gradients would be off by sqrt(replicas).
        unscaled = {name: unscale_loss_for_distribution(value) for name, value in reduced.items()}
        return scale_loss_for_distribution(self.combine(unscaled))

    def call(self, y_true, y_pred):
        """Per-element total (Keras' `Loss.call` contract), before weights and reduction."""
        return self.combine(self.terms(y_true, y_pred).values)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self._output_dtype}

    def __add__(self, other):
        if not isinstance(other, ComponentLoss):
            return NotImplemented
        from kerasloss.composite import CompositeLoss

        return CompositeLoss.of_sum(self, other)

    def __radd__(self, other):
        # sum([a, b, c]) starts from 0
        if isinstance(other, numbers.Number) and other == 0:
            return self
        return NotImplemented

    def __mul__(self, weight):
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            return NotImplemented
        from kerasloss.composite import CompositeLoss

        return CompositeLoss.of_scaled(self, float(weight))

    __rmul__ = __mul__
