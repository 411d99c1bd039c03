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
"""

import keras
from keras import ops

from kerasloss._pairs import aligned
from kerasloss.entropy import prediction_entropy
from kerasloss.reduction import mean_or_zero
from kerasloss.terms import Terms


def kl_divergence_terms(y_true, y_pred, with_entropy=False):
    y_true, y_pred = aligned(y_true, y_pred)
    eps = keras.config.epsilon()
    target = ops.clip(y_true, eps, 1.0)
    log_q = ops.log(ops.clip(y_pred, eps, 1.0))
    return Terms(
        values={
            "cross_entropy": -ops.sum(target * log_q, axis=-1),
            "target_entropy": -ops.sum(target * ops.log(target), axis=-1),
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
