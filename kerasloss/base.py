"""What a kerasloss loss is, and how losses combine.

`ComponentLoss` computes named per-element terms once (`Terms`), reduces each exactly as Keras
reduces a loss (`kerasloss.reduction`), and returns their weighted sum:

    loss(y, ŷ, w) = Σ_k component_weights[k] · components(y, ŷ, w)[k]

It differs from `keras.losses.Loss.__call__` in three ways: integer labels are never cast to float,
16-bit predictions are computed in float32, and each call leaves what it computed (components,
entropy, diagnostics) for the kerasloss metrics updating on the same `y_pred`
(`kerasloss._call_results`), so logging them costs no second pass over the predictions.

`SingleTermLoss` is the base of the losses with one component and no argument of their own;
`CompositeLoss` is loss algebra's result (`a + b`, `0.1 * a`). It lives here, not in a module of
its own, because `ComponentLoss.__add__` builds it and it subclasses `ComponentLoss`: two modules
would import each other. `register` makes a class loadable from `.keras` files as "kerasloss>Name".
"""

import numbers
from typing import NamedTuple, Optional

import keras
from keras import ops

from kerasloss import _call_results, _checks
from kerasloss._keras_compat import (
    get_keras_mask,
    scale_loss_for_distribution,
    unscale_loss_for_distribution,
)
from kerasloss.reduction import MEAN_REDUCTIONS, WeightedReduction

register = keras.saving.register_keras_serializable(package="kerasloss")


class Terms(NamedTuple):
    """Per-element loss terms of one call.

    values:      component name -> per-element tensor (before sample weights, masks and reduction).
    total:       the per-element Σ weight·value when cheaper than its components (pinball's
                 relu(e) − (1 − τ)·e): reduced and differentiated whole; the values (then functions
                 of no arguments may stand for them) computed only for whoever reads them.
    mask:        boolean tensor of the same shape, False where an element is ignored, or None.
    entropy:     per-element prediction entropy when it was asked for and is free to compute, or None.
    diagnostics: diagnostic name -> per-element tensor (same shape as the values): quantities of the
                 same pass that explain training but are not part of the total (e.g. Huber's
                 `linear_fraction`, 1.0 where the error is in the linear zone). Reduced as weighted
                 means (sample weights and mask, never divided by replicas), logged as
                 `diagnostics/<name>`. Must cost no more than an element-wise op on values the
                 loss computes anyway; never differentiated (wrap in `ops.stop_gradient`). A costlier
                 one may be a function of no arguments, called only when the diagnostic is wanted.
    """

    values: dict
    mask: Optional[object] = None
    entropy: Optional[object] = None
    diagnostics: Optional[dict] = None
    total: Optional[object] = None


class Ratio(NamedTuple):
    """A `Terms.diagnostics` value that is a ratio of two sums, Σ w·numerator / Σ w·denominator.

    For a mean over some of the elements only, e.g. the mean distance of the similar pairs
    (numerator y·d, denominator y). Both tensors are shaped like the values; a loss reduces them
    to the pair (Σ w·numerator, Σ w·denominator) the metrics accumulate, never divided per batch.
    """

    numerator: object
    denominator: object


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

    @property
    def component_directions(self):
        """Component name -> "down" (lower is better), "up" (higher is better) or None (no better
        direction: it does not depend on the predictions). By the sign of its weight: a component
        entering with a negative weight (CosineSimilarity's similarity) improves as it rises.
        Keras' EarlyStopping, ModelCheckpoint and ReduceLROnPlateau read it in mode="auto"
        (`LossComponent._direction`); None makes them ask for `mode=`."""
        return {name: "up" if weight < 0 else "down" for name, weight in self.component_weights.items()}

    def terms(self, y_true, y_pred, with_entropy=False):
        """Per-element `Terms` of this loss (see `kerasloss.base`)."""
        raise NotImplementedError

    def combine(self, components):
        """The total from reduced (or per-element) components: Σ weight·component."""
        total = None
        for name, weight in self.component_weights.items():
            term = components[name] if weight == 1.0 else components[name] * weight
            total = term if total is None else total + term
        return total

    def evaluate(self, y_true, y_pred, sample_weight=None, with_entropy=False, by_products=True):
        """One pass: a `CallResult`: the total, entropy, and with `by_products` the diagnostic sums
        and reduced components (without: the components only when they make the total). A call
        asks for the by-products only while a `LossComponent` or `LossDiagnostic` of it lives."""
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

        components = terms.values if by_products or terms.total is None else {}
        components = {name: value() if callable(value) else value for name, value in components.items()}
        reduced = {name: reduction_of(value).reduce(value) for name, value in components.items()}
        entropy = None
        if terms.entropy is not None:
            entropy = reduction_of(terms.entropy).sum_and_weight(terms.entropy)
        def weighted_sum(value):
            return reduction_of(value).sum_and_weight(ops.stop_gradient(value))[0]

        def diagnostic_sums(value):
            value = value() if callable(value) else value
            if isinstance(value, Ratio):
                return weighted_sum(value.numerator), weighted_sum(value.denominator)
            return reduction_of(value).sum_and_weight(ops.stop_gradient(value))

        wanted = (terms.diagnostics or {}) if by_products else {}
        diagnostics = {name: diagnostic_sums(value) for name, value in wanted.items()}
        settings = self.entropy_settings if entropy is not None else None
        total = None if terms.total is None else reduction_of(terms.total).reduce(terms.total)
        return _call_results.CallResult(reduced, entropy, diagnostics, settings, total)

    def components(self, y_true, y_pred, sample_weight=None):
        """Component name -> that term reduced exactly as the loss is (not multiplied by its weight)."""
        with keras.name_scope(self.name):
            reduced = self.evaluate(y_true, y_pred, sample_weight).reduced
            return {name: self._as_output(value) for name, value in reduced.items()}

    def __call__(self, y_true, y_pred, sample_weight=None):
        with keras.name_scope(self.name):
            wants_entropy = _call_results.entropy_requested(self.entropy_settings)
            wants_by_products = _call_results.by_products_requested(self)
            result = self.evaluate(y_true, y_pred, sample_weight, wants_entropy, wants_by_products)
            _call_results.leave(self, y_pred, result)
            return self._as_output(self.total_from_components(result.reduced, result.total))

    def _as_output(self, value):
        return value if self._output_dtype is None else ops.cast(value, self._output_dtype)

    def total_from_components(self, reduced, total=None):
        """The loss value `__call__` returns, from the reduced components of the same call, or
        their `total` when the call reduced it whole (`CallResult.total`, additive losses)."""
        if total is not None:
            return total
        if self.additive or self.reduction not in MEAN_REDUCTIONS:
            return self.combine(reduced)
        # Mean reductions come divided by the replica count (tf.distribute). A non-additive total
        # (RMSE's root) must be taken of this replica's own mean and only then divided, or Keras'
        # unscaled logging and the summed replica gradients would be off by sqrt(replicas).
        unscaled = {name: unscale_loss_for_distribution(value) for name, value in reduced.items()}
        return scale_loss_for_distribution(self.combine(unscaled))

    def call(self, y_true, y_pred):
        """Per-element total (Keras' `Loss.call` contract), before weights and reduction."""
        return self.elementwise_total(self.terms(y_true, y_pred))

    def elementwise_total(self, terms):
        """The per-element total of `terms`: `terms.total`, else Σ weight·value."""
        return self.combine(terms.values) if terms.total is None else terms.total

    def get_config(self):
        config = {"name": self.name, "reduction": self.reduction}
        if self._output_dtype is not None:  # as Keras: no "dtype" entry unless one was given
            config["dtype"] = self._output_dtype
        return config

    def __add__(self, other):
        if not isinstance(other, ComponentLoss):
            return NotImplemented
        return CompositeLoss.of_sum(self, other)

    def __radd__(self, other):
        # sum([a, b, c]) starts from 0
        if isinstance(other, numbers.Number) and other == 0:
            return self
        return NotImplemented

    def __mul__(self, weight):
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            return NotImplemented
        return CompositeLoss.of_scaled(self, float(weight))

    __rmul__ = __mul__


class SingleTermLoss(ComponentLoss):
    """One component, computed by the pure function `terms_function(y_true, y_pred) -> Terms`.

    The component is named after the function: `hinge_terms` computes "hinge". Subclasses pass the
    function to `__init__` and, when it returns diagnostics, set `diagnostic_names`.
    """

    def __init__(self, terms_function, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.terms_function = terms_function
        self.term = terms_function.__name__.removesuffix("_terms")

    @property
    def component_weights(self):
        return {self.term: 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return self.terms_function(y_true, y_pred)


def _named_parts(losses, weights):
    """Normalise (losses, weights) to two dicts with the same keys, or raise."""
    if isinstance(losses, dict):
        if not losses:
            raise ValueError("losses must name at least one loss, got an empty dict")
        weights = {name: 1.0 for name in losses} if weights is None else weights
        if not isinstance(weights, dict) or set(weights) != set(losses):
            raise ValueError(
                f"weights must be a dict with the same keys as losses {sorted(losses)}, got {weights!r}"
            )
        names = list(losses)
        parts, weights = [losses[n] for n in names], [weights[n] for n in names]
    elif isinstance(losses, (list, tuple)):
        if not losses:
            raise ValueError("losses must hold at least one loss, got an empty list")
        parts = list(losses)
        weights = [1.0] * len(parts) if weights is None else weights
        if not isinstance(weights, (list, tuple)) or len(weights) != len(parts):
            raise ValueError(
                f"weights must be a list of {len(parts)} numbers (one per loss), got {weights!r}"
            )
        names = _unique_names([getattr(part, "name", "loss") for part in parts])
    else:
        raise TypeError(f"losses must be a dict name -> loss or a list of losses, got {losses!r}")
    for name, part in zip(names, parts):
        if not isinstance(part, ComponentLoss):
            raise TypeError(
                f"losses[{name!r}] must be a kerasloss loss (ComponentLoss), got {type(part).__name__}"
            )
    weights = [_checks.check_non_negative(f"weights[{n!r}]", w) for n, w in zip(names, weights)]
    return dict(zip(names, parts)), dict(zip(names, weights))


def _unique_names(names):
    """Each name, suffixed _1, _2, ... when taken (also by an earlier suffixed name: a, a_1, a)."""
    taken, unique = set(), []
    for name in names:
        candidate, count = name, 0
        while candidate in taken:
            count += 1
            candidate = f"{name}_{count}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def _as_weighted_parts(loss, scale=1.0):
    if isinstance(loss, CompositeLoss):
        return [(name, part, weight * scale) for name, (part, weight) in loss.parts.items()]
    return [(loss.name, loss, scale)]


@register
class CompositeLoss(ComponentLoss):
    """Σ weight_i · loss_i, with one component per part (see the module docstring).

    Args:
        losses: a dict name -> kerasloss loss, or a list of them (named by each loss's name).
        weights: a dict with the same keys (for a dict), or a list of the same length; default 1.
        name: the composite's name.

    All parts must share one reduction; it is the composite's reduction.

    Example:
    >>> mse, mae = MeanSquaredError(), MeanAbsoluteError()
    >>> (mse + 0.1 * mae).component_weights
    {'mean_squared_error': 1.0, 'mean_absolute_error': 0.1}
    """

    def __init__(self, losses, weights=None, name="composite_loss", dtype=None):
        parts, part_weights = _named_parts(losses, weights)
        reductions = {part.reduction for part in parts.values()}
        if len(reductions) != 1:
            raise ValueError(
                f"losses must share one reduction, got {sorted(map(str, reductions))}"
            )
        super().__init__(name=name, reduction=reductions.pop(), dtype=dtype)
        self.parts = {name: (parts[name], part_weights[name]) for name in parts}

    @classmethod
    def of_sum(cls, a, b):
        weighted = _as_weighted_parts(a) + _as_weighted_parts(b)
        return cls._from_weighted(weighted)

    @classmethod
    def of_scaled(cls, loss, scale):
        return cls._from_weighted(_as_weighted_parts(loss, scale))

    @classmethod
    def _from_weighted(cls, weighted):
        names = _unique_names([name for name, _, _ in weighted])
        return cls(
            {name: part for name, (_, part, _) in zip(names, weighted)},
            {name: weight for name, (_, _, weight) in zip(names, weighted)},
        )

    @property
    def component_weights(self):
        return {name: weight for name, (_, weight) in self.parts.items()}

    @property
    def diagnostic_names(self):
        """Each part's diagnostics, named `<part>/<diagnostic>`."""
        return tuple(
            f"{name}/{diagnostic}"
            for name, (part, _) in self.parts.items()
            for diagnostic in part.diagnostic_names
        )

    @property
    def entropy_settings(self):
        """The (from_logits, kind, axis) of the entropy its parts give, when those that give one
        agree (e.g. a cross-entropy plus a regularizer); None otherwise."""
        found = {part.entropy_settings for part, _ in self.parts.values()} - {None}
        return found.pop() if len(found) == 1 else None

    def evaluate(self, y_true, y_pred, sample_weight=None, with_entropy=False, by_products=True):
        reduced, diagnostics, entropy = {}, {}, None
        settings = self.entropy_settings if with_entropy else None
        for name, (part, _) in self.parts.items():
            # the entropy from the first part that gives it: one pass, not one per part
            wanted = settings is not None and entropy is None and part.entropy_settings == settings
            result = part.evaluate(y_true, y_pred, sample_weight, wanted, by_products)
            reduced[name] = part.total_from_components(result.reduced, result.total)
            diagnostics.update({f"{name}/{d}": sums for d, sums in result.diagnostics.items()})
            entropy = result.entropy if wanted else entropy
        settings = settings if entropy is not None else None
        return _call_results.CallResult(reduced, entropy, diagnostics, settings)

    def call(self, y_true, y_pred):
        return self.combine({name: part.call(y_true, y_pred) for name, (part, _) in self.parts.items()})

    def get_config(self):
        config = {
            "name": self.name,
            "losses": {n: keras.saving.serialize_keras_object(p) for n, (p, _) in self.parts.items()},
            "weights": self.component_weights,
        }
        if self._output_dtype is not None:  # as ComponentLoss: only when one was given
            config["dtype"] = self._output_dtype
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["losses"] = {
            name: keras.saving.deserialize_keras_object(part) for name, part in config["losses"].items()
        }
        return cls(**config)
