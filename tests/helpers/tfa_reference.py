"""NumPy float64 re-implementations of TensorFlow Addons' metric-learning and quantile losses
(tensorflow_addons/losses/{triplet,contrastive,quantiles,metric_learning}.py, v0.23), written from
their sources op by op, and of SupCon's L_out (Khosla et al., 2020, eq. 2). TFA does not install
beside TensorFlow >= 2.16, so these stand in for it."""

import numpy as np


def pinball(y_true, y_pred, tau):
    """tfa.losses.pinball_loss: mean over the last axis of max(τ·Δ, (τ − 1)·Δ), Δ = y − ŷ."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    tau = np.expand_dims(np.asarray(tau, np.float64), 0)
    delta = y_true - y_pred
    return np.mean(np.maximum(tau * delta, (tau - 1.0) * delta), axis=-1)


def contrastive(y_true, y_pred, margin=1.0):
    """tfa.losses.contrastive_loss, per pair."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    return y_true * y_pred**2 + (1.0 - y_true) * np.maximum(margin - y_pred, 0.0) ** 2


def pairwise_distance(feature, squared=False):
    """tfa.losses.metric_learning.pairwise_distance."""
    feature = np.asarray(feature, np.float64)
    squared_distances = (
        np.sum(feature**2, axis=1, keepdims=True) + np.sum(feature.T**2, axis=0, keepdims=True)
        - 2.0 * feature @ feature.T
    )
    squared_distances = np.maximum(squared_distances, 0.0)
    error_mask = squared_distances <= 0.0
    distances = squared_distances if squared else np.sqrt(squared_distances + error_mask * 1e-16)
    distances = distances * np.logical_not(error_mask)
    return distances * (1.0 - np.eye(len(feature)))


def angular_distance(feature):
    """tfa.losses.metric_learning.angular_distance."""
    feature = np.asarray(feature, np.float64)
    feature = feature / np.sqrt(np.maximum(np.sum(feature**2, axis=1, keepdims=True), 1e-12))
    return np.maximum(1.0 - feature @ feature.T, 0.0)


def triplet_semihard(labels, embeddings, margin=1.0, distance_metric="L2"):
    """tfa.losses.triplet_semihard_loss, loop by loop: for each positive pair (a, p) the nearest
    negative farther than p, else the farthest negative (TFA's masked max: the row minimum, 0,
    when a has no negative); the mean of max(m + d_ap − d_an, 0) over the positive pairs.

    Returns (loss, active fraction, mean d_ap, mean d_an) over the positive pairs."""
    labels = np.asarray(labels).reshape(-1)
    if distance_metric == "angular":
        d = angular_distance(embeddings)
    else:
        d = pairwise_distance(embeddings, squared=distance_metric == "squared-L2")
    n = len(labels)
    losses, d_ap, d_an = [], [], []
    for a in range(n):
        negatives = [k for k in range(n) if labels[k] != labels[a]]
        farthest = max((d[a, k] for k in negatives), default=d[a].min())
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            farther = [d[a, k] for k in negatives if d[a, k] > d[a, p]]
            chosen = min(farther) if farther else farthest
            losses.append(max(margin + d[a, p] - chosen, 0.0))
            d_ap.append(d[a, p])
            d_an.append(chosen)
    losses = np.array(losses)
    return losses.mean(), np.mean(losses > 0), np.mean(d_ap), np.mean(d_an)


def supervised_contrastive(labels, embeddings, temperature=0.1):
    """L_out per anchor: −1/|P(i)| Σ_p log softmax_{a ≠ i}(z_i·z_a/τ)[p]; NaN without positives."""
    labels = np.asarray(labels).reshape(-1)
    z = np.asarray(embeddings, np.float64)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    logits = z @ z.T / temperature
    out = []
    for i in range(len(labels)):
        others = [a for a in range(len(labels)) if a != i]
        log_normalizer = np.log(np.sum(np.exp(logits[i, others])))
        positives = [p for p in others if labels[p] == labels[i]]
        out.append(np.mean([log_normalizer - logits[i, p] for p in positives]) if positives else np.nan)
    return np.array(out)
