"""Per-element divergence terms: the pure functions behind KLDivergence and Poisson.

KL divergence, with t = clip(y_true, ε, 1) and q = clip(y_pred, ε, 1), summed over the last axis:

    cross_entropy   = −Σ t·log q
    target_entropy  = −Σ t·log t
    KL(t‖q)         = cross_entropy − target_entropy = Σ t·log(t/q)
    entropy         = −Σ p·log p of the predictions, p = y_pred normalised and clipped to [ε, 1−ε]
                      (only when asked: `kerasloss.entropy.prediction_entropy`'s probability path)

Poisson, with rate λ = y_pred and count k = y_true, averaged over the last axis:

    predicted_rate  = mean λ
    log_term        = mean −k·log(λ + ε)
    loss            = predicted_rate + log_term = mean λ − k·log(λ + ε)

The classes below them, `KLDivergence` and `Poisson`, are drop-in equal to their `keras.losses`
namesakes. Arguments shared by every class (see `ComponentLoss`): `reduction`, `name`, `dtype`.
"""

import keras
from keras import ops

from kerasloss._sums import row_sum
from kerasloss.base import ComponentLoss, Terms, register
from kerasloss.entropy import prediction_entropy
from kerasloss.losses._inputs import aligned
from kerasloss.reduction import mean_or_zero


def kl_divergence_terms(y_true, y_pred, with_entropy=False):
    y_true, y_pred = aligned(y_true, y_pred)
    eps = keras.config.epsilon()
    target = ops.clip(y_true, eps, 1.0)
    log_q = ops.log(ops.clip(y_pred, eps, 1.0))
    return Terms(
        values={
            "cross_entropy": -row_sum(target * log_q),
            "target_entropy": -row_sum(target * ops.log(target)),
        },
        entropy=prediction_entropy(y_pred) if with_entropy else None,
    )


def poisson_terms(y_true, y_pred):
    y_true, y_pred = aligned(y_true, y_pred)
    return Terms(
        values={
            "predicted_rate": mean_or_zero(y_pred),
            "log_term": -mean_or_zero(y_true * ops.log(y_pred + keras.config.epsilon())),
        }
    )


@register
class KLDivergence(ComponentLoss):
    """Kullback–Leibler divergence KL(y_true ‖ y_pred), split into cross-entropy and target entropy.

    Formula (t = clip(y_true, ε, 1), q = clip(y_pred, ε, 1), sums over the last axis):
        cross_entropy  = −Σ t·log q
        target_entropy = −Σ t·log t
        loss = cross_entropy − target_entropy = Σ t·log(t/q)     (component weight −1)
        entropy        = −Σ p·log p, p = y_pred normalised      (when an entropy metric asks)

    Only cross_entropy depends on y_pred, so the gradient is Keras' exactly; the total is a
    difference of the two, exact to float rounding of the cross-entropy (not of the divergence).

    Example:
    >>> KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])   # ½·log 2 + ½·log ⅔ = 0.14384
    """

    entropy_kind = "categorical"

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    @property
    def component_weights(self):
        return {"cross_entropy": 1.0, "target_entropy": -1.0}

    @property
    def component_directions(self):
        # the target's entropy does not depend on the model: no value of it is better
        return {"cross_entropy": "down", "target_entropy": None}

    def terms(self, y_true, y_pred, with_entropy=False):
        return kl_divergence_terms(y_true, y_pred, with_entropy)


@register
class Poisson(ComponentLoss):
    """Poisson negative log-likelihood (without log k!) of counts y_true under rates y_pred.

    Formula (ε = keras.config.epsilon(), means over the last axis):
        predicted_rate = mean(y_pred)
        log_term       = mean(−y_true·log(y_pred + ε))
        loss = predicted_rate + log_term

    Example:
    >>> Poisson()([[1.0, 0.0]], [[1.0, 2.0]])   # mean(1 − 0, 2 − 0) = 1.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    @property
    def component_weights(self):
        return {"predicted_rate": 1.0, "log_term": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return poisson_terms(y_true, y_pred)


__all__ = ["KLDivergence", "Poisson"]
