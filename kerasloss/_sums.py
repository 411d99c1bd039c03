"""Sums over long axes that stay accurate in float32, on every backend.

Formula (for an axis of length K > `LONGEST_ONE_PASS_SUM`):

    fold(x)     = x[:h] + x[h:2h]           (h = K // 2; an odd last element is set aside)
    row_sum(x)  = sum(fold(...fold(x)...)) + the elements set aside,  folded to ≤ 2**12 terms
    log_sum_exp(x) = m + log row_sum(exp(x - m)),  m = max(x)
    log_softmax(x) = x - log_sum_exp(x)

A one-pass float32 reduction adds each term into one of a few running sums, so its error grows with
the axis length. Measured over 2**24 + 1 classes: XLA:CPU's reductions under TensorFlow's
`jit_compile` 5.7e-4 relative (logsumexp of a spiked row), JAX's reductions fused with an
elementwise op 3.4e-5, PyTorch's fused `log_softmax` 6e-3 on the entropy, oneDNN's softmax
normaliser (TensorFlow graph mode) 1.4e-4. Up to `LONGEST_ONE_PASS_SUM` terms every pattern we
tried stayed within 2e-6 at 10**5 classes except a confident row over a tail of tiny probabilities,
so shorter axes keep the backend's own (fastest) reduction. Longer ones are folded in halves: each
remaining lane holds a pairwise sum of a strided set of terms, and XLA fuses the folds into one pass.
"""

from keras import ops

# Longest axis a backend's one-pass float32 reduction is trusted with (see the module docstring).
LONGEST_ONE_PASS_SUM = 2**17
# Length a long axis is folded down to before its one-pass reduction.
_FOLDED_LENGTH = 2**12


def is_long(x, axis=-1):
    """Whether `axis` of x is statically longer than `LONGEST_ONE_PASS_SUM`."""
    length = x.shape[axis]
    return length is not None and length > LONGEST_ONE_PASS_SUM


def row_sum(x, axis=-1, keepdims=False):
    """Σ along `axis`, pairwise-folded first when the axis is long (see the module docstring)."""
    if not is_long(x, axis):
        return ops.sum(x, axis=axis, keepdims=keepdims)
    if axis not in (-1, len(x.shape) - 1):
        x = ops.moveaxis(x, axis, -1)
    set_aside = None
    while x.shape[-1] > _FOLDED_LENGTH:
        half = x.shape[-1] // 2
        if x.shape[-1] % 2:
            set_aside = x[..., -1] if set_aside is None else set_aside + x[..., -1]
        x = x[..., :half] + x[..., half : 2 * half]
    total = ops.sum(x, axis=-1)
    if set_aside is not None:
        total = total + set_aside
    return ops.expand_dims(total, axis) if keepdims else total


def log_sum_exp(x, axis=-1, keepdims=False):
    """log Σ exp(x) along `axis`, shifted by the maximum; its sum taken by `row_sum`."""
    if not is_long(x, axis):
        return ops.logsumexp(x, axis=axis, keepdims=keepdims)
    top = ops.stop_gradient(ops.max(x, axis=axis, keepdims=True))
    lse = top + ops.log(row_sum(ops.exp(x - top), axis=axis, keepdims=True))
    return lse if keepdims else ops.squeeze(lse, axis)


def log_softmax(x, axis=-1):
    """x - log Σ exp(x) along `axis`; long axes through `log_sum_exp`."""
    if not is_long(x, axis):
        return ops.log_softmax(x, axis=axis)
    return x - log_sum_exp(x, axis=axis, keepdims=True)
