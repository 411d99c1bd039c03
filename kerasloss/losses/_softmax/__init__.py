"""Fused softmax cross-entropy terms from logits, one pass over the logits and one gradient.

Shapes: `logits` z [N, K] (rows of class scores), `labels` y [N] int32 in [0, K), `targets` t [N, K].
Every term comes from the per-row log-sum-exp, lse = log Σ_k exp(z_k) (computed stably):

    cross_entropy  = lse - z_y                (sparse)  or  lse·Σt - Σ_k t_k·z_k   (dense targets)
    uniform        = lse - mean_k z_k         (cross-entropy against the uniform target 1/K)
    lse                                       (z-loss is lse²)
    entropy        = -Σ_k p_k·(z_k - lse)     (p = softmax(z); logged, never differentiated)

Gradient (hand-written on TensorFlow and PyTorch; JAX's autodiff arrives at the same sum):

    d/dz = p·(g_ce·Σt + g_uniform + g_lse) - g_uniform/K - g_ce·t

where the g are the upstream gradients of each term and t is the one-hot label (sparse: added at
[row, y], never materialised) or the dense target. Targets are constants.

How the pass runs is the backend's (one module each in `kerasloss.losses._softmax`, picked
once, here, at import): TensorFlow runs it as one custom-gradient op (a fused softmax kernel and an
in-place label term outside XLA); PyTorch as a `torch.autograd.Function` with the gradient above;
JAX (and any other backend) writes the terms plainly and lets autodiff and XLA fuse them, which
under `jax.jit` is as fast as the hand-written gradient and never materialises t.
"""

import keras

# Explicit imports, as Keras picks its backend modules: the one that matches the running backend.
if keras.backend.backend() == "tensorflow":
    from kerasloss.losses._softmax import tensorflow as _backend
elif keras.backend.backend() == "torch":
    from kerasloss.losses._softmax import torch as _backend
else:  # JAX, and any other backend: plain keras.ops, autodiff and the compiler fuse it
    from kerasloss.losses._softmax import jax as _backend


def sparse_softmax_terms(logits, labels, wanted):
    """Terms in `wanted` (a subset of `common.TERMS`; cross_entropy always) for integer labels."""
    return _backend.sparse_terms(logits, labels, wanted)


def dense_softmax_terms(logits, targets, wanted):
    """Terms in `wanted` (a subset of `common.TERMS`; cross_entropy always) for target distributions."""
    return _backend.dense_terms(logits, targets, wanted)
