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
    """The number of elements of `x` along `axes` (all axes when None) if known at trace time, else None."""
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
    if count:
        return ops.mean(x, axis=axis)
    if count == 0:
        return ops.sum(x, axis=axis)  # a sum over nothing: 0
    return divide_no_nan(ops.sum(x, axis=axis), ops.cast(ops.shape(x)[axis], x.dtype))


def align_weights(weights, values, name="sample_weight"):
    """Give `weights` the rank of `values`: add trailing axes, or drop trailing size-1 axes.

    `name` says which argument `weights` came from, for the error message.
    """
    while len(weights.shape) < len(values.shape):
        weights = ops.expand_dims(weights, -1)
    while len(weights.shape) > len(values.shape) and weights.shape[-1] == 1:
        weights = ops.squeeze(weights, -1)
    if len(weights.shape) != len(values.shape):
        raise ValueError(
            f"{name} shape {tuple(weights.shape)} does not broadcast to the per-example "
            f"loss shape {tuple(values.shape)}"
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


def weighted_sum_and_weight(values, sample_weight=None, mask=None):
    """(Σ w·v, Σ w) over every element of `values`, w = sample_weight · mask (1 when absent).

    The two sums of a weighted mean Σ w·v / Σ w that metrics accumulate across batches; never
    divided by the replica count (replicas' sums add up).
    """
    weights = element_weights(values, sample_weight, mask)
    if weights is None:
        return ops.sum(values), ops.cast(ops.size(values), values.dtype)
    weights = ops.broadcast_to(weights, ops.shape(values))
    return ops.sum(values * weights), ops.sum(weights)


def reduce_weighted(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Reduce per-element `values` as described in the module docstring."""
    values = ops.convert_to_tensor(values)
    weights = element_weights(values, sample_weight, mask)
    if weights is not None:
        values = values * weights
    if reduction is None or reduction == "none":
        return values
    total = values if len(values.shape) == 0 else ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = ops.sum(ops.broadcast_to(weights, ops.shape(values)))
    elif mask is not None:
        divisor = ops.sum(ops.broadcast_to(align_weights(ops.cast(mask, values.dtype), values),
                                           ops.shape(values)))
    else:
        count = _static_size(values)
        if count is not None:
            # known at trace time: no division by 1, no zero test (a sum over nothing is 0)
            return scale_loss_for_distribution(total / count if count > 1 else total)
        divisor = ops.cast(ops.size(values), values.dtype)
    return scale_loss_for_distribution(divide_no_nan(total, divisor))
