"""Fused softmax cross-entropy terms from logits, with one hand-written gradient.

Shapes: `logits` z [N, K] (rows of class scores), `labels` y [N] int32 in [0, K), `targets` t [N, K].
Every term comes from the per-row log-sum-exp, lse = log Σ_k exp(z_k) (max-shifted, stable):

    cross_entropy  = lse - z_y                (sparse)  or  lse·Σt - Σ_k t_k·z_k   (dense targets)
    uniform        = lse - mean_k z_k         (cross-entropy against the uniform target 1/K)
    lse            = log Σ_k exp(z_k)         (z-loss is lse²)
    entropy        = -Σ_k p_k·(z_k - lse)     (p = softmax(z); logged, never differentiated)

Gradient (computed once, no autodiff through the log-sum-exp or the gather):

    d/dz = p·(g_ce·Σt + g_uniform + g_lse) - g_uniform/K - g_ce·t

where the g are the upstream gradients of each term and t is the one-hot label (sparse: added at
[row, y] with a scatter, never materialised) or the dense target. Targets are constants.

Memory and speed (see `_shifted_logits`): one [N, K] buffer beyond the logits serves both passes,
and the sparse one-hot term is added in place (`add_at_labels`).
"""

import keras
from keras import ops

from kerasloss.entropy import entropy_from_log_probs

TERMS = ("cross_entropy", "uniform_cross_entropy", "lse", "entropy")


def _shifted_logits(logits, tensorflow_graph):
    """(shifted, offset) with log p = shifted - offset, chosen for the backend's memory behaviour.

    TensorFlow graph/eager: shifted = log_softmax(z) (one fused kernel), offset = None (0). The
    backward turns that very buffer into the gradient in place (exp, scale, shift), so one [N, K]
    buffer serves both passes. XLA and other backends: shifted = z, offset = lse(z); XLA fuses the
    reductions and recomputes p = exp(z - lse) inside the gradient's fusion, keeping nothing.
    """
    if tensorflow_graph:
        return ops.log_softmax(logits, axis=-1), None
    return logits, ops.logsumexp(logits, axis=-1)


def _row_statistics(logits, shifted, offset, wanted):
    """uniform, lse and entropy per row from log p = shifted - offset (offset None means 0)."""
    stats = {}
    if "lse" in wanted:
        if offset is None:
            # initial=-inf keeps empty batches legal in eager mode
            lowest = float("-inf")
            stats["lse"] = ops.max(logits, axis=-1, initial=lowest) - ops.max(shifted, axis=-1, initial=lowest)
        else:
            stats["lse"] = offset
    if "uniform_cross_entropy" in wanted:
        mean = ops.mean(shifted, axis=-1)
        stats["uniform_cross_entropy"] = -mean if offset is None else offset - mean
    if "entropy" in wanted:
        stats["entropy"] = entropy_from_log_probs(_log_probs(shifted, offset))
    return stats


def _log_probs(shifted, offset):
    return shifted if offset is None else shifted - ops.expand_dims(offset, -1)


def _dense_part_of_gradient(shifted, offset, upstream, target_mass):
    """p·(g_ce·Σt + g_uniform + g_lse) - g_uniform/K, with absent upstreams taken as 0."""
    coefficient = 0.0
    if upstream.get("cross_entropy") is not None:
        coefficient = upstream["cross_entropy"] * target_mass
    for name in ("uniform_cross_entropy", "lse"):
        if upstream.get(name) is not None:
            coefficient = coefficient + upstream[name]
    grad = ops.exp(_log_probs(shifted, offset)) * ops.expand_dims(coefficient, -1)
    if upstream.get("uniform_cross_entropy") is not None:
        grad = grad - ops.expand_dims(upstream["uniform_cross_entropy"] / shifted.shape[-1], -1)
    return grad


def tensorflow_graph_outside_xla():
    """True when tracing or running TensorFlow ops outside an XLA cluster (graph or eager mode).

    Decided once, in the forward pass: the backward of a jit-compiled forward may be traced
    outside the XLA context yet still be compiled by XLA, so it must follow the forward's choice.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.ops import control_flow_util

    return not control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def add_at_labels(grad, labels, values, in_place):
    """grad[n, labels[n]] += values[n] for every row n, in place where the backend allows.

    keras.ops.scatter_update (TensorScatterAdd) copies its whole [N, K] input in TensorFlow's
    graph and eager modes, doubling the gradient's peak memory; there, TensorFlow's InplaceAdd on
    the flattened gradient (a buffer this module just created) adds without a copy. XLA
    (jit_compile) updates a scatter's operand in place by itself and has no InplaceAdd kernel, so it
    keeps the keras.ops scatter, as do other backends and gradients of 2**31 elements or more.
    """
    num_rows, num_classes = ops.shape(grad)[0], grad.shape[-1]
    rows = ops.arange(num_rows, dtype="int32")

    def scatter():
        indices = ops.stack([rows, labels], axis=1)
        return ops.scatter_update(grad, indices, values, reduction="add")

    if not in_place:
        return scatter()
    import tensorflow as tf

    def add_in_place():
        flat = tf.raw_ops.InplaceAdd(x=tf.reshape(grad, [-1]), i=rows * num_classes + labels, v=values)
        return tf.reshape(flat, tf.shape(grad))

    flat_size = tf.cast(num_rows, tf.int64) * num_classes
    return tf.cond(flat_size < 2**31, add_in_place, scatter)


def _fused_terms(logits, wanted, cross_entropy_of, target_mass, subtract_target):
    """Run the custom-gradient pass for the terms in `wanted` and name its outputs.

    cross_entropy_of(shifted, offset) gives the per-row cross-entropy, target_mass is Σt per row,
    and subtract_target(grad, g_ce, tensorflow_graph) removes g_ce·t from the gradient.
    """
    names = [name for name in TERMS if name in wanted]

    @ops.custom_gradient
    def fused(logits):
        tensorflow_graph = tensorflow_graph_outside_xla()
        shifted, offset = _shifted_logits(logits, tensorflow_graph)
        stats = _row_statistics(logits, shifted, offset, wanted)
        stats["cross_entropy"] = cross_entropy_of(shifted, offset)

        def grad(*upstream, **unused_variables):
            upstream = dict(zip(names, upstream))
            dense = _dense_part_of_gradient(shifted, offset, upstream, target_mass)
            if upstream.get("cross_entropy") is None:
                return dense
            return subtract_target(dense, upstream["cross_entropy"], tensorflow_graph)

        return tuple(stats[name] for name in names), grad

    terms = dict(zip(names, fused(logits)))
    if "entropy" in terms:
        terms["entropy"] = ops.stop_gradient(terms["entropy"])
    return terms


def sparse_softmax_terms(logits, labels, wanted):
    """Terms in `wanted` (a subset of TERMS; cross_entropy always) for integer labels."""

    def cross_entropy_of(shifted, offset):
        picked = -ops.squeeze(ops.take_along_axis(shifted, ops.expand_dims(labels, -1), axis=-1), -1)
        return picked if offset is None else offset + picked

    def subtract_target(grad, upstream_ce, tensorflow_graph):
        return add_at_labels(grad, labels, -ops.cast(upstream_ce, grad.dtype), tensorflow_graph)

    return _fused_terms(logits, wanted, cross_entropy_of, 1.0, subtract_target)


def dense_softmax_terms(logits, targets, wanted):
    """Terms in `wanted` (a subset of TERMS; cross_entropy always) for target distributions."""
    target_mass = ops.sum(targets, axis=-1)

    def cross_entropy_of(shifted, offset):
        picked = -ops.sum(targets * shifted, axis=-1)
        return picked if offset is None else offset * target_mass + picked

    def subtract_target(grad, upstream_ce, tensorflow_graph):
        return grad - targets * ops.expand_dims(upstream_ce, -1)

    return _fused_terms(logits, wanted, cross_entropy_of, target_mass, subtract_target)
