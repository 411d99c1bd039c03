"""Per-element overlap terms: the pure functions behind the Dice and Tversky losses.

Sums over `axis` (None: every axis, one value for the whole batch), with y the target, p the
prediction and ε = keras.config.epsilon():

    I = Σ y·p     FP = Σ (1-y)·p     FN = Σ y·(1-p)
    D = c·I + α·FP + β·FN + ε             (Dice: c = 2, α = β = 1, so D = Σy + Σp + ε;
                                           Tversky: c = 1)
    loss = 1 - c·I / D = α·FP/D + β·FN/D + ε/D

The right-hand side is exact (D - c·I = α·FP + β·FN + ε), so the loss splits into

    false_positive = FP / D      (weight α)
    false_negative = FN / D      (weight β)
    empty          = ε / D       (weight 1: about ε/D ≈ 0 normally, 1 where y and p are both all 0)

FP = Σp - I and FN = Σy - I come from the same three sums Keras takes, so near a perfect prediction
they carry Keras' rounding (about 1e-7·Σp) and may come out a few ulps below 0.
"""

import keras
from keras import ops

from kerasloss import _checks
from kerasloss._pairs import aligned
from kerasloss.terms import Terms


def overlap_terms(y_true, y_pred, alpha, beta, intersection_weight, axis=None):
    """`false_positive` (when α ≠ 0), `false_negative` (when β ≠ 0) and `empty`, summed over `axis`.

    y_true and y_pred must have one shape after Keras' rank alignment (a trailing size-1 axis may be
    missing on either side, see `kerasloss._pairs`); integer predictions become float32 as in Keras.
    """
    y_true, y_pred = aligned(y_true, y_pred)
    _checks.check_same_shape(y_true, y_pred, "an overlap loss (Dice, Tversky)")
    # three sums of the inputs, as Keras takes them (FP = Σp - I, FN = Σy - I): the per-element
    # FP and FN would cost two more passes over the inputs and their gradient
    intersection = ops.sum(y_true * y_pred, axis=axis)
    sum_pred, sum_true = ops.sum(y_pred, axis=axis), ops.sum(y_true, axis=axis)
    false_positive = sum_pred - intersection
    false_negative = sum_true - intersection
    eps = keras.config.epsilon()
    # D = c·I + α·FP + β·FN + ε, taken from the sums as (c − α − β)·I + α·Σp + β·Σy + ε (for Dice
    # just Σp + Σy + ε), and divided by once: each division is a costly node of the backward graph
    denominator = _weighted_sum(
        [(intersection_weight - alpha - beta, intersection), (alpha, sum_pred), (beta, sum_true)]
    ) + eps
    inverse = 1.0 / denominator
    values = {}
    if alpha:
        values["false_positive"] = false_positive * inverse
    if beta:
        values["false_negative"] = false_negative * inverse
    values["empty"] = eps * inverse
    return Terms(values=values)


def _weighted_sum(pairs):
    """Σ weight·tensor over the (weight, tensor) pairs, skipping zero weights and unit factors."""
    total = None
    for weight, tensor in pairs:
        if weight:
            term = tensor if weight == 1.0 else weight * tensor
            total = term if total is None else total + term
    return total
