"""Metric-learning losses: embeddings of one label close, of others apart.

Circle (Sun et al., 2020, https://arxiv.org/abs/2002.10857), per example, as Keras computes it.

For L2-normalised embeddings y_pred [B, D], integer labels y_true [B], and reference embeddings and
labels (default: the batch itself), with d_ij = max(1 - y_pred_i·ref_j, 0) the cosine distance,
m the margin and γ the scale:

    positive pairs P_i (same label; the pair (i, i) left out with remove_diagonal)
        s_ij = -γ · max(m + d_ij, 0) · (m - d_ij)
    negative pairs N_i (another label)
        s_ij =  γ · max(1 + m - d_ij, 0) · (1 - m - d_ij)
    circle_i = softplus(logsumexp_{P_i} s + logsumexp_{N_i} s)

A row without positives or negatives gives 0 and is masked out (as Keras masks every 0 value: it
leaves the "sum_over_batch_size" divisor).

The losses Keras users wrote by hand after TensorFlow Addons ended, with TFA's semantics:

    triplet (semi-hard)   per (anchor a, positive p): max(m + d_ap − d_an, 0), n the nearest
                          negative farther than p (else the farthest), d = pairwise_distances
    contrastive           per pair of distance d: y·d² + (1 − y)·max(m − d, 0)²
    supervised contrastive per anchor (L_out, Khosla et al., 2020): −mean_p log softmax_{a≠i}(z_i·z_a/τ)[p]

The classes below them: `Circle` (drop-in for Keras'), `TripletSemiHardLoss`, `ContrastiveLoss`,
`SupervisedContrastive`.
"""

import keras
from keras import ops

from kerasloss import _checks
from kerasloss.base import ComponentLoss, Ratio, Terms, register
from kerasloss.losses._inputs import aligned
from kerasloss.losses._power import safe_sqrt


def _pair_masks(labels, ref_labels, remove_diagonal):
    """(positive, negative) boolean [B, R]: same label (minus the diagonal), other label."""
    labels, ref_labels = ops.reshape(labels, (-1, 1)), ops.reshape(ref_labels, (1, -1))
    same = ops.equal(labels, ref_labels)
    positive = same
    if remove_diagonal:
        diagonal = ops.eye(ops.shape(labels)[0], ops.shape(ref_labels)[1], dtype="bool")
        positive = ops.logical_and(same, ops.logical_not(diagonal))
    return positive, ops.logical_not(same)


def circle_terms(
    y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80.0, margin=0.4
):
    """Terms with the per-example `circle` [B] and its mask (False where it is 0)."""
    y_pred = _checks.prepare_predictions(y_pred)
    labels = ops.cast(ops.convert_to_tensor(y_true), "int32")
    ref_embeddings = y_pred if ref_embeddings is None else ops.cast(ref_embeddings, y_pred.dtype)
    ref_labels = labels if ref_labels is None else ops.cast(ops.convert_to_tensor(ref_labels), "int32")
    distance = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(ref_embeddings)), 0.0)
    positive, negative = _pair_masks(labels, ref_labels, remove_diagonal)
    positive_scores = -gamma * ops.maximum(margin + distance, 0.0) * (margin - distance)
    negative_scores = gamma * ops.maximum(1.0 + margin - distance, 0.0) * (1.0 - margin - distance)
    positive_lse = ops.logsumexp(ops.where(positive, positive_scores, float("-inf")), axis=1)
    negative_lse = ops.logsumexp(ops.where(negative, negative_scores, float("-inf")), axis=1)
    value = ops.softplus(positive_lse + negative_lse)
    return Terms(values={"circle": value}, mask=ops.greater(value, 0.0))


@register
class Circle(ComponentLoss):
    """Circle loss between integer labels and L2-normalised embeddings (Sun et al., 2020).

    Formula (d_ij = max(1 - y_pred_i·y_pred_j, 0), m = margin, γ = gamma; pairs of the batch):
        s_ij (same label, i ≠ j) = -γ · max(m + d_ij, 0) · (m - d_ij)
        s_ij (other label)       =  γ · max(1 + m - d_ij, 0) · (1 - m - d_ij)
        circle = softplus(logsumexp_same s + logsumexp_other s)
        loss = circle      (examples whose value is 0, e.g. without a positive pair, are masked out)

    Args:
        gamma: the scale γ ≥ 0 of the similarity scores.
        margin: the relaxation m ≥ 0.
        remove_diagonal: leave each example's pair with itself out of its positives.

    Example:
    >>> Circle(gamma=1.0)([0, 0], [[1.0, 0.0], [1.0, 0.0]])   # softplus(-0.16 + -inf) = 0, masked
    """

    def __init__(
        self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size",
        name="circle", dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = _checks.check_non_negative("gamma", gamma)
        self.margin = _checks.check_non_negative("margin", margin)
        self.remove_diagonal = _checks.check_bool("remove_diagonal", remove_diagonal)

    @property
    def component_weights(self):
        return {"circle": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return circle_terms(
            y_true, y_pred, remove_diagonal=self.remove_diagonal, gamma=self.gamma, margin=self.margin
        )

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma, "margin": self.margin, "remove_diagonal": self.remove_diagonal,
        }


def _embeddings_and_labels(y_true, y_pred):
    """(embeddings [B, D] in their compute dtype, integer labels [B]) of a metric-learning batch."""
    embeddings = _checks.prepare_predictions(y_pred)
    if len(embeddings.shape) != 2:
        raise ValueError(
            f"y_pred must hold one embedding per example, shape (batch, dim), got shape "
            f"{tuple(embeddings.shape)}"
        )
    labels = ops.reshape(ops.cast(ops.convert_to_tensor(y_true), "int32"), (-1,))
    if labels.shape[0] is not None and embeddings.shape[0] is not None and (
        labels.shape[0] != embeddings.shape[0]
    ):
        raise ValueError(
            f"y_true must hold one integer label per embedding ({embeddings.shape[0]}), got shape "
            f"{tuple(ops.shape(y_true))}"
        )
    return embeddings, labels


def _unit_rows(x):
    """x / ‖x‖ per row, ‖x‖ at least 1e-6 (tf.math.l2_normalize's ε = 1e-12 on the squared norm)."""
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=1, keepdims=True), 1e-12))


def pairwise_distances(embeddings, distance_metric="L2"):
    """[B, B] distances between the rows: "L2" ‖a − b‖, "squared-L2" ‖a − b‖², "angular"
    max(1 − cos(a, b), 0), or a callable of the embeddings; the L2 forms have a zero diagonal and a
    zero gradient where a distance is 0 (TensorFlow Addons' `pairwise_distance`)."""
    if callable(distance_metric):
        return distance_metric(embeddings)
    if distance_metric == "angular":
        unit = _unit_rows(embeddings)
        return ops.relu(1.0 - ops.matmul(unit, ops.transpose(unit)))
    norms = ops.sum(ops.square(embeddings), axis=1)
    squared = ops.relu(
        norms[:, None] + norms[None, :] - 2.0 * ops.matmul(embeddings, ops.transpose(embeddings))
    )
    distances = squared if distance_metric == "squared-L2" else safe_sqrt(squared)
    off_diagonal = ops.logical_not(ops.eye(ops.shape(embeddings)[0], dtype="bool"))
    return ops.where(off_diagonal, distances, 0.0)


def _masked_extreme(values, mask, reduce, extreme):
    """`reduce` (ops.max or ops.min) of `values` over the last axis where `mask`, TensorFlow Addons'
    way: ((values − extreme)·mask reduced) + extreme, `extreme` the row's opposite extreme (an
    empty mask gives the row's own extreme)."""
    return reduce((values - extreme) * ops.cast(mask, values.dtype), axis=-1) + extreme[..., 0]


def triplet_semihard_terms(y_true, y_pred, margin=1.0, distance_metric="L2"):
    """Per (anchor a, positive p) pair [B, B]: `triplet` = max(m + d_ap − d_an, 0) with the
    semi-hard negative n of the pair, masked to the positive pairs; diagnostics
    `active_triplet_fraction`, `positive_distance` (d_ap) and `negative_distance` (d_an)."""
    embeddings, labels = _embeddings_and_labels(y_true, y_pred)
    distance = pairwise_distances(embeddings, distance_metric)
    positive, negative = _pair_masks(labels, labels, remove_diagonal=True)
    # [a, p, n]: n a negative of a farther from a than p is
    farther = ops.logical_and(negative[:, None, :], distance[:, None, :] > distance[:, :, None])
    row_max = ops.max(distance, axis=1, keepdims=True)
    nearest_farther = _masked_extreme(distance[:, None, :], farther, ops.min, row_max[:, :, None])
    farthest = _masked_extreme(distance, negative, ops.max, ops.min(distance, axis=1, keepdims=True))
    negative_distance = ops.where(ops.any(farther, axis=2), nearest_farther, farthest[:, None])
    triplet = ops.relu(margin + distance - negative_distance)
    return Terms(
        values={"triplet": triplet},
        mask=positive,
        diagnostics={
            "active_triplet_fraction": ops.sign(triplet),
            "positive_distance": distance,
            "negative_distance": negative_distance,
        },
    )


def contrastive_terms(y_true, y_pred, margin=1.0):
    """Per pair: `similar` = y·d², `dissimilar` = (1 − y)·max(m − d, 0)²; diagnostics
    `positive_distance` and `negative_distance`, the mean d of the similar and dissimilar pairs."""
    y_true, distance = aligned(y_true, y_pred)
    dissimilar = 1.0 - y_true
    return Terms(
        values={
            "similar": y_true * ops.square(distance),
            "dissimilar": dissimilar * ops.square(ops.relu(margin - distance)),
        },
        diagnostics={
            "positive_distance": Ratio(y_true * distance, y_true),
            "negative_distance": Ratio(dissimilar * distance, dissimilar),
        },
    )


def supervised_contrastive_terms(y_true, y_pred, temperature=0.1):
    """Per anchor [B]: `supervised_contrastive` (L_out), masked where the anchor has no positive;
    diagnostics `positive_similarity` and `negative_similarity`, the mean cosine similarity of the
    same-label and other-label pairs."""
    embeddings, labels = _embeddings_and_labels(y_true, y_pred)
    unit = _unit_rows(embeddings)
    similarity = ops.matmul(unit, ops.transpose(unit))
    positive, negative = _pair_masks(labels, labels, remove_diagonal=True)
    others = ops.logical_not(ops.eye(ops.shape(unit)[0], dtype="bool"))
    logits = similarity / temperature
    log_normalizer = ops.logsumexp(ops.where(others, logits, -1e9), axis=1)
    positive_weight = ops.cast(positive, unit.dtype)
    positives = ops.sum(positive_weight, axis=1)
    mean_positive_logit = ops.sum(positive_weight * logits, axis=1) / ops.maximum(positives, 1.0)

    def negative_similarity():
        negative_weight = ops.cast(negative, unit.dtype)
        return Ratio(ops.sum(negative_weight * similarity, axis=1), ops.sum(negative_weight, axis=1))

    return Terms(
        values={"supervised_contrastive": log_normalizer - mean_positive_logit},
        mask=ops.greater(positives, 0.0),
        diagnostics={  # [B, B] products: computed only when a metric reads them
            "positive_similarity": lambda: Ratio(ops.sum(positive_weight * similarity, axis=1), positives),
            "negative_similarity": negative_similarity,
        },
    )


_DISTANCE_METRICS = ("L2", "squared-L2", "angular")


@register
class TripletSemiHardLoss(ComponentLoss):
    """Triplet loss with in-batch semi-hard negative mining (Schroff et al., 2015; TensorFlow Addons).

    Formula (d the pairwise distance of the embeddings y_pred [B, D], labels y_true [B], m = margin):
        for each anchor a and positive p (same label, p ≠ a):
            n = the nearest negative farther than p:   argmin {d_an : label_n ≠ label_a, d_an > d_ap}
                (none: the farthest negative, argmax d_an)
            triplet_ap = max(m + d_ap − d_an, 0)
        loss = mean of triplet over the positive pairs     (the reduction's elements are the pairs)
        active_triplet_fraction = mean [triplet_ap > 0]      (diagnostics, over the positive pairs;
        positive_distance = mean d_ap                          both distances falling to 0 together
        negative_distance = mean d_an                          shows a collapsing embedding)

    Args:
        margin: m ≥ 0.
        distance_metric: "L2" (‖a − b‖), "squared-L2" (‖a − b‖²), "angular" (1 − cos(a, b)), or a
            callable taking the embeddings [B, D] and returning the distances [B, B].

    Same value as `tfa.losses.TripletSemiHardLoss` where the batch has a positive pair (TensorFlow
    Addons returns NaN without one; here the loss is 0). Per-element values (reduction=None) are
    the [B, B] pair matrix, 0 off the positive pairs; a sample weight [B] weights each anchor.

    Example:
    >>> TripletSemiHardLoss()([0, 0], [[0.0, 1.0], [1.0, 0.0]])   # 1 + √2 − 0 = 2.4142
    """

    diagnostic_names = ("active_triplet_fraction", "positive_distance", "negative_distance")

    def __init__(
        self, margin=1.0, distance_metric="L2", reduction="sum_over_batch_size",
        name="triplet_semihard_loss", dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = _checks.check_non_negative("margin", margin)
        if isinstance(distance_metric, dict):
            distance_metric = keras.saving.deserialize_keras_object(distance_metric)
        if not callable(distance_metric):
            _checks.check_choice("distance_metric", distance_metric, _DISTANCE_METRICS)
        self.distance_metric = distance_metric

    @property
    def component_weights(self):
        return {"triplet": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return triplet_semihard_terms(y_true, y_pred, self.margin, self.distance_metric)

    def get_config(self):
        metric = self.distance_metric
        if callable(metric):
            metric = keras.saving.serialize_keras_object(metric)
        return {**super().get_config(), "margin": self.margin, "distance_metric": metric}


@register
class ContrastiveLoss(ComponentLoss):
    """Contrastive loss of pair distances (Hadsell, Chopra & LeCun, 2006; TensorFlow Addons).

    Formula (y_true 1 for a similar pair, 0 for a dissimilar one; y_pred d ≥ 0 their distance):
        similar    = y·d²                     (pulls similar pairs together)
        dissimilar = (1 − y)·max(m − d, 0)²   (pushes dissimilar pairs beyond the margin m)
        loss = similar + dissimilar
        positive_distance = Σ y·d / Σ y,  negative_distance = Σ (1 − y)·d / Σ (1 − y)   (diagnostics)

    Args:
        margin: m ≥ 0, the distance beyond which dissimilar pairs cost nothing.

    Same values as `tfa.losses.ContrastiveLoss(margin)`.

    Example:
    >>> ContrastiveLoss()([1.0, 0.0], [0.5, 0.5])   # mean(0.25, 0.25) = 0.25
    """

    diagnostic_names = ("positive_distance", "negative_distance")

    def __init__(
        self, margin=1.0, reduction="sum_over_batch_size", name="contrastive_loss", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = _checks.check_non_negative("margin", margin)

    @property
    def component_weights(self):
        return {"similar": 1.0, "dissimilar": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return contrastive_terms(y_true, y_pred, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@register
class SupervisedContrastive(ComponentLoss):
    """Supervised contrastive loss, L_out (Khosla et al., NeurIPS 2020), over the batch.

    Formula (z_i = y_pred_i / ‖y_pred_i‖, labels y_true [B], τ = temperature, A(i) = the batch
    without i, P(i) = the examples of A(i) with i's label):
        supervised_contrastive_i = −1/|P(i)| Σ_{p ∈ P(i)} log( exp(z_i·z_p/τ) / Σ_{a ∈ A(i)} exp(z_i·z_a/τ) )
        loss = supervised_contrastive    (anchors without a positive are masked out)
        positive_similarity = mean z_i·z_p over same-label pairs,
        negative_similarity = mean z_i·z_n over other-label pairs      (diagnostics)

    Args:
        temperature: τ > 0.

    Example:
    >>> SupervisedContrastive()([0, 0], [[1.0, 0.0], [1.0, 0.0]])   # one other example: −log 1 = 0
    """

    diagnostic_names = ("positive_similarity", "negative_similarity")

    def __init__(
        self, temperature=0.1, reduction="sum_over_batch_size", name="supervised_contrastive",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.temperature = _checks.check_non_negative("temperature", temperature)
        if self.temperature == 0.0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")

    @property
    def component_weights(self):
        return {"supervised_contrastive": 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return supervised_contrastive_terms(y_true, y_pred, self.temperature)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


__all__ = ["Circle", "ContrastiveLoss", "SupervisedContrastive", "TripletSemiHardLoss"]
