"""Keras metrics that report a kerasloss loss's components and the prediction entropy per epoch.

They are fed by the loss itself: `loss_components(loss)` attaches each metric to the loss, whose
call updates the metric's state from the values it has just computed (no second pass over the
predictions, and the components are weighted exactly as the loss, sample weights included, whether
the metric was passed to `metrics=` or `weighted_metrics=`). A metric that is not attached (for
instance after `keras.models.load_model`, which rebuilds loss and metrics separately) computes the
same value itself in `update_state`: slower, never wrong.

Running means follow Keras' own loss tracker, so that they add up to the logged `loss`:

    loss/<component> = Σ_batches n_b · component_b / Σ_batches n_b      (n_b = batch size)
    entropy          = Σ w·H / Σ w over every predicted example          (w = sample weight × mask)
"""

import keras
from keras import ops

from kerasloss import _checks
from kerasloss._keras_compat import unscale_loss_for_distribution
from kerasloss.base import ComponentLoss
from kerasloss.entropy import KINDS, entropy_scale, prediction_entropy
from kerasloss.losses import BinaryCrossentropy, register
from kerasloss.reduction import align_weights


def _as_loss(loss):
    """`loss` (or its serialized config) as a kerasloss loss, else TypeError."""
    if isinstance(loss, dict):
        loss = keras.saving.deserialize_keras_object(loss)
    if not isinstance(loss, ComponentLoss):
        raise TypeError(f"loss must be a kerasloss loss, got {type(loss).__name__}")
    return loss


class _RunningMean(keras.metrics.Metric):
    """State: a weighted total and the total weight; result = total / weight (0 when empty)."""

    wants_entropy = False

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total", aggregation="sum")
        self.weight = self.add_variable(shape=(), initializer="zeros", name="weight", aggregation="sum")
        self._fed_by_loss = False

    def accumulate(self, weighted_total, weight):
        """Add a weighted total and its weight to the running mean."""
        self.total.assign_add(ops.cast(weighted_total, self.dtype))
        self.weight.assign_add(ops.cast(weight, self.dtype))

    def feed_from(self, loss):
        """Let `loss` update this metric from each of its calls; `update_state` then does nothing."""
        self._fed_by_loss = True
        loss.attach_metric(self)
        return self

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self._fed_by_loss:
            self._compute_and_accumulate(y_true, y_pred, sample_weight)

    def result(self):
        return ops.divide_no_nan(self.total, self.weight)


class _LossMean(_RunningMean):
    """A running mean of one value per batch of a kerasloss loss, weighted by batch size."""

    def __init__(self, loss, name, dtype):
        super().__init__(name=name, dtype=dtype)
        self.loss = loss

    def accumulate_batch(self, value, y_pred):
        """Add this replica's batch `value` (unscaled), weighted by the batch size."""
        batch = ops.cast(ops.shape(y_pred)[0], self.dtype)
        self.accumulate(unscale_loss_for_distribution(value) * batch, batch)

    def _compute_and_accumulate(self, y_true, y_pred, sample_weight):
        self.record(self.loss.components(y_true, y_pred, sample_weight), None, None, y_pred)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "loss": keras.saving.serialize_keras_object(self.loss)}


@register
class LossComponent(_LossMean):
    """Epoch mean of one component of a kerasloss loss, named `loss/<component>`.

    Args:
        loss: the kerasloss loss whose component this is.
        component: one of `loss.component_weights` (RMSE: "squared_error").
    """

    def __init__(self, loss, component, name=None, dtype=None):
        loss = _as_loss(loss)
        if component not in loss.component_weights:
            raise ValueError(
                f"component must be one of {sorted(loss.component_weights)} for {loss.name}, "
                f"got {component!r}"
            )
        super().__init__(loss, name or f"loss/{component}", dtype)
        self.component = component

    def record(self, reduced, entropy, weights, y_pred):
        self.accumulate_batch(reduced[self.component], y_pred)

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

    def record(self, reduced, entropy, weights, y_pred):
        total = self.loss.total_from_components(reduced)  # RMSE: the root of this replica's mean
        self.accumulate_batch(ops.cast(total, self.dtype), y_pred)


@register
class PredictionEntropy(_RunningMean):
    """Epoch mean of `kerasloss.prediction_entropy` (nats; `normalize` divides by log K or log 2).

    Args:
        from_logits, kind, normalize, axis: as in `kerasloss.prediction_entropy`.
    """

    wants_entropy = True

    def __init__(self, from_logits=False, kind="categorical", normalize=False, axis=-1,
                 name="entropy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.kind = _checks.check_choice("kind", kind, KINDS)
        self.normalize = bool(normalize)
        self.axis = axis

    def _per_example(self, y_pred):
        return prediction_entropy(y_pred, self.from_logits, self.kind, self.axis, self.normalize)

    def record(self, reduced, entropy, weights, y_pred):
        if entropy is None:
            entropy = self._per_example(y_pred)
        elif self.normalize:
            entropy = entropy / entropy_scale(self.kind, y_pred.shape[self.axis])
        entropy = ops.cast(entropy, self.dtype)
        if weights is None:
            self.accumulate(ops.sum(entropy), ops.size(entropy))
        else:
            weights = ops.broadcast_to(ops.cast(weights, self.dtype), ops.shape(entropy))
            self.accumulate(ops.sum(entropy * weights), ops.sum(weights))

    def _compute_and_accumulate(self, y_true, y_pred, sample_weight):
        entropy = self._per_example(y_pred)
        weights = None
        if sample_weight is not None:
            weights = align_weights(ops.convert_to_tensor(sample_weight, self.dtype), entropy)
        self.record(None, entropy, weights, y_pred)

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "kind": self.kind,
            "normalize": self.normalize,
            "axis": self.axis,
        }


def loss_components(loss, entropy=False, normalize_entropy=False):
    """Metrics for `compile(metrics=...)`: one `LossComponent` per component of `loss`, fed by it.

    A non-additive loss (RootMeanSquaredError) also gets a `LossValue` (`loss/<loss.name>`), the
    epoch mean of the loss itself, so that the regularization term can be told apart from it.

    Args:
        loss: a kerasloss loss (the same object passed to `compile(loss=...)`).
        entropy: also return a `PredictionEntropy` fed from the loss's own softmax/sigmoid pass
            (classification losses only).
        normalize_entropy: that entropy divided by log K (or log 2).

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
    if entropy:
        if not hasattr(loss, "from_logits"):
            raise ValueError(f"entropy=True needs a classification loss, got {loss.name}")
        kind = "binary" if isinstance(loss, BinaryCrossentropy) else "categorical"
        metrics.append(PredictionEntropy(loss.from_logits, kind, normalize_entropy, loss.axis))
    return [metric.feed_from(loss) for metric in metrics]
