"""Keras metrics that report a kerasloss loss's components, diagnostics and prediction entropy,
and `CalibrationError` (ECE, RMSCE, MCE; from `kerasloss.calibration`).

They take their values from the loss's own call on the same predictions (`kerasloss._call_results`):
no second pass, and weighted exactly as the loss (sample weights included, whether the metric was
passed to `metrics=` or `weighted_metrics=`). When no call of an equal loss on the same `y_pred`
is found (a metric built from another loss, a standalone `update_state`, JAX's training step), a
metric computes the same value itself from the arguments of its `update_state`.

Running means follow Keras' own loss tracker, so that they add up to the logged `loss`:

    loss/<component>   = Σ_batches n_b · component_b / Σ_batches n_b        (n_b = batch size)
    diagnostics/<name> = Σ w·d / Σ w over every element of every batch     (w = sample weight × mask)
    entropy            = Σ w·H / Σ w over every predicted example

Loss components declare their direction (`loss.component_directions`: lower is better, or higher
for a component of negative weight such as CosineSimilarity's), so `EarlyStopping("val_loss/
cross_entropy")` works in "auto" mode; a component that does not depend on the predictions
(KLDivergence's target_entropy), diagnostics and entropy have none: monitor them with `mode=`.
"""

import warnings

import keras
from keras import ops

from kerasloss import _call_results, _checks
from kerasloss._keras_compat import unscale_loss_for_distribution
from kerasloss.base import ComponentLoss, register
from kerasloss.calibration import CalibrationError
from kerasloss.entropy import KINDS, entropy_scale, prediction_entropy
from kerasloss.reduction import weighted_sum_and_weight


def _as_loss(loss):
    """`loss` (or its serialized config) as a kerasloss loss, else TypeError."""
    if isinstance(loss, dict):
        loss = keras.saving.deserialize_keras_object(loss)
    if not isinstance(loss, ComponentLoss):
        raise TypeError(f"loss must be a kerasloss loss, got {type(loss).__name__}")
    return loss


def _check_one_of(argument, value, names, loss):
    """`value` must be one of the loss's `names` (its components or diagnostics), else ValueError."""
    if value not in names:
        raise ValueError(f"{argument} must be one of {sorted(names)} for {loss.name}, got {value!r}")


class _RunningMean(keras.metrics.Metric):
    """State: a weighted total and the total weight; result = total / weight (0 when empty)."""

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total", aggregation="sum")
        self.weight = self.add_variable(shape=(), initializer="zeros", name="weight", aggregation="sum")

    def accumulate(self, weighted_total, weight):
        """Add a weighted total and its weight to the running mean."""
        self.total.assign_add(ops.cast(weighted_total, self.dtype))
        self.weight.assign_add(ops.cast(weight, self.dtype))

    def result(self):
        return ops.divide_no_nan(self.total, self.weight)


class _LossMean(_RunningMean):
    """A running mean of one value of a kerasloss loss's call.

    The loss is kept out of Keras' attribute tracking (`_loss`): it is configuration, restored
    from `get_config`, not state to save with the model's weights.
    """

    def __init__(self, loss, name, dtype):
        super().__init__(name=name, dtype=dtype)
        self._loss = (loss,)

    @property
    def loss(self):
        return self._loss[0]

    def update_state(self, y_true, y_pred, sample_weight=None):
        result = _call_results.find(self.loss, y_pred)
        if result is None or not self.found_in(result):
            result = self.loss.evaluate(y_true, y_pred, sample_weight)
        self.record(result, y_pred)

    def found_in(self, result):
        """Whether a loss call's `result` holds this metric's value."""
        return True

    def record(self, result, y_pred):
        """Accumulate this metric's value of one loss call (`_call_results.CallResult`)."""
        raise NotImplementedError

    def accumulate_batch(self, value, y_pred):
        """Add this replica's batch `value` (unscaled), weighted by the batch size."""
        batch = ops.cast(ops.shape(y_pred)[0], self.dtype)
        self.accumulate(unscale_loss_for_distribution(ops.cast(value, self.dtype)) * batch, batch)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "loss": keras.saving.serialize_keras_object(self.loss)}


@register
class LossComponent(_LossMean):
    """Epoch mean of one component of a kerasloss loss, named `loss/<component>`.

    Args:
        loss: the kerasloss loss whose component this is (an equal loss object is as good).
        component: one of `loss.component_weights` (RMSE: "squared_error").
    """

    def __init__(self, loss, component, name=None, dtype=None):
        loss = _as_loss(loss)
        _check_one_of("component", component, loss.component_weights, loss)
        super().__init__(loss, name or f"loss/{component}", dtype)
        self.component = component
        _call_results.request_by_products(self)
        direction = loss.component_directions[component]
        if direction is not None:  # absent: Keras' callbacks in mode="auto" ask for mode=
            self._direction = direction

    def found_in(self, result):
        return self.component in result.reduced

    def record(self, result, y_pred):
        self.accumulate_batch(result.reduced[self.component], y_pred)

    def get_config(self):
        return {**super().get_config(), "component": self.component}


@register
class LossValue(_LossMean):
    """Epoch mean of a kerasloss loss's own value, named `loss/<loss.name>`.

    Returned by `loss_components` for a non-additive loss (RootMeanSquaredError), whose value is not
    a weighted sum of its components: the mean of sqrt(batch squared error) is not
    sqrt(mean squared error). It is weighted like Keras' `loss`, so that
    `loss = loss/<loss.name> + regularization` per epoch.

    Formula:
        loss/<name> = Σ_batches n_b · loss_b / Σ_batches n_b      (n_b = batch size)
    """

    def __init__(self, loss, name=None, dtype=None):
        loss = _as_loss(loss)
        super().__init__(loss, name or f"loss/{loss.name}", dtype)
        self._direction = "down"

    def record(self, result, y_pred):
        # RMSE: the root of this replica's mean, as the loss returns it
        self.accumulate_batch(self.loss.total_from_components(result.reduced, result.total), y_pred)


@register
class LossDiagnostic(_LossMean):
    """Epoch mean of one diagnostic of a kerasloss loss, named `diagnostics/<diagnostic>`.

    Formula:
        diagnostics/<name> = Σ w·d / Σ w      (d per element, w = sample weight × mask)

    A diagnostic has no better direction (more outliers in Huber's linear zone is neither good
    nor bad by itself): `EarlyStopping`/`ModelCheckpoint` on it need `mode="min"` or `"max"`.

    Args:
        loss: the kerasloss loss that computes the diagnostic.
        diagnostic: one of `loss.diagnostic_names`.
    """

    def __init__(self, loss, diagnostic, name=None, dtype=None):
        loss = _as_loss(loss)
        _check_one_of("diagnostic", diagnostic, loss.diagnostic_names, loss)
        super().__init__(loss, name or f"diagnostics/{diagnostic}", dtype)
        self.diagnostic = diagnostic
        _call_results.request_by_products(self)

    def found_in(self, result):
        return self.diagnostic in result.diagnostics

    def record(self, result, y_pred):
        self.accumulate(*result.diagnostics[self.diagnostic])

    def get_config(self):
        return {**super().get_config(), "diagnostic": self.diagnostic}


@register
class PredictionEntropy(_RunningMean):
    """Epoch mean of `kerasloss.prediction_entropy` (nats; `normalize` divides by log K or log 2).

    Next to a kerasloss loss with the same `from_logits`, kind and `axis` (as
    `loss_components(loss, entropy=True)` builds it, or written by hand), it takes the entropy from
    the loss's own pass; otherwise it computes it from `y_pred`. It has no better direction:
    monitor it with `mode="min"` or `"max"`.

    `from_logits`, `kind`, `normalize`, `axis`: as in `kerasloss.prediction_entropy`.

    Args:
    """

    def __init__(self, from_logits=False, kind="categorical", normalize=False, axis=-1,
                 name="entropy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = _checks.check_bool("from_logits", from_logits)
        self.kind = _checks.check_choice("kind", kind, KINDS)
        self.normalize = _checks.check_bool("normalize", normalize)
        self.axis = _checks.check_int_or_none("axis", axis)
        self._warned = False
        _call_results.request_entropy(self)

    @property
    def entropy_settings(self):
        """(from_logits, kind, axis): the loss entropy this metric can take."""
        return (self.from_logits, self.kind, self.axis)

    def update_state(self, y_true, y_pred, sample_weight=None):
        sums = _call_results.find_entropy(self.entropy_settings, y_pred)
        if sums is None and _call_results.computed_by_a_loss(y_pred):
            self._warn_second_pass()
        if sums is None:
            entropy = prediction_entropy(y_pred, self.from_logits, self.kind, self.axis)
            if sample_weight is not None:
                sample_weight = ops.convert_to_tensor(sample_weight, entropy.dtype)
            sums = weighted_sum_and_weight(entropy, sample_weight)
        self._accumulate_entropy(sums, y_pred)

    def _warn_second_pass(self):
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"PredictionEntropy {self.name!r} (from_logits={self.from_logits}, kind="
                f"{self.kind!r}, axis={self.axis}) does not match the kerasloss loss computed on "
                "the same predictions, so it makes a second pass over them; build it with "
                "kerasloss.metrics.loss_components(loss, entropy=True) to take the loss's own",
                UserWarning,
                stacklevel=2,
            )

    def record(self, result, y_pred):
        """Accumulate the entropy of one loss call (`_call_results.CallResult` with entropy)."""
        self._accumulate_entropy(result.entropy, y_pred)

    def _accumulate_entropy(self, sums, y_pred):
        total, weight = sums
        if self.normalize:
            total = total / entropy_scale(self.kind, y_pred.shape[self.axis])
        self.accumulate(total, weight)

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "kind": self.kind,
            "normalize": self.normalize,
            "axis": self.axis,
        }


def loss_components(loss, entropy=False, normalize_entropy=False, diagnostics=False):
    """Metrics for `compile(metrics=...)`: one `LossComponent` per component of `loss`.

    Each takes its value from the call of `loss` (or of an equal loss) on the same predictions.
    A non-additive loss (RootMeanSquaredError) also gets a `LossValue` (`loss/<loss.name>`), the
    epoch mean of the loss itself, so that the regularization term can be told apart from it.

    Args:
        loss: a kerasloss loss, equal to the one passed to `compile(loss=...)` (for a dict or list
            of losses, call it once per output: `metrics={"a": loss_components(loss_a), ...}`).
        entropy: also return a `PredictionEntropy` fed from the loss's own softmax/sigmoid pass
            (losses with `entropy_settings`: the cross-entropies and the focal losses).
        normalize_entropy: that entropy divided by log K (or log 2).
        diagnostics: also return a `LossDiagnostic` per name in `loss.diagnostic_names`.

    Example:
    >>> loss = SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    >>> model.compile("adam", loss=loss, metrics=loss_components(loss, entropy=True))
    """
    if not isinstance(loss, ComponentLoss):
        raise TypeError(
            f"loss must be a kerasloss loss (e.g. kerasloss.SparseCategoricalCrossentropy), "
            f"got {type(loss).__name__}"
        )
    metrics = [LossComponent(loss, name) for name in loss.component_weights]
    if not loss.additive:
        metrics.append(LossValue(loss))
    if diagnostics:
        metrics += [LossDiagnostic(loss, name) for name in loss.diagnostic_names]
    if entropy:
        settings = loss.entropy_settings
        if settings is None:
            raise ValueError(_no_entropy_message(loss))
        from_logits, kind, axis = settings
        metrics.append(PredictionEntropy(from_logits, kind, normalize_entropy, axis))
    return metrics

def _no_entropy_message(loss):
    parts = getattr(loss, "parts", None)
    if parts is None:
        return (f"entropy=True needs a loss that computes the prediction entropy in its pass (the "
                f"cross-entropies, focal, generalized cross-entropy, KL divergence), got {loss.name} "
                f"({type(loss).__name__}); use kerasloss.metrics.PredictionEntropy(from_logits=...) instead")
    settings = {name: part.entropy_settings for name, (part, _) in parts.items()}
    return (f"entropy=True needs a part of {loss.name} that computes the prediction entropy, and "
            f"those that do must agree on (from_logits, kind, axis); got {settings}")


__all__ = ["CalibrationError", "LossComponent", "LossDiagnostic", "LossValue", "PredictionEntropy", "loss_components"]
