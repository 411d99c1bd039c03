"""TensorFlow: one custom-gradient pass, a fused softmax kernel and an in-place label term.

The gradient is the hand-written one of `kerasloss.losses._softmax`; lse and p come two ways
(`_log_sum_exp_and_probabilities`), one for TensorFlow graph/eager mode and one for XLA.

Long rows (more than `kerasloss._sums.LONGEST_ONE_PASS_SUM` classes): XLA:CPU's one-pass reductions
drift there, so under XLA every sum over the classes is `kerasloss._sums.row_sum`; in graph mode
Eigen's reductions are trees and stay exact, but the oneDNN softmax kernel's own normaliser drifts
(1.4e-4 relative over 2**24 + 1 classes), so its output is renormalised by an Eigen sum.
"""

import tensorflow as tf
from keras import ops

from kerasloss import _sums
from kerasloss._keras_compat import in_xla_context
from kerasloss.losses._softmax.common import (
    TERMS,
    at_labels,
    dense_cross_entropy,
    row_statistics,
    sparse_cross_entropy,
)

# Smallest softmax probability whose log is exact enough to recover lse from (float32 normals
# reach 1e-38; below, the max-based formula takes over).
_SMALLEST_RELIABLE_PROBABILITY = 1e-30


def _log_sum_exp_and_probabilities(logits, tensorflow_graph, labels=None):
    """(lse [N], probabilities, mass): `probabilities()` gives q [N, K] for the backward pass, and
    softmax(z) = q / mass, with mass [N] (None for 1).

    TensorFlow graph/eager: q = softmax(z), one fused kernel, kept for the backward, and lse read
    off it without another [N, K] pass where possible: lse = z_y - log q_y at the labels (sparse),
    else (dense targets, or a label probability below 1e-30 anywhere in the batch)
    lse = max_k z_k - log max_k q_k (max q ≥ 1/K never underflows), two reads. An unfused
    log-sum-exp and a recomputed exp would be four [N, K] passes. On long rows the kernel's own
    normaliser drifts: mass = Σ_k q_k (Eigen's tree sum, one more read of q) raises lse by
    log(mass) and scales the gradient by 1/mass, in its per-row coefficient.
    XLA: lse = logsumexp(z) and q = exp(z - lse) recomputed in the backward; XLA fuses both into
    their consumers, so no [N, K] tensor lives between the passes.
    """
    if not tensorflow_graph:
        lse = _sums.log_sum_exp(logits)
        return lse, lambda: ops.exp(logits - ops.expand_dims(lse, -1)), None
    probs = ops.softmax(logits, axis=-1)
    mass = ops.sum(probs, axis=-1) if _sums.is_long(logits) else None

    def from_the_maximum():
        # `initial` keeps empty batches legal in eager mode (TensorFlow refuses an empty max)
        top_logit = ops.max(logits, axis=-1, initial=float("-inf"))
        return top_logit - ops.log(ops.max(probs, axis=-1, initial=0.0))

    if labels is None:
        lse = from_the_maximum()
    else:
        label_probs = at_labels(probs, labels)

        def from_the_labels():
            return at_labels(logits, labels) - ops.log(label_probs)

        reliable = ops.all(ops.greater_equal(label_probs, _SMALLEST_RELIABLE_PROBABILITY))
        lse = ops.cond(reliable, from_the_labels, from_the_maximum)
    if mass is not None:
        lse = lse + ops.log(mass)
    return lse, lambda: probs, mass


def _row_sum(tensorflow_graph):
    """Σ over the classes: Eigen's tree reduction in graph mode, `kerasloss._sums.row_sum` in XLA."""
    return (lambda x: ops.sum(x, axis=-1)) if tensorflow_graph else _sums.row_sum


def _dense_part_of_gradient(probs, mass, upstream, target_mass):
    """(probs / mass)·(g_ce·Σt + g_uniform + g_lse) - g_uniform/K, absent upstreams taken as 0."""
    coefficient = 0.0
    if upstream.get("cross_entropy") is not None:
        coefficient = upstream["cross_entropy"] * target_mass
    for name in ("uniform_cross_entropy", "lse"):
        if upstream.get(name) is not None:
            coefficient = coefficient + upstream[name]
    if mass is not None:
        coefficient = coefficient / mass
    grad = probs * ops.expand_dims(coefficient, -1)
    if upstream.get("uniform_cross_entropy") is not None:
        grad = grad - ops.expand_dims(upstream["uniform_cross_entropy"] / probs.shape[-1], -1)
    return grad


def add_at_labels(grad, labels, values, in_place):
    """grad[n, labels[n]] += values[n] for every row n, in place where the backend allows.

    keras.ops.scatter_update (TensorScatterAdd) copies its whole [N, K] input in TensorFlow's
    graph and eager modes, doubling the gradient's peak memory; there (`in_place`), TensorFlow's
    InplaceAdd on the flattened gradient (a buffer this module just created) adds without a copy.
    XLA (jit_compile) updates a scatter's operand in place by itself and has no InplaceAdd kernel,
    so it keeps the keras.ops scatter, as do gradients of 2**31 elements or more.
    """
    num_rows, num_classes = ops.shape(grad)[0], grad.shape[-1]
    rows = ops.arange(num_rows, dtype="int32")

    def scatter():
        indices = ops.stack([rows, labels], axis=1)
        return ops.scatter_update(grad, indices, values, reduction="add")

    if not in_place:
        return scatter()

    def add_in_place():
        flat = tf.raw_ops.InplaceAdd(x=tf.reshape(grad, [-1]), i=rows * num_classes + labels, v=values)
        return tf.reshape(flat, tf.shape(grad))

    flat_size = tf.cast(num_rows, tf.int64) * num_classes
    return tf.cond(flat_size < 2**31, add_in_place, scatter)


def _fused_terms(logits, wanted, cross_entropy_of, target_mass, subtract_target, labels=None):
    """Run the custom-gradient pass for the terms in `wanted` and name its outputs.

    cross_entropy_of(logits, lse) gives the per-row cross-entropy, target_mass is Σt per row,
    and subtract_target(grad, g_ce, in_place) removes g_ce·t from the gradient. `labels` (sparse)
    let lse be read off the softmax at the labels.
    """
    names = [name for name in TERMS if name in wanted]

    @ops.custom_gradient
    def fused(logits):
        # decided in the forward: the backward of a jit-compiled forward may be traced outside
        # the XLA context yet still be compiled by XLA, so it must follow the forward's choice
        tensorflow_graph = not in_xla_context()
        lse, probabilities, mass = _log_sum_exp_and_probabilities(logits, tensorflow_graph, labels)
        row_sum = _row_sum(tensorflow_graph)
        stats = row_statistics(logits, lse, probabilities, wanted, row_sum, mass)
        stats["cross_entropy"] = cross_entropy_of(logits, lse)

        def grad(*upstream, **unused_variables):
            upstream = dict(zip(names, upstream))
            dense = _dense_part_of_gradient(probabilities(), mass, upstream, target_mass)
            if upstream.get("cross_entropy") is None:
                return dense
            return subtract_target(dense, upstream["cross_entropy"], tensorflow_graph)

        return tuple(stats[name] for name in names), grad

    terms = dict(zip(names, fused(logits)))
    if "entropy" in terms:
        terms["entropy"] = ops.stop_gradient(terms["entropy"])
    return terms


def sparse_terms(logits, labels, wanted):
    def cross_entropy_of(logits, lse):
        return sparse_cross_entropy(logits, lse, labels)

    def subtract_target(grad, upstream_ce, in_place):
        return add_at_labels(grad, labels, -ops.cast(upstream_ce, grad.dtype), in_place)

    return _fused_terms(logits, wanted, cross_entropy_of, 1.0, subtract_target, labels)


def dense_terms(logits, targets, wanted):
    row_sum = _row_sum(not in_xla_context())
    target_mass = row_sum(targets)

    def cross_entropy_of(logits, lse):
        return dense_cross_entropy(logits, lse, targets, target_mass, row_sum)

    def subtract_target(grad, upstream_ce, in_place):
        return grad - targets * ops.expand_dims(upstream_ce, -1)

    return _fused_terms(logits, wanted, cross_entropy_of, target_mass, subtract_target)
