"""The per-batch kernels of `kerasloss.calibration.CalibrationError`, one set per backend.

Uniform bins (torchmetrics' CalibrationError): the num_bins + 1 edges e_i of
`torch.linspace(0, 1, num_bins + 1)`, bin i = [e_i, e_{i+1}) and a last bin [1, ∞), below 0 in
bin 0 (`torch.bucketize(c, e, right=True) − 1`). The bin of a confidence c without an
[N, num_bins] comparison:

    g   = ⌊c·num_bins⌋ clipped to [1, num_bins]      (the bin up to the rounding of the product and
                                                     of the edges: one bin either way)
    bin = g − 1 + [c ≥ e_g] + [c ≥ e_{g+1}]          (no e_{num_bins+1}; NaN lands in bin 0)

Elementwise work on the confidences only, exact in float64 too; the per-bin sums are one
scatter-add of the [N, 3] values (w, w·c, w·a).
"""

import fractions
import functools

import keras
import numpy as np
from keras import ops

# Rows longer than this are folded in halves before XLA sums them (`top_probability`).
_FOLDED_LENGTH = 2**12

@functools.lru_cache(maxsize=64)
def uniform_edges(num_bins, dtype="float32"):
    """The num_bins + 1 edges of `torch.linspace(0, 1, num_bins + 1)` in `dtype`, bit for bit.

    torch computes the first half as step·i and the second as 1 − step·(num_bins − i), each
    rounded once (step = 1 / num_bins in `dtype`); an exact rational does the same for float64.
    """
    numpy_dtype = np.dtype(dtype).type
    step = fractions.Fraction(float(numpy_dtype(1.0) / numpy_dtype(num_bins)))
    half = (num_bins + 1) // 2
    exact = [step * i if i < half else 1 - step * (num_bins - i) for i in range(num_bins + 1)]
    return np.array([numpy_dtype(float(e)) for e in exact], dtype=numpy_dtype)


@functools.lru_cache(maxsize=64)
def _edge_pairs(num_bins, dtype):
    """[num_bins + 1, 2] NumPy: row g (1..num_bins) holds (edges[g], edges[g + 1]) of `uniform_edges`,
    NaN for the edge past the last (row 0 repeats row 1, never read)."""
    edges = uniform_edges(num_bins, dtype)
    pairs = np.stack([edges[1:], np.append(edges[2:], np.nan)], axis=-1).astype(edges.dtype)
    return np.concatenate([pairs[:1], pairs])


# The kernels, one signature per backend, picked once:
#   top_class(scores)                 (top score, its index) over the last axis: the backend's own
#                                     argmax and a gather, ties to the lowest index and -0.0 equal
#                                     to 0.0 as torch.max (and so torchmetrics) takes them; Keras'
#                                     ops.argmax adds four [..., K] passes on CPU to order -0.0
#                                     below 0.0, top_k is slower (and random on ties in torch)
#   uniform_bin_sums(c, a, w, bins)   [bins + 1, 3] sums (Σ w, Σ w·c, Σ w·a) per uniform bin, the
#                                     last bin c >= 1 (w None: every confidence counts once)
#   top_probability(z, top)           the top softmax probability 1 / Σ_k exp(z_k − top) of logits z
#                                     [..., K] whose largest is top [...]: finite for any logits
#   top_probability_and_hits(z, y)    (top_probability, [y == the top class of top_class]) of logits
#                                     z [..., K] and int labels y [...] (`hits_by_top_class`, but
#                                     TensorFlow's below)
#   range_summary(labels, high, c, extremes)   [labels outside [0, high]? (1 or 0; left out when
#                                     labels is None), min c, max c (when extremes)] in c's dtype:
#                                     one small tensor for one host read
#   compiled(fn, static)              fn (a pure function of one batch; `static` names its Python
#                                     arguments) as the backend runs it best when called eagerly,
#                                     inlined inside a compiled step
# TensorFlow and JAX: keras.ops, the batch's whole computation one `tf.function` (a graph: no
# per-op dispatch, no recompilation per batch shape) or `jax.jit` (one dispatch instead of ~40);
# TensorFlow runs `top_probability` under XLA, its subtraction, exp and sum fused into one pass
# over the logits (as JAX's jit fuses them; three [..., K] kernels in a graph). PyTorch: plain
# torch, as its eager updates pay Keras' wrappers per op (more than its kernels on a batch), and
# every op stays clear of the kernels that start threads on small inputs (torch.max over an axis,
# bucketize, floor, advanced indexing, segment_sum's repeat_interleave): each of those costs
# milliseconds when the cores are busy.


def hits_by_top_class(logits, labels):
    """`top_probability_and_hits` from the top class first (`top_class`, then `top_probability` of
    its score): JAX's and PyTorch's; TensorFlow's (below) takes argmax only where a tie is possible."""
    top, predicted = top_class(logits)
    return top_probability(logits, top), ops.equal(ops.cast(labels, predicted.dtype), predicted)


top_probability_and_hits = hits_by_top_class


if keras.backend.backend() == "torch":
    import torch

    def top_class(scores):
        index = torch.argmax(scores, dim=-1, keepdim=True)
        return scores.gather(-1, index).squeeze(-1), index.squeeze(-1).int()

    @functools.lru_cache(maxsize=64)
    def _edge_pairs_on(num_bins, dtype, device):
        return torch.as_tensor(_edge_pairs(num_bins, str(dtype).removeprefix("torch.")), device=device)

    def uniform_bin_sums(confidence, outcome, weight, num_bins):
        pairs = _edge_pairs_on(num_bins, confidence.dtype, confidence.device)
        guess = (confidence * num_bins).clamp(0, num_bins).int().clamp(1, num_bins)
        reached = confidence.unsqueeze(-1) >= torch.index_select(pairs, 0, guess)
        index = reached.sum(-1) + (guess - 1)
        columns = [torch.ones_like(confidence), confidence, outcome] if weight is None else [
            weight, weight * confidence, weight * outcome]
        sums = torch.zeros((num_bins + 1, 3), dtype=confidence.dtype, device=confidence.device)
        return sums.index_add_(0, index, torch.stack(columns, dim=-1))

    def top_probability(logits, top):
        return torch.exp(logits - top.unsqueeze(-1)).sum(-1).reciprocal()

    def range_summary(labels, high, confidence, extremes):
        parts = []
        if labels is not None:
            lowest, highest = torch.aminmax(labels)
            parts.append(((lowest < 0) | (highest > high)).to(confidence.dtype).reshape(1))
        if extremes:
            parts.append(torch.stack(torch.aminmax(confidence)))
        return torch.cat(parts)

    def compiled(fn, static):
        return fn

else:

    def top_class(scores):
        index = ops.argmax(scores, axis=-1)
        return ops.squeeze(ops.take_along_axis(scores, ops.expand_dims(index, -1), axis=-1), -1), index

    def uniform_bin_sums(confidence, outcome, weight, num_bins):
        pairs = _edge_pairs(num_bins, keras.backend.standardize_dtype(confidence.dtype))
        guess = ops.clip(ops.cast(ops.clip(confidence * num_bins, 0, num_bins), "int32"), 1, num_bins)
        reached = ops.greater_equal(ops.expand_dims(confidence, -1), ops.take(pairs, guess, axis=0))
        index = ops.sum(ops.cast(reached, "int32"), axis=-1) + (guess - 1)
        if weight is None:
            values = ops.stack([ops.ones_like(confidence), confidence, outcome], axis=-1)
        else:
            values = ops.stack([weight, weight * confidence, weight * outcome], axis=-1)
        sums = ops.zeros((num_bins + 1, 3), values.dtype)
        return ops.scatter_update(sums, ops.expand_dims(index, -1), values, reduction="add")

    def range_summary(labels, high, confidence, extremes):
        parts = []
        if labels is not None:
            outside = ops.logical_or(ops.min(labels) < 0, ops.max(labels) > high)
            parts.append(ops.cast(outside, confidence.dtype))
        if extremes:
            parts += [ops.min(confidence), ops.max(confidence)]
        return ops.stack(parts)

    def top_probability(logits, top):
        terms = ops.exp(logits - ops.expand_dims(top, -1))
        # XLA sums a row in one pass, 4e-6 off over 20,000 terms of a confident row: long rows are
        # folded in halves first (as `kerasloss._sums.row_sum` folds longer ones), fused into the pass
        while terms.shape[-1] is not None and terms.shape[-1] > _FOLDED_LENGTH:
            half = terms.shape[-1] // 2
            folded = terms[..., :half] + terms[..., half : 2 * half]
            terms = ops.concatenate([folded, terms[..., 2 * half :]], axis=-1) if terms.shape[-1] % 2 else folded
        return ops.reciprocal(ops.sum(terms, axis=-1))

    if keras.backend.backend() == "jax":
        import jax
        import jax.numpy as jnp

        def top_class(scores):
            index = jnp.argmax(scores, axis=-1)
            return jnp.take_along_axis(scores, index[..., None], axis=-1)[..., 0], index

        def compiled(fn, static):
            return jax.jit(fn, static_argnames=static)

    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        def top_class(scores):
            index = tf.argmax(scores, axis=-1, output_type=tf.int32)
            return tf.gather(scores, index, batch_dims=len(scores.shape) - 1), index

        top_probability = tf.function(top_probability, jit_compile=True)

        def top_probability_and_hits(logits, labels):
            # The top score by reduce_max, a third of argmax's CPU time here: a label whose logit is
            # the row's largest is the top class unless another logit ties it, and a tie makes
            # Σ exp(z − top) ≥ 2, i.e. p ≤ 1/2; so only hits with p ≤ 1/2 are checked by argmax,
            # those rows gathered, or all rows when over a quarter are (quiet CPU time per
            # [256, 20000] batch: 4.1 ms against 5.7 with argmax first when no hit is doubtful,
            # 6.6-7.3 against 5.8-6.7 past the quarter; benchmarks/bench_calibration.py).
            classes = tf.shape(logits)[-1]
            rows = tf.reshape(logits, [-1, classes])
            labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
            top = tf.reduce_max(rows, axis=-1)
            probability = top_probability(rows, top)
            at_label = tf.gather(rows, tf.clip_by_value(labels, 0, classes - 1), batch_dims=1)
            hits = (labels >= 0) & (labels < classes) & tf.equal(at_label, top)
            doubtful = tf.where(hits & (probability <= 0.5))[:, 0]

            def first_top_class_of_all():
                return tf.equal(tf.argmax(rows, axis=-1, output_type=tf.int32), labels)

            def first_top_class_of_doubtful():
                first = tf.argmax(tf.gather(rows, doubtful), axis=-1, output_type=tf.int32)
                return tf.tensor_scatter_nd_update(
                    hits, doubtful[:, None], tf.equal(first, tf.gather(labels, doubtful)))

            hits = tf.cond(4 * tf.size(doubtful) > tf.size(labels), first_top_class_of_all,
                           first_top_class_of_doubtful)
            return tf.reshape(probability, tf.shape(logits)[:-1]), tf.reshape(hits, tf.shape(logits)[:-1])

        def compiled(fn, static):
            return tf.function(fn, reduce_retracing=True)

    else:

        def compiled(fn, static):
            return fn
