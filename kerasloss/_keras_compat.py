"""The few private Keras and TensorFlow helpers we rely on, imported in one place.

Keras keeps the mask attribute and the `tf.distribute` loss scaling private; we reuse them so that
our losses reduce exactly as `keras.losses` do under masks and distribution strategies, and
`LossFunctionWrapper` so that a wrapped loss function saves as Keras saves it. TensorFlow
keeps private whether ops are being built for an XLA cluster (`in_xla_context`). JAX keeps private
the primal value under an autodiff tracer (`autodiff_primal`).
"""

from keras.src.backend.common.masking import get_keras_mask
from keras.src.losses.loss import (
    scale_loss_for_distribution,
    unscale_loss_for_distribution,
)
from keras.src.losses.losses import LossFunctionWrapper


def in_xla_context():
    """True while TensorFlow ops are being built for XLA (inside a `jit_compile=True` function).

    TensorFlow backend only (imports TensorFlow)."""
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.ops import control_flow_util

    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def autodiff_primal(x):
    """The value under a JAX autodiff tracer (JVP or linearize), or None for anything else.

    Keras' JAX trainer computes the loss inside `jax.value_and_grad` and the metrics outside it,
    on the primal of the same `y_pred`: results keyed by that primal reach the metrics.
    """
    primal = None
    while type(x).__name__ in ("JVPTracer", "LinearizeTracer") and hasattr(x, "primal"):
        primal = x = x.primal
    return primal


__all__ = [
    "autodiff_primal", "in_xla_context", "get_keras_mask", "LossFunctionWrapper",
    "scale_loss_for_distribution", "unscale_loss_for_distribution",
]
