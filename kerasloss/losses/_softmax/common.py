"""The per-row softmax terms in keras.ops, shared by the TensorFlow and JAX modules.

Shapes: logits z [N, K], labels y [N] int32, targets t [N, K], lse = log Σ_k exp(z_k) [N].
"""

from keras import ops

# The terms a backend module can compute, in the order its outputs come.
TERMS = ("cross_entropy", "uniform_cross_entropy", "lse", "entropy")


def at_labels(values, labels):
    """values[n, labels[n]] for every row n."""
    return ops.squeeze(ops.take_along_axis(values, ops.expand_dims(labels, -1), axis=-1), -1)


def row_statistics(logits, lse, probabilities, wanted, row_sum, mass=None):
    """lse, and uniform = lse - mean_k z_k and entropy = lse - Σ_k p_k·z_k (= -Σ_k p_k·(z_k - lse),
    as Σ_k p_k = 1) when wanted; p = softmax(z) is `probabilities()` / mass (mass [N], or None for
    1) and `row_sum(x)` sums x [N, K] over K."""
    stats = {"lse": lse}
    if "uniform_cross_entropy" in wanted:
        stats["uniform_cross_entropy"] = lse - row_sum(logits) / logits.shape[-1]
    if "entropy" in wanted:
        # one product and one reduction; z - lse would be a second [N, K] tensor (1.4x the time
        # in TensorFlow's graph mode; an einsum's batched dot measured slower still)
        weighted = row_sum(probabilities() * logits)
        stats["entropy"] = lse - (weighted if mass is None else weighted / mass)
    return stats


def sparse_cross_entropy(logits, lse, labels):
    """lse - z_y."""
    return lse - at_labels(logits, labels)


def dense_cross_entropy(logits, lse, targets, target_mass, row_sum):
    """lse·Σt - Σ_k t_k·z_k, with target_mass = Σt per row and `row_sum` summing over K."""
    return lse * target_mass - row_sum(targets * logits)
