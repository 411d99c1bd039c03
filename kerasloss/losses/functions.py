"""The `keras.losses` functions, from our formulas: same names, arguments and per-example values.

Each returns what its `keras.losses` namesake returns, the per-example loss before sample weights
and reduction: the weighted sum of the terms of the class of the same loss (its `call`), 0 where
that loss masks an element out (e.g. `ignore_class`). The aliases Keras' `get` accepts (`mse`,
`mae`, `mape`, `msle`, `kld`, `bce`) and the TensorFlow Addons functions of the losses kept here
(`pinball_loss`, `contrastive_loss`, `triplet_semihard_loss`) are the same functions; TensorFlow
Addons' `triplet_semihard_loss` mines within the batch, so it returns the batch's loss, a scalar.
"""

from keras import ops

from kerasloss.losses.cross_entropy import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from kerasloss.losses.divergence import KLDivergence, Poisson
from kerasloss.losses.focal import BinaryFocalCrossentropy, CategoricalFocalCrossentropy
from kerasloss.losses.generalized_cross_entropy import CategoricalGeneralizedCrossEntropy
from kerasloss.losses.margin import CategoricalHinge, Hinge, SquaredHinge
from kerasloss.losses.metric_learning import ContrastiveLoss, TripletSemiHardLoss, circle_terms
from kerasloss.losses.overlap import Dice, Tversky
from kerasloss.losses.quantile import PinballLoss
from kerasloss.losses import regression
from kerasloss.losses.sequence import CTC


def _per_example(loss, y_true, y_pred):
    """`loss`'s per-example values: Σ weight·term, and 0 where its terms are masked out."""
    terms = loss.terms(y_true, y_pred)
    total = loss.elementwise_total(terms)
    return total if terms.mask is None else ops.where(terms.mask, total, ops.zeros_like(total))


def mean_squared_error(y_true, y_pred):
    """mean(square(y_true − y_pred), axis=−1)."""
    return _per_example(regression.MeanSquaredError(), y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """mean(abs(y_true − y_pred), axis=−1)."""
    return _per_example(regression.MeanAbsoluteError(), y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean(|y_true − y_pred| / max(|y_true|, ε), axis=−1)."""
    return _per_example(regression.MeanAbsolutePercentageError(), y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, ε) + 1) − log(max(y_true, ε) + 1))², axis=−1)."""
    return _per_example(regression.MeanSquaredLogarithmicError(), y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """−Σ_axis y_true·y_pred / (‖y_true‖·‖y_pred‖): −1 for aligned vectors."""
    return _per_example(regression.CosineSimilarity(axis=axis), y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """mean(½e² where |e| ≤ δ, δ|e| − ½δ² elsewhere, axis=−1), e = y_pred − y_true."""
    return _per_example(regression.Huber(delta=delta), y_true, y_pred)


def log_cosh(y_true, y_pred):
    """mean(log cosh(y_pred − y_true), axis=−1)."""
    return _per_example(regression.LogCosh(), y_true, y_pred)


def hinge(y_true, y_pred):
    """mean(max(1 − y_true·y_pred, 0), axis=−1), labels in {0, 1} mapped to {−1, 1}."""
    return _per_example(Hinge(), y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """mean(max(1 − y_true·y_pred, 0)², axis=−1), labels in {0, 1} mapped to {−1, 1}."""
    return _per_example(SquaredHinge(), y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """max(max((1 − y_true)·y_pred) − Σ y_true·y_pred + 1, 0)."""
    return _per_example(CategoricalHinge(), y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """Σ y_true·log(y_true / y_pred), both clipped to [ε, 1], over the last axis."""
    return _per_example(KLDivergence(), y_true, y_pred)


def poisson(y_true, y_pred):
    """mean(y_pred − y_true·log(y_pred + ε), axis=−1)."""
    return _per_example(Poisson(), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(−(y·log q + (1 − y)·log(1 − q)), axis), y smoothed towards ½."""
    loss = BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
    return _per_example(loss, y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """−Σ_axis y·log softmax(y_pred) (or log of the probabilities), y smoothed towards uniform."""
    loss = CategoricalCrossentropy(
        from_logits=from_logits, label_smoothing=label_smoothing, axis=axis
    )
    return _per_example(loss, y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """−log softmax(y_pred)[y_true] (or of the probabilities); 0 where y_true == ignore_class."""
    loss = SparseCategoricalCrossentropy(
        from_logits=from_logits, ignore_class=ignore_class, axis=axis
    )
    return _per_example(loss, y_true, y_pred)


def binary_focal_crossentropy(
    y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1,
):
    """mean((1 − p_t)^γ · binary cross-entropy, axis), α-balanced when apply_class_balancing."""
    loss = BinaryFocalCrossentropy(
        apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
        from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
    )
    return _per_example(loss, y_true, y_pred)


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Σ_axis −α·(1 − p)^γ · y·log p."""
    loss = CategoricalFocalCrossentropy(
        alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing,
        axis=axis,
    )
    return _per_example(loss, y_true, y_pred)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 − p_y^q)/q for integer labels y."""
    return _per_example(CategoricalGeneralizedCrossEntropy(q=q), y_true, y_pred)


def ctc(y_true, y_pred):
    """−log Σ_alignments Π_t softmax(y_pred[t])[a_t], labels padded with the blank 0."""
    return _per_example(CTC(), y_true, y_pred)


def dice(y_true, y_pred, axis=None):
    """1 − 2·Σ y·ŷ / (Σ y + Σ ŷ), the sums over `axis` (None: everything)."""
    return _per_example(Dice(axis=axis), y_true, y_pred)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 − Σ y·ŷ / (Σ y·ŷ + α·Σ (1 − y)·ŷ + β·Σ y·(1 − ŷ)), the sums over `axis`."""
    return _per_example(Tversky(alpha=alpha, beta=beta, axis=axis), y_true, y_pred)


def circle(
    y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4
):
    """Circle loss per example against reference embeddings (default: the batch itself)."""
    terms = circle_terms(
        y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, float(gamma), float(margin)
    )
    return terms.values["circle"]


def pinball_loss(y_true, y_pred, tau=0.5):
    """mean(max(τ·(y_true − y_pred), (τ − 1)·(y_true − y_pred)), axis=−1) (TensorFlow Addons)."""
    return _per_example(PinballLoss(tau=tau), y_true, y_pred)


def contrastive_loss(y_true, y_pred, margin=1.0):
    """y·d² + (1 − y)·max(m − d, 0)² per pair of distance d = y_pred (TensorFlow Addons)."""
    return _per_example(ContrastiveLoss(margin=margin), y_true, y_pred)


def triplet_semihard_loss(y_true, y_pred, margin=1.0, distance_metric="L2"):
    """The batch's triplet loss with semi-hard negatives (TensorFlow Addons): the mean over the
    (anchor, positive) pairs of max(m + d_ap − d_an, 0), a scalar (`TripletSemiHardLoss`)."""
    return TripletSemiHardLoss(margin=margin, distance_metric=distance_metric)(y_true, y_pred)


mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error
kld = kullback_leibler_divergence = kl_divergence
bce = binary_crossentropy
logcosh = log_cosh

__all__ = [
    "bce", "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_generalized_cross_entropy", "categorical_hinge",
    "circle", "contrastive_loss", "cosine_similarity", "ctc", "dice", "hinge", "huber", "kl_divergence",
    "kld", "kullback_leibler_divergence", "log_cosh", "logcosh", "mae", "mape", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "mse",
    "msle", "pinball_loss", "poisson", "sparse_categorical_crossentropy", "squared_hinge",
    "triplet_semihard_loss", "tversky",
]
