"""Fused softmax cross-entropy terms from logits, with one hand-written gradient.

Shapes: `logits` [N, K] (rows of class scores), `labels` [N] int32 in [0, K), `targets` [N, K].
All terms come from one `log_softmax` pass, l = z - lse(z):

    cross_entropy  = -l[y]              (sparse)    or  -Σ_k t_k·l_k   (dense targets t)
    uniform        = -mean_k l_k        (cross-entropy against the uniform target 1/K)
    lse            = max_k z_k - max_k l_k   (the log-sum-exp, exact without a second exp pass)
    entropy        = -Σ_k p_k·l_k       (p = exp(l); logged, never differentiated)

Gradient (computed once, no autodiff through the log-sum-exp or the gather):

    d/dz = p·(g_ce·Σt + g_uniform + g_lse) - g_ce·t - g_uniform/K

where the g are the upstream gradients of each term and t is the one-hot label (sparse: added at
[row, y] with a scatter, never materialised) or the dense target. Targets are constants.
"""

from keras import ops

from kerasloss.entropy import entropy_from_log_probs

TERMS = ("cross_entropy", "uniform_cross_entropy", "lse", "entropy")


def _shared_statistics(logits, log_probs, wanted):
    stats = {}
    if "uniform_cross_entropy" in wanted:
        stats["uniform_cross_entropy"] = -ops.mean(log_probs, axis=-1)
    if "lse" in wanted:
        stats["lse"] = ops.max(logits, axis=-1) - ops.max(log_probs, axis=-1)
    if "entropy" in wanted:
        stats["entropy"] = entropy_from_log_probs(log_probs)
    return stats


def _dense_part_of_gradient(log_probs, upstream, target_mass):
    """p·(g_ce·Σt + g_uniform + g_lse) - g_uniform/K, with absent upstreams taken as 0."""
    num_classes = log_probs.shape[-1]
    coefficient = 0.0
    if upstream.get("cross_entropy") is not None:
        coefficient = upstream["cross_entropy"] * target_mass
    for name in ("uniform_cross_entropy", "lse"):
        if upstream.get(name) is not None:
            coefficient = coefficient + upstream[name]
    grad = ops.exp(log_probs) * ops.expand_dims(coefficient, -1)
    if upstream.get("uniform_cross_entropy") is not None:
        grad = grad - ops.expand_dims(upstream["uniform_cross_entropy"] / num_classes, -1)
    return grad


def _run(fused, logits, wanted):
    """Call a custom-gradient function returning a tuple, and name its outputs."""
    names = [name for name in TERMS if name in wanted]
    outputs = fused(logits)
    terms = dict(zip(names, outputs))
    if "entropy" in terms:
        terms["entropy"] = ops.stop_gradient(terms["entropy"])
    return terms


def sparse_softmax_terms(logits, labels, wanted):
    """Terms in `wanted` (a subset of TERMS; cross_entropy always) for integer labels."""
    names = [name for name in TERMS if name in wanted]

    @ops.custom_gradient
    def fused(logits):
        log_probs = ops.log_softmax(logits, axis=-1)
        picked = ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), axis=-1)
        stats = _shared_statistics(logits, log_probs, wanted)
        stats["cross_entropy"] = -ops.squeeze(picked, -1)

        def grad(*upstream, **unused_variables):
            upstream = dict(zip(names, upstream))
            dense = _dense_part_of_gradient(log_probs, upstream, 1.0)
            if upstream.get("cross_entropy") is None:
                return dense
            rows = ops.arange(ops.shape(labels)[0], dtype=labels.dtype)
            indices = ops.stack([rows, labels], axis=1)
            return ops.scatter_update(
                dense, indices, -ops.cast(upstream["cross_entropy"], dense.dtype), reduction="add"
            )

        return tuple(stats[name] for name in names), grad

    return _run(fused, logits, wanted)


def dense_softmax_terms(logits, targets, wanted):
    """Terms in `wanted` (a subset of TERMS; cross_entropy always) for target distributions."""
    names = [name for name in TERMS if name in wanted]

    @ops.custom_gradient
    def fused(logits):
        log_probs = ops.log_softmax(logits, axis=-1)
        stats = _shared_statistics(logits, log_probs, wanted)
        stats["cross_entropy"] = -ops.sum(targets * log_probs, axis=-1)

        def grad(*upstream, **unused_variables):
            upstream = dict(zip(names, upstream))
            dense = _dense_part_of_gradient(log_probs, upstream, ops.sum(targets, axis=-1))
            if upstream.get("cross_entropy") is None:
                return dense
            return dense - targets * ops.expand_dims(upstream["cross_entropy"], -1)

        return tuple(stats[name] for name in names), grad

    return _run(fused, logits, wanted)
