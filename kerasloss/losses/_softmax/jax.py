"""JAX (and any backend without a module of its own): the formulas as written, differentiated by
autodiff.

Under `jax.jit`, XLA fuses lse = logsumexp(z), the gather of z_y and the backward's
softmax(z) - t (the gather's transpose is a scatter-add into the fused gradient) into about the
passes of a bare softmax; a `jax.custom_vjp` with the hand-written gradient measured slower
(benchmarks/bench_losses.py --backend jax), since its scatter runs outside the fusion.
Sums over long rows go through `kerasloss._sums` (XLA's fused one-pass reductions drift there).
"""

from keras import ops

from kerasloss import _sums
from kerasloss.losses._softmax.common import (
    TERMS,
    dense_cross_entropy,
    row_statistics,
    sparse_cross_entropy,
)


def _terms(logits, wanted, cross_entropy_of):
    lse = _sums.log_sum_exp(logits)

    def probabilities():
        return ops.exp(logits - ops.expand_dims(lse, -1))

    terms = row_statistics(logits, lse, probabilities, wanted, _sums.row_sum)
    terms["cross_entropy"] = cross_entropy_of(lse)
    if "entropy" in terms:
        terms["entropy"] = ops.stop_gradient(terms["entropy"])
    return {name: terms[name] for name in TERMS if name in wanted}


def sparse_terms(logits, labels, wanted):
    return _terms(logits, wanted, lambda lse: sparse_cross_entropy(logits, lse, labels))


def dense_terms(logits, targets, wanted):
    targets = ops.stop_gradient(targets)
    target_mass = _sums.row_sum(targets)
    return _terms(
        logits, wanted, lambda lse: dense_cross_entropy(logits, lse, targets, target_mass, _sums.row_sum)
    )
