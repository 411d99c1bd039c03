"""Reduction of per-element loss values, with sample weights and Keras masks.

Semantics follow `keras.losses` (so a kerasloss loss and a Keras loss reduce identically):

    w        = sample_weight · mask_weight            (either may be absent)
    "sum"                    -> Σ w·l
    "sum_over_batch_size"    -> Σ w·l / n_valid        (n_valid = every element, or the unmasked ones)
    "mean"                   -> same as "sum_over_batch_size"
    "mean_with_sample_weight"-> Σ w·l / Σ w
    None / "none"            -> w·l, per element

The mean reductions are divided by the number of replicas under a `tf.distribute` strategy, as Keras
does, so that summing replica gradients gives the global mean. Two deliberate differences from
Keras: an empty batch reduces to a scalar 0 (Keras returns the empty tensor), and a weight of lower
rank than the values is broadcast over their trailing axes (Keras would broadcast it from the
right, against the wrong axis).
"""

from keras import ops

from kerasloss._keras_compat import scale_loss_for_distribution

MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def divide_no_nan(x, y):
    """x / y, and 0 where y == 0, in x's dtype (Keras' torch `ops.divide_no_nan` turns float64
    into float32: its `torch.where` takes the Python 0 as a float32)."""
    safe = ops.where(ops.equal(y, 0), ops.ones_like(y), y)
    return ops.where(ops.equal(y, 0), ops.zeros_like(x), x / safe)


def _static_size(x, axes=None):
    """The number of elements of `x` along `axes` (all when None), if known while tracing, else None."""
    shape = tuple(x.shape)
    sizes = shape if axes is None else [shape[a] for a in axes]
    if any(size is None for size in sizes):
        return None
    count = 1
    for size in sizes:
        count *= size
    return count


def mean_or_zero(x, axis=-1):
    """mean(x, axis), but 0 (not NaN) where `axis` is empty: rank-1 inputs average over the batch."""
    count = _static_size(x, [axis])
    if count is not None:
        # not ops.mean: Keras' torch mean computes float64 in float32
        summed = ops.sum(x, axis=axis)  # over nothing: 0
        return summed / count if count > 1 else summed
    return divide_no_nan(ops.sum(x, axis=axis), ops.cast(ops.shape(x)[axis], x.dtype))


def align_weights(weights, values, name="sample_weight"):
    """Give `weights` the rank of `values`: add trailing axes, or drop trailing size-1 axes.

    `name` says which argument `weights` came from, for the error message.
    """
    while len(weights.shape) < len(values.shape):
        weights = ops.expand_dims(weights, -1)
    while len(weights.shape) > len(values.shape) and weights.shape[-1] == 1:
        weights = ops.squeeze(weights, -1)
    mismatched = len(weights.shape) != len(values.shape) or any(
        w is not None and v is not None and w not in (1, v) for w, v in zip(weights.shape, values.shape)
    )
    if mismatched:
        raise ValueError(
            f"{name} shape {tuple(weights.shape)} does not broadcast to the per-example "
            f"loss shape {tuple(values.shape)}; expected one weight per example (or 1) on each axis"
        )
    return weights


def element_weights(values, sample_weight=None, mask=None):
    """The weight of every element of `values` (None when all weights are 1).

    `mask` is boolean (True = counts); `sample_weight` any real array broadcastable to `values`.
    """
    weights = None
    if sample_weight is not None:
        weights = align_weights(ops.cast(ops.convert_to_tensor(sample_weight), values.dtype), values)
    if mask is not None:
        float_mask = align_weights(ops.cast(mask, values.dtype), values, "the Keras mask of y_pred")
        weights = float_mask if weights is None else weights * float_mask
    return weights


class WeightedReduction:
    """Reduces every tensor shaped like `like` as `reduce_weighted` does, with one weight tensor and
    one divisor for all of them: a loss call reduces its components and diagnostics with one
    instance, so the per-element weights, the divisor and its zero test are computed once per call,
    not once per component (each is a node of the graph, and of its backward pass)."""

    def __init__(self, like, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
        like = ops.convert_to_tensor(like)
        self.reduction = reduction
        self.weights = element_weights(like, sample_weight, mask)
        self._like = like
        self._weight_sum = None
        # the divisor of the mean reductions: a Python count when known while tracing, else a
        # tensor kept with its zero test (a divisor of 0 gives 0, as `divide_no_nan`)
        self._count = self._divisor = self._divisor_is_zero = None
        if reduction in MEAN_REDUCTIONS:
            self._set_divisor(like, mask, reduction)

    def _set_divisor(self, like, mask, reduction):
        if reduction == "mean_with_sample_weight" and self.weights is not None:
            divisor = self.weight_sum()
        elif mask is not None:
            float_mask = align_weights(ops.cast(mask, like.dtype), like)
            divisor = ops.sum(ops.broadcast_to(float_mask, ops.shape(like)))
        else:
            self._count = _static_size(like)
            if self._count is not None:
                return
            divisor = ops.cast(ops.size(like), like.dtype)
        self._divisor_is_zero = ops.equal(divisor, 0)
        self._divisor = ops.where(self._divisor_is_zero, ops.ones_like(divisor), divisor)

    def weight_sum(self):
        """Σ w over the full shape (computed on first use)."""
        if self._weight_sum is None:
            self._weight_sum = ops.sum(ops.broadcast_to(self.weights, ops.shape(self._like)))
        return self._weight_sum

    def reduce(self, values):
        """`values` reduced (see the module docstring)."""
        values = ops.convert_to_tensor(values)
        if self.weights is not None:
            values = values * self.weights
        if self.reduction is None or self.reduction == "none":
            return values
        total = values if len(values.shape) == 0 else ops.sum(values)
        if self.reduction == "sum":
            return total
        if self._count is not None:
            # known at trace time: no division by 1, no zero test (a sum over nothing is 0)
            return scale_loss_for_distribution(total / self._count if self._count > 1 else total)
        mean = ops.where(self._divisor_is_zero, ops.zeros_like(total), total / self._divisor)
        return scale_loss_for_distribution(mean)

    def sum_and_weight(self, values):
        """(Σ w·v, Σ w) over every element of `values`, w = sample_weight · mask (1 when absent).

        The two sums of a weighted mean Σ w·v / Σ w that metrics accumulate across batches; never
        divided by the replica count (replicas' sums add up).
        """
        values = ops.convert_to_tensor(values)
        if self.weights is None:
            return ops.sum(values), ops.cast(ops.size(values), values.dtype)
        return ops.sum(values * self.weights), self.weight_sum()


def weighted_sum_and_weight(values, sample_weight=None, mask=None):
    """(Σ w·v, Σ w) of `values` alone (see `WeightedReduction.sum_and_weight`)."""
    return WeightedReduction(values, sample_weight, mask, reduction="sum").sum_and_weight(values)


def reduce_weighted(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Reduce per-element `values` as described in the module docstring."""
    return WeightedReduction(values, sample_weight, mask, reduction).reduce(values)
